//! The [`EventLog`] on PostgreSQL, the service's log: a batch is loaded through postgres-es's
//! event store without snapshots (its 0.5.0 snapshot store applies events twice), decoding
//! through the aggregate's upcasters; catching up reads the rows after a sequence
//! (`cj_projections::log::batch_events`); an append is one multi-row insert
//! ([`append_streams`]) whose primary key refuses a sequence another writer took, and once it
//! has committed the projectors are woken ([`AppendWake`]).

use super::aggregate_cache::CachedBatch;
use super::append_wake::AppendWake;
use super::event_append::{append_streams, InsertError};
use super::event_log::{AppendError, EventLog, LogError, SequencedEvent, StreamAppend};
use cj_aggregates::batch::upcasting::upcasters;
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatch, CjBatchError};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, EventStore};
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use std::sync::OnceLock;

type LogStore = PersistedEventStore<PostgresEventRepository, CjBatch>;

pub struct PostgresEventLog {
    pool: PgPool,
    store: LogStore,
    /// Started with the first append (which runs on the Tokio runtime; `new` need not).
    wake: OnceLock<AppendWake>,
}

impl PostgresEventLog {
    pub fn new(pool: PgPool) -> Self {
        let store =
            PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone()))
                .with_upcasters(upcasters());
        PostgresEventLog {
            pool,
            store,
            wake: OnceLock::new(),
        }
    }

    /// An insert's outcome as an append's, the projectors woken once it committed.
    fn appended(&self, inserted: Result<(), InsertError>) -> Result<(), AppendError> {
        match inserted {
            Ok(()) => {
                self.wake
                    .get_or_init(|| AppendWake::start(self.pool.clone()))
                    .appended();
                Ok(())
            }
            Err(InsertError::Conflict) => Err(AppendError::Conflict),
            Err(error) => Err(AppendError::Log(LogError::new(error))),
        }
    }
}

#[async_trait::async_trait]
impl EventLog for PostgresEventLog {
    async fn load(&self, batch_id: BatchId) -> Result<CachedBatch, LogError> {
        let loaded = self
            .store
            .load_aggregate(&batch_id.to_string())
            .await
            .map_err(load_error)?;
        Ok(CachedBatch {
            batch: loaded.aggregate,
            sequence: loaded.current_sequence,
        })
    }

    async fn events_after(
        &self,
        batch_id: BatchId,
        after: usize,
    ) -> Result<Vec<SequencedEvent>, LogError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let logged = cj_projections::log::batch_events(&self.pool, batch_id.0, after)
            .await
            .map_err(LogError::new)?;
        logged
            .into_iter()
            .map(|logged| {
                Ok(SequencedEvent {
                    sequence: usize::try_from(logged.sequence).map_err(LogError::new)?,
                    event: logged.event,
                })
            })
            .collect()
    }

    async fn append_all(&self, parts: &[StreamAppend<'_>]) -> Result<(), AppendError> {
        self.appended(append_streams(&self.pool, parts).await)
    }
}

/// Loading only folds stored events, so every failure is the log's.
fn load_error(error: AggregateError<CjBatchError>) -> LogError {
    match error {
        AggregateError::UserError(rejection) => LogError::new(rejection),
        AggregateError::AggregateConflict => LogError("unexpected conflict on load".into()),
        AggregateError::DatabaseConnectionError(error)
        | AggregateError::DeserializationError(error)
        | AggregateError::UnexpectedError(error) => LogError(error),
    }
}
