//! Projection `cj_batch_states`: one row per batch — upload status, state, budget,
//! comparison counters, current wave, SSR, the scored batch's reliability (estimator,
//! reference SSR, separation G, split-half, order effect, misfitting essays and judges),
//! failure reason and times (table: `migrations/*_cj_batch_states*.sql`). Counters are
//! incremented per event, so applying an event twice would show; the projector's
//! transaction makes sure it never is. Runs of callbacks and submissions ([`crate::chunk`])
//! only add to counters: they are summed per batch and written with one statement.

use crate::chunk::is_callback_or_submission;
use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::BatchScored;
use cj_aggregates::batch::status::{BatchState, UploadStatus};
use cj_aggregates::CjBatchEvent;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, PgExecutor, Postgres};
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

const INSERT: &str = "
INSERT INTO cj_batch_states
    (batch_id, upstream_batch_id, upload_status, state, total_budget, student_essays,
     created_at, last_activity_at, last_sequence)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)";

const UPDATE: &str = "
UPDATE cj_batch_states
   SET upload_status             = coalesce($2, upload_status),
       state                     = coalesce($3, state),
       current_wave              = coalesce($4, current_wave),
       submitted_comparisons     = submitted_comparisons + $5,
       completed_comparisons     = completed_comparisons + $6,
       failed_comparisons        = failed_comparisons + $7,
       ssr                       = coalesce($8, ssr),
       failure_reason            = coalesce($9, failure_reason),
       completed_at              = CASE WHEN $10 THEN $11 ELSE completed_at END,
       last_activity_at          = $11,
       last_sequence             = $12,
       estimator                 = coalesce($13, estimator),
       reference_ssr             = coalesce($14, reference_ssr),
       sep_g                     = coalesce($15, sep_g),
       split_half_spearman_brown = coalesce($16, split_half_spearman_brown),
       order_effect              = coalesce($17, order_effect),
       order_effect_flagged      = coalesce($18, order_effect_flagged),
       misfitting_essays         = coalesce($19, misfitting_essays),
       misfitting_judges         = coalesce($20, misfitting_judges)
 WHERE batch_id = $1";

/// Counter increments of many batches at once, each with its last event's time and place.
const ADD_COUNTS: &str = "
UPDATE cj_batch_states s
   SET submitted_comparisons = s.submitted_comparisons + d.submitted,
       completed_comparisons = s.completed_comparisons + d.completed,
       failed_comparisons    = s.failed_comparisons + d.failed,
       last_activity_at      = d.at,
       last_sequence         = d.sequence
  FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::timestamptz[], $6::bigint[])
       AS d (batch_id, submitted, completed, failed, at, sequence)
 WHERE s.batch_id = d.batch_id
RETURNING s.batch_id";

/// What a run of counter-only events adds to one batch's row.
#[derive(Debug, Clone, Copy)]
struct Counts {
    submitted: i32,
    completed: i32,
    failed: i32,
    at: DateTime<Utc>,
    sequence: i64,
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
        if let CjBatchEvent::BatchRegistered(registered) = &logged.event {
            sqlx::query(INSERT)
                .bind(logged.batch_id)
                .bind(&registered.upstream_batch_id)
                .bind(UploadStatus::Pending.as_str())
                .bind(BatchState::Initializing.as_str())
                .bind(registered.settings.budget.get() as i32)
                .bind(registered.essays.len() as i32)
                .bind(logged.recorded_at)
                .bind(logged.sequence)
                .execute(conn)
                .await?;
            return Ok(());
        }
        if is_callback_or_submission(&logged.event) {
            return add_counts(conn, std::slice::from_ref(logged)).await;
        }
        let Some(change) = change_for(&logged.event) else {
            return Ok(());
        };
        let updated = update(logged, &change).execute(conn).await?;
        if updated.rows_affected() != 1 {
            return Err(missing_row(logged));
        }
        Ok(())
    }

    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        run: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        add_counts(conn, run).await
    }
}

/// The [`UPDATE`] of `logged`'s batch row with `change`.
fn update<'q>(
    logged: &'q LoggedEvent,
    change: &'q BatchStateChange,
) -> Query<'q, Postgres, PgArguments> {
    let reliability = change.reliability.as_ref();
    sqlx::query(UPDATE)
        .bind(logged.batch_id)
        .bind(change.upload_status.map(UploadStatus::as_str))
        .bind(change.state.map(BatchState::as_str))
        .bind(change.current_wave.map(|w| w as i32))
        .bind(change.submitted)
        .bind(change.completed)
        .bind(change.failed)
        .bind(change.ssr)
        .bind(change.failure_reason)
        .bind(change.ends_batch)
        .bind(logged.recorded_at)
        .bind(logged.sequence)
        .bind(reliability.map(|r| r.estimator))
        .bind(reliability.and_then(|r| r.reference_ssr))
        .bind(reliability.and_then(|r| r.sep_g))
        .bind(reliability.and_then(|r| r.split_half_spearman_brown))
        .bind(reliability.and_then(|r| r.order_effect))
        .bind(reliability.and_then(|r| r.order_effect_flagged))
        .bind(reliability.map(|r| r.misfitting_essays))
        .bind(reliability.map(|r| r.misfitting_judges))
}

/// Adds a run of counter-only events to their batches' rows with one statement.
async fn add_counts(conn: &mut PgConnection, run: &[LoggedEvent]) -> Result<(), ProjectionError> {
    let mut per_batch: BTreeMap<Uuid, Counts> = BTreeMap::new();
    for logged in run {
        let change = change_for(&logged.event).unwrap_or_default();
        let counts = per_batch.entry(logged.batch_id).or_insert(Counts {
            submitted: 0,
            completed: 0,
            failed: 0,
            at: logged.recorded_at,
            sequence: logged.sequence,
        });
        counts.submitted += change.submitted;
        counts.completed += change.completed;
        counts.failed += change.failed;
        if logged.sequence >= counts.sequence {
            (counts.at, counts.sequence) = (logged.recorded_at, logged.sequence);
        }
    }
    let column = |get: fn(&Counts) -> i32| per_batch.values().map(get).collect::<Vec<i32>>();
    let updated: Vec<Uuid> = sqlx::query_scalar(ADD_COUNTS)
        .bind(per_batch.keys().copied().collect::<Vec<Uuid>>())
        .bind(column(|c| c.submitted))
        .bind(column(|c| c.completed))
        .bind(column(|c| c.failed))
        .bind(per_batch.values().map(|c| c.at).collect::<Vec<_>>())
        .bind(per_batch.values().map(|c| c.sequence).collect::<Vec<i64>>())
        .fetch_all(conn)
        .await?;
    if updated.len() != per_batch.len() {
        let missing = run
            .iter()
            .find(|logged| !updated.contains(&logged.batch_id))
            .unwrap_or(&run[0]);
        return Err(missing_row(missing));
    }
    Ok(())
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
