//! Commands on several batches executed together (`BatchCommandBus::execute_together`, the
//! callback consumer's and the dispatcher's path): what they decide is appended in one
//! transaction, each command's outcome is its own, and whatever cannot join — a batch named
//! twice, a refusal, an append another process beat — is still recorded exactly once.

use crate::support::{logged, opened_batch, recorded_verdict, verdict, TestDatabase};
use cj_aggregates::batch::commands::{Position, RecordCallbacks};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::{CjBatchCommand, CjBatchError};
use cj_assessment::store::aggregate_cache::AggregateCache;
use cj_assessment::store::memory_log::InMemoryEventLog;
use cj_assessment::store::{BatchCommand, BatchCommandBus, CommandError, CommandMetadata};
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

fn metadata() -> CommandMetadata {
    CommandMetadata::new(Uuid::new_v4(), "commands-together-test")
}

fn record(batch_id: BatchId, correlation_id: CorrelationId) -> BatchCommand {
    BatchCommand {
        batch_id,
        command: CjBatchCommand::RecordCallbacks(RecordCallbacks {
            callbacks: vec![verdict(correlation_id, Position::A)],
        }),
        metadata: metadata(),
    }
}

/// The verdicts recorded for the batch, in log order.
async fn recorded(bus: &BatchCommandBus, batch_id: BatchId) -> Vec<CorrelationId> {
    logged(bus, batch_id, recorded_verdict).await
}

/// The transactions that wrote the batch's verdicts.
async fn verdict_transactions(pool: &PgPool, batch_id: BatchId) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT tx::text FROM events
          WHERE aggregate_id = $1 AND event_type = 'ComparisonRecorded'",
    )
    .bind(batch_id.to_string())
    .fetch_all(pool)
    .await
    .expect("transactions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_several_batches_are_appended_in_one_transaction() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let mut batches = Vec::new();
    for _ in 0..3 {
        batches.push(opened_batch(&bus, 60).await);
    }

    let commands: Vec<BatchCommand> = batches
        .iter()
        .map(|(batch_id, wave)| record(*batch_id, wave[0]))
        .collect();
    let outcomes = bus.execute_together(&commands).await;

    for ((batch_id, wave), outcome) in batches.iter().zip(&outcomes) {
        assert!(
            matches!(outcome, Ok(events) if !events.is_empty()),
            "{outcome:?}"
        );
        assert_eq!(recorded(&bus, *batch_id).await, vec![wave[0]]);
    }
    let mut transactions = Vec::new();
    for (batch_id, _) in &batches {
        transactions.extend(verdict_transactions(&db.pool, *batch_id).await);
    }
    transactions.dedup();
    assert_eq!(
        transactions.len(),
        1,
        "one commit for the three batches: {transactions:?}"
    );
    assert_eq!(bus.conflict_retries(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_named_twice_and_a_refused_command_are_each_settled_on_their_own() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let (twice, wave) = opened_batch(&bus, 60).await;
    let (other, other_wave) = opened_batch(&bus, 60).await;
    let unknown = CorrelationId(Uuid::new_v4());

    let outcomes = bus
        .execute_together(&[
            record(twice, wave[0]),
            record(other, unknown),
            record(twice, wave[1]),
            record(other, other_wave[0]),
        ])
        .await;

    assert!(
        outcomes[0].is_ok() && outcomes[2].is_ok() && outcomes[3].is_ok(),
        "{outcomes:?}"
    );
    assert!(
        matches!(
            &outcomes[1],
            Err(CommandError::Rejected(CjBatchError::UnknownComparisons { correlation_ids }))
                if correlation_ids.as_slice() == [unknown]
        ),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(recorded(&bus, twice).await, vec![wave[0], wave[1]]);
    assert_eq!(recorded(&bus, other).await, vec![other_wave[0]]);
    assert_eq!(
        verdict_transactions(&db.pool, twice).await.len(),
        2,
        "the batch's second command ran alone, after the first"
    );
}

/// Two buses on one log: `second` moves one batch on behind `first`'s cache, so `first`'s
/// append of two batches together conflicts as a whole; both commands then run alone and
/// each is recorded once.
async fn assert_a_beaten_append_records_every_command_once(
    first: BatchCommandBus,
    second: BatchCommandBus,
) {
    let (stale, stale_wave) = opened_batch(&first, 60).await;
    let (fresh, fresh_wave) = opened_batch(&first, 60).await;
    second
        .execute(stale, record(stale, stale_wave[0]).command, &metadata())
        .await
        .expect("the other process's callback");

    let outcomes = first
        .execute_together(&[record(stale, stale_wave[1]), record(fresh, fresh_wave[0])])
        .await;

    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(
        recorded(&first, stale).await,
        vec![stale_wave[0], stale_wave[1]]
    );
    assert_eq!(recorded(&first, fresh).await, vec![fresh_wave[0]]);
    assert_eq!(
        first.conflict_retries(),
        2,
        "the append together conflicted, then the stale batch alone once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_together_beaten_by_another_process_records_every_command_once() {
    let db = TestDatabase::create().await;
    assert_a_beaten_append_records_every_command_once(
        BatchCommandBus::new(db.pool.clone()),
        BatchCommandBus::new(db.pool.clone()),
    )
    .await;
}

#[tokio::test]
async fn in_memory_an_append_together_beaten_by_another_process_records_every_command_once() {
    let log = Arc::new(InMemoryEventLog::default());
    let bus = || BatchCommandBus::over(log.clone(), AggregateCache::default());
    assert_a_beaten_append_records_every_command_once(bus(), bus()).await;
}
