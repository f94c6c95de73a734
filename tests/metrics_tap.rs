//! The metrics tap turns a finished batch's log into the decision metrics: comparisons,
//! workflow decisions, waves per batch, batch duration and score changes between waves, and
//! the scored batch's reference SSR, flagged order effect and misfitting judges.

mod support;

use cj_aggregates::batch::events::{
    BatchScored, JudgeReliability, OrderEffectFigure, ReliabilityReport,
};
use cj_aggregates::judge::JudgeId;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::scale::Estimator;
use cj_assessment::metrics::metrics;
use cj_assessment::metrics_tap::{record_reliability, MetricsTap};
use cj_assessment::store::BatchCommandBus;
use cj_projections::Projector;
use std::sync::Arc;
use support::{run_simulated_batch, wait_until_final, TestDatabase};

#[tokio::test]
async fn a_finished_batch_is_counted_in_the_decision_metrics() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let m = metrics();
    let succeeded_before = m.comparisons.with_label_values(&["succeeded"]).get();
    let finalized_before = m.workflow_decisions.with_label_values(&["finalize"]).get();
    let waves_before = m.iterations_per_batch.get_sample_count();
    let durations_before = m.batch_processing_duration.get_sample_count();
    let changes_before = m.score_stability_changes.get_sample_count();
    let ssr_count_before = m.reference_ssr.get_sample_count();
    let ssr_sum_before = m.reference_ssr.get_sample_sum();
    let flagged_before = m.order_effect_flagged.get();
    let judges_before = m.misfitting_judges.get();

    let run = run_simulated_batch(&bus, 21).await;
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

    let scored = run.scored.expect("the batch was scored");
    let report = scored
        .reliability
        .as_ref()
        .expect("a 1.1 batch has a report");
    let reference_ssr = report.reference_ssr.expect("the reference fit has an SSR");
    assert_eq!(m.reference_ssr.get_sample_count() - ssr_count_before, 1);
    assert!((m.reference_ssr.get_sample_sum() - ssr_sum_before - reference_ssr).abs() < 1e-9);
    let flagged = report.order_effect.as_ref().is_some_and(|o| o.flagged);
    assert_eq!(
        m.order_effect_flagged.get() - flagged_before,
        u64::from(flagged)
    );
    let misfitting = report.judges.iter().filter(|j| j.flagged).count() as u64;
    assert_eq!(m.misfitting_judges.get() - judges_before, misfitting);
    // Simulated batches have one judge, rarely a flagged order effect: the counting itself.
    a_flagged_order_effect_and_misfitting_judges_are_counted();
}

/// Counts of a report with a flagged order effect and two misfitting judges, and of a batch
/// scored before 1.1. Called from the test above: the metrics are the process's, and
/// concurrent tests would move them.
fn a_flagged_order_effect_and_misfitting_judges_are_counted() {
    let m = metrics();
    let flagged_before = m.order_effect_flagged.get();
    let judges_before = m.misfitting_judges.get();
    let ssr_before = m.reference_ssr.get_sample_count();
    let judge = |provider: &str, flagged: bool| JudgeReliability {
        judge: JudgeId::new(provider, "m", "h"),
        comparisons: 9,
        infit: Some(if flagged { 2.5 } else { 0.9 }),
        outfit: Some(1.0),
        flagged,
    };
    let report = ReliabilityReport {
        estimator: Estimator::Regularised,
        iterations: 9,
        converged: true,
        reference_ssr: Some(0.83),
        sep_g: Some(2.2),
        split_half: None,
        order_effect: Some(OrderEffectFigure {
            estimate: 0.6,
            se: Some(0.2),
            flagged: true,
        }),
        judges: vec![judge("a", true), judge("b", true), judge("c", false)],
        components: 1,
    };
    let scored = |reliability: Option<ReliabilityReport>| BatchScored {
        essays: Vec::new(),
        ssr: Some(0.8),
        grade_scale: GradeScale::default(),
        calibration: None,
        calibration_unavailable: None,
        successful_comparisons: 27,
        reliability,
        assignment_scale_version: None,
    };
    record_reliability(&scored(Some(report)));
    record_reliability(&scored(None));
    assert_eq!(m.order_effect_flagged.get() - flagged_before, 1);
    assert_eq!(m.misfitting_judges.get() - judges_before, 2);
    assert_eq!(
        m.reference_ssr.get_sample_count() - ssr_before,
        1,
        "a batch scored before 1.1 is not observed"
    );
}
