//! What the command bus needs from an event log, whichever holds it: a batch's state folded
//! from its stream, the events after a sequence (to catch a stale state up), and an append
//! that continues the stream from the sequence a command was decided at — refused with
//! [`AppendError::Conflict`] when another writer took one of those sequences first.
//!
//! An append of several batches' events at once ([`EventLog::append_all`]) is all or none
//! as well: one statement and one commit for many commands, refused whole when any of its
//! streams moved on.
//!
//! Two logs implement it: PostgreSQL ([`super::postgres_log`], the service's) and memory
//! ([`super::memory_log`], the demo's and the simulation's). Both refuse a stale append the
//! same way, so the bus's cache, catch-up and retries behave the same on either.

use super::aggregate_cache::CachedBatch;
use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use std::collections::HashMap;
use std::error::Error;

/// Reading or writing the log failed (the database, encoding): not a business outcome.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub Box<dyn Error + Send + Sync>);

impl LogError {
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        LogError(Box::new(error))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the batch after the state the command decided with.
    #[error("the batch's stream moved on since it was loaded")]
    Conflict,
    /// Whether the events were written is unknown.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// One event of a batch's stream with its position in it (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct SequencedEvent {
    pub sequence: usize,
    pub event: CjBatchEvent,
}

/// One batch's part of an append of several batches' events ([`EventLog::append_all`]).
#[derive(Debug, Clone, Copy)]
pub struct StreamAppend<'a> {
    pub batch_id: BatchId,
    /// The sequence the events continue from.
    pub after: usize,
    pub events: &'a [CjBatchEvent],
    pub metadata: &'a HashMap<String, String>,
}

/// Where a command bus reads and appends a batch's events.
#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// The batch's state folded from its whole stream, at the sequence of its last event
    /// (a batch without events: the empty aggregate at 0).
    async fn load(&self, batch_id: BatchId) -> Result<CachedBatch, LogError>;

    /// The batch's events with sequences after `after`, in order.
    async fn events_after(
        &self,
        batch_id: BatchId,
        after: usize,
    ) -> Result<Vec<SequencedEvent>, LogError>;

    /// Appends `events` as sequences `after + 1 ..` of the batch's stream, all or none: an
    /// [`EventLog::append_all`] of one part.
    async fn append(
        &self,
        batch_id: BatchId,
        after: usize,
        events: &[CjBatchEvent],
        metadata: &HashMap<String, String>,
    ) -> Result<(), AppendError> {
        self.append_all(&[StreamAppend {
            batch_id,
            after,
            events,
            metadata,
        }])
        .await
    }

    /// Appends every part as [`EventLog::append`] would, all parts or none: a
    /// [`AppendError::Conflict`] when any part's stream moved on (which one is not said).
    /// The parts name distinct batches.
    async fn append_all(&self, parts: &[StreamAppend<'_>]) -> Result<(), AppendError>;
}
