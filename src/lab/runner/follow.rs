//! Follows a batch (found by its upstream id) to its end and reports what an operator checks:
//! status, state, comparisons, projections, and how well the anchors line up with their
//! known grades (order inversions, Kendall τ of anchor score against grade).

use crate::lab::simulation::metrics::kendall_tau;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_projections::lag::wait_until_applied;
use cj_projections::{batch_states, catalogue, comparison_pairs, essays, grade_projections};
use serde::Serialize;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// How long a finished batch's other projections may take to show its end. They are
/// milliseconds behind normally; a projector that is down shows as a warning, not a hang.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutcome {
    pub batch_id: Uuid,
    pub upload_status: String,
    pub state: String,
    pub comparisons: i64,
    pub projections: i64,
    pub anchors: usize,
    /// Pairs of anchors whose scores are in the opposite order to their grades.
    pub anchor_inversions: usize,
    pub anchor_kendall_tau: Option<f64>,
}

impl RunOutcome {
    /// COMPLETE_* / COMPLETED with grade projections.
    pub fn succeeded(&self) -> bool {
        self.upload_status.starts_with("COMPLETE_")
            && self.state == "COMPLETED"
            && self.projections > 0
    }
}

/// Waits (polling every 200 ms, `progress` told the resolved/planned counts) until the
/// batch of `upstream_batch_id` ends or `timeout` passes.
pub async fn follow_batch(
    pool: &PgPool,
    upstream_batch_id: &str,
    scale: GradeScale,
    timeout: Duration,
    mut progress: impl FnMut(i64, i64),
) -> anyhow::Result<RunOutcome> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let progress_now = batch_states::progress_by_upstream_id(pool, upstream_batch_id).await?;
        if let Some(now) = progress_now {
            progress(
                i64::from(now.completed_comparisons + now.failed_comparisons),
                now.planned,
            );
            let (batch_id, status, state) = (now.batch_id, now.upload_status, now.state);
            if state == "COMPLETED" || state == "FAILED" {
                // `cj_batch_states` shows the end first; the essays' scores and the grade
                // projections are other projectors, a few milliseconds behind.
                let names = catalogue::names();
                let behind =
                    wait_until_applied(pool, &names, &batch_id.to_string(), CATCH_UP_TIMEOUT)
                        .await?;
                if behind > 0 {
                    tracing::warn!(%batch_id, behind, "projections still behind the batch's end; reading them as they are");
                }
                return outcome(pool, batch_id, status, state, scale).await;
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "batch {upstream_batch_id} did not end within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn outcome(
    pool: &PgPool,
    batch_id: Uuid,
    upload_status: String,
    state: String,
    scale: GradeScale,
) -> anyhow::Result<RunOutcome> {
    let comparisons = comparison_pairs::completed_count(pool, batch_id).await?;
    let projections = grade_projections::count_for_batch(pool, batch_id).await?;
    let anchors = essays::anchor_scores(pool, batch_id).await?;
    let points: Vec<(f64, f64)> = anchors
        .iter()
        .filter_map(|(grade, score)| Some((scale.index_of(grade.as_deref()?)? as f64, (*score)?)))
        .collect();
    let inversions = points
        .iter()
        .enumerate()
        .flat_map(|(i, a)| points[i + 1..].iter().map(move |b| (a, b)))
        .filter(|(a, b)| (a.0 - b.0) * (a.1 - b.1) < 0.0)
        .count();
    let (grades, scores): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    Ok(RunOutcome {
        batch_id,
        upload_status,
        state,
        comparisons,
        projections,
        anchors: points.len(),
        anchor_inversions: inversions,
        anchor_kendall_tau: kendall_tau(&grades, &scores),
    })
}
