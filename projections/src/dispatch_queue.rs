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

use crate::comparison_pairs::PlannedColumns;
use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use cj_aggregates::batch::events::PlannedComparison;
use cj_aggregates::CjBatchEvent;
use sqlx::PgConnection;
use uuid::Uuid;

pub struct DispatchQueue;

pub const NAME: &str = "cj_dispatch_queue";

const INSERT_BATCH: &str = "
INSERT INTO cj_dispatch_batches
    (batch_id, upstream_batch_id, request_correlation_id, assignment_id, llm)
VALUES ($1, $2, $3, $4, $5)";

const INSERT_TEXTS: &str = "
INSERT INTO cj_dispatch_texts (batch_id, essay_id, text_storage_id)
SELECT $1, text.essay_id, text.storage_id
  FROM UNNEST($2::text[], $3::text[]) AS text (essay_id, storage_id)";

/// Each planned comparison with its essays' storage ids. A comparison naming an essay the
/// batch never registered violates `text_a`/`text_b NOT NULL`: the projector stops loudly
/// rather than queueing a comparison that cannot be sent.
const INSERT_PLANNED: &str = "
INSERT INTO cj_dispatch_queue
    (correlation_id, batch_id, essay_a, essay_b, text_a, text_b, attempt, purpose,
     planned_at, due_at)
SELECT planned.correlation_id, $1, planned.essay_a, planned.essay_b,
       (SELECT t.text_storage_id FROM cj_dispatch_texts t
         WHERE t.batch_id = $1 AND t.essay_id = planned.essay_a),
       (SELECT t.text_storage_id FROM cj_dispatch_texts t
         WHERE t.batch_id = $1 AND t.essay_id = planned.essay_b),
       planned.attempt, planned.purpose, $2, $2
  FROM UNNEST($3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[])
       AS planned (correlation_id, essay_a, essay_b, purpose, attempt)";

const FORGET_DONE: &str = "DELETE FROM cj_dispatch_queue WHERE correlation_id = ANY($1)";

const CLOSE_BATCH: &str = "DELETE FROM cj_dispatch_queue WHERE batch_id = $1";

const FORGET_TEXTS: &str = "DELETE FROM cj_dispatch_texts WHERE batch_id = $1";

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
        match &logged.event {
            CjBatchEvent::BatchRegistered(registered) => {
                let llm = serde_json::to_value(&registered.llm)
                    .map_err(|e| ProjectionError::Encode(e.to_string()))?;
                sqlx::query(INSERT_BATCH)
                    .bind(logged.batch_id)
                    .bind(&registered.upstream_batch_id)
                    .bind(registered.request_correlation_id)
                    .bind(&registered.assignment_id)
                    .bind(llm)
                    .execute(&mut *conn)
                    .await?;
                let texts = registered
                    .essays
                    .iter()
                    .map(|e| (e.essay_id.as_str(), e.text_storage_id.as_str()));
                insert_texts(conn, logged.batch_id, texts).await
            }
            CjBatchEvent::AnchorsRegistered(registered) => {
                let texts = registered
                    .anchors
                    .iter()
                    .map(|a| (a.essay_id.as_str(), a.text_storage_id.as_str()));
                insert_texts(conn, logged.batch_id, texts).await
            }
            CjBatchEvent::WavePlanned(wave) => {
                insert_planned(conn, logged, &wave.comparisons).await
            }
            CjBatchEvent::ComparisonRetried(retried) => {
                insert_planned(conn, logged, std::slice::from_ref(&retried.comparison)).await
            }
            CjBatchEvent::PairsSubmitted(_)
            | CjBatchEvent::ComparisonRecorded(_)
            | CjBatchEvent::ComparisonFailed(_) => {
                forget_done(conn, std::slice::from_ref(logged)).await
            }
            CjBatchEvent::BatchCompleted(_) | CjBatchEvent::BatchFailed(_) => {
                sqlx::query(CLOSE_BATCH)
                    .bind(logged.batch_id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(FORGET_TEXTS)
                    .bind(logged.batch_id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        run: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        forget_done(conn, run).await
    }
}

async fn insert_texts<'a>(
    conn: &mut PgConnection,
    batch_id: Uuid,
    texts: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), ProjectionError> {
    let (essay_ids, storage_ids): (Vec<&str>, Vec<&str>) = texts.unzip();
    sqlx::query(INSERT_TEXTS)
        .bind(batch_id)
        .bind(essay_ids)
        .bind(storage_ids)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_planned(
    conn: &mut PgConnection,
    logged: &LoggedEvent,
    planned: &[PlannedComparison],
) -> Result<(), ProjectionError> {
    let query = sqlx::query(INSERT_PLANNED)
        .bind(logged.batch_id)
        .bind(logged.recorded_at);
    PlannedColumns::of(planned)
        .bind_after(query)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the rows of every comparison a run of events submitted or answered.
async fn forget_done(conn: &mut PgConnection, run: &[LoggedEvent]) -> Result<(), ProjectionError> {
    let mut done: Vec<Uuid> = Vec::new();
    for logged in run {
        match &logged.event {
            CjBatchEvent::PairsSubmitted(submitted) => {
                done.extend(submitted.correlation_ids.iter().map(|c| c.0))
            }
            CjBatchEvent::ComparisonRecorded(recorded) => done.push(recorded.correlation_id.0),
            CjBatchEvent::ComparisonFailed(failed) => done.push(failed.correlation_id.0),
            _ => {}
        }
    }
    sqlx::query(FORGET_DONE).bind(done).execute(conn).await?;
    Ok(())
}
