//! Projection `cj_comparison_pairs`: one row per comparison asked of the judge, keyed by
//! its correlation id — how a callback finds its batch (table:
//! `migrations/*_cj_comparison_pairs.sql`). A chunk is folded ([`crate::fold`]): a
//! comparison planned in the chunk is inserted with whatever the chunk's later events did
//! to it (submitted, answered, failed, late), and the chunk's changes to comparisons planned
//! earlier become one multi-row UPDATE. A verdict's row keeps its judge (provider, model,
//! prompt hash and the judge's string form).

use crate::error::ProjectionError;
use crate::fold::{fold_and_write, ChunkChanges, NewRows};
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::Position;
use cj_aggregates::batch::events::{ComparisonRecorded, PlannedComparison};
use cj_aggregates::ids::CorrelationId;
use cj_aggregates::CjBatchEvent;
use sqlx::{PgConnection, PgExecutor};
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct ComparisonPairs;

pub const NAME: &str = "cj_comparison_pairs";

const INSERT_PLANNED: &str = "
INSERT INTO cj_comparison_pairs
    (correlation_id, batch_id, essay_a, essay_b, wave, purpose, attempt, retry_of, planned_at,
     submitted_at, completed_at, winner, winner_position, error_code, confidence, provider,
     model, prompt_hash, judge, late_callback)
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[],
                     $7::int[], $8::uuid[], $9::timestamptz[], $10::timestamptz[],
                     $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::float8[],
                     $16::text[], $17::text[], $18::text[], $19::text[], $20::bool[])";

/// What a chunk did to comparisons planned before it. A submission keeps the first time
/// (`coalesce` with the row's), a verdict or a failure sets its columns, a late callback
/// marks the row.
const UPDATE_EARLIER: &str = "
UPDATE cj_comparison_pairs p
   SET submitted_at    = coalesce(p.submitted_at, u.submitted_at),
       completed_at    = coalesce(u.completed_at, p.completed_at),
       winner          = CASE WHEN u.answered THEN u.winner ELSE p.winner END,
       winner_position = CASE WHEN u.answered THEN u.position ELSE p.winner_position END,
       confidence      = CASE WHEN u.answered THEN u.confidence ELSE p.confidence END,
       provider        = CASE WHEN u.answered THEN u.provider ELSE p.provider END,
       model           = CASE WHEN u.answered THEN u.model ELSE p.model END,
       prompt_hash     = CASE WHEN u.answered THEN u.prompt_hash ELSE p.prompt_hash END,
       judge           = CASE WHEN u.answered THEN u.judge ELSE p.judge END,
       error_code      = coalesce(u.error_code, p.error_code),
       late_callback   = p.late_callback OR u.late
  FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::bool[], $5::text[],
              $6::text[], $7::float8[], $8::text[], $9::text[], $10::text[], $11::text[],
              $12::text[], $13::bool[])
       AS u (correlation_id, submitted_at, completed_at, answered, winner, position,
             confidence, provider, model, prompt_hash, judge, error_code, late)
 WHERE p.correlation_id = u.correlation_id";

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
        fold_and_write::<PairChanges>(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        fold_and_write::<PairChanges>(conn, events).await
    }
}

/// What the events of a chunk do to a comparison's row after it was planned.
#[derive(Debug, Default, Clone)]
struct PairUpdate<'a> {
    submitted_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    verdict: Option<Verdict<'a>>,
    error_code: Option<&'a str>,
    late: bool,
}

impl<'a> PairUpdate<'a> {
    fn fold(&mut self, event: &'a CjBatchEvent, at: DateTime<Utc>) {
        match event {
            CjBatchEvent::PairsSubmitted(_) => {
                self.submitted_at.get_or_insert(at);
            }
            CjBatchEvent::ComparisonRecorded(recorded) => {
                self.completed_at = Some(at);
                self.verdict = Some(Verdict::of(recorded));
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                self.completed_at = Some(at);
                self.error_code = Some(&failed.error_code);
            }
            CjBatchEvent::LateCallbackRecorded(_) => self.late = true,
            _ => {}
        }
    }
}

/// A verdict's columns.
#[derive(Debug, Clone)]
struct Verdict<'a> {
    winner: &'a str,
    position: &'static str,
    confidence: Option<f64>,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    prompt_hash: Option<&'a str>,
    judge: String,
}

impl<'a> Verdict<'a> {
    fn of(recorded: &'a ComparisonRecorded) -> Self {
        Verdict {
            winner: recorded.winner.as_str(),
            position: match recorded.winner_position {
                Position::A => "A",
                Position::B => "B",
            },
            confidence: recorded.confidence,
            provider: recorded.judge.known_provider(),
            model: recorded.judge.known_model(),
            prompt_hash: recorded.judge.known_prompt_hash(),
            judge: recorded.judge.to_string(),
        }
    }
}

/// A comparison planned in the chunk, with what the chunk did to it since.
#[derive(Debug)]
struct NewPair<'a> {
    batch_id: Uuid,
    planned: &'a PlannedComparison,
    wave: u32,
    retry_of: Option<CorrelationId>,
    planned_at: DateTime<Utc>,
    update: PairUpdate<'a>,
}

/// A chunk's changes, folded.
#[derive(Default)]
struct PairChanges<'a> {
    new: NewRows<Uuid, NewPair<'a>>,
    earlier: BTreeMap<Uuid, PairUpdate<'a>>,
}

#[async_trait::async_trait]
impl<'a> ChunkChanges<'a> for PairChanges<'a> {
    fn fold(&mut self, logged: &'a LoggedEvent) {
        let at = logged.recorded_at;
        match &logged.event {
            CjBatchEvent::WavePlanned(wave) => {
                for planned in &wave.comparisons {
                    self.plan(logged, planned, wave.wave, None);
                }
            }
            CjBatchEvent::ComparisonRetried(retried) => {
                let retry_of = Some(retried.retry_of);
                self.plan(logged, &retried.comparison, retried.wave, retry_of);
            }
            CjBatchEvent::PairsSubmitted(submitted) => {
                for id in &submitted.correlation_ids {
                    self.update(id.0, &logged.event, at);
                }
            }
            CjBatchEvent::ComparisonRecorded(recorded) => {
                self.update(recorded.correlation_id.0, &logged.event, at)
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                self.update(failed.correlation_id.0, &logged.event, at)
            }
            CjBatchEvent::LateCallbackRecorded(late) => {
                self.update(late.correlation_id.0, &logged.event, at)
            }
            _ => {}
        }
    }

    /// Changes to earlier rows first: an id the chunk names before planning it is no row
    /// of an earlier chunk, and must not see the chunk's insert.
    async fn write(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if !self.earlier.is_empty() {
            let (ids, updates) = UpdateColumns::of(&self.earlier);
            let query = sqlx::query(UPDATE_EARLIER).bind(ids);
            updates.bind_after(query).execute(&mut *conn).await?;
        }
        if !self.new.is_empty() {
            let rows = NewColumns::of(&self.new);
            rows.bind(sqlx::query(INSERT_PLANNED))
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

impl<'a> PairChanges<'a> {
    fn plan(
        &mut self,
        logged: &'a LoggedEvent,
        planned: &'a PlannedComparison,
        wave: u32,
        retry_of: Option<CorrelationId>,
    ) {
        let pair = NewPair {
            batch_id: logged.batch_id,
            planned,
            wave,
            retry_of,
            planned_at: logged.recorded_at,
            update: PairUpdate::default(),
        };
        self.new.insert(planned.correlation_id.0, pair);
    }

    fn update(&mut self, correlation_id: Uuid, event: &'a CjBatchEvent, at: DateTime<Utc>) {
        match self.new.get_mut(&correlation_id) {
            Some(pair) => pair.update.fold(event, at),
            None => self
                .earlier
                .entry(correlation_id)
                .or_default()
                .fold(event, at),
        }
    }
}

/// The columns every row update carries (submission, completion, verdict, failure, late),
/// one array each.
#[derive(Default)]
struct UpdateColumns<'a> {
    submitted_at: Vec<Option<DateTime<Utc>>>,
    completed_at: Vec<Option<DateTime<Utc>>>,
    answered: Vec<bool>,
    winners: Vec<Option<&'a str>>,
    positions: Vec<Option<&'static str>>,
    confidences: Vec<Option<f64>>,
    providers: Vec<Option<&'a str>>,
    models: Vec<Option<&'a str>>,
    prompt_hashes: Vec<Option<&'a str>>,
    judges: Vec<Option<&'a str>>,
    error_codes: Vec<Option<&'a str>>,
    late: Vec<bool>,
}

impl<'a> UpdateColumns<'a> {
    fn push(&mut self, update: &'a PairUpdate<'a>) {
        let verdict = update.verdict.as_ref();
        self.submitted_at.push(update.submitted_at);
        self.completed_at.push(update.completed_at);
        self.answered.push(verdict.is_some());
        self.winners.push(verdict.map(|v| v.winner));
        self.positions.push(verdict.map(|v| v.position));
        self.confidences.push(verdict.and_then(|v| v.confidence));
        self.providers.push(verdict.and_then(|v| v.provider));
        self.models.push(verdict.and_then(|v| v.model));
        self.prompt_hashes.push(verdict.and_then(|v| v.prompt_hash));
        self.judges.push(verdict.map(|v| v.judge.as_str()));
        self.error_codes.push(update.error_code);
        self.late.push(update.late);
    }

    fn of(earlier: &'a BTreeMap<Uuid, PairUpdate<'a>>) -> (Vec<Uuid>, Self) {
        let mut columns = UpdateColumns::default();
        for update in earlier.values() {
            columns.push(update);
        }
        (earlier.keys().copied().collect(), columns)
    }

    /// Binds the columns in [`UPDATE_EARLIER`]'s order after the parameters of `query`.
    fn bind_after(self, query: PgQuery<'a>) -> PgQuery<'a> {
        query
            .bind(self.submitted_at)
            .bind(self.completed_at)
            .bind(self.answered)
            .bind(self.winners)
            .bind(self.positions)
            .bind(self.confidences)
            .bind(self.providers)
            .bind(self.models)
            .bind(self.prompt_hashes)
            .bind(self.judges)
            .bind(self.error_codes)
            .bind(self.late)
    }
}

/// The comparisons a chunk planned, as one array per column, for `UNNEST`.
struct NewColumns<'a> {
    batch_ids: Vec<Uuid>,
    waves: Vec<i32>,
    retry_of: Vec<Option<Uuid>>,
    planned_at: Vec<DateTime<Utc>>,
    planned: PlannedColumns<'a>,
    updates: UpdateColumns<'a>,
}

impl<'a> NewColumns<'a> {
    fn of(new: &'a NewRows<Uuid, NewPair<'a>>) -> Self {
        let pairs: Vec<&NewPair<'a>> = new.iter().map(|(_, pair)| pair).collect();
        let mut updates = UpdateColumns::default();
        for pair in &pairs {
            updates.push(&pair.update);
        }
        NewColumns {
            batch_ids: pairs.iter().map(|p| p.batch_id).collect(),
            waves: pairs.iter().map(|p| p.wave as i32).collect(),
            retry_of: pairs.iter().map(|p| p.retry_of.map(|r| r.0)).collect(),
            planned_at: pairs.iter().map(|p| p.planned_at).collect(),
            planned: PlannedColumns::of_each(pairs.iter().map(|p| p.planned)),
            updates,
        }
    }

    fn bind(self, query: PgQuery<'a>) -> PgQuery<'a> {
        let planned = self.planned;
        let updates = self.updates;
        query
            .bind(planned.correlation_ids)
            .bind(self.batch_ids)
            .bind(planned.essays_a)
            .bind(planned.essays_b)
            .bind(self.waves)
            .bind(planned.purposes)
            .bind(planned.attempts)
            .bind(self.retry_of)
            .bind(self.planned_at)
            .bind(updates.submitted_at)
            .bind(updates.completed_at)
            .bind(updates.winners)
            .bind(updates.positions)
            .bind(updates.error_codes)
            .bind(updates.confidences)
            .bind(updates.providers)
            .bind(updates.models)
            .bind(updates.prompt_hashes)
            .bind(updates.judges)
            .bind(updates.late)
    }
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
    pub fn of_each(planned: impl Iterator<Item = &'a PlannedComparison>) -> Self {
        let mut columns = PlannedColumns {
            correlation_ids: Vec::new(),
            essays_a: Vec::new(),
            essays_b: Vec::new(),
            purposes: Vec::new(),
            attempts: Vec::new(),
        };
        for comparison in planned {
            columns.correlation_ids.push(comparison.correlation_id.0);
            columns.essays_a.push(comparison.essay_a.as_str());
            columns.essays_b.push(comparison.essay_b.as_str());
            columns.purposes.push(comparison.purpose.as_str());
            columns.attempts.push(comparison.attempt as i32);
        }
        columns
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
