//! An event stored in an older shape is upcast wherever the log is read: by the event
//! store when it loads the aggregate for a command, and by the projectors.

use crate::support::{
    batch_counters, drain_projections, register_command, register_without_anchors,
    run_simulated_batch, TestDatabase,
};
use cj_aggregates::batch::commands::{CloseIntake, Position, RecordCallbacks};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cj_projections::log::batch_events;
use cj_projections::replay::replay;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_failure_stored_before_1_0_is_upcast_by_the_store_and_the_projectors() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "upcast-test");
    bus.execute(batch_id, register_command(batch_id, 6, 30), &metadata)
        .await
        .expect("register");
    let anchors = CjBatchCommand::CloseIntake(CloseIntake { anchors: vec![] });
    bus.execute(batch_id, anchors, &metadata)
        .await
        .expect("anchors");
    let events = batch_events(&db.pool, batch_id.0, 0).await.expect("events");
    let planned: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            CjBatchEvent::WavePlanned(w) => Some(w.comparisons.clone()),
            _ => None,
        })
        .flatten()
        .map(|c| c.correlation_id)
        .collect();
    let submit = crate::support::submit_pairs(planned.clone());
    bus.execute(batch_id, submit, &metadata)
        .await
        .expect("submit");
    let sequence = batch_events(&db.pool, batch_id.0, 0)
        .await
        .expect("events")
        .len() as i64;

    // A failure written by the pre-1.0 code: no `attempt` field.
    let mut tx = db.pool.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         VALUES ('CjBatch', $1, $2, 'ComparisonFailed', '0.9', $3, '{}')",
    )
    .bind(batch_id.to_string())
    .bind(sequence + 1)
    .bind(json!({"ComparisonFailed": {
        "correlation_id": planned[0],
        "error_code": "TIMEOUT",
        "message": "provider timed out"
    }}))
    .execute(&mut *tx)
    .await
    .expect("old event");
    tx.commit().await.expect("commit");

    // The store must load the old event to decide this command.
    let callback = CjBatchCommand::RecordCallbacks(RecordCallbacks {
        callbacks: vec![crate::support::verdict(planned[1], Position::A)],
    });
    bus.execute(batch_id, callback, &metadata)
        .await
        .expect("the aggregate loads an upcast event");
    let upcast = batch_events(&db.pool, batch_id.0, sequence)
        .await
        .expect("events");
    assert!(matches!(
        &upcast[0].event,
        CjBatchEvent::ComparisonFailed(f) if f.attempt == 1 && upcast[0].event_version == "0.9"
    ));

    drain_projections(&db.pool).await;
    let (completed, failed) = batch_counters(&db.pool, batch_id.0).await;
    assert_eq!((failed, completed), (1, 1));
    let error_code: Option<String> =
        sqlx::query_scalar("SELECT error_code FROM cj_comparison_pairs WHERE correlation_id = $1")
            .bind(planned[0].0)
            .fetch_one(&db.pool)
            .await
            .expect("pair");
    assert_eq!(error_code.as_deref(), Some("TIMEOUT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_and_a_verdict_stored_as_1_0_are_read_with_an_unknown_prompt_everywhere() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "upcast-test");
    let register = register_command(batch_id, 6, 30);
    register_without_anchors(&bus, batch_id, register, &metadata).await;
    let events = batch_events(&db.pool, batch_id.0, 0).await.expect("events");
    let planned: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            CjBatchEvent::WavePlanned(w) => Some(w.comparisons.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let sequence = events.len() as i64;

    // A submission and a verdict written by the 1.0 code: no prompt hash, no judge.
    let mut tx = db.pool.begin().await.expect("begin");
    let old_events = [
        (
            "PairsSubmitted",
            json!({"PairsSubmitted": {
                "correlation_ids": planned.iter().map(|c| c.correlation_id).collect::<Vec<_>>()
            }}),
        ),
        (
            "ComparisonRecorded",
            json!({"ComparisonRecorded": {
                "correlation_id": planned[0].correlation_id,
                "winner": planned[0].essay_a, "winner_position": "A",
                "confidence": 4.0, "justification": null,
                "provider": "openai", "model": "gpt-4o",
                "cost_estimate": 0.001, "total_tokens": 100
            }}),
        ),
    ];
    for (offset, (event_type, payload)) in old_events.iter().enumerate() {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                 event_version, payload, metadata)
             VALUES ('CjBatch', $1, $2, $3, '1.0', $4, '{}')",
        )
        .bind(batch_id.to_string())
        .bind(sequence + 1 + offset as i64)
        .bind(event_type)
        .bind(payload)
        .execute(&mut *tx)
        .await
        .expect("old event");
    }
    tx.commit().await.expect("commit");

    // The store loads both to decide a new verdict; the old submission names no prompt,
    // so the hash the provider echoed is taken.
    let mut echoed = crate::support::verdict(planned[1].correlation_id, Position::B);
    echoed.prompt_hash = Some("ec40ed0000000000".into());
    let callback = CjBatchCommand::RecordCallbacks(RecordCallbacks {
        callbacks: vec![echoed],
    });
    bus.execute(batch_id, callback, &metadata)
        .await
        .expect("the aggregate loads upcast events");
    let judges: Vec<(String, String)> = batch_events(&db.pool, batch_id.0, sequence)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|e| match e.event {
            CjBatchEvent::ComparisonRecorded(r) => Some((e.event_version, r.judge.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        judges,
        [
            ("1.0".to_string(), "openai/gpt-4o/unknown".to_string()),
            ("1.1".to_string(), "test/test/ec40ed0000000000".to_string()),
        ]
    );

    drain_projections(&db.pool).await;
    // NULL is written as an empty field, true as `t`.
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT format('%s|%s|%s|%s|%s', provider, model, prompt_hash, judge,
                       submitted_at IS NOT NULL)
           FROM cj_comparison_pairs WHERE correlation_id = ANY($1) ORDER BY judge",
    )
    .bind(vec![
        planned[0].correlation_id.0,
        planned[1].correlation_id.0,
    ])
    .fetch_all(&db.pool)
    .await
    .expect("pairs");
    assert_eq!(
        rows,
        [
            "openai|gpt-4o||openai/gpt-4o/unknown|t",
            "test|test|ec40ed0000000000|test/test/ec40ed0000000000|t",
        ]
    );
}

/// `cj_batch_states`' reliability columns of `batch_id`: NULL written as an empty field,
/// true as `t`.
async fn reliability_columns(pool: &sqlx::PgPool, batch_id: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT format('%s|%s|%s|%s|%s|%s|%s|%s|%s', ssr IS NOT NULL, estimator, reference_ssr,
                       sep_g, split_half_spearman_brown, order_effect, order_effect_flagged,
                       misfitting_essays, misfitting_judges)
           FROM cj_batch_states WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_one(pool)
    .await
    .expect("the batch's row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_scored_as_1_0_has_no_reliability_figures_after_a_replay() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let run = run_simulated_batch(&bus, 5).await;
    drain_projections(&db.pool).await;
    let scored_as_1_1 = reliability_columns(&db.pool, run.batch_id.0).await;
    assert!(
        scored_as_1_1.starts_with("t|regularised|0."),
        "{scored_as_1_1}"
    );

    // The same scores as the 1.0 code wrote them: no report, no essay misfit.
    let rewritten = sqlx::query(
        "UPDATE events
            SET event_version = '1.0',
                payload = jsonb_set(payload::jsonb #- '{BatchScored,reliability}',
                    '{BatchScored,essays}',
                    (SELECT jsonb_agg(e - 'infit' - 'outfit' - 'misfit')
                       FROM jsonb_array_elements(payload::jsonb #> '{BatchScored,essays}') e)
                )::json
          WHERE aggregate_type = 'CjBatch' AND aggregate_id = $1 AND event_type = 'BatchScored'",
    )
    .bind(run.batch_id.to_string())
    .execute(&db.pool)
    .await
    .expect("rewrite the scores");
    assert_eq!(rewritten.rows_affected(), 1);
    let projection = cj_projections::catalogue::named("cj_batch_states").expect("projection");
    replay(&db.pool, projection.as_ref(), |_, _| {})
        .await
        .expect("replay");
    assert_eq!(
        reliability_columns(&db.pool, run.batch_id.0).await,
        "t||||||||"
    );
}
