//! Projection `cj_comparison_pairs`: one row per comparison asked of the judge, keyed by
//! its correlation id — how a callback finds its batch (table:
//! `migrations/*_cj_comparison_pairs.sql`). Submissions, verdicts and failures each touch
//! their own comparisons' rows, so a run of them ([`crate::chunk`]) is written with one
//! statement per kind. A verdict's row keeps its judge (provider, model, prompt hash and the
//! judge's string form).

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::Position;
use cj_aggregates::batch::events::{ComparisonRecorded, PlannedComparison};
use cj_aggregates::ids::CorrelationId;
use cj_aggregates::CjBatchEvent;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

pub struct ComparisonPairs;

pub const NAME: &str = "cj_comparison_pairs";

const INSERT_PLANNED: &str = "
INSERT INTO cj_comparison_pairs
    (correlation_id, batch_id, essay_a, essay_b, wave, purpose, attempt, retry_of, planned_at)
SELECT planned.correlation_id, $1, planned.essay_a, planned.essay_b, $2, planned.purpose,
       planned.attempt, $3, $4
  FROM UNNEST($5::uuid[], $6::text[], $7::text[], $8::text[], $9::int[])
       AS planned (correlation_id, essay_a, essay_b, purpose, attempt)";

const MARK_SUBMITTED: &str = "
UPDATE cj_comparison_pairs p SET submitted_at = s.at
  FROM unnest($1::uuid[], $2::timestamptz[]) AS s (correlation_id, at)
 WHERE p.correlation_id = s.correlation_id AND p.submitted_at IS NULL";

const RECORD_VERDICTS: &str = "
UPDATE cj_comparison_pairs p
   SET completed_at = v.at, winner = v.winner, winner_position = v.position,
       confidence = v.confidence, provider = v.provider, model = v.model,
       prompt_hash = v.prompt_hash, judge = v.judge
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::float8[],
              $6::text[], $7::text[], $8::text[], $9::text[])
       AS v (correlation_id, at, winner, position, confidence, provider, model,
             prompt_hash, judge)
 WHERE p.correlation_id = v.correlation_id";

const RECORD_FAILURES: &str = "
UPDATE cj_comparison_pairs p SET completed_at = f.at, error_code = f.error_code
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS f (correlation_id, at, error_code)
 WHERE p.correlation_id = f.correlation_id";

const MARK_LATE: &str =
    "UPDATE cj_comparison_pairs SET late_callback = true WHERE correlation_id = $1";

#[async_trait::async_trait]
impl Projection for ComparisonPairs {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cj_comparison_pairs"]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "WavePlanned",
            "ComparisonRetried",
            "PairsSubmitted",
            "ComparisonRecorded",
            "ComparisonFailed",
            "LateCallbackRecorded",
        ])
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        match &logged.event {
            CjBatchEvent::WavePlanned(wave) => {
                insert_planned(conn, logged, wave.wave, None, &wave.comparisons).await
            }
            CjBatchEvent::ComparisonRetried(retried) => {
                let planned = std::slice::from_ref(&retried.comparison);
                insert_planned(conn, logged, retried.wave, Some(retried.retry_of), planned).await
            }
            CjBatchEvent::PairsSubmitted(_)
            | CjBatchEvent::ComparisonRecorded(_)
            | CjBatchEvent::ComparisonFailed(_) => {
                record_run(conn, std::slice::from_ref(logged)).await
            }
            CjBatchEvent::LateCallbackRecorded(late) => {
                sqlx::query(MARK_LATE)
                    .bind(late.correlation_id.0)
                    .execute(conn)
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
        record_run(conn, run).await
    }
}

/// Writes a run of submissions, verdicts and failures: one statement per kind present.
async fn record_run(conn: &mut PgConnection, run: &[LoggedEvent]) -> Result<(), ProjectionError> {
    let mut submitted: (Vec<Uuid>, Vec<DateTime<Utc>>) = Default::default();
    let mut verdicts = Verdicts::default();
    let mut failures: (Vec<Uuid>, Vec<DateTime<Utc>>, Vec<&str>) = Default::default();
    for logged in run {
        let at = logged.recorded_at;
        match &logged.event {
            CjBatchEvent::PairsSubmitted(pairs) => {
                for id in &pairs.correlation_ids {
                    submitted.0.push(id.0);
                    submitted.1.push(at);
                }
            }
            CjBatchEvent::ComparisonRecorded(recorded) => verdicts.push(recorded, at),
            CjBatchEvent::ComparisonFailed(failed) => {
                failures.0.push(failed.correlation_id.0);
                failures.1.push(at);
                failures.2.push(&failed.error_code);
            }
            _ => {}
        }
    }
    if !submitted.0.is_empty() {
        sqlx::query(MARK_SUBMITTED)
            .bind(submitted.0)
            .bind(submitted.1)
            .execute(&mut *conn)
            .await?;
    }
    if !verdicts.correlation_ids.is_empty() {
        sqlx::query(RECORD_VERDICTS)
            .bind(verdicts.correlation_ids)
            .bind(verdicts.at)
            .bind(verdicts.winners)
            .bind(verdicts.positions)
            .bind(verdicts.confidences)
            .bind(verdicts.providers)
            .bind(verdicts.models)
            .bind(verdicts.prompt_hashes)
            .bind(verdicts.judges)
            .execute(&mut *conn)
            .await?;
    }
    if !failures.0.is_empty() {
        sqlx::query(RECORD_FAILURES)
            .bind(failures.0)
            .bind(failures.1)
            .bind(failures.2)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Verdicts as one array per column, for `unnest`.
#[derive(Default)]
struct Verdicts<'a> {
    correlation_ids: Vec<Uuid>,
    at: Vec<DateTime<Utc>>,
    winners: Vec<&'a str>,
    positions: Vec<&'static str>,
    confidences: Vec<Option<f64>>,
    providers: Vec<Option<&'a str>>,
    models: Vec<Option<&'a str>>,
    prompt_hashes: Vec<Option<&'a str>>,
    judges: Vec<String>,
}

impl<'a> Verdicts<'a> {
    fn push(&mut self, recorded: &'a ComparisonRecorded, at: DateTime<Utc>) {
        self.correlation_ids.push(recorded.correlation_id.0);
        self.at.push(at);
        self.winners.push(recorded.winner.as_str());
        self.positions.push(match recorded.winner_position {
            Position::A => "A",
            Position::B => "B",
        });
        self.confidences.push(recorded.confidence);
        self.providers.push(recorded.judge.known_provider());
        self.models.push(recorded.judge.known_model());
        self.prompt_hashes.push(recorded.judge.known_prompt_hash());
        self.judges.push(recorded.judge.to_string());
    }
}

async fn insert_planned(
    conn: &mut PgConnection,
    logged: &LoggedEvent,
    wave: u32,
    retry_of: Option<CorrelationId>,
    planned: &[PlannedComparison],
) -> Result<(), ProjectionError> {
    let columns = PlannedColumns::of(planned);
    let query = sqlx::query(INSERT_PLANNED)
        .bind(logged.batch_id)
        .bind(wave as i32)
        .bind(retry_of.map(|r| r.0))
        .bind(logged.recorded_at);
    columns.bind_after(query).execute(conn).await?;
    Ok(())
}

/// Planned comparisons as one array per column, for `UNNEST`.
pub(crate) struct PlannedColumns<'a> {
    pub correlation_ids: Vec<Uuid>,
    pub essays_a: Vec<&'a str>,
    pub essays_b: Vec<&'a str>,
    pub purposes: Vec<&'static str>,
    pub attempts: Vec<i32>,
}

impl<'a> PlannedColumns<'a> {
    pub fn of(planned: &'a [PlannedComparison]) -> Self {
        PlannedColumns {
            correlation_ids: planned.iter().map(|c| c.correlation_id.0).collect(),
            essays_a: planned.iter().map(|c| c.essay_a.as_str()).collect(),
            essays_b: planned.iter().map(|c| c.essay_b.as_str()).collect(),
            purposes: planned.iter().map(|c| c.purpose.as_str()).collect(),
            attempts: planned.iter().map(|c| c.attempt as i32).collect(),
        }
    }

    /// Binds the columns, in this order, after the parameters `query` already has.
    pub fn bind_after(self, query: PgQuery<'a>) -> PgQuery<'a> {
        query
            .bind(self.correlation_ids)
            .bind(self.essays_a)
            .bind(self.essays_b)
            .bind(self.purposes)
            .bind(self.attempts)
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

const BATCHES_OF: &str =
    "SELECT correlation_id, batch_id FROM cj_comparison_pairs WHERE correlation_id = ANY($1)";

/// The batch of each of `correlation_ids` that is known, as `(correlation_id, batch_id)`:
/// how a callback naming no batch finds its own.
pub async fn batches_of(
    executor: impl PgExecutor<'_>,
    correlation_ids: &[Uuid],
) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    sqlx::query_as(BATCHES_OF)
        .bind(correlation_ids)
        .fetch_all(executor)
        .await
}

const COMPLETED_COUNT: &str =
    "SELECT count(*) FROM cj_comparison_pairs WHERE batch_id = $1 AND completed_at IS NOT NULL";

/// How many of `batch_id`'s comparisons have an answer or a failure recorded.
pub async fn completed_count(executor: impl PgExecutor<'_>, batch_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(COMPLETED_COUNT)
        .bind(batch_id)
        .fetch_one(executor)
        .await
}
