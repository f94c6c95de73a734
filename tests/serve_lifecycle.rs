//! `serve` as an operator runs it: it comes up against PostgreSQL and the broker, reports
//! ready, exposes every declared metric, and stops cleanly when told to.

mod support;

use cj_assessment::commands::serve::serve;
use cj_assessment::config::ServiceSettings;
use cj_assessment::http::auth::AuthSettings;
use std::time::Duration;
use support::kafka::settings_for_test;
use support::TestDatabase;
use tokio_util::sync::CancellationToken;

fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

pub fn service_settings(database_url: &str) -> ServiceSettings {
    let http_addr = free_address();
    ServiceSettings {
        database_url: database_url.to_string(),
        kafka: settings_for_test(),
        llm_provider_url: "http://127.0.0.1:9/api/v1".into(),
        content_service_url: format!("http://{http_addr}/api/v1/content"),
        http_addr,
        max_comparisons: 350,
        dispatch_concurrency: 4,
        monitor_interval_secs: 300,
        stuck_timeout_secs: 4 * 3600,
        shutdown_grace_secs: 10,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_becomes_ready_exposes_metrics_and_stops_on_request() {
    let db = TestDatabase::create().await;
    let settings = service_settings(&db.url);
    let base = format!("http://{}", settings.http_addr);
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(serve(settings, no_admin_tokens(), shutdown.clone()));

    let http = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..300 {
        if let Ok(response) = http.get(format!("{base}/healthz/ready")).send().await {
            if response.status() == 200 {
                ready = Some(response.json::<serde_json::Value>().await.unwrap());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = ready.expect("the service became ready within 30 s");
    let checks: Vec<&str> = ready
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["database", "broker", "projector_lag"]);

    let live = http
        .get(format!("{base}/healthz/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let exposition = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "cj_callbacks_processed_total",
        "cj_callback_latency_seconds",
        "cj_batch_state",
        "cj_batch_processing_duration_seconds",
        "cj_stuck_batches_detected",
        "cj_stuck_batches_recovered_total",
        "cj_stuck_batches_failed_total",
        "cj_comparisons_total",
        "cj_iterations_per_batch",
        "cj_score_stability_changes",
        "cj_workflow_decisions_total",
        "cj_failed_comparisons_total",
        "cj_projector_lag_events",
        "cj_outbox_lag_messages",
        "cj_aggregate_conflict_retries_total",
        "cj_dead_lettered_messages_total",
        "cj_orphan_callbacks_total",
        "cj_last_callback_to_completion_seconds",
        "cj_completion_sweep_finalized_total",
        "cj_divergent_batches",
    ] {
        assert!(exposition.contains(name), "metric {name} is not exposed");
    }

    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(20), service)
        .await
        .expect("serve stops within its grace period")
        .expect("serve task did not panic");
    assert!(stopped.is_ok(), "serve stopped with {stopped:?}");
}
