//! The runner passes against the real broker on both scales, and a service stopped with
//! SIGTERM in the middle of a batch and started again finishes it without losing a callback.

mod support;

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::CjBatchEvent;
use cj_assessment::content::client::ContentClient;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::runner::assignment::register_assignment;
use cj_assessment::lab::runner::follow::follow_batch;
use cj_assessment::lab::runner::request::{request_envelope, store_essays};
use std::collections::HashSet;
use std::time::Duration;
use support::pipeline::{pipeline_settings, run_one_batch, RunningService};
use support::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runner_passes_on_the_eng5_and_swedish_scales() {
    let db = TestDatabase::create().await;
    let settings = pipeline_settings(&db.url, (1, 10)).await;
    let service = RunningService::start(&settings).await;
    for scale in [GradeScale::Eng5NpNational9Step, GradeScale::Swedish8Anchor] {
        let outcome = run_one_batch(&settings, scale).await;
        assert!(outcome.succeeded(), "{scale}: {outcome:?}");
        assert_eq!(outcome.projections, 20);
        assert!(outcome.anchors >= 4, "{scale}: {outcome:?}");
        assert!(
            outcome.anchor_kendall_tau.unwrap_or(0.0) > 0.0,
            "{scale}: anchors line up with their grades: {outcome:?}"
        );
    }
    service.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_batch_then_restart_completes_the_batch_without_losing_a_callback() {
    let db = TestDatabase::create().await;
    // Slow verdicts, so the batch is surely mid-flight when the service stops.
    let settings = pipeline_settings(&db.url, (100, 400)).await;
    let first = RunningService::start(&settings).await;

    let assignment = "sigterm-assignment";
    register_assignment(&db.pool, assignment, GradeScale::Swedish8Anchor)
        .await
        .unwrap();
    let content = ContentClient::for_service(&settings).unwrap();
    let essays = store_essays(&content, 16, "sigterm").await.unwrap();
    let upstream = format!("sigterm-{}", uuid::Uuid::new_v4().simple());
    let request = request_envelope(&upstream, assignment, essays, 60);
    Publisher::new(&settings.kafka)
        .unwrap()
        .send(
            &settings.kafka.topics.requests,
            &upstream,
            request.to_string().as_bytes(),
            &[],
        )
        .await
        .unwrap();

    // Wait until some verdicts are in, then stop the service as SIGTERM would.
    let mut resolved_at_stop = 0;
    for _ in 0..300 {
        let resolved: Option<i32> = sqlx::query_scalar(
            "SELECT completed_comparisons + failed_comparisons FROM cj_batch_states
              WHERE upstream_batch_id = $1 AND state = 'WAITING_CALLBACKS'",
        )
        .bind(&upstream)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if let Some(resolved) = resolved.filter(|r| *r >= 5) {
            resolved_at_stop = resolved;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        resolved_at_stop >= 5,
        "the batch got under way before the stop"
    );
    first.stop().await.expect("a graceful stop");

    // Verdicts published while the service was down wait on the callback topic.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = RunningService::start(&settings).await;
    let outcome = follow_batch(
        &db.pool,
        &upstream,
        GradeScale::Swedish8Anchor,
        Duration::from_secs(120),
        |_, _| {},
    )
    .await
    .expect("the batch ends after the restart");
    second.stop().await.expect("a graceful stop");
    assert!(outcome.succeeded(), "{outcome:?}");

    let events = cj_projections::log::batch_events(&db.pool, outcome.batch_id, 0)
        .await
        .unwrap();
    let mut recorded = HashSet::new();
    let mut planned = HashSet::new();
    let mut completions = 0;
    for logged in &events {
        match &logged.event {
            CjBatchEvent::WavePlanned(w) => {
                planned.extend(w.comparisons.iter().map(|c| c.correlation_id))
            }
            CjBatchEvent::ComparisonRetried(r) => {
                planned.insert(r.comparison.correlation_id);
            }
            CjBatchEvent::ComparisonRecorded(r) => {
                assert!(recorded.insert(r.correlation_id), "recorded twice")
            }
            CjBatchEvent::ComparisonFailed(f) => {
                assert!(recorded.insert(f.correlation_id), "recorded twice")
            }
            CjBatchEvent::BatchCompleted(_) => completions += 1,
            _ => {}
        }
    }
    assert_eq!(completions, 1);
    let finalized_early = events
        .iter()
        .any(|e| matches!(&e.event, CjBatchEvent::ScoringStarted(s) if format!("{:?}", s.trigger) == "Stable"));
    if !finalized_early {
        assert_eq!(
            recorded, planned,
            "every planned comparison's callback was recorded once"
        );
    }
}
