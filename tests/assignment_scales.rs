//! One anchor scale per assignment, end to end (ADR 0012): three batches of one assignment
//! (the same registry anchors, new students) through `serve`, the simulated LLM provider and
//! the broker, one after the other. Each finished batch is folded into the assignment's
//! scale; the third is graded from the scale learned over the first two, its history and
//! `inspect` say so, and a replay rebuilds the scale's versions equal.

mod support;

use chrono::Utc;
use cj_aggregates::ids::BatchId;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::CjBatchEvent;
use cj_assessment::commands::event_summary::grades_from_history;
use cj_assessment::commands::history::line;
use cj_assessment::commands::inspect::inspect;
use cj_assessment::lab::runner::assignment::register_assignment;
use cj_projections::assignment_scales::{self, AssignmentScales};
use cj_projections::replay::replay;
use support::pipeline::{pipeline_settings, run_assignment_batch, RunningService};
use support::{table_rows, TestDatabase};

/// Students per batch and the comparisons each may spend: small, so three batches run in
/// seconds.
const STUDENTS: usize = 8;
const MAX_COMPARISONS: u32 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_third_batch_of_an_assignment_is_graded_from_the_scale_of_the_first_two() {
    let db = TestDatabase::create().await;
    let settings = pipeline_settings(&db.url, (1, 10)).await;
    let service = RunningService::start(&settings).await;
    let scale = GradeScale::Swedish8Anchor;
    let assignment = format!("scale-{}", uuid::Uuid::new_v4().simple());
    register_assignment(&db.pool, &assignment, scale)
        .await
        .unwrap();

    let mut batches = Vec::new();
    for round in 1..=3 {
        let upstream = format!("{assignment}-{round}");
        let outcome = run_assignment_batch(
            &settings,
            &db.pool,
            &assignment,
            &upstream,
            STUDENTS,
            MAX_COMPARISONS,
            scale,
        )
        .await;
        assert!(outcome.succeeded(), "batch {round}: {outcome:?}");
        batches.push(outcome.batch_id);
    }
    service.stop().await.expect("a clean stop");

    // Each batch saw the scale of the batches before it: none, then version 1, then 2.
    let mut used = Vec::new();
    let mut third_history = Vec::new();
    for batch_id in &batches {
        let history = cj_projections::log::batch_events(&db.pool, *batch_id, 0)
            .await
            .unwrap();
        let version = history.iter().find_map(|logged| match &logged.event {
            CjBatchEvent::BatchScored(scored) => Some(scored.assignment_scale_version),
            _ => None,
        });
        used.push(version.expect("every batch was scored"));
        third_history = history;
    }
    assert_eq!(used, [None, Some(1), Some(2)]);

    // The scale has one version per batch, each naming the batch folded in.
    let versions = assignment_scales::versions(&db.pool, &assignment)
        .await
        .unwrap();
    let folded: Vec<_> = versions
        .iter()
        .map(|v| (v.scale.version, v.batch_id))
        .collect();
    assert_eq!(folded, [(1, batches[0]), (2, batches[1]), (3, batches[2])]);
    assert!(
        versions.iter().all(|v| v.contributed.len() >= 4),
        "the anchors"
    );

    // A replay of the projection rebuilds every version equal, row for row.
    let live = table_rows(&db.pool, "cj_assignment_scales", "assignment_id, version").await;
    replay(&db.pool, &AssignmentScales, |_, _| {})
        .await
        .unwrap();
    let rebuilt = table_rows(&db.pool, "cj_assignment_scales", "assignment_id, version").await;
    assert_eq!(live, rebuilt);

    // And the third batch's history and inspect screen say where its grades came from.
    let grades_from = grades_from_history(third_history.iter().map(|logged| &logged.event));
    assert!(
        grades_from.starts_with("assignment scale v2 (2 batches, "),
        "{grades_from}"
    );
    let scored_line = third_history
        .iter()
        .find(|logged| logged.event_type == "BatchScored")
        .map(line)
        .unwrap();
    assert!(
        scored_line.contains("grades from assignment scale v2"),
        "{scored_line}"
    );
    let screen = inspect(&db.pool, BatchId(batches[2]), Utc::now())
        .await
        .unwrap();
    assert!(
        screen.contains(&format!("grades from      {grades_from}\n")),
        "{screen}"
    );
}
