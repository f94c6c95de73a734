//! One sweep of the batch monitor: a single indexed query finds stuck and unfinished
//! batches, then one command per batch found.

use crate::clock::Clock;
use crate::metrics::metrics;
use crate::store::command_bus::{BatchCommandBus, CommandError};
use crate::store::CommandMetadata;
use cj_aggregates::commands::{Finalize, ForceRecovery};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchError};
use sqlx::PgPool;
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

#[derive(Debug, sqlx::FromRow)]
struct Candidate {
    batch_id: Uuid,
    planned: i64,
    resolved: i64,
    idle_seconds: f64,
}

/// Active batches idle since before `idle_before`, with their planned and resolved
/// comparison counts — one query over the `(upload_status, last_activity_at)` index.
const CANDIDATES: &str = "
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

pub async fn sweep_once(
    pool: &PgPool,
    bus: &BatchCommandBus,
    clock: &dyn Clock,
    settings: &SweepSettings,
) -> anyhow::Result<SweepReport> {
    let now = clock.now();
    let earliest_cutoff = now - settings.unfinished_after.min(settings.stuck_after);
    let candidates: Vec<Candidate> = sqlx::query_as(CANDIDATES)
        .bind(now)
        .bind(earliest_cutoff)
        .fetch_all(pool)
        .await?;
    let mut report = SweepReport::default();
    let metadata = CommandMetadata::new(Uuid::new_v4(), "batch-monitor");
    for candidate in candidates {
        let batch_id = BatchId(candidate.batch_id);
        let all_in = candidate.planned > 0 && candidate.resolved >= candidate.planned;
        let idle = chrono::Duration::milliseconds((candidate.idle_seconds * 1000.0) as i64);
        let command = if idle >= settings.stuck_after {
            report.stuck += 1;
            CjBatchCommand::ForceRecovery(ForceRecovery {
                observed_progress: progress(candidate.resolved, candidate.planned),
                idle_seconds: idle.num_seconds().max(0) as u64,
            })
        } else if all_in {
            CjBatchCommand::Finalize(Finalize {
                requested_by: "completion-sweep".into(),
            })
        } else {
            continue;
        };
        let is_recovery = matches!(command, CjBatchCommand::ForceRecovery(_));
        match bus.execute(batch_id, command, &metadata).await {
            Ok(()) if is_recovery => {
                if last_event_type(pool, batch_id).await?.as_deref() == Some("BatchCompleted") {
                    report.recovered += 1;
                    metrics().stuck_batches_recovered.inc();
                } else {
                    report.failed += 1;
                    metrics().stuck_batches_failed.inc();
                }
            }
            Ok(()) => {
                report.finalized_by_completion_sweep += 1;
                metrics().completion_sweep_finalized.inc();
                tracing::warn!(%batch_id, "completion sweep finalized a batch the normal path left unfinished");
            }
            // The projection lagged behind a batch that has since ended or moved on.
            Err(CommandError::Rejected(
                CjBatchError::BatchTerminal { .. } | CjBatchError::NotInProgress { .. },
            )) => report.refused += 1,
            Err(error) => return Err(error.into()),
        }
    }
    metrics().stuck_batches_detected.set(report.stuck as i64);
    Ok(report)
}

fn progress(resolved: i64, planned: i64) -> f64 {
    if planned <= 0 {
        0.0
    } else {
        resolved as f64 / planned as f64
    }
}

async fn last_event_type(pool: &PgPool, batch_id: BatchId) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT event_type FROM events WHERE aggregate_type = 'CjBatch' AND aggregate_id = $1
          ORDER BY sequence DESC LIMIT 1",
    )
    .bind(batch_id.to_string())
    .fetch_optional(pool)
    .await?)
}
