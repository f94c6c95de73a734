//! Settings for running `serve` in a test: a fresh database, the test broker with topics of
//! its own, free ports, and tokens signed with [`TEST_JWT_SECRET`] (the service mints its own
//! content-store tokens from it; tests mint theirs with [`token_with`]). Also the whole HTTP
//! API on a test database ([`test_api`]), and served with batch submission wired
//! ([`serve_api_with_intake`]).
#![allow(dead_code)]

use super::kafka::settings_for_test;
use axum::Router;
use cj_aggregates::batch::settings::ComparisonBudget;
use cj_assessment::config::{KafkaSettings, ServiceSettings};
use cj_assessment::content::client::{ContentClient, ContentCredentials};
use cj_assessment::http::api::{api_router, ApiParts};
use cj_assessment::http::auth::{
    mint_token, AuthSettings, Role, Verifier, DEFAULT_AUDIENCE, DEFAULT_ISSUER,
};
use cj_assessment::http::Readiness;
use cj_assessment::intake::Intake;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::harness::readiness::{probe_client, wait_ready};
use cj_assessment::store::BatchCommandBus;
use sqlx::PgPool;
use std::sync::Arc;

/// The HS256 secret of every test service.
pub const TEST_JWT_SECRET: &str = "test-secret-of-enough-length-for-hs256";
/// How long test tokens stay valid: longer than any test runs.
const TEST_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

pub fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// `serve`'s settings for a test database; the LLM provider URL points nowhere until the
/// test sets it.
pub fn service_settings(database_url: &str) -> ServiceSettings {
    service_settings_on(database_url, settings_for_test())
}

/// [`service_settings`] with the given Kafka settings (another broker, say).
pub fn service_settings_on(database_url: &str, kafka: KafkaSettings) -> ServiceSettings {
    let http_addr = free_address();
    ServiceSettings {
        database_url: database_url.to_string(),
        kafka,
        llm_provider_url: "http://127.0.0.1:9/api/v1".into(),
        content_service_url: format!("http://{http_addr}/api/v1/content"),
        judge: Default::default(),
        content_service_token: None,
        insecure_no_read_auth: false,
        http_only: false,
        auth: test_auth(),
        http_addr,
        max_comparisons: 350,
        dispatch_concurrency: 8,
        monitor_interval_secs: 300,
        stuck_timeout_secs: 4 * 3600,
        shutdown_grace_secs: 10,
        dispatch_lease_secs: 15,
    }
}

/// Token settings of test services: HS256 with [`TEST_JWT_SECRET`].
pub fn test_auth() -> AuthSettings {
    AuthSettings::with_secret(TEST_JWT_SECRET)
}

/// A token with `roles`, valid for the test service.
pub fn token_with(roles: &[Role]) -> String {
    mint_token(
        TEST_JWT_SECRET,
        DEFAULT_ISSUER,
        DEFAULT_AUDIENCE,
        "tester",
        roles,
        TEST_TOKEN_LIFETIME,
    )
    .expect("a test token")
}

/// A `reader` token for the test service.
pub fn reader_token() -> String {
    token_with(&[Role::Reader])
}

/// What the service's own content client sends to a test service's store.
pub fn service_credentials() -> ContentCredentials {
    ContentCredentials::resolve(None, &test_auth())
}

/// The whole HTTP API on `pool`, checking tokens with the test settings (no readiness
/// checks).
pub fn test_api(pool: PgPool) -> Router {
    api_router(ApiParts {
        pool,
        readiness: Readiness::default(),
        verifier: Arc::new(Verifier::from_settings(&test_auth()).expect("test verifier")),
        intake: None,
    })
}

/// The largest budget of a batch submitted to [`serve_api_with_intake`].
pub const TEST_MAX_COMPARISONS: u32 = 350;

/// The whole HTTP API on `pool` with `POST /api/v1/batches` wired as `serve` wires it: the
/// intake stores inline texts in this API's own content store and fetches them back from
/// it. Refusals would be published to the test broker (topics of their own). Serves it on
/// a free port; answers the base URL and the intake.
pub async fn serve_api_with_intake(pool: PgPool) -> (String, Intake) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    let kafka = settings_for_test();
    let intake = Intake {
        pool: pool.clone(),
        bus: Arc::new(BatchCommandBus::new(pool.clone())),
        publisher: Some(Publisher::new(&kafka).expect("a producer")),
        content: ContentClient::new(&format!("{base}/api/v1/content"), service_credentials())
            .expect("a content client"),
        max_comparisons: ComparisonBudget::new(TEST_MAX_COMPARISONS).expect("a budget"),
        failed_topic: kafka.topics.failed.clone(),
    };
    let app = api_router(ApiParts {
        pool,
        readiness: Readiness::default(),
        verifier: Arc::new(Verifier::from_settings(&test_auth()).expect("test verifier")),
        intake: Some(intake.clone()),
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("test server runs") });
    (base, intake)
}

/// Polls `GET {base}/healthz/ready` until it answers 200 (30 s at most); its checks.
pub async fn wait_until_ready(base: &str) -> serde_json::Value {
    let http = probe_client();
    wait_ready(&http, base, std::time::Duration::from_secs(30))
        .await
        .expect("the service becomes ready");
    http.get(format!("{base}/healthz/ready"))
        .send()
        .await
        .expect("readiness answers")
        .json()
        .await
        .expect("readiness is JSON")
}
