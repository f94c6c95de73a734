//! The metrics tap turns a finished batch's log into the decision metrics: comparisons,
//! workflow decisions, waves per batch, batch duration and score changes between waves.

mod support;

use cj_assessment::metrics::metrics;
use cj_assessment::metrics_tap::MetricsTap;
use cj_assessment::store::postgres_batch_store::PostgresBatchStore;
use cj_projections::Projector;
use std::sync::Arc;
use support::{run_simulated_batch, wait_until_final, TestDatabase};

#[tokio::test]
async fn a_finished_batch_is_counted_in_the_decision_metrics() {
    let db = TestDatabase::create().await;
    let store = PostgresBatchStore::new(db.pool.clone());
    let m = metrics();
    let succeeded_before = m.comparisons.with_label_values(&["succeeded"]).get();
    let finalized_before = m.workflow_decisions.with_label_values(&["finalize"]).get();
    let waves_before = m.iterations_per_batch.get_sample_count();
    let durations_before = m.batch_processing_duration.get_sample_count();
    let changes_before = m.score_stability_changes.get_sample_count();

    let run = run_simulated_batch(&store, 21).await;
    wait_until_final(&db.pool).await;
    Projector::new(db.pool.clone(), Arc::new(MetricsTap::default()))
        .catch_up()
        .await
        .expect("the tap catches up");

    let done = run.completed.expect("the batch completed");
    assert_eq!(
        m.comparisons.with_label_values(&["succeeded"]).get() - succeeded_before,
        u64::from(done.successful_comparisons)
    );
    assert_eq!(
        m.workflow_decisions.with_label_values(&["finalize"]).get() - finalized_before,
        1
    );
    assert_eq!(m.iterations_per_batch.get_sample_count() - waves_before, 1);
    assert_eq!(
        m.batch_processing_duration.get_sample_count() - durations_before,
        1
    );
    assert!(
        m.score_stability_changes.get_sample_count() > changes_before,
        "a batch of several waves shows how far each wave moved the scores"
    );
}
