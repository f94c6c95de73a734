//! One sweep of the batch monitor: a single indexed query finds stuck and unfinished
//! batches ([`batch_states::idle_active_batches`]), then one command per batch found, a few
//! at a time.

use crate::clock::Clock;
use crate::metrics::metrics;
use crate::store::command_bus::{BatchCommandBus, CommandError};
use crate::store::CommandMetadata;
use cj_aggregates::batch::commands::{Finalize, ForceRecovery};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchError, CjBatchEvent};
use cj_projections::batch_states::{self, IdleBatch};
use futures::stream::{self, StreamExt};
use sqlx::PgPool;
use tracing::{info_span, Instrument};
use uuid::Uuid;

/// What counts as stuck or unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// A batch idle this long is stuck (default 4 h).
    pub stuck_after: chrono::Duration,
    /// A batch with every callback in but not terminal, idle this long, is finalized by the
    /// sweep: long enough that the deciding command is certainly not still running.
    pub unfinished_after: chrono::Duration,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            stuck_after: chrono::Duration::hours(4),
            unfinished_after: chrono::Duration::minutes(5),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub stuck: usize,
    pub recovered: usize,
    pub failed: usize,
    pub finalized_by_completion_sweep: usize,
    pub refused: usize,
}

/// Recovery commands in flight at once: each waits mostly on loading the batch and on its
/// commit, so a few at a time keep a sweep over many stuck batches short.
const SWEEP_CONCURRENCY: usize = 8;

/// What one command of the sweep did to its batch.
#[derive(Debug)]
enum SweepOutcome {
    Recovered,
    Failed,
    Finalized,
    Refused,
}

pub async fn sweep_once(
    pool: &PgPool,
    bus: &BatchCommandBus,
    clock: &dyn Clock,
    settings: &SweepSettings,
) -> anyhow::Result<SweepReport> {
    let now = clock.now();
    let earliest_cutoff = now - settings.unfinished_after.min(settings.stuck_after);
    let candidates = batch_states::idle_active_batches(pool, now, earliest_cutoff).await?;
    let mut report = SweepReport::default();
    let commands: Vec<(BatchId, CjBatchCommand)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let command = command_for(&candidate, settings)?;
            if matches!(command, CjBatchCommand::ForceRecovery(_)) {
                report.stuck += 1;
            }
            Some((BatchId(candidate.batch_id), command))
        })
        .collect();
    let metadata = CommandMetadata::new(Uuid::new_v4(), "batch-monitor");
    let outcomes: Vec<Result<SweepOutcome, CommandError>> = stream::iter(commands)
        .map(|(batch_id, command)| {
            let span =
                info_span!("monitor_command", %batch_id, correlation_id = %metadata.correlation_id);
            execute(bus, batch_id, command, &metadata).instrument(span)
        })
        .buffer_unordered(SWEEP_CONCURRENCY)
        .collect()
        .await;
    let mut first_error = None;
    for outcome in outcomes {
        match outcome {
            Ok(SweepOutcome::Recovered) => {
                report.recovered += 1;
                metrics().stuck_batches_recovered.inc();
            }
            Ok(SweepOutcome::Failed) => {
                report.failed += 1;
                metrics().stuck_batches_failed.inc();
            }
            Ok(SweepOutcome::Finalized) => {
                report.finalized_by_completion_sweep += 1;
                metrics().completion_sweep_finalized.inc();
            }
            Ok(SweepOutcome::Refused) => report.refused += 1,
            Err(error) => first_error = first_error.or(Some(error)),
        }
    }
    metrics().stuck_batches_detected.set(report.stuck as i64);
    match first_error {
        Some(error) => Err(error.into()),
        None => Ok(report),
    }
}

/// ForceRecovery for a stuck batch, Finalize for one with every callback in, else nothing.
fn command_for(candidate: &IdleBatch, settings: &SweepSettings) -> Option<CjBatchCommand> {
    let all_in = candidate.planned > 0 && candidate.resolved >= candidate.planned;
    let idle = chrono::Duration::milliseconds((candidate.idle_seconds * 1000.0) as i64);
    if idle >= settings.stuck_after {
        Some(CjBatchCommand::ForceRecovery(ForceRecovery {
            observed_progress: progress(candidate.resolved, candidate.planned),
            idle_seconds: idle.num_seconds().max(0) as u64,
        }))
    } else if all_in {
        Some(CjBatchCommand::Finalize(Finalize {
            requested_by: "completion-sweep".into(),
        }))
    } else {
        None
    }
}

async fn execute(
    bus: &BatchCommandBus,
    batch_id: BatchId,
    command: CjBatchCommand,
    metadata: &CommandMetadata,
) -> Result<SweepOutcome, CommandError> {
    let is_recovery = matches!(command, CjBatchCommand::ForceRecovery(_));
    match bus.execute_decided(batch_id, command, metadata).await {
        Ok(events) if is_recovery => {
            let completed = events
                .iter()
                .any(|e| matches!(e, CjBatchEvent::BatchCompleted(_)));
            let outcome = if completed {
                SweepOutcome::Recovered
            } else {
                SweepOutcome::Failed
            };
            tracing::warn!(?outcome, "stuck batch forced to an end");
            Ok(outcome)
        }
        Ok(_) => {
            tracing::warn!(%batch_id, "completion sweep finalized a batch the normal path left unfinished");
            Ok(SweepOutcome::Finalized)
        }
        // The projection lagged behind a batch that has since ended or moved on.
        Err(CommandError::Rejected(
            CjBatchError::BatchTerminal { .. } | CjBatchError::NotInProgress { .. },
        )) => Ok(SweepOutcome::Refused),
        Err(error) => Err(error),
    }
}

fn progress(resolved: i64, planned: i64) -> f64 {
    if planned <= 0 {
        0.0
    } else {
        resolved as f64 / planned as f64
    }
}
