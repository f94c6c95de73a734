//! The built-in content store over HTTP: what is posted reads back; unknown ids are 404; an
//! empty body is refused.

use crate::harness::serve_content_store;
use crate::support::TestDatabase;
use cj_assessment::content::client::{ContentClient, ContentError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_text_reads_back_unknown_ids_are_404_and_empty_bodies_400() {
    let db = TestDatabase::create().await;
    let base = serve_content_store(&db).await;
    let http = reqwest::Client::new();

    let text = "Ett prov på svenska, med åäö.\nSecond line.";
    let created = http.post(&base).body(text).send().await.expect("POST");
    assert_eq!(created.status(), 201);
    let body: serde_json::Value = created.json().await.expect("json body");
    let storage_id = body["storage_id"].as_str().expect("storage_id").to_string();

    let read = http
        .get(format!("{base}/{storage_id}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), 200);
    let content_type = read.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(read.text().await.unwrap(), text);

    let missing = http
        .get(format!("{base}/nothing-here"))
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), 404);
    let empty = http.post(&base).body("").send().await.expect("POST");
    assert_eq!(empty.status(), 400);

    // The service's own content client speaks to it.
    let client = ContentClient::new(&base).expect("client");
    let id = client.store("another text").await.expect("stored");
    assert_eq!(client.fetch(&id).await.expect("fetched"), "another text");
    assert!(matches!(
        client.fetch("nothing-here").await,
        Err(ContentError::NotFound { status: 404, .. })
    ));
}
