//! A calibration round end to end (ADR 0012): an operator asks for one through the admin
//! route of a running `serve`; the assignment's anchors are judged against each other by
//! the simulated LLM provider over the broker; the round completes, publishes none of the
//! platform's completion events, and becomes version 1 of the assignment's scale — so the
//! assignment's first real batch is graded from it.

mod support;

use cj_aggregates::stats::assignment_scale::ScaleUnit;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::CjBatchEvent;
use cj_assessment::http::auth::Role;
use cj_assessment::lab::runner::assignment::register_assignment;
use cj_assessment::lab::runner::follow::follow_batch;
use cj_projections::assignment_scales;
use serde_json::{json, Value};
use std::time::Duration;
use support::pipeline::{pipeline_settings, run_assignment_batch, RunningService};
use support::service::token_with;
use support::{drain_projections, table_rows, TestDatabase};

const COMPARISONS_PER_ANCHOR: u32 = 6;
const STUDENTS: usize = 8;
const MAX_COMPARISONS: u32 = 40;

async fn ask_for_round(base: &str, assignment: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{base}/admin/v1/assignments/{assignment}/calibration-rounds"
        ))
        .bearer_auth(token_with(&[Role::Admin]))
        .json(&json!({"comparisons_per_anchor": COMPARISONS_PER_ANCHOR, "request_id": "r1"}))
        .send()
        .await
        .expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_calibration_round_settles_the_scale_the_first_real_batch_is_graded_from() {
    let db = TestDatabase::create().await;
    let settings = pipeline_settings(&db.url, (1, 10)).await;
    let service = RunningService::start(&settings).await;
    let base = format!("http://{}", settings.http_addr);
    let scale = GradeScale::Swedish8Anchor;
    let assignment = format!("calib-{}", uuid::Uuid::new_v4().simple());

    // Unknown assignment: refused with the reason.
    let (status, refusal) = ask_for_round(&base, &assignment).await;
    assert_eq!(status, 422, "{refusal}");
    assert!(
        refusal["error"]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{refusal}"
    );

    register_assignment(&db.pool, &assignment, scale)
        .await
        .unwrap();
    let (status, round) = ask_for_round(&base, &assignment).await;
    assert_eq!(status, 202, "{round}");
    let anchors = round["anchors"].as_u64().unwrap();
    assert!(anchors >= 2);
    assert_eq!(
        round["max_comparisons"].as_u64().unwrap(),
        (anchors * u64::from(COMPARISONS_PER_ANCHOR)).div_ceil(2)
    );
    // Asked again with the same request id: the same round, nothing changed.
    let (status, again) = ask_for_round(&base, &assignment).await;
    assert_eq!(status, 202);
    assert_eq!(again["batch_id"], round["batch_id"]);
    assert_eq!(again["already_requested"], true);

    let upstream = format!("calibration:{assignment}:r1");
    let outcome = follow_batch(
        &db.pool,
        &upstream,
        scale,
        Duration::from_secs(60),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.batch_id.to_string(),
        round["batch_id"].as_str().unwrap()
    );
    assert_eq!(outcome.state, "COMPLETED", "{outcome:?}");

    // The assignment's first real batch.
    let first = format!("{assignment}-1");
    let batch = run_assignment_batch(
        &settings,
        &db.pool,
        &assignment,
        &first,
        STUDENTS,
        MAX_COMPARISONS,
        scale,
    )
    .await;
    assert!(batch.succeeded(), "{batch:?}");
    service.stop().await.expect("a clean stop");

    // The round is version 1 of the scale, and the batch was graded from it.
    drain_projections(&db.pool).await;
    let versions = assignment_scales::versions(&db.pool, &assignment)
        .await
        .unwrap();
    assert_eq!(versions[0].batch_id, outcome.batch_id);
    assert_eq!(versions[0].contributed.len() as u64, anchors);
    // The projection read the round's purpose from its registration: its positions are
    // in a round's unit, which the first real batch's linking puts a slope on.
    assert_eq!(versions[0].scale.unit(), ScaleUnit::CalibrationRound);
    assert_eq!(versions.len(), 2, "the round, then the first real batch");
    assert_eq!(versions[1].scale.unit(), ScaleUnit::Batch);
    let history = cj_projections::log::batch_events(&db.pool, batch.batch_id, 0)
        .await
        .unwrap();
    let used = history.iter().find_map(|logged| match &logged.event {
        CjBatchEvent::BatchScored(scored) => Some(scored.assignment_scale_version),
        _ => None,
    });
    assert_eq!(used, Some(Some(1)));

    // The platform heard of the real batch only.
    let outbox = table_rows(&db.pool, "cj_outbox", "event_id").await;
    let round_id = outcome.batch_id.to_string();
    assert!(!outbox.is_empty(), "the real batch publishes");
    assert!(
        outbox.iter().all(|row| !row.contains(&round_id)),
        "the round published nothing: {outbox:?}"
    );
}
