//! Projection `cj_batch_states`: one row per batch — upload status, state, budget,
//! comparison counters, current wave, SSR, failure reason and times (table:
//! `migrations/*_cj_batch_states.sql`). Counters are incremented per event, so applying an
//! event twice would show; the projector's transaction makes sure it never is. Runs of
//! callbacks and submissions ([`crate::chunk`]) only add to counters: they are summed per
//! batch and written with one statement.

use crate::chunk::is_callback_or_submission;
use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::status::{BatchState, UploadStatus};
use cj_aggregates::CjBatchEvent;
use sqlx::PgConnection;
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
    pub failure_reason: Option<&'static str>,
    pub ends_batch: bool,
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
   SET upload_status         = coalesce($2, upload_status),
       state                 = coalesce($3, state),
       current_wave          = coalesce($4, current_wave),
       submitted_comparisons = submitted_comparisons + $5,
       completed_comparisons = completed_comparisons + $6,
       failed_comparisons    = failed_comparisons + $7,
       ssr                   = coalesce($8, ssr),
       failure_reason        = coalesce($9, failure_reason),
       completed_at          = CASE WHEN $10 THEN $11 ELSE completed_at END,
       last_activity_at      = $11,
       last_sequence         = $12
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
        let updated = sqlx::query(UPDATE)
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
            .execute(conn)
            .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::events::{BatchCompleted, PairsSubmitted};
    use cj_aggregates::ids::CorrelationId;
    use uuid::Uuid;

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
