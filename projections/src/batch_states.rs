//! Projection `cj_batch_states`: one row per batch — upload status, state, budget,
//! comparison counters, current wave, SSR, the scored batch's reliability (estimator,
//! reference SSR, separation G, split-half, order effect, misfitting essays and judges),
//! failure reason and times (table: `migrations/*_cj_batch_states*.sql`). Counters are
//! incremented per event, so applying an event twice would show; the projector's
//! transaction makes sure it never is. A chunk is folded per batch ([`crate::fold`]): a
//! batch registered in the chunk is inserted with its state at the chunk's end, and the
//! chunk's changes to earlier batches are merged (counters summed, every other column the
//! last value an event gave it) into one multi-row UPDATE.

use crate::error::ProjectionError;
use crate::fold::{fold_and_write, ChunkChanges, NewRows};
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::{BatchRegistered, BatchScored};
use cj_aggregates::batch::status::{BatchState, UploadStatus};
use cj_aggregates::CjBatchEvent;
use sqlx::{PgConnection, PgExecutor, Row};
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct BatchStates;

pub const NAME: &str = "cj_batch_states";

/// How one event changes a batch's row, apart from its last activity.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchStateChange {
    pub upload_status: Option<UploadStatus>,
    pub state: Option<BatchState>,
    pub current_wave: Option<u32>,
    pub submitted: i32,
    pub completed: i32,
    pub failed: i32,
    pub ssr: Option<f64>,
    /// From a `BatchScored` 1.1; `None` for every other event and for 1.0 scores.
    pub reliability: Option<BatchReliability>,
    pub failure_reason: Option<&'static str>,
    pub ends_batch: bool,
}

/// The figures of a scored batch's reliability report the row keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReliability {
    pub estimator: &'static str,
    pub reference_ssr: Option<f64>,
    pub sep_g: Option<f64>,
    /// The split-half median stepped up to full length (Spearman–Brown).
    pub split_half_spearman_brown: Option<f64>,
    pub order_effect: Option<f64>,
    pub order_effect_flagged: Option<bool>,
    pub misfitting_essays: i32,
    pub misfitting_judges: i32,
}

/// The reliability figures of `scored`, if it carries a report (1.1 and later).
pub fn reliability_of(scored: &BatchScored) -> Option<BatchReliability> {
    let report = scored.reliability.as_ref()?;
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    Some(BatchReliability {
        estimator: report.estimator.as_str(),
        reference_ssr: report.reference_ssr,
        sep_g: report.sep_g,
        split_half_spearman_brown: report
            .split_half
            .as_ref()
            .and_then(|half| half.spearman_brown),
        order_effect: report.order_effect.as_ref().map(|effect| effect.estimate),
        order_effect_flagged: report.order_effect.as_ref().map(|effect| effect.flagged),
        misfitting_essays: count(scored.essays.iter().filter(|e| e.misfit).count()),
        misfitting_judges: count(report.judges.iter().filter(|j| j.flagged).count()),
    })
}

/// The change `event` makes (registration creates the row instead: `None`).
pub fn change_for(event: &CjBatchEvent) -> Option<BatchStateChange> {
    let change = BatchStateChange::default();
    Some(match event {
        CjBatchEvent::BatchRegistered(_) => return None,
        CjBatchEvent::AnchorsRegistered(_) => BatchStateChange {
            state: Some(BatchState::GeneratingPairs),
            ..change
        },
        CjBatchEvent::WavePlanned(wave) => BatchStateChange {
            state: Some(BatchState::WaitingCallbacks),
            upload_status: Some(UploadStatus::PerformingComparisons),
            current_wave: Some(wave.wave),
            ..change
        },
        CjBatchEvent::PairsSubmitted(submitted) => BatchStateChange {
            submitted: submitted.correlation_ids.len() as i32,
            ..change
        },
        CjBatchEvent::ComparisonRecorded(_) => BatchStateChange {
            completed: 1,
            ..change
        },
        CjBatchEvent::ComparisonFailed(_) => BatchStateChange {
            failed: 1,
            ..change
        },
        CjBatchEvent::ScoringStarted(_) => BatchStateChange {
            state: Some(BatchState::Scoring),
            ..change
        },
        CjBatchEvent::BatchScored(scored) => BatchStateChange {
            ssr: scored.ssr,
            reliability: reliability_of(scored),
            ..change
        },
        CjBatchEvent::BatchCompleted(completed) => BatchStateChange {
            state: Some(BatchState::Completed),
            upload_status: Some(completed.status),
            ends_batch: true,
            ..change
        },
        CjBatchEvent::BatchFailed(failed) => BatchStateChange {
            state: Some(BatchState::Failed),
            upload_status: Some(failed.status),
            failure_reason: Some(failed.reason.as_str()),
            ends_batch: true,
            ..change
        },
        CjBatchEvent::ComparisonRetried(_)
        | CjBatchEvent::LateCallbackRecorded(_)
        | CjBatchEvent::RecoveryForced(_) => change,
    })
}

/// Batches registered in a chunk, each with its state at the chunk's end.
const INSERT: &str = "
INSERT INTO cj_batch_states
    (batch_id, upstream_batch_id, total_budget, student_essays, created_at,
     upload_status, state, current_wave, submitted_comparisons, completed_comparisons,
     failed_comparisons, ssr, failure_reason, completed_at, last_activity_at, last_sequence,
     estimator, reference_ssr, sep_g, split_half_spearman_brown, order_effect,
     order_effect_flagged, misfitting_essays, misfitting_judges)
SELECT n.batch_id, n.upstream_batch_id, n.total_budget, n.student_essays, n.created_at,
       coalesce(n.upload_status, $25), coalesce(n.state, $26), coalesce(n.current_wave, 0),
       n.submitted, n.completed, n.failed, n.ssr, n.failure_reason, n.completed_at,
       n.last_activity_at, n.last_sequence, n.estimator, n.reference_ssr, n.sep_g,
       n.split_half_spearman_brown, n.order_effect, n.order_effect_flagged,
       n.misfitting_essays, n.misfitting_judges
  FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[],
              $7::int[], $8::float8[], $9::text[], $10::timestamptz[], $11::timestamptz[],
              $12::bigint[], $13::text[], $14::float8[], $15::float8[], $16::float8[],
              $17::float8[], $18::bool[], $19::int[], $20::int[], $21::text[], $22::int[],
              $23::int[], $24::timestamptz[])
       AS n (batch_id, upload_status, state, current_wave, submitted, completed, failed,
             ssr, failure_reason, completed_at, last_activity_at, last_sequence, estimator,
             reference_ssr, sep_g, split_half_spearman_brown, order_effect,
             order_effect_flagged, misfitting_essays, misfitting_judges, upstream_batch_id,
             total_budget, student_essays, created_at)";

/// The merged changes of a chunk to batches registered before it: counters add, every
/// other column takes the chunk's last value where it has one.
const UPDATE: &str = "
UPDATE cj_batch_states s
   SET upload_status             = coalesce(d.upload_status, s.upload_status),
       state                     = coalesce(d.state, s.state),
       current_wave              = coalesce(d.current_wave, s.current_wave),
       submitted_comparisons     = s.submitted_comparisons + d.submitted,
       completed_comparisons     = s.completed_comparisons + d.completed,
       failed_comparisons        = s.failed_comparisons + d.failed,
       ssr                       = coalesce(d.ssr, s.ssr),
       failure_reason            = coalesce(d.failure_reason, s.failure_reason),
       completed_at              = coalesce(d.completed_at, s.completed_at),
       last_activity_at          = d.last_activity_at,
       last_sequence             = d.last_sequence,
       estimator                 = coalesce(d.estimator, s.estimator),
       reference_ssr             = coalesce(d.reference_ssr, s.reference_ssr),
       sep_g                     = coalesce(d.sep_g, s.sep_g),
       split_half_spearman_brown = coalesce(d.split_half_spearman_brown,
                                            s.split_half_spearman_brown),
       order_effect              = coalesce(d.order_effect, s.order_effect),
       order_effect_flagged      = coalesce(d.order_effect_flagged, s.order_effect_flagged),
       misfitting_essays         = coalesce(d.misfitting_essays, s.misfitting_essays),
       misfitting_judges         = coalesce(d.misfitting_judges, s.misfitting_judges)
  FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[],
              $7::int[], $8::float8[], $9::text[], $10::timestamptz[], $11::timestamptz[],
              $12::bigint[], $13::text[], $14::float8[], $15::float8[], $16::float8[],
              $17::float8[], $18::bool[], $19::int[], $20::int[])
       AS d (batch_id, upload_status, state, current_wave, submitted, completed, failed,
             ssr, failure_reason, completed_at, last_activity_at, last_sequence, estimator,
             reference_ssr, sep_g, split_half_spearman_brown, order_effect,
             order_effect_flagged, misfitting_essays, misfitting_judges)
 WHERE s.batch_id = d.batch_id
RETURNING s.batch_id";

/// The changes of one or more events to a batch's row, merged.
#[derive(Debug, Clone)]
struct Merged<'a> {
    change: BatchStateChange,
    completed_at: Option<DateTime<Utc>>,
    last_activity_at: DateTime<Utc>,
    last_sequence: i64,
    /// The first event merged (named when the batch has no row).
    first: &'a LoggedEvent,
}

impl<'a> Merged<'a> {
    fn starting_at(logged: &'a LoggedEvent) -> Self {
        Merged {
            change: BatchStateChange::default(),
            completed_at: None,
            last_activity_at: logged.recorded_at,
            last_sequence: logged.sequence,
            first: logged,
        }
    }

    /// Adds the change `logged` makes after those merged so far.
    fn add(&mut self, logged: &LoggedEvent, next: BatchStateChange) {
        let merged = &mut self.change;
        merged.upload_status = next.upload_status.or(merged.upload_status);
        merged.state = next.state.or(merged.state);
        merged.current_wave = next.current_wave.or(merged.current_wave);
        merged.submitted += next.submitted;
        merged.completed += next.completed;
        merged.failed += next.failed;
        merged.ssr = next.ssr.or(merged.ssr);
        merged.failure_reason = next.failure_reason.or(merged.failure_reason);
        if next.ends_batch {
            self.completed_at = Some(logged.recorded_at);
        }
        if let Some(next) = next.reliability {
            let kept = merged.reliability.take();
            let kept = kept.as_ref();
            merged.reliability = Some(BatchReliability {
                estimator: next.estimator,
                reference_ssr: next.reference_ssr.or(kept.and_then(|r| r.reference_ssr)),
                sep_g: next.sep_g.or(kept.and_then(|r| r.sep_g)),
                split_half_spearman_brown: next
                    .split_half_spearman_brown
                    .or(kept.and_then(|r| r.split_half_spearman_brown)),
                order_effect: next.order_effect.or(kept.and_then(|r| r.order_effect)),
                order_effect_flagged: next
                    .order_effect_flagged
                    .or(kept.and_then(|r| r.order_effect_flagged)),
                misfitting_essays: next.misfitting_essays,
                misfitting_judges: next.misfitting_judges,
            });
        }
        self.last_activity_at = logged.recorded_at;
        self.last_sequence = logged.sequence;
    }
}

/// A batch registered in the chunk.
struct NewBatch<'a> {
    registered: &'a BatchRegistered,
    created_at: DateTime<Utc>,
    since: Merged<'a>,
}

/// A chunk's changes, folded per batch.
#[derive(Default)]
struct BatchChanges<'a> {
    new: NewRows<Uuid, NewBatch<'a>>,
    earlier: BTreeMap<Uuid, Merged<'a>>,
}

#[async_trait::async_trait]
impl<'a> ChunkChanges<'a> for BatchChanges<'a> {
    fn fold(&mut self, logged: &'a LoggedEvent) {
        if let CjBatchEvent::BatchRegistered(registered) = &logged.event {
            let batch = NewBatch {
                registered,
                created_at: logged.recorded_at,
                since: Merged::starting_at(logged),
            };
            self.new.insert(logged.batch_id, batch);
            return;
        }
        let Some(change) = change_for(&logged.event) else {
            return;
        };
        let merged = match self.new.get_mut(&logged.batch_id) {
            Some(batch) => &mut batch.since,
            None => self
                .earlier
                .entry(logged.batch_id)
                .or_insert_with(|| Merged::starting_at(logged)),
        };
        merged.add(logged, change);
    }

    /// Earlier batches first: an event of a batch before its registration in the same
    /// chunk finds no row, as it would one event at a time.
    async fn write(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if !self.earlier.is_empty() {
            let merged: Vec<&Merged<'_>> = self.earlier.values().collect();
            let columns = Columns::of(&merged);
            let query = sqlx::query(UPDATE).bind(self.earlier.keys().copied().collect::<Vec<_>>());
            let updated = columns
                .bind_after(query)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|row| row.try_get::<Uuid, _>(0))
                .collect::<Result<Vec<Uuid>, _>>()?;
            if updated.len() != self.earlier.len() {
                let missing = self
                    .earlier
                    .iter()
                    .find(|(batch_id, _)| !updated.contains(batch_id))
                    .map_or(merged[0].first, |(_, merged)| merged.first);
                return Err(missing_row(missing));
            }
        }
        if self.new.is_empty() {
            return Ok(());
        }
        let batches: Vec<(&Uuid, &NewBatch<'_>)> = self.new.iter().collect();
        let merged: Vec<&Merged<'_>> = batches.iter().map(|(_, b)| &b.since).collect();
        let columns = Columns::of(&merged);
        let registered = |get: fn(&BatchRegistered) -> i32| {
            batches
                .iter()
                .map(|(_, b)| get(b.registered))
                .collect::<Vec<i32>>()
        };
        let query =
            sqlx::query(INSERT).bind(batches.iter().map(|(id, _)| **id).collect::<Vec<_>>());
        columns
            .bind_after(query)
            .bind(
                batches
                    .iter()
                    .map(|(_, b)| b.registered.upstream_batch_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(registered(|r| r.settings.budget.get() as i32))
            .bind(registered(|r| r.essays.len() as i32))
            .bind(
                batches
                    .iter()
                    .map(|(_, b)| b.created_at)
                    .collect::<Vec<_>>(),
            )
            .bind(UploadStatus::Pending.as_str())
            .bind(BatchState::Initializing.as_str())
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Merged changes as one array per column.
struct Columns {
    upload_status: Vec<Option<&'static str>>,
    state: Vec<Option<&'static str>>,
    current_wave: Vec<Option<i32>>,
    submitted: Vec<i32>,
    completed: Vec<i32>,
    failed: Vec<i32>,
    ssr: Vec<Option<f64>>,
    failure_reason: Vec<Option<&'static str>>,
    completed_at: Vec<Option<DateTime<Utc>>>,
    last_activity_at: Vec<DateTime<Utc>>,
    last_sequence: Vec<i64>,
    estimator: Vec<Option<&'static str>>,
    reference_ssr: Vec<Option<f64>>,
    sep_g: Vec<Option<f64>>,
    split_half_spearman_brown: Vec<Option<f64>>,
    order_effect: Vec<Option<f64>>,
    order_effect_flagged: Vec<Option<bool>>,
    misfitting_essays: Vec<Option<i32>>,
    misfitting_judges: Vec<Option<i32>>,
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

impl Columns {
    /// Binds the columns as `$2`.. of [`UPDATE`] and [`INSERT`], after their `$1`.
    fn bind_after(self, query: PgQuery<'_>) -> PgQuery<'_> {
        query
            .bind(self.upload_status)
            .bind(self.state)
            .bind(self.current_wave)
            .bind(self.submitted)
            .bind(self.completed)
            .bind(self.failed)
            .bind(self.ssr)
            .bind(self.failure_reason)
            .bind(self.completed_at)
            .bind(self.last_activity_at)
            .bind(self.last_sequence)
            .bind(self.estimator)
            .bind(self.reference_ssr)
            .bind(self.sep_g)
            .bind(self.split_half_spearman_brown)
            .bind(self.order_effect)
            .bind(self.order_effect_flagged)
            .bind(self.misfitting_essays)
            .bind(self.misfitting_judges)
    }

    fn of(merged: &[&Merged<'_>]) -> Self {
        fn column<T>(merged: &[&Merged<'_>], get: impl Fn(&Merged<'_>) -> T) -> Vec<T> {
            merged.iter().map(|m| get(m)).collect()
        }
        let reliability = |m: &Merged<'_>| m.change.reliability.clone();
        Columns {
            upload_status: column(merged, |m| m.change.upload_status.map(UploadStatus::as_str)),
            state: column(merged, |m| m.change.state.map(BatchState::as_str)),
            current_wave: column(merged, |m| m.change.current_wave.map(|w| w as i32)),
            submitted: column(merged, |m| m.change.submitted),
            completed: column(merged, |m| m.change.completed),
            failed: column(merged, |m| m.change.failed),
            ssr: column(merged, |m| m.change.ssr),
            failure_reason: column(merged, |m| m.change.failure_reason),
            completed_at: column(merged, |m| m.completed_at),
            last_activity_at: column(merged, |m| m.last_activity_at),
            last_sequence: column(merged, |m| m.last_sequence),
            estimator: column(merged, |m| reliability(m).map(|r| r.estimator)),
            reference_ssr: column(merged, |m| reliability(m).and_then(|r| r.reference_ssr)),
            sep_g: column(merged, |m| reliability(m).and_then(|r| r.sep_g)),
            split_half_spearman_brown: column(merged, |m| {
                reliability(m).and_then(|r| r.split_half_spearman_brown)
            }),
            order_effect: column(merged, |m| reliability(m).and_then(|r| r.order_effect)),
            order_effect_flagged: column(merged, |m| {
                reliability(m).and_then(|r| r.order_effect_flagged)
            }),
            misfitting_essays: column(merged, |m| reliability(m).map(|r| r.misfitting_essays)),
            misfitting_judges: column(merged, |m| reliability(m).map(|r| r.misfitting_judges)),
        }
    }
}

#[async_trait::async_trait]
impl Projection for BatchStates {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cj_batch_states"]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        fold_and_write::<BatchChanges>(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        fold_and_write::<BatchChanges>(conn, events).await
    }
}

fn missing_row(logged: &LoggedEvent) -> ProjectionError {
    ProjectionError::MissingRow {
        projection: NAME,
        event_type: logged.event_type.clone(),
        batch_id: logged.batch_id,
    }
}

// Reads of the table, for the service's gauges and monitor and for the lab: the SQL that
// names `cj_batch_states` lives in this file.

const COUNT_BY_STATE: &str = "SELECT state, count(*) FROM cj_batch_states GROUP BY state";

/// How many batches are in each state (the `cj_batch_state` gauge).
pub async fn count_by_state(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(COUNT_BY_STATE).fetch_all(executor).await
}

/// An active batch idle for a while, as the batch monitor's sweep judges it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdleBatch {
    pub batch_id: Uuid,
    /// Comparisons planned so far (rows of `cj_comparison_pairs`).
    pub planned: i64,
    /// Comparisons answered or failed.
    pub resolved: i64,
    /// Seconds since the batch's last activity, at the sweep's `now`.
    pub idle_seconds: f64,
}

/// Active batches idle since before `idle_before`, with their planned and resolved
/// comparison counts — one query over the `(upload_status, last_activity_at)` index.
const IDLE_ACTIVE_BATCHES: &str = "
SELECT s.batch_id,
       coalesce(p.planned, 0)  AS planned,
       (s.completed_comparisons + s.failed_comparisons)::int8 AS resolved,
       extract(epoch FROM ($1::timestamptz - s.last_activity_at))::float8 AS idle_seconds
  FROM cj_batch_states s
  LEFT JOIN LATERAL (SELECT count(*) AS planned FROM cj_comparison_pairs c
                      WHERE c.batch_id = s.batch_id) p ON true
 WHERE s.upload_status = 'PERFORMING_COMPARISONS'
   AND s.state IN ('GENERATING_PAIRS', 'WAITING_CALLBACKS')
   AND s.last_activity_at < $2
 ORDER BY s.last_activity_at";

/// Batches still comparing whose last activity is before `idle_before`, longest idle
/// first, their idle time measured at `now`.
pub async fn idle_active_batches(
    executor: impl PgExecutor<'_>,
    now: DateTime<Utc>,
    idle_before: DateTime<Utc>,
) -> sqlx::Result<Vec<IdleBatch>> {
    sqlx::query_as(IDLE_ACTIVE_BATCHES)
        .bind(now)
        .bind(idle_before)
        .fetch_all(executor)
        .await
}

/// Where one batch stands, found by the upstream id its request named.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchProgress {
    pub batch_id: Uuid,
    pub upload_status: String,
    pub state: String,
    pub completed_comparisons: i32,
    pub failed_comparisons: i32,
    /// Comparisons planned so far (rows of `cj_comparison_pairs`).
    pub planned: i64,
}

const PROGRESS_BY_UPSTREAM_ID: &str = "
SELECT s.batch_id, s.upload_status, s.state, s.completed_comparisons, s.failed_comparisons,
       (SELECT count(*) FROM cj_comparison_pairs c WHERE c.batch_id = s.batch_id) AS planned
  FROM cj_batch_states s WHERE s.upstream_batch_id = $1";

/// The progress of the batch registered for `upstream_batch_id`, if there is one yet.
pub async fn progress_by_upstream_id(
    executor: impl PgExecutor<'_>,
    upstream_batch_id: &str,
) -> sqlx::Result<Option<BatchProgress>> {
    sqlx::query_as(PROGRESS_BY_UPSTREAM_ID)
        .bind(upstream_batch_id)
        .fetch_optional(executor)
        .await
}

/// Every batch at once, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct BatchTotals {
    pub batches: i64,
    /// Batches `COMPLETED` or `FAILED`.
    pub ended: i64,
    /// Comparisons answered or failed, over all batches.
    pub resolved_comparisons: i64,
}

const TOTALS: &str = "
SELECT count(*) AS batches,
       count(*) FILTER (WHERE state IN ('COMPLETED', 'FAILED')) AS ended,
       coalesce(sum(completed_comparisons + failed_comparisons), 0)::int8 AS resolved_comparisons
  FROM cj_batch_states";

/// How many batches there are, how many ended, and how many comparisons they resolved.
pub async fn totals(executor: impl PgExecutor<'_>) -> sqlx::Result<BatchTotals> {
    sqlx::query_as(TOTALS).fetch_one(executor).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::batch::events::{
        BatchCompleted, EssayScore, JudgeReliability, OrderEffectFigure, PairsSubmitted,
        ReliabilityReport, SplitHalfFigure,
    };
    use cj_aggregates::ids::{CorrelationId, EssayId};
    use cj_aggregates::judge::JudgeId;
    use cj_aggregates::stats::grade_scale::GradeScale;
    use cj_aggregates::stats::scale::Estimator;
    use cj_aggregates::stats::split_half::SplitBy;
    use uuid::Uuid;

    fn essay(id: &str, misfit: bool) -> EssayScore {
        EssayScore {
            essay_id: EssayId::parse(id).expect("an essay id"),
            is_anchor: false,
            known_grade: None,
            bt_score: 0.0,
            standard_error: 0.5,
            rank: 1,
            comparisons: 4,
            projection: None,
            infit: Some(if misfit { 2.4 } else { 0.9 }),
            outfit: Some(1.0),
            misfit,
        }
    }

    fn judge(model: &str, flagged: bool) -> JudgeReliability {
        JudgeReliability {
            judge: JudgeId::new("sim", model, "h"),
            comparisons: 10,
            infit: Some(1.0),
            outfit: Some(1.0),
            flagged,
        }
    }

    fn scored(reliability: Option<ReliabilityReport>) -> CjBatchEvent {
        CjBatchEvent::BatchScored(cj_aggregates::batch::events::BatchScored {
            essays: vec![essay("a", true), essay("b", false), essay("c", true)],
            ssr: Some(0.81),
            grade_scale: GradeScale::default(),
            calibration: None,
            calibration_unavailable: Some("no anchors".into()),
            successful_comparisons: 30,
            reliability,
            assignment_scale_version: None,
        })
    }

    fn report() -> ReliabilityReport {
        ReliabilityReport {
            estimator: Estimator::Sirt,
            iterations: 12,
            converged: true,
            reference_ssr: Some(0.77),
            sep_g: Some(1.83),
            split_half: Some(SplitHalfFigure {
                median: Some(0.6),
                spearman_brown: Some(0.75),
                splits: 100,
                by: SplitBy::Judges,
            }),
            order_effect: Some(OrderEffectFigure {
                estimate: -0.42,
                se: Some(0.1),
                flagged: true,
            }),
            judges: vec![judge("m1", false), judge("m2", true), judge("m3", false)],
            components: 1,
        }
    }

    #[test]
    fn a_scored_batch_keeps_its_reliability_figures() {
        let change = change_for(&scored(Some(report()))).expect("a change");
        assert_eq!(change.ssr, Some(0.81));
        assert_eq!(
            change.reliability,
            Some(BatchReliability {
                estimator: "sirt",
                reference_ssr: Some(0.77),
                sep_g: Some(1.83),
                split_half_spearman_brown: Some(0.75),
                order_effect: Some(-0.42),
                order_effect_flagged: Some(true),
                misfitting_essays: 2,
                misfitting_judges: 1,
            })
        );
    }

    #[test]
    fn a_report_without_split_half_or_order_effect_leaves_them_unknown() {
        let partial = ReliabilityReport {
            split_half: None,
            order_effect: None,
            ..report()
        };
        let reliability = change_for(&scored(Some(partial)))
            .and_then(|change| change.reliability)
            .expect("figures");
        assert_eq!(reliability.split_half_spearman_brown, None);
        assert_eq!(reliability.order_effect, None);
        assert_eq!(reliability.order_effect_flagged, None);
        assert_eq!(reliability.reference_ssr, Some(0.77));
    }

    #[test]
    fn a_batch_scored_before_1_1_has_no_reliability_figures() {
        let change = change_for(&scored(None)).expect("a change");
        assert_eq!(change.ssr, Some(0.81));
        assert_eq!(change.reliability, None);
    }

    #[test]
    fn submitted_pairs_add_their_count() {
        let event = CjBatchEvent::PairsSubmitted(PairsSubmitted {
            correlation_ids: vec![CorrelationId(Uuid::nil()), CorrelationId(Uuid::max())],
            prompt_hash: "h".into(),
        });
        assert_eq!(change_for(&event).map(|c| c.submitted), Some(2));
    }

    #[test]
    fn completion_ends_the_batch_with_its_status() {
        let event = CjBatchEvent::BatchCompleted(BatchCompleted {
            status: UploadStatus::CompleteStable,
            comparisons_made: 10,
            successful_comparisons: 9,
            failed_comparisons: 1,
            waves: 2,
        });
        let change = change_for(&event).expect("a change");
        assert!(change.ends_batch);
        assert_eq!(change.state, Some(BatchState::Completed));
        assert_eq!(change.upload_status, Some(UploadStatus::CompleteStable));
    }
}
