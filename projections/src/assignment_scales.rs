//! Projection `cj_assignment_scales`: every assignment's anchor scale (ADR 0012), one row
//! per version — the assignment, the version (the number of its batches folded in), the
//! batch folded in as that version with the anchors it contributed (their scores and SEs on
//! its own axis), and the scale after folding it (each anchor's position and variance, in
//! logits and logits²) (table: `migrations/*_cj_assignment_scales.sql`).
//!
//! Each `BatchScored` of a batch registered for an assignment (always followed by its
//! `BatchCompleted` in the same command, so in completion order) is folded into the
//! assignment's latest version ([`AssignmentScale::fold`]); a batch with no anchor to
//! contribute folds nothing. The row change is pure ([`next_version`]); the projector reads
//! the batch's assignment from its registration and the latest version, both inside its
//! transaction, so a replay rebuilds every version equal. The service reads the latest
//! version ([`current`]) before a command that can score a batch of the assignment.

use crate::error::ProjectionError;
use crate::log::{assignment_of, LoggedEvent};
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::{BatchPurpose, BatchScored};
use cj_aggregates::stats::assignment_scale::{AnchorObservation, AssignmentScale};
use cj_aggregates::CjBatchEvent;
use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

pub struct AssignmentScales;

pub const NAME: &str = "cj_assignment_scales";

/// One version of an assignment's scale: what a batch contributed and the scale after it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleVersion {
    /// The batch folded in as this version.
    pub batch_id: Uuid,
    pub contributed: Vec<AnchorObservation>,
    pub scale: AssignmentScale,
}

/// The version `scored` (of batch `batch_id`, registered for `purpose`) makes of
/// `latest`; `None` when it has no anchor to contribute (no anchors, none on the grade
/// scale, or not scored finitely). A calibration round folds in its own unit
/// ([`AssignmentScale::fold_round`]).
pub fn next_version(
    latest: &AssignmentScale,
    batch_id: Uuid,
    purpose: BatchPurpose,
    scored: &BatchScored,
) -> Option<ScaleVersion> {
    let contributed: Vec<AnchorObservation> = scored
        .anchor_observations()
        .into_iter()
        .filter(|anchor| anchor.score.is_finite() && anchor.standard_error.is_finite())
        .collect();
    if contributed.is_empty() {
        return None;
    }
    let scale = if purpose.is_calibration_round() {
        latest.fold_round(&contributed)
    } else {
        latest.fold(&contributed)
    };
    Some(ScaleVersion {
        batch_id,
        scale,
        contributed,
    })
}

const LATEST: &str = "
SELECT version, anchors FROM cj_assignment_scales
 WHERE assignment_id = $1
 ORDER BY version DESC
 LIMIT 1";

const INSERT: &str = "
INSERT INTO cj_assignment_scales
    (assignment_id, version, batch_id, contributed, anchors, folded_at)
VALUES ($1, $2, $3, $4, $5, $6)";

const VERSIONS: &str = "
SELECT version, batch_id, contributed, anchors FROM cj_assignment_scales
 WHERE assignment_id = $1
 ORDER BY version";

/// The assignment's latest scale; the empty scale (version 0) before any batch is folded.
pub async fn current(
    executor: impl PgExecutor<'_>,
    assignment_id: &str,
) -> Result<AssignmentScale, ProjectionError> {
    let row: Option<(i32, Value)> = sqlx::query_as(LATEST)
        .bind(assignment_id)
        .fetch_optional(executor)
        .await?;
    row.map_or_else(|| Ok(AssignmentScale::default()), scale_from_row)
}

/// Every version of the assignment's scale, oldest first: each batch's contribution.
pub async fn versions(
    executor: impl PgExecutor<'_>,
    assignment_id: &str,
) -> Result<Vec<ScaleVersion>, ProjectionError> {
    let rows: Vec<(i32, Uuid, Value, Value)> = sqlx::query_as(VERSIONS)
        .bind(assignment_id)
        .fetch_all(executor)
        .await?;
    rows.into_iter()
        .map(|(version, batch_id, contributed, anchors)| {
            Ok(ScaleVersion {
                batch_id,
                contributed: serde_json::from_value(contributed).map_err(decode_error)?,
                scale: scale_from_row((version, anchors))?,
            })
        })
        .collect()
}

fn scale_from_row((version, anchors): (i32, Value)) -> Result<AssignmentScale, ProjectionError> {
    Ok(AssignmentScale {
        version: u32::try_from(version).map_err(|_| {
            ProjectionError::UnreadableRow(format!("assignment scale version {version}"))
        })?,
        anchors: serde_json::from_value(anchors).map_err(decode_error)?,
    })
}

fn decode_error(error: serde_json::Error) -> ProjectionError {
    ProjectionError::UnreadableRow(format!("assignment scale: {error}"))
}

async fn insert(
    conn: &mut PgConnection,
    assignment_id: &str,
    version: &ScaleVersion,
    folded_at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let encode = |error: serde_json::Error| ProjectionError::Encode(error.to_string());
    let number = i32::try_from(version.scale.version)
        .map_err(|_| ProjectionError::Encode("assignment scale version overflows".into()))?;
    sqlx::query(INSERT)
        .bind(assignment_id)
        .bind(number)
        .bind(version.batch_id)
        .bind(serde_json::to_value(&version.contributed).map_err(encode)?)
        .bind(serde_json::to_value(&version.scale.anchors).map_err(encode)?)
        .bind(folded_at)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Projection for AssignmentScales {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cj_assignment_scales"]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BatchScored"])
    }

    fn sparse(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        let CjBatchEvent::BatchScored(scored) = &logged.event else {
            return Ok(());
        };
        let Some(batch) = assignment_of(&mut *conn, logged.batch_id).await? else {
            return Ok(());
        };
        let latest = current(&mut *conn, &batch.assignment_id).await?;
        if let Some(version) = next_version(&latest, logged.batch_id, batch.purpose, scored) {
            insert(conn, &batch.assignment_id, &version, logged.recorded_at).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "assignment_scales_tests.rs"]
mod tests;
