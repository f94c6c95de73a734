//! The batch monitor with a moved clock: stuck batches at 85 % progress are completed as
//! COMPLETE_FORCED_RECOVERY, at 60 % failed; fresh batches are left alone; the completion
//! sweep finalizes (and counts) a batch whose callbacks are all in; one instance at a time.

mod support;

use chrono::{Duration, Utc};
use cj_aggregates::batch::commands::{Position, RecordCallbacks};
use cj_aggregates::batch::events::{ComparisonRecorded, WavePlanned};
use cj_aggregates::ids::BatchId;
use cj_aggregates::judge::JudgeId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_assessment::clock::ManualClock;
use cj_assessment::monitor::sweep::{sweep_once, SweepReport, SweepSettings};
use cj_assessment::monitor::try_take_lock;
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use support::{
    append_raw, drain_projections, opening_events, register_command, register_without_anchors,
    TestDatabase,
};
use uuid::Uuid;

async fn batch_stuck_at(db: &TestDatabase, bus: &BatchCommandBus, resolved: usize) -> BatchId {
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "monitor-test");
    let mut register = register_command(batch_id, 8, 20);
    if let CjBatchCommand::RegisterBatch(r) = &mut register {
        r.settings.wave_size = Some(20);
    }
    register_without_anchors(bus, batch_id, register, &metadata).await;
    let events = cj_projections::log::batch_events(&db.pool, batch_id.0, 0)
        .await
        .unwrap();
    let planned: Vec<_> = events
        .iter()
        .find_map(|e| match &e.event {
            CjBatchEvent::WavePlanned(w) => Some(w.comparisons.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(planned.len(), 20);
    let callbacks = planned[..resolved]
        .iter()
        .map(|c| support::verdict(c.correlation_id, Position::A))
        .collect();
    bus.execute(
        batch_id,
        CjBatchCommand::RecordCallbacks(RecordCallbacks { callbacks }),
        &metadata,
    )
    .await
    .unwrap();
    batch_id
}

async fn last_event(db: &TestDatabase, batch_id: BatchId) -> CjBatchEvent {
    cj_projections::log::batch_events(&db.pool, batch_id.0, 0)
        .await
        .unwrap()
        .pop()
        .unwrap()
        .event
}

#[tokio::test]
async fn stuck_batches_are_recovered_or_failed_by_progress_and_fresh_ones_left_alone() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let at_85 = batch_stuck_at(&db, &bus, 17).await;
    let at_60 = batch_stuck_at(&db, &bus, 12).await;
    drain_projections(&db.pool).await;
    let clock = ManualClock::starting_at(Utc::now());
    let settings = SweepSettings::default();

    let early = sweep_once(&db.pool, &bus, &clock, &settings).await.unwrap();
    assert_eq!(early, SweepReport::default(), "nothing is stuck yet");

    clock.advance(Duration::hours(5));
    let report = sweep_once(&db.pool, &bus, &clock, &settings).await.unwrap();
    assert_eq!(report.stuck, 2);
    assert_eq!(report.recovered, 1);
    assert_eq!(report.failed, 1);
    match last_event(&db, at_85).await {
        CjBatchEvent::BatchCompleted(done) => {
            assert_eq!(done.status.as_str(), "COMPLETE_FORCED_RECOVERY")
        }
        other => panic!("85 % batch ended with {other:?}"),
    }
    match last_event(&db, at_60).await {
        CjBatchEvent::BatchFailed(failed) => {
            assert_eq!(
                failed.reason.as_str(),
                "stuck_timeout_insufficient_progress"
            )
        }
        other => panic!("60 % batch ended with {other:?}"),
    }

    drain_projections(&db.pool).await;
    let again = sweep_once(&db.pool, &bus, &clock, &settings).await.unwrap();
    assert_eq!(again.stuck, 0, "ended batches are not swept again");
}

#[tokio::test]
async fn the_completion_sweep_finalizes_a_batch_left_unfinished_and_counts_it() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let batch_id = BatchId(Uuid::new_v4());
    // The opening as the aggregate decides it, then every callback recorded without the
    // decision that should have followed — what only a defect could leave behind.
    let mut events = opening_events(batch_id, 6);
    let wave: WavePlanned = events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::WavePlanned(w) => Some(w.clone()),
            _ => None,
        })
        .unwrap();
    events.extend(wave.comparisons.iter().map(|c| {
        CjBatchEvent::ComparisonRecorded(ComparisonRecorded {
            correlation_id: c.correlation_id,
            winner: c.essay_a.clone(),
            winner_position: Position::A,
            confidence: None,
            justification: None,
            judge: JudgeId::unknown(),
            cost_estimate: None,
            total_tokens: None,
            p_a_wins: None,
        })
    }));
    let mut connection = db.pool.acquire().await.unwrap();
    append_raw(&mut connection, batch_id, 1, &events).await;
    drop(connection);
    drain_projections(&db.pool).await;

    let clock = ManualClock::starting_at(Utc::now() + Duration::minutes(10));
    let report = sweep_once(&db.pool, &bus, &clock, &SweepSettings::default())
        .await
        .unwrap();
    assert_eq!(report.finalized_by_completion_sweep, 1);
    assert!(matches!(
        last_event(&db, batch_id).await,
        CjBatchEvent::BatchCompleted(_)
    ));
}

#[tokio::test]
async fn only_one_instance_holds_the_monitor_lock_and_another_takes_it_once_the_holder_lets_go() {
    let db = TestDatabase::create().await;
    // Another instance: a process of its own, so a pool of its own.
    let other_instance = cj_assessment::store::database::connect(&db.url)
        .await
        .expect("a second pool");
    let first = try_take_lock(&db.pool)
        .await
        .expect("the first instance gets the lock");
    assert!(
        try_take_lock(&other_instance).await.is_none(),
        "a second instance does not"
    );
    drop(first);
    let mut freed = None;
    for _ in 0..100 {
        freed = try_take_lock(&other_instance).await;
        if freed.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        freed.is_some(),
        "the lock is free for another instance once its holder is gone (not kept by a pooled connection)"
    );
}
