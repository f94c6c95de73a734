//! Projection `cj_dispatch_queue`: the comparisons the batches planned that still have to
//! reach the LLM Provider Service, with everything the dispatcher needs to send one — the
//! two essays' text storage ids, the upstream batch id, the batch's LLM settings (tables:
//! `migrations/*_cj_dispatch_queue*.sql`). A row is inserted `pending` when its comparison
//! is planned and deleted once the log shows it submitted (202), answered, or its batch
//! ended, so the queue is the size of the work in flight.
//!
//! # The dispatcher's columns
//!
//! `cj_dispatch_queue` has two writers, and this is the contract between them. This
//! projection inserts and deletes rows (and owns `cj_dispatch_batches` and
//! `cj_dispatch_texts` alone). The dispatcher (`src/dispatcher/queue.rs`, the only other
//! file with SQL on the table) never inserts or deletes; on rows it has claimed it updates
//! only its own bookkeeping:
//!
//! - `holder` — the dispatcher instance whose lease the row is under;
//! - `due_at` — when the row may be claimed next: the lease's end while held, the back-off
//!   after a passing failure (the projection sets it once, at insert);
//! - `dispatch_attempts` — how many times the row was claimed to be sent;
//! - `status` — `pending`, `sent` (202 received) or `failed` (refused) (inserted `pending`);
//! - `last_error` — why the last attempt did not go through.
//!
//! Every other column is this projection's, written once at insert. A rebuild resets the
//! dispatcher's columns, which at worst re-sends a comparison that was being sent — its
//! callback is then a duplicate the aggregate ignores. A row the projection deletes while
//! the dispatcher holds it is done, not lost (the dispatcher's updates touch no row).
//!
//! A chunk is folded ([`crate::fold`]): a comparison planned and done within the chunk is
//! never written, and the rest becomes a few multi-row statements.

use crate::comparison_pairs::PlannedColumns;
use crate::error::ProjectionError;
use crate::fold::{fold_and_write, ChunkChanges, NewRows};
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::{BatchRegistered, PlannedComparison};
use cj_aggregates::CjBatchEvent;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct DispatchQueue;

pub const NAME: &str = "cj_dispatch_queue";

const INSERT_BATCHES: &str = "
INSERT INTO cj_dispatch_batches
    (batch_id, upstream_batch_id, request_correlation_id, assignment_id, llm)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[])";

const INSERT_TEXTS: &str = "
INSERT INTO cj_dispatch_texts (batch_id, essay_id, text_storage_id)
SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[])";

/// Each planned comparison with its essays' storage ids: those the chunk registered come
/// with the row, the others are looked up. A comparison naming an essay the batch never
/// registered violates `text_a`/`text_b NOT NULL`: the projector stops loudly rather than
/// queueing a comparison that cannot be sent.
const INSERT_PLANNED: &str = "
INSERT INTO cj_dispatch_queue
    (correlation_id, batch_id, essay_a, essay_b, text_a, text_b, attempt, purpose,
     planned_at, due_at)
SELECT q.correlation_id, q.batch_id, q.essay_a, q.essay_b,
       coalesce(q.text_a, (SELECT t.text_storage_id FROM cj_dispatch_texts t
                            WHERE t.batch_id = q.batch_id AND t.essay_id = q.essay_a)),
       coalesce(q.text_b, (SELECT t.text_storage_id FROM cj_dispatch_texts t
                            WHERE t.batch_id = q.batch_id AND t.essay_id = q.essay_b)),
       q.attempt, q.purpose, q.planned_at, q.planned_at
  FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::uuid[],
              $7::text[], $8::text[], $9::timestamptz[])
       AS q (correlation_id, essay_a, essay_b, purpose, attempt, batch_id, text_a, text_b,
             planned_at)";

const FORGET_DONE: &str = "DELETE FROM cj_dispatch_queue WHERE correlation_id = ANY($1)";

const CLOSE_BATCHES: &str = "DELETE FROM cj_dispatch_queue WHERE batch_id = ANY($1)";

const FORGET_TEXTS: &str = "DELETE FROM cj_dispatch_texts WHERE batch_id = ANY($1)";

#[async_trait::async_trait]
impl Projection for DispatchQueue {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "cj_dispatch_batches",
            "cj_dispatch_texts",
            "cj_dispatch_queue",
        ]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "BatchRegistered",
            "AnchorsRegistered",
            "WavePlanned",
            "ComparisonRetried",
            "PairsSubmitted",
            "ComparisonRecorded",
            "ComparisonFailed",
            "BatchCompleted",
            "BatchFailed",
        ])
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        fold_and_write::<QueueChanges>(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        fold_and_write::<QueueChanges>(conn, events).await
    }
}

/// A comparison queued in the chunk, with the storage ids of its texts when the chunk
/// registered them.
struct Queued<'a> {
    batch_id: Uuid,
    planned: &'a PlannedComparison,
    text_a: Option<&'a str>,
    text_b: Option<&'a str>,
    planned_at: DateTime<Utc>,
}

/// A chunk's changes, folded.
#[derive(Default)]
struct QueueChanges<'a> {
    batches: Vec<(Uuid, &'a BatchRegistered)>,
    texts: NewRows<(Uuid, &'a str), &'a str>,
    queued: NewRows<Uuid, Queued<'a>>,
    /// Rows of earlier chunks done (submitted or answered).
    done: Vec<Uuid>,
    /// Batches that ended: their earlier rows and texts go.
    closed: Vec<Uuid>,
}

#[async_trait::async_trait]
impl<'a> ChunkChanges<'a> for QueueChanges<'a> {
    fn fold(&mut self, logged: &'a LoggedEvent) {
        let batch_id = logged.batch_id;
        match &logged.event {
            CjBatchEvent::BatchRegistered(registered) => {
                self.batches.push((batch_id, registered));
                for essay in &registered.essays {
                    let key = (batch_id, essay.essay_id.as_str());
                    self.texts.insert(key, essay.text_storage_id.as_str());
                }
            }
            CjBatchEvent::AnchorsRegistered(registered) => {
                for anchor in &registered.anchors {
                    let key = (batch_id, anchor.essay_id.as_str());
                    self.texts.insert(key, anchor.text_storage_id.as_str());
                }
            }
            CjBatchEvent::WavePlanned(wave) => {
                for planned in &wave.comparisons {
                    self.queue(logged, planned);
                }
            }
            CjBatchEvent::ComparisonRetried(retried) => self.queue(logged, &retried.comparison),
            CjBatchEvent::PairsSubmitted(submitted) => {
                for id in &submitted.correlation_ids {
                    self.forget(id.0);
                }
            }
            CjBatchEvent::ComparisonRecorded(recorded) => self.forget(recorded.correlation_id.0),
            CjBatchEvent::ComparisonFailed(failed) => self.forget(failed.correlation_id.0),
            CjBatchEvent::BatchCompleted(_) | CjBatchEvent::BatchFailed(_) => {
                self.queued.retain(|_, queued| queued.batch_id != batch_id);
                self.texts.retain(|(batch, _), _| *batch != batch_id);
                self.closed.push(batch_id);
            }
            _ => {}
        }
    }

    /// Deletes of earlier rows first, then the new rows; the queue before the texts, so a
    /// comparison whose texts the chunk did not register sees only earlier ones, as it
    /// would one event at a time.
    async fn write(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if !self.done.is_empty() {
            sqlx::query(FORGET_DONE)
                .bind(&self.done)
                .execute(&mut *conn)
                .await?;
        }
        if !self.closed.is_empty() {
            for statement in [CLOSE_BATCHES, FORGET_TEXTS] {
                sqlx::query(statement)
                    .bind(&self.closed)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        if !self.batches.is_empty() {
            insert_batches(conn, &self.batches).await?;
        }
        if !self.queued.is_empty() {
            insert_queued(conn, &self.queued).await?;
        }
        if !self.texts.is_empty() {
            let texts: Vec<_> = self.texts.iter().collect();
            sqlx::query(INSERT_TEXTS)
                .bind(
                    texts
                        .iter()
                        .map(|((batch, _), _)| *batch)
                        .collect::<Vec<_>>(),
                )
                .bind(
                    texts
                        .iter()
                        .map(|((_, essay), _)| *essay)
                        .collect::<Vec<_>>(),
                )
                .bind(
                    texts
                        .iter()
                        .map(|(_, storage)| **storage)
                        .collect::<Vec<_>>(),
                )
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl<'a> QueueChanges<'a> {
    fn queue(&mut self, logged: &'a LoggedEvent, planned: &'a PlannedComparison) {
        let batch_id = logged.batch_id;
        let text = |essay: &'a str| self.texts.get(&(batch_id, essay)).copied();
        let queued = Queued {
            batch_id,
            planned,
            text_a: text(planned.essay_a.as_str()),
            text_b: text(planned.essay_b.as_str()),
            planned_at: logged.recorded_at,
        };
        self.queued.insert(planned.correlation_id.0, queued);
    }

    fn forget(&mut self, correlation_id: Uuid) {
        if !self.queued.remove(&correlation_id) {
            self.done.push(correlation_id);
        }
    }
}

async fn insert_batches(
    conn: &mut PgConnection,
    batches: &[(Uuid, &BatchRegistered)],
) -> Result<(), ProjectionError> {
    let llm = batches
        .iter()
        .map(|(_, registered)| serde_json::to_value(&registered.llm))
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| ProjectionError::Encode(e.to_string()))?;
    sqlx::query(INSERT_BATCHES)
        .bind(batches.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(
            batches
                .iter()
                .map(|(_, r)| r.upstream_batch_id.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            batches
                .iter()
                .map(|(_, r)| r.request_correlation_id)
                .collect::<Vec<_>>(),
        )
        .bind(
            batches
                .iter()
                .map(|(_, r)| r.assignment_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(llm)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_queued(
    conn: &mut PgConnection,
    queued: &NewRows<Uuid, Queued<'_>>,
) -> Result<(), ProjectionError> {
    let rows: Vec<&Queued<'_>> = queued.iter().map(|(_, row)| row).collect();
    let query = sqlx::query(INSERT_PLANNED);
    PlannedColumns::of_each(rows.iter().map(|row| row.planned))
        .bind_after(query)
        .bind(rows.iter().map(|row| row.batch_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.text_a).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.text_b).collect::<Vec<_>>())
        .bind(rows.iter().map(|row| row.planned_at).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    Ok(())
}
