//! The built-in content store over HTTP: what is posted (with a content-writer token) reads
//! back (with a reader token); unknown ids are 404; an empty body is refused; a body over the
//! limit gets a JSON 413; the service's own client speaks to it with minted tokens, and with
//! a cache reads each text from it once.

use crate::harness::serve_content_store;
use crate::support::service::{service_credentials, token_with};
use crate::support::TestDatabase;
use cj_assessment::content::cache::{TextCache, DISPATCH_TEXT_CACHE_BYTES};
use cj_assessment::content::client::{ContentClient, ContentCredentials, ContentError};
use cj_assessment::http::auth::Role;
use cj_assessment::http::body_limit::ESSAY_BODY_LIMIT;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_text_reads_back_unknown_ids_are_404_and_empty_bodies_400() {
    let db = TestDatabase::create().await;
    let base = serve_content_store(&db).await;
    let http = reqwest::Client::new();
    let writer = token_with(&[Role::ContentWriter]);
    let reader = token_with(&[Role::Reader]);

    let text = "Ett prov på svenska, med åäö.\nSecond line.";
    let created = http
        .post(&base)
        .bearer_auth(&writer)
        .body(text)
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = created.json().await.expect("json body");
    let storage_id = body["storage_id"].as_str().expect("storage_id").to_string();

    let read = http
        .get(format!("{base}/{storage_id}"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 200);
    let content_type = read.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(read.text().await.unwrap(), text);

    let missing = http
        .get(format!("{base}/nothing-here"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let empty = http
        .post(&base)
        .bearer_auth(&writer)
        .body("")
        .send()
        .await
        .expect("POST");
    assert_eq!(empty.status(), 400);

    // The service's own content client speaks to it.
    let client = ContentClient::new(&base, service_credentials()).expect("client");
    let id = client.store("another text").await.expect("stored");
    assert_eq!(client.fetch(&id).await.expect("fetched"), "another text");
    assert!(matches!(
        client.fetch("nothing-here").await,
        Err(ContentError::NotFound { status: 404, .. })
    ));
    // Without credentials it is refused, not served, and the client reports it as a
    // (retryable) configuration problem, never as a missing essay.
    let anonymous = ContentClient::new(&base, ContentCredentials::Anonymous).expect("client");
    match anonymous.fetch(&id).await {
        Err(ContentError::Unavailable { reason, .. }) => {
            assert!(reason.contains("401"), "{reason}")
        }
        other => panic!("expected Unavailable for a refused token, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caching_client_reads_each_text_from_the_service_once() {
    // Given a text in the store, read once by a client that keeps what it reads
    let db = TestDatabase::create().await;
    let base = serve_content_store(&db).await;
    let cache = Arc::new(TextCache::new(DISPATCH_TEXT_CACHE_BYTES));
    let client = ContentClient::new(&base, service_credentials())
        .expect("client")
        .with_cache(Arc::clone(&cache));
    let id = client.store("a text read twice").await.expect("stored");
    assert_eq!(
        client.fetch(&id).await.expect("fetched"),
        "a text read twice"
    );
    // When the store no longer has it
    sqlx::query("DELETE FROM cj_content")
        .execute(&db.pool)
        .await
        .expect("emptied the store");
    // Then the caching client still reads it (from its cache: no request was made), a
    // client without the cache finds it gone, and an id never read is asked of the service
    assert_eq!(
        client.fetch(&id).await.expect("cached"),
        "a text read twice"
    );
    let uncached = ContentClient::new(&base, service_credentials()).expect("client");
    assert!(matches!(
        uncached.fetch(&id).await,
        Err(ContentError::NotFound { status: 404, .. })
    ));
    assert!(matches!(
        client.fetch("never-read").await,
        Err(ContentError::NotFound { status: 404, .. })
    ));
    assert_eq!(cache.bytes(), "a text read twice".len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_a_json_413_declared_or_streamed() {
    let db = TestDatabase::create().await;
    let base = serve_content_store(&db).await;
    let http = reqwest::Client::new();
    let writer = token_with(&[Role::ContentWriter]);
    let too_long = "x".repeat(ESSAY_BODY_LIMIT + 1);

    let declared = http
        .post(&base)
        .bearer_auth(&writer)
        .body(too_long.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(declared.status(), 413);
    let error: serde_json::Value = declared.json().await.expect("JSON error");
    assert!(
        error["error"].as_str().unwrap().contains("limit"),
        "{error}"
    );

    let chunks = futures::stream::iter(
        too_long
            .into_bytes()
            .chunks(64 * 1024)
            .map(|chunk| Ok::<_, std::io::Error>(chunk.to_vec()))
            .collect::<Vec<_>>(),
    );
    let streamed = http
        .post(&base)
        .bearer_auth(&writer)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("POST");
    assert_eq!(streamed.status(), 413);

    let at_the_limit = http
        .post(&base)
        .bearer_auth(&writer)
        .body("y".repeat(ESSAY_BODY_LIMIT))
        .send()
        .await
        .expect("POST");
    assert_eq!(at_the_limit.status(), 201);
}
