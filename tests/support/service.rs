//! Settings for running `serve` in a test: a fresh database, the test broker with topics of
//! its own, free ports, and admin tokens off unless a test asks for them.
#![allow(dead_code)]

use super::kafka::settings_for_test;
use cj_assessment::config::{KafkaSettings, ServiceSettings};
use cj_assessment::harness::readiness::{probe_client, wait_ready};
use cj_assessment::http::auth::AuthSettings;

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
        http_addr,
        max_comparisons: 350,
        dispatch_concurrency: 8,
        monitor_interval_secs: 300,
        stuck_timeout_secs: 4 * 3600,
        shutdown_grace_secs: 10,
        dispatch_lease_secs: 15,
    }
}

pub fn no_admin_tokens() -> AuthSettings {
    AuthSettings {
        jwt_secret: None,
        jwt_public_key: None,
        jwt_issuer: "huleedu-identity".into(),
        jwt_audience: "cj_assessment_service".into(),
    }
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
