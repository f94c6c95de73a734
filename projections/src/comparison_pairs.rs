//! Projection `cj_comparison_pairs`: one row per comparison asked of the judge, keyed by
//! its correlation id — how a callback finds its batch (table:
//! `migrations/*_cj_comparison_pairs.sql`).

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use cj_aggregates::commands::Position;
use cj_aggregates::events::PlannedComparison;
use cj_aggregates::ids::CorrelationId;
use cj_aggregates::CjBatchEvent;
use sqlx::PgConnection;
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
UPDATE cj_comparison_pairs SET submitted_at = $2
 WHERE correlation_id = ANY($1) AND submitted_at IS NULL";

const RECORD_VERDICT: &str = "
UPDATE cj_comparison_pairs
   SET completed_at = $2, winner = $3, winner_position = $4, confidence = $5,
       provider = $6, model = $7
 WHERE correlation_id = $1";

const RECORD_FAILURE: &str = "
UPDATE cj_comparison_pairs SET completed_at = $2, error_code = $3
 WHERE correlation_id = $1";

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

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        let at = logged.recorded_at;
        match &logged.event {
            CjBatchEvent::WavePlanned(wave) => {
                insert_planned(conn, logged, wave.wave, None, &wave.comparisons).await
            }
            CjBatchEvent::ComparisonRetried(retried) => {
                let planned = std::slice::from_ref(&retried.comparison);
                insert_planned(conn, logged, retried.wave, Some(retried.retry_of), planned).await
            }
            CjBatchEvent::PairsSubmitted(submitted) => {
                let ids: Vec<Uuid> = submitted.correlation_ids.iter().map(|c| c.0).collect();
                sqlx::query(MARK_SUBMITTED)
                    .bind(ids)
                    .bind(at)
                    .execute(conn)
                    .await?;
                Ok(())
            }
            CjBatchEvent::ComparisonRecorded(recorded) => {
                let position = match recorded.winner_position {
                    Position::A => "A",
                    Position::B => "B",
                };
                sqlx::query(RECORD_VERDICT)
                    .bind(recorded.correlation_id.0)
                    .bind(at)
                    .bind(recorded.winner.as_str())
                    .bind(position)
                    .bind(recorded.confidence)
                    .bind(&recorded.provider)
                    .bind(&recorded.model)
                    .execute(conn)
                    .await?;
                Ok(())
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                sqlx::query(RECORD_FAILURE)
                    .bind(failed.correlation_id.0)
                    .bind(at)
                    .bind(&failed.error_code)
                    .execute(conn)
                    .await?;
                Ok(())
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
