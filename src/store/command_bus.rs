//! The one way commands reach a `CjBatch` aggregate on PostgreSQL: postgres-es's event
//! store without snapshots (its 0.5.0 snapshot store applies events twice), decoding
//! through the aggregate's upcasters. Within this process commands on one batch take turns
//! ([`BatchLocks`]); commands of other processes racing on the batch surface as
//! `AggregateConflict`, and the bus reloads and retries them (bounded, with jitter) and
//! counts every retry, so a lost race is never a lost command.

use super::batch_locks::BatchLocks;
use super::metadata::CommandMetadata;
use cj_aggregates::ids::BatchId;
use cj_aggregates::upcasting::upcasters;
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchError};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, CqrsFramework};
use postgres_es::{PostgresCqrs, PostgresEventRepository};
use rand::Rng;
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a conflicting command is tried. Racers on one batch are a handful of
/// consumers; each conflict means another command succeeded, so a dozen attempts are
/// exhausted only under pathological contention.
pub const MAX_ATTEMPTS: u32 = 12;

/// First back-off ceiling; it doubles per attempt up to [`MAX_BACKOFF`]. The delay is
/// drawn uniformly below the ceiling (full jitter) so racers spread out.
const BASE_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The aggregate refused the command (a business rule).
    #[error(transparent)]
    Rejected(#[from] CjBatchError),
    #[error("batch {batch_id}: still conflicting after {attempts} attempts")]
    ConflictsExhausted { batch_id: BatchId, attempts: u32 },
    #[error("event store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Clone)]
pub struct BatchCommandBus {
    cqrs: Arc<PostgresCqrs<CjBatch>>,
    locks: BatchLocks,
    conflict_retries: Arc<AtomicU64>,
}

impl BatchCommandBus {
    pub fn new(pool: PgPool) -> Self {
        let store = PersistedEventStore::new_event_store(PostgresEventRepository::new(pool))
            .with_upcasters(upcasters());
        BatchCommandBus {
            cqrs: Arc::new(CqrsFramework::new(store, Vec::new(), ())),
            locks: BatchLocks::default(),
            conflict_retries: Arc::default(),
        }
    }

    /// Retries after `AggregateConflict` since start-up (a metric).
    pub fn conflict_retries(&self) -> u64 {
        self.conflict_retries.load(Ordering::Relaxed)
    }

    /// The retry counter itself, for a metrics registry to read.
    pub fn conflict_retry_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.conflict_retries)
    }

    /// Executes `command` on batch `batch_id`, retrying lost races.
    pub async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), CommandError> {
        let aggregate_id = batch_id.to_string();
        let metadata = metadata.to_map();
        let _turn = self.locks.lock(batch_id).await;
        for attempt in 1..=MAX_ATTEMPTS {
            let result = self
                .cqrs
                .execute_with_metadata(&aggregate_id, command.clone(), metadata.clone())
                .await;
            match result {
                Ok(()) => return Ok(()),
                Err(AggregateError::AggregateConflict) if attempt < MAX_ATTEMPTS => {
                    self.conflict_retries.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::metrics().aggregate_conflict_retries.inc();
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(AggregateError::AggregateConflict) => break,
                Err(AggregateError::UserError(error)) => return Err(CommandError::Rejected(error)),
                Err(AggregateError::DatabaseConnectionError(error))
                | Err(AggregateError::DeserializationError(error))
                | Err(AggregateError::UnexpectedError(error)) => {
                    return Err(CommandError::Store(error))
                }
            }
        }
        Err(CommandError::ConflictsExhausted {
            batch_id,
            attempts: MAX_ATTEMPTS,
        })
    }
}

/// A random pause below the attempt's ceiling.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    rand::thread_rng().gen_range(Duration::ZERO..=ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_below_its_ceiling() {
        for attempt in 1..40 {
            assert!(backoff(attempt) <= MAX_BACKOFF);
        }
    }
}
