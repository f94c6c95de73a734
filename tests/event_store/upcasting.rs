//! An event stored in an older shape is upcast wherever the log is read: by the event
//! store when it loads the aggregate for a command, and by the projectors.

use crate::support::{batch_counters, drain_projections, register_command, TestDatabase};
use cj_aggregates::commands::{Position, RecordCallbacks, RegisterAnchors, SubmitPairs};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::store::postgres_batch_store::PostgresBatchStore;
use cj_assessment::store::CommandMetadata;
use cj_projections::log::batch_events;
use serde_json::json;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_failure_stored_before_1_0_is_upcast_by_the_store_and_the_projectors() {
    let db = TestDatabase::create().await;
    let store = PostgresBatchStore::new(db.pool.clone());
    let bus = store.bus();
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "upcast-test");
    bus.execute(batch_id, register_command(batch_id, 6, 30), &metadata)
        .await
        .expect("register");
    let anchors = CjBatchCommand::RegisterAnchors(RegisterAnchors { anchors: vec![] });
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
    let submit = CjBatchCommand::SubmitPairs(SubmitPairs {
        correlation_ids: planned.clone(),
    });
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
