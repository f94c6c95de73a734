//! Two processes deciding one batch, each with its own command bus and aggregate cache:
//! a cached state another process has moved past is never trusted — its append conflicts
//! and the bus decides again on the log's state — and a refusal decided on cached state is
//! confirmed on the log's state before it is reported, so a comparison planned by the other
//! process is recorded, not dropped as an orphan. The first property holds for the
//! in-memory log too (two buses sharing one `InMemoryEventLog`), which refuses a stale
//! append as the primary key does.

use crate::support::{
    logged, opened_batch, planned, planned_comparisons, recorded_verdict, register_command,
    register_without_anchors, verdict, TestDatabase,
};
use cj_aggregates::batch::commands::{Position, RecordCallbacks};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::CjBatchCommand;
use cj_assessment::store::aggregate_cache::AggregateCache;
use cj_assessment::store::memory_log::InMemoryEventLog;
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

fn metadata() -> CommandMetadata {
    CommandMetadata::new(Uuid::new_v4(), "stale-cache-test")
}

fn record(correlation_id: CorrelationId) -> CjBatchCommand {
    CjBatchCommand::RecordCallbacks(RecordCallbacks {
        callbacks: vec![verdict(correlation_id, Position::A)],
    })
}

/// Two buses on one log each record a callback of the first wave; the first, whose cache
/// the second's append made stale, conflicts once and records on the caught-up state.
async fn assert_a_stale_cache_conflicts_once(first: BatchCommandBus, second: BatchCommandBus) {
    let (batch_id, wave) = opened_batch(&first, 60).await;

    first
        .execute(batch_id, record(wave[0]), &metadata())
        .await
        .expect("first");
    second
        .execute(batch_id, record(wave[1]), &metadata())
        .await
        .expect("second");
    // `first` still holds the state before `second`'s append.
    first
        .execute(batch_id, record(wave[2]), &metadata())
        .await
        .expect("third");

    assert_eq!(
        first.conflict_retries(),
        1,
        "the stale state conflicted once"
    );
    assert_eq!(
        second.conflict_retries(),
        0,
        "the log's state did not conflict"
    );
    let recorded = logged(&first, batch_id, recorded_verdict).await;
    assert_eq!(recorded, wave[..3].to_vec());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_made_stale_by_another_process_conflicts_and_decides_again_on_the_log() {
    let db = TestDatabase::create().await;
    assert_a_stale_cache_conflicts_once(
        BatchCommandBus::new(db.pool.clone()),
        BatchCommandBus::new(db.pool.clone()),
    )
    .await;
}

#[tokio::test]
async fn in_memory_a_stale_cache_conflicts_and_decides_again_on_the_log() {
    let log = Arc::new(InMemoryEventLog::default());
    let bus = || BatchCommandBus::over(log.clone(), AggregateCache::default());
    assert_a_stale_cache_conflicts_once(bus(), bus()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_planned_by_another_process_is_recorded_not_refused_as_unknown() {
    let db = TestDatabase::create().await;
    let (first, second) = (
        BatchCommandBus::new(db.pool.clone()),
        BatchCommandBus::new(db.pool.clone()),
    );
    let (batch_id, wave_one) = opened_batch(&first, 60).await;
    // `second` records the whole first wave, which plans the second wave there.
    for correlation_id in &wave_one {
        second
            .execute(batch_id, record(*correlation_id), &metadata())
            .await
            .expect("a wave-one callback");
    }
    let wave_two: Vec<CorrelationId> =
        planned_comparisons(&db.pool, batch_id).await[wave_one.len()..].to_vec();
    assert!(
        !wave_two.is_empty(),
        "the first wave's last callback planned the second"
    );

    // `first`'s cache knows nothing of the second wave.
    first
        .execute(batch_id, record(wave_two[0]), &metadata())
        .await
        .expect("a comparison the log knows is accepted");

    let recorded = logged(&first, batch_id, recorded_verdict).await;
    assert_eq!(recorded.last(), Some(&wave_two[0]));
}

/// Two buses on one log each receive every callback of a 300-comparison wave (Kafka
/// redelivers), in opposite orders, at once: each is recorded exactly once.
async fn assert_racers_record_every_callback_once(buses: [BatchCommandBus; 2]) {
    const CALLBACKS: usize = 300;
    let batch_id = BatchId(Uuid::new_v4());
    let mut register = register_command(batch_id, 40, CALLBACKS as u32);
    if let CjBatchCommand::RegisterBatch(r) = &mut register {
        r.settings.wave_size = Some(CALLBACKS as u32);
    }
    register_without_anchors(&buses[0], batch_id, register, &metadata()).await;
    let wave = logged(&buses[0], batch_id, planned).await;
    assert_eq!(wave.len(), CALLBACKS);

    let racers: Vec<_> = buses
        .iter()
        .enumerate()
        .map(|(index, bus)| {
            let (bus, mut order) = (bus.clone(), wave.clone());
            if index == 1 {
                order.reverse();
            }
            tokio::spawn(async move {
                for correlation_id in order {
                    bus.execute(batch_id, record(correlation_id), &metadata())
                        .await
                        .expect("a callback is never lost to a race");
                }
            })
        })
        .collect();
    for racer in racers {
        racer.await.expect("racer task");
    }

    let recorded = logged(&buses[0], batch_id, recorded_verdict).await;
    let distinct: BTreeSet<_> = recorded.iter().collect();
    println!(
        "two-process race: {} commands, {} + {} conflict retries",
        2 * CALLBACKS,
        buses[0].conflict_retries(),
        buses[1].conflict_retries()
    );
    assert_eq!(
        recorded.len(),
        CALLBACKS,
        "every callback recorded exactly once"
    );
    assert_eq!(distinct.len(), CALLBACKS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_on_one_batch_record_every_callback_exactly_once() {
    let db = TestDatabase::create().await;
    assert_racers_record_every_callback_once([
        BatchCommandBus::new(db.pool.clone()),
        BatchCommandBus::new(db.pool.clone()),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_two_buses_racing_on_one_batch_record_every_callback_exactly_once() {
    let log = Arc::new(InMemoryEventLog::default());
    let bus = || BatchCommandBus::over(log.clone(), AggregateCache::default());
    assert_racers_record_every_callback_once([bus(), bus()]).await;
}
