//! The race test: two consumers deliver callbacks for one batch at the same time, one
//! command per callback. Lost races are retried, so no callback is lost and no counter is
//! off by one.

use crate::support::{
    batch_counters, drain_projections, planned_comparisons, register_command,
    register_without_anchors, TestDatabase,
};
use cj_aggregates::batch::commands::{CallbackReport, Position, RecordCallbacks};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cj_projections::log::batch_events;
use std::collections::BTreeSet;
use uuid::Uuid;

const CALLBACKS: usize = 500;
const STUDENTS: usize = 45;

fn verdict(correlation_id: CorrelationId) -> CallbackReport {
    let winner = if correlation_id.0.as_bytes()[0] % 2 == 0 {
        Position::A
    } else {
        Position::B
    };
    crate::support::verdict(correlation_id, winner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_consumers_racing_on_one_batch_lose_no_callback() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "race-test");
    let bus = bus.clone();
    let mut register = register_command(batch_id, STUDENTS, CALLBACKS as u32);
    if let CjBatchCommand::RegisterBatch(r) = &mut register {
        r.settings.wave_size = Some(CALLBACKS as u32);
    }
    register_without_anchors(&bus, batch_id, register, &metadata).await;
    let planned = planned_comparisons(&db.pool, batch_id).await;
    assert_eq!(
        planned.len(),
        CALLBACKS,
        "one wave of {CALLBACKS} comparisons"
    );
    bus.execute(
        batch_id,
        crate::support::submit_pairs(planned.clone()),
        &metadata,
    )
    .await
    .expect("submit");

    // Each consumer receives every callback (Kafka redelivers), in its own order.
    let consumers: Vec<_> = [false, true]
        .into_iter()
        .map(|reversed| {
            let bus = bus.clone();
            let metadata = metadata.clone();
            let mut order = planned.clone();
            if reversed {
                order.reverse();
            }
            tokio::spawn(async move {
                for correlation_id in order {
                    let command = CjBatchCommand::RecordCallbacks(RecordCallbacks {
                        callbacks: vec![verdict(correlation_id)],
                    });
                    bus.execute(batch_id, command, &metadata)
                        .await
                        .expect("a callback is never lost to a race");
                }
            })
        })
        .collect();
    for consumer in consumers {
        consumer.await.expect("consumer task");
    }

    let events = batch_events(&db.pool, batch_id.0, 0).await.expect("events");
    let recorded: Vec<CorrelationId> = events
        .iter()
        .filter_map(|e| match &e.event {
            CjBatchEvent::ComparisonRecorded(r) => Some(r.correlation_id),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<_> = recorded.iter().collect();
    let completed = events.iter().find_map(|e| match &e.event {
        CjBatchEvent::BatchCompleted(c) => Some(c.clone()),
        _ => None,
    });
    drain_projections(&db.pool).await;
    let (completed_counter, failed_counter) = batch_counters(&db.pool, batch_id.0).await;
    let answered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cj_comparison_pairs WHERE batch_id = $1 AND winner IS NOT NULL",
    )
    .bind(batch_id.0)
    .fetch_one(&db.pool)
    .await
    .expect("pairs");
    println!(
        "race test: {} commands, {} conflict retries, {} verdicts recorded",
        2 * CALLBACKS,
        bus.conflict_retries(),
        recorded.len()
    );
    assert_eq!(
        recorded.len(),
        CALLBACKS,
        "every callback recorded exactly once"
    );
    assert_eq!(distinct.len(), CALLBACKS);
    assert_eq!(
        completed.map(|c| c.successful_comparisons),
        Some(CALLBACKS as u32)
    );
    assert_eq!((completed_counter, failed_counter), (CALLBACKS as i32, 0));
    assert_eq!(answered, CALLBACKS as i64);
}
