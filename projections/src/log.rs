//! Reading the event log. Projectors page through it with the cursor
//! `(tx, global_seq) > last AND tx < pg_snapshot_xmin(pg_current_snapshot())`: a
//! `global_seq` becomes visible at commit, not at insert, so paging on it alone skips rows
//! that commit late; every row of a transaction older than the oldest one still running is
//! final, so nothing below that bound can appear later.

use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::BatchPurpose;
use cj_aggregates::batch::upcasting::decode_event;
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

/// A chunk of the log read for a projector: the events of the types it wants, decoded, and
/// where the chunk ends (past the events it skipped too).
#[derive(Debug, Default)]
pub struct Chunk {
    pub events: Vec<LoggedEvent>,
    /// The position of the chunk's last event, wanted or not (`None`: nothing to read).
    pub last: Option<LogPosition>,
    /// Events the chunk spans, wanted or not.
    pub spanned: usize,
}

/// A row of a chunk: its position, and the rest of the row when its type is wanted.
#[derive(sqlx::FromRow)]
struct ChunkRow {
    global_seq: i64,
    tx: i64,
    event_id: Option<Uuid>,
    aggregate_id: Option<String>,
    sequence: Option<i64>,
    event_type: Option<String>,
    event_version: Option<String>,
    payload: Option<Value>,
    metadata: Option<Value>,
    recorded_at: Option<DateTime<Utc>>,
}

impl ChunkRow {
    fn position(&self) -> LogPosition {
        LogPosition {
            tx: self.tx,
            global_seq: self.global_seq,
        }
    }

    /// The whole row, if its type was wanted.
    fn wanted(self) -> Option<EventRow> {
        Some(EventRow {
            global_seq: self.global_seq,
            tx: self.tx,
            event_id: self.event_id?,
            aggregate_id: self.aggregate_id?,
            sequence: self.sequence?,
            event_type: self.event_type?,
            event_version: self.event_version?,
            payload: self.payload?,
            metadata: self.metadata?,
            recorded_at: self.recorded_at?,
        })
    }
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
        let event =
            decode_event(&row.event_type, &row.event_version, &row.payload).map_err(|source| {
                ProjectionError::Decode {
                    global_seq: row.global_seq,
                    source,
                }
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
    Ok(read_chunk(executor, after, limit, None).await?.events)
}

/// The next `limit` final events after `after`; only those whose type is in `wanted`
/// (every type when `None`) are transferred whole and decoded — a projector that cares
/// for a few kinds of event skips the rest for the price of their position.
///
/// The cursor's only predicates are on `(tx, global_seq)`, so the one plan is a walk of
/// that index from the checkpoint, `limit` entries long. (The log holds only `CjBatch`
/// streams; an `aggregate_type` predicate here let the planner, with the statistics of a
/// freshly filled table, pick the primary key and sort the whole log for every chunk.)
pub async fn read_chunk(
    executor: impl PgExecutor<'_>,
    after: LogPosition,
    limit: i64,
    wanted: Option<&[&str]>,
) -> Result<Chunk, ProjectionError> {
    let Some(wanted) = wanted else {
        // `events.tx`, not `tx`: a bare ORDER BY name means the output column, here the
        // bigint `tx::text::bigint AS tx`, which no index is ordered by — every chunk then
        // sorted the rest of the log (measured: a replay of a million events crawling).
        let rows: Vec<EventRow> = sqlx::query_as(select_events!(
            "WHERE (tx, global_seq) > ($1::bigint::text::xid8, $2)
               AND tx < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY events.tx, events.global_seq
             LIMIT $3"
        ))
        .bind(after.tx)
        .bind(after.global_seq)
        .bind(limit)
        .fetch_all(executor)
        .await?;
        let events = decode_all(rows)?;
        return Ok(Chunk {
            last: events.last().map(|e| e.position),
            spanned: events.len(),
            events,
        });
    };
    // One walk of the cursor's index; the wanted rows' columns come through a lateral
    // subquery evaluated per row. (A join of the chunk back to `events` was planned as a hash
    // join over a scan of the whole log.)
    let rows: Vec<ChunkRow> = sqlx::query_as(
        "SELECT e.global_seq, e.tx::text::bigint AS tx, w.*
           FROM events e
           LEFT JOIN LATERAL (
                SELECT e.event_id, e.aggregate_id, e.sequence, e.event_type, e.event_version,
                       e.payload, e.metadata, e.recorded_at
                 WHERE e.event_type = ANY($4)) w ON true
          WHERE (e.tx, e.global_seq) > ($1::bigint::text::xid8, $2)
            AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY e.tx, e.global_seq
          LIMIT $3",
    )
    .bind(after.tx)
    .bind(after.global_seq)
    .bind(limit)
    .bind(wanted)
    .fetch_all(executor)
    .await?;
    let last = rows.last().map(ChunkRow::position);
    let spanned = rows.len();
    let events = decode_all(rows.into_iter().filter_map(ChunkRow::wanted).collect())?;
    Ok(Chunk {
        events,
        last,
        spanned,
    })
}

/// Projector `$1`'s checkpoint, as scalar subqueries: run once, their values then index
/// parameters. Joined to the checkpoint row, or inside EXISTS, the cursor below was planned
/// as a scan of the whole log, which an idle projector then paid for every poll.
macro_rules! checkpoint_tx {
    () => {
        "(SELECT coalesce(max(c.last_tx), '0'::xid8) FROM projector_checkpoints c
           WHERE c.projector = $1)"
    };
}

macro_rules! checkpoint_seq {
    () => {
        "(SELECT coalesce(max(c.last_seq), 0) FROM projector_checkpoints c WHERE c.projector = $1)"
    };
}

/// The final events of `events e` after projector `$1`'s checkpoint; ordered by
/// `e.tx, e.global_seq` and limited, the plan walks the cursor's index from the checkpoint.
macro_rules! final_after_checkpoint {
    () => {
        concat!(
            "(e.tx, e.global_seq) > (",
            checkpoint_tx!(),
            ", ",
            checkpoint_seq!(),
            ") AND e.tx < pg_snapshot_xmin(pg_current_snapshot())"
        )
    };
}

/// Whether a final event follows the checkpoint of `projector` (no row: the log start).
/// A cheap read-only probe, so idle projectors poll without opening write transactions.
pub async fn has_final_events_for(
    executor: impl PgExecutor<'_>,
    projector: &str,
) -> Result<bool, ProjectionError> {
    let found: Option<i32> = sqlx::query_scalar(concat!(
        "SELECT 1 FROM events e WHERE ",
        final_after_checkpoint!(),
        " ORDER BY e.tx, e.global_seq LIMIT 1"
    ))
    .bind(projector)
    .fetch_optional(executor)
    .await?;
    Ok(found.is_some())
}

/// What follows a projector's checkpoint in the final log, up to a chunk's worth of events
/// ([`final_span_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalSpan {
    /// The checkpoint the span was read after (the log start when the projector has none).
    pub after: LogPosition,
    /// The span's last event.
    pub last: LogPosition,
    /// Events in the span.
    pub spanned: i64,
    /// Whether any of them is of a type the projector wants.
    pub wanted: bool,
}

/// Events a span read by [`final_span_for`] covers at most: a chunk's worth
/// ([`crate::runner::DEFAULT_CHUNK_SIZE`]). A literal, not a parameter: the read runs
/// outside a projector's transaction (whose plans are custom), and a prepared statement's
/// generic plan would take a parameter `LIMIT` for a tenth of the log.
macro_rules! span_limit {
    () => {
        "500"
    };
}

/// The next 500 final events after `projector`'s checkpoint, by position and type only:
/// where they end and whether the projector wants any of them (`None`: nothing final
/// follows). A projector that wants a few kinds of event (a batch's scoring, its end) learns
/// here, without a transaction, that a span holds none of them and can step its checkpoint
/// over it ([`crate::checkpoint::skip`]). The checkpoint is read as in
/// [`has_final_events_for`], so the plan is the same walk of the cursor's index.
pub async fn final_span_for(
    executor: impl PgExecutor<'_>,
    projector: &str,
    wanted: &[&str],
) -> Result<Option<FinalSpan>, ProjectionError> {
    let row: Option<(i64, i64, i64, i64, i64, bool)> = sqlx::query_as(concat!(
        "SELECT ",
        checkpoint_tx!(),
        "::text::bigint, ",
        checkpoint_seq!(),
        ", s.tx::text::bigint, s.global_seq, count(*) OVER (), bool_or(s.wanted) OVER ()
           FROM (SELECT e.tx, e.global_seq, e.event_type = ANY($2) AS wanted
                   FROM events e WHERE ",
        final_after_checkpoint!(),
        " ORDER BY e.tx, e.global_seq LIMIT ",
        span_limit!(),
        ") s
          ORDER BY s.tx DESC, s.global_seq DESC
          LIMIT 1"
    ))
    .bind(projector)
    .bind(wanted)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(
        |(after_tx, after_seq, tx, global_seq, spanned, wanted)| FinalSpan {
            after: LogPosition {
                tx: after_tx,
                global_seq: after_seq,
            },
            last: LogPosition { tx, global_seq },
            spanned,
            wanted,
        },
    ))
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

const BATCH_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 AND aggregate_id = $2)";

/// Whether the log holds any event of `batch_id`: read from the log itself, not a
/// projection, so a batch registered a moment ago is seen before any projector ran.
pub async fn batch_exists(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<bool, ProjectionError> {
    Ok(sqlx::query_scalar(BATCH_EXISTS)
        .bind(CjBatch::TYPE)
        .bind(batch_id.to_string())
        .fetch_one(executor)
        .await?)
}

/// Number of events in the log.
pub async fn event_count(executor: impl PgExecutor<'_>) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(executor)
        .await?)
}

const FIRST_RECORDED_AT: &str = "
SELECT recorded_at FROM events WHERE aggregate_type = $1 AND aggregate_id = $2
 ORDER BY sequence LIMIT 1";

/// When `batch_id`'s first event was recorded, if it has any.
pub async fn first_recorded_at(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<Option<DateTime<Utc>>, ProjectionError> {
    Ok(sqlx::query_scalar(FIRST_RECORDED_AT)
        .bind(CjBatch::TYPE)
        .bind(batch_id.to_string())
        .fetch_optional(executor)
        .await?)
}

/// The recorded callbacks (answers and failures) of the whole log, for the lab's benches.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct CallbackSpan {
    pub callbacks: i64,
    /// The commands (transactions) that recorded them.
    pub commands: i64,
    pub first_recorded: DateTime<Utc>,
    pub last_recorded: DateTime<Utc>,
}

const CALLBACK_SPAN: &str = "
SELECT count(*) AS callbacks, count(DISTINCT tx) AS commands,
       min(recorded_at) AS first_recorded, max(recorded_at) AS last_recorded
  FROM events WHERE event_type IN ('ComparisonRecorded', 'ComparisonFailed')";

/// How many callbacks the log recorded, in how many commands, from when to when (an error
/// when it recorded none: there is no span).
pub async fn callback_span(executor: impl PgExecutor<'_>) -> Result<CallbackSpan, ProjectionError> {
    Ok(sqlx::query_as(CALLBACK_SPAN).fetch_one(executor).await?)
}

/// Per completed batch, its upstream id and the callbacks recorded in the command that
/// completed it (the callbacks that decided its end).
const DECIDING_CALLBACKS: &str = "
SELECT s.upstream_batch_id,
       array_agg(coalesce(r.payload -> 'ComparisonRecorded' ->> 'correlation_id',
                          r.payload -> 'ComparisonFailed' ->> 'correlation_id')::uuid)
  FROM events c
  JOIN cj_batch_states s ON s.batch_id = c.aggregate_id::uuid
  JOIN events r ON r.aggregate_id = c.aggregate_id AND r.tx = c.tx
               AND r.event_type IN ('ComparisonRecorded', 'ComparisonFailed')
 WHERE c.event_type = 'BatchCompleted'
 GROUP BY s.upstream_batch_id";

/// For every completed batch, `(upstream batch id, correlation ids of the callbacks recorded
/// in the same command as its `BatchCompleted`)`.
pub async fn deciding_callbacks(
    executor: impl PgExecutor<'_>,
) -> Result<Vec<(String, Vec<Uuid>)>, ProjectionError> {
    Ok(sqlx::query_as(DECIDING_CALLBACKS)
        .fetch_all(executor)
        .await?)
}

/// Every completed batch: upstream id, batch id and when its `BatchCompleted` was recorded
/// (the deciding command's transaction start), in µs since the epoch.
const COMPLETIONS_RECORDED: &str = "
SELECT s.upstream_batch_id, s.batch_id,
       (extract(epoch FROM c.recorded_at) * 1e6)::float8
  FROM events c
  JOIN cj_batch_states s ON s.batch_id = c.aggregate_id::uuid
 WHERE c.event_type = 'BatchCompleted'";

/// For every completed batch, `(upstream batch id, batch id, BatchCompleted's recorded_at in
/// µs since the epoch)`: where the latency benchmark cuts a completion.
pub async fn completions_recorded(
    executor: impl PgExecutor<'_>,
) -> Result<Vec<(String, Uuid, f64)>, ProjectionError> {
    Ok(sqlx::query_as(COMPLETIONS_RECORDED)
        .fetch_all(executor)
        .await?)
}

/// The assignment a batch was registered for and the batch's purpose, read from its
/// `BatchRegistered` (its first event) without decoding the whole registration.
const ASSIGNMENT_OF: &str = "
SELECT payload -> 'BatchRegistered' ->> 'assignment_id',
       payload -> 'BatchRegistered' ->> 'purpose'
  FROM events
 WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = 1
   AND event_type = 'BatchRegistered'";

/// The assignment a batch belongs to, and what the batch is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOfAssignment {
    pub assignment_id: String,
    pub purpose: BatchPurpose,
}

/// The assignment `batch_id` belongs to; `None` for a batch registered without one (or
/// not registered at all). A registration written before purposes were recorded is an
/// assessment.
pub async fn assignment_of(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<Option<BatchOfAssignment>, ProjectionError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(ASSIGNMENT_OF)
        .bind(CjBatch::TYPE)
        .bind(batch_id.to_string())
        .fetch_optional(executor)
        .await?;
    let Some((Some(assignment_id), purpose)) = row else {
        return Ok(None);
    };
    let purpose = match purpose {
        None => BatchPurpose::default(),
        Some(text) => serde_json::from_value(serde_json::Value::String(text.clone()))
            .map_err(|_| ProjectionError::UnreadableRow(format!("batch purpose {text:?}")))?,
    };
    Ok(Some(BatchOfAssignment {
        assignment_id,
        purpose,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_span_is_a_chunks_worth() {
        assert_eq!(
            span_limit!().parse::<i64>(),
            Ok(crate::runner::DEFAULT_CHUNK_SIZE)
        );
    }
}
