//! Appending to the PostgreSQL log: one multi-row `INSERT` (one round trip, atomic on its own) into
//! the table postgres-es reads, with the same columns and encoding postgres-es writes
//! (`event_type`, `event_version`, JSON payload and metadata); the log columns
//! (`global_seq`, `tx`, `event_id`, and `recorded_at` unless a row brings its own) fill
//! from their defaults.
//!
//! [`append_streams`] is the command path (through [`super::postgres_log`]): each batch's
//! events continue its stream from the sequence its command was decided at; if another
//! writer took one of those sequences first, the primary key refuses the whole insert and
//! the append reports a conflict. One command or several batches' commands, it is one
//! insert and one commit.
//! [`insert_rows`] is the same insert for rows prepared elsewhere (benchmarks seeding a
//! log).

use super::event_log::StreamAppend;
use chrono::{DateTime, Utc};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatch, CjBatchEvent};
use cqrs_es::{Aggregate, DomainEvent};
use sqlx::PgExecutor;

/// SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

const INSERT_ROWS: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                    payload, metadata, recorded_at)
SELECT $1, row.aggregate_id, row.sequence, row.event_type, row.event_version,
       row.payload::json, row.metadata::json, coalesce(row.recorded_at, now())
  FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::timestamptz[])
       AS row(aggregate_id, sequence, event_type, event_version, payload, metadata,
              recorded_at)";

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// Another writer appended to the batch after the state the command decided with.
    #[error("the batch's stream moved on since it was loaded")]
    Conflict,
    #[error("encoding an event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("writing events: {0}")]
    Database(#[source] sqlx::Error),
}

/// One row of the log, encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub batch_id: BatchId,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The event as JSON text.
    pub payload: String,
    /// The metadata as JSON text.
    pub metadata: String,
    /// `None`: the time of the insert.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl LogRow {
    pub fn encode(
        batch_id: BatchId,
        sequence: i64,
        event: &CjBatchEvent,
        metadata: String,
    ) -> Result<Self, serde_json::Error> {
        Ok(LogRow {
            batch_id,
            sequence,
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_string(event)?,
            metadata,
            recorded_at: None,
        })
    }
}

/// Appends every part's events after its sequence, with one statement: all or none.
pub async fn append_streams(
    executor: impl PgExecutor<'_>,
    parts: &[StreamAppend<'_>],
) -> Result<(), InsertError> {
    let mut rows = Vec::with_capacity(parts.iter().map(|part| part.events.len()).sum());
    for part in parts {
        let metadata = serde_json::to_string(part.metadata)?;
        for (offset, event) in part.events.iter().enumerate() {
            let sequence = (part.after + offset + 1) as i64;
            rows.push(LogRow::encode(
                part.batch_id,
                sequence,
                event,
                metadata.clone(),
            )?);
        }
    }
    insert_rows(executor, &rows).await
}

/// Inserts `rows` with one statement.
pub async fn insert_rows(
    executor: impl PgExecutor<'_>,
    rows: &[LogRow],
) -> Result<(), InsertError> {
    let column = |get: fn(&LogRow) -> String| rows.iter().map(get).collect::<Vec<String>>();
    let result = sqlx::query(INSERT_ROWS)
        .bind(CjBatch::TYPE)
        .bind(column(|row| row.batch_id.to_string()))
        .bind(rows.iter().map(|row| row.sequence).collect::<Vec<i64>>())
        .bind(column(|row| row.event_type.clone()))
        .bind(column(|row| row.event_version.clone()))
        .bind(column(|row| row.payload.clone()))
        .bind(column(|row| row.metadata.clone()))
        .bind(rows.iter().map(|row| row.recorded_at).collect::<Vec<_>>())
        .execute(executor)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(UNIQUE_VIOLATION) => {
            Err(InsertError::Conflict)
        }
        Err(error) => Err(InsertError::Database(error)),
    }
}
