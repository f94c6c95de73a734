//! Reading the event log. Projectors page through it with the cursor
//! `(tx, global_seq) > last AND tx < pg_snapshot_xmin(pg_current_snapshot())`: a
//! `global_seq` becomes visible at commit, not at insert, so paging on it alone skips rows
//! that commit late; every row of a transaction older than the oldest one still running is
//! final, so nothing below that bound can appear later.

use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use cj_aggregates::upcasting::decode_event;
use cj_aggregates::{CjBatch, CjBatchEvent};
use cqrs_es::Aggregate;
use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

/// A place in the log in reading order. `tx` is the writing transaction's id (`xid8`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub tx: i64,
    pub global_seq: i64,
}

/// One committed event, decoded, with where and when it was written.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub position: LogPosition,
    pub event_id: Uuid,
    pub batch_id: Uuid,
    /// The event's position in its batch's stream (1-based).
    pub sequence: i64,
    pub event_type: String,
    /// The version it was stored with (before upcasting).
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    pub metadata: Value,
    /// The payload as stored (before upcasting).
    pub stored_payload: Value,
    pub event: CjBatchEvent,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    global_seq: i64,
    tx: i64,
    event_id: Uuid,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: Value,
    metadata: Value,
    recorded_at: DateTime<Utc>,
}

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT global_seq, tx::text::bigint AS tx, event_id, aggregate_id, sequence, ",
            "event_type, event_version, payload, metadata, recorded_at FROM events ",
            $rest
        )
    };
}

impl TryFrom<EventRow> for LoggedEvent {
    type Error = ProjectionError;

    fn try_from(row: EventRow) -> Result<Self, Self::Error> {
        let batch_id =
            Uuid::parse_str(&row.aggregate_id).map_err(|_| ProjectionError::NotABatchId {
                global_seq: row.global_seq,
                aggregate_id: row.aggregate_id.clone(),
            })?;
        let event = decode_event(&row.event_type, &row.event_version, row.payload.clone())
            .map_err(|source| ProjectionError::Decode {
                global_seq: row.global_seq,
                source,
            })?;
        Ok(LoggedEvent {
            position: LogPosition {
                tx: row.tx,
                global_seq: row.global_seq,
            },
            event_id: row.event_id,
            batch_id,
            sequence: row.sequence,
            event_type: row.event_type,
            event_version: row.event_version,
            recorded_at: row.recorded_at,
            metadata: row.metadata,
            stored_payload: row.payload,
            event,
        })
    }
}

fn decode_all(rows: Vec<EventRow>) -> Result<Vec<LoggedEvent>, ProjectionError> {
    rows.into_iter().map(LoggedEvent::try_from).collect()
}

/// Up to `limit` final events after `after`, in reading order.
pub async fn read_final_after(
    executor: impl PgExecutor<'_>,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<LoggedEvent>, ProjectionError> {
    let rows: Vec<EventRow> = sqlx::query_as(select_events!(
        "WHERE (tx, global_seq) > ($1::bigint::text::xid8, $2)
           AND tx < pg_snapshot_xmin(pg_current_snapshot())
           AND aggregate_type = $3
         ORDER BY tx, global_seq
         LIMIT $4"
    ))
    .bind(after.tx)
    .bind(after.global_seq)
    .bind(CjBatch::TYPE)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    decode_all(rows)
}

/// Whether a final event follows the checkpoint of `projector` (no row: the log start).
/// A cheap read-only probe, so idle projectors poll without opening write transactions.
pub async fn has_final_events_for(
    executor: impl PgExecutor<'_>,
    projector: &str,
) -> Result<bool, ProjectionError> {
    let found: bool = sqlx::query_scalar(
        "WITH c AS (
             SELECT coalesce(max(last_tx), '0'::xid8) AS last_tx,
                    coalesce(max(last_seq), 0) AS last_seq
               FROM projector_checkpoints WHERE projector = $1)
         SELECT EXISTS (
             SELECT 1 FROM events e, c
              WHERE (e.tx, e.global_seq) > (c.last_tx, c.last_seq)
                AND e.tx < pg_snapshot_xmin(pg_current_snapshot()))",
    )
    .bind(projector)
    .fetch_one(executor)
    .await?;
    Ok(found)
}

/// The events of one batch after its `after_sequence`-th, in stream order.
pub async fn batch_events(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
    after_sequence: i64,
) -> Result<Vec<LoggedEvent>, ProjectionError> {
    let rows: Vec<EventRow> = sqlx::query_as(select_events!(
        "WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence"
    ))
    .bind(CjBatch::TYPE)
    .bind(batch_id.to_string())
    .bind(after_sequence)
    .fetch_all(executor)
    .await?;
    decode_all(rows)
}

/// Number of events in the log.
pub async fn event_count(executor: impl PgExecutor<'_>) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(executor)
        .await?)
}
