//! Reading the `cj_batch_monitoring` view (migrations/*_cj_batch_monitoring.sql): what the
//! stuck-batch monitor and `cj-assessment inspect` look at, one row per batch, with the
//! scored batch's reliability figures.

use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

/// One batch's monitoring row; also the body of `GET /api/v1/batches/{id}`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct BatchMonitoringRow {
    pub batch_id: Uuid,
    pub upstream_batch_id: String,
    pub upload_status: String,
    pub state: String,
    pub total_budget: i32,
    pub submitted_comparisons: i32,
    pub completed_comparisons: i32,
    pub failed_comparisons: i32,
    pub current_wave: i32,
    pub anchor_count: i64,
    pub projection_count: i64,
    pub ssr: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub divergent: bool,
    /// The estimator that placed the essays (`regularised`, `sirt`, `ilsr`); this and the
    /// figures below are null until the batch is scored, and for batches scored before
    /// `BatchScored` 1.1.
    pub estimator: Option<String>,
    /// SSR of the reference estimator (`sirt::btm`), comparable with published CJ figures.
    pub reference_ssr: Option<f64>,
    /// Separation G of the reference estimator: true spread in units of measurement error.
    pub sep_g: Option<f64>,
    /// Median split-half reliability, stepped up to full length (Spearman–Brown).
    pub split_half_spearman_brown: Option<f64>,
    /// Order effect η in logits (positive favours the essay shown first).
    pub order_effect: Option<f64>,
    /// |η| > 2 SE: the judge favours a position.
    pub order_effect_flagged: Option<bool>,
    /// Essays whose infit is above mean + 2 SD of the batch's essays.
    pub misfitting_essays: Option<i32>,
    /// Judges whose infit is above mean + 2 SD of the batch's judges.
    pub misfitting_judges: Option<i32>,
}

/// The monitoring row of one batch, if its registration has been projected.
pub async fn batch_monitoring(
    executor: impl PgExecutor<'_>,
    batch_id: Uuid,
) -> Result<Option<BatchMonitoringRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT batch_id, upstream_batch_id, upload_status, state, total_budget,
                submitted_comparisons, completed_comparisons, failed_comparisons, current_wave,
                anchor_count, projection_count, ssr, created_at, last_activity_at,
                completed_at, divergent, estimator, reference_ssr, sep_g,
                split_half_spearman_brown, order_effect, order_effect_flagged,
                misfitting_essays, misfitting_judges
           FROM cj_batch_monitoring WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_optional(executor)
    .await?)
}
