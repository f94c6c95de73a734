//! `serve` as an operator runs it: it comes up against PostgreSQL and the broker, reports
//! ready, exposes every declared metric, and stops cleanly when told to.

mod support;

use cj_assessment::commands::serve::serve;
use std::time::Duration;
use support::service::{service_settings, wait_until_ready};
use support::TestDatabase;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_becomes_ready_exposes_metrics_and_stops_on_request() {
    let db = TestDatabase::create().await;
    let settings = service_settings(&db.url);
    let base = format!("http://{}", settings.http_addr);
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(serve(settings, shutdown.clone()));

    let http = reqwest::Client::new();
    let ready = wait_until_ready(&base).await;
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
        "cj_batch_reference_ssr",
        "cj_batches_order_effect_flagged_total",
        "cj_misfitting_judges_total",
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
