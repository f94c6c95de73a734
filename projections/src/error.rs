//! Why a projector or a log reader stopped.

use cj_aggregates::batch::upcasting::DecodeError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event #{global_seq}: {source}")]
    Decode {
        global_seq: i64,
        #[source]
        source: DecodeError,
    },
    #[error("event #{global_seq}: aggregate id {aggregate_id:?} is not a batch id")]
    NotABatchId {
        global_seq: i64,
        aggregate_id: String,
    },
    /// An event names a row its projection never created: the log and the projection
    /// disagree, so the projector stops rather than guess.
    #[error("projection {projection}: {event_type} of batch {batch_id} found no row to update")]
    MissingRow {
        projection: &'static str,
        event_type: String,
        batch_id: uuid::Uuid,
    },
    #[error("a projection row could not be encoded: {0}")]
    Encode(String),
    #[error("a projection row could not be read: {0}")]
    UnreadableRow(String),
    /// A finished batch's history did not yield its outgoing messages.
    #[error("outbox of batch {batch_id}: {source}")]
    Outbox {
        batch_id: uuid::Uuid,
        #[source]
        source: crate::outbox::DeriveError,
    },
    #[error("unknown projection {name:?}; known: {known}")]
    UnknownProjection { name: String, known: String },
    /// The projection gave up on purpose (fault injection, an operator's stop).
    #[error("projection {projection} aborted: {reason}")]
    Aborted {
        projection: &'static str,
        reason: String,
    },
}
