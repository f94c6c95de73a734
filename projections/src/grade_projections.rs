//! Projection `grade_projections`: the projected grade of every student essay of a scored
//! batch — primary grade, probabilities of every grade (jsonb), confidence, the BT score it
//! was read from and the calibration behind it (table: `migrations/*_grade_projections.sql`).
//! A batch whose anchors could not calibrate the scale has no rows here.

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use cj_aggregates::batch::events::BatchScored;
use cj_aggregates::stats::grading::ConfidenceLabel;
use cj_aggregates::CjBatchEvent;
use serde_json::{json, Value};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

pub struct GradeProjections;

pub const NAME: &str = "grade_projections";

const INSERT: &str = "
INSERT INTO grade_projections
    (batch_id, essay_id, primary_grade, base_grade, grade_scale, probabilities,
     confidence_score, confidence_label, bt_mean, bt_se, calibration, projected_at)
SELECT $1, p.essay_id, p.primary_grade, p.base_grade, $2, p.probabilities,
       p.confidence_score, p.confidence_label, p.bt_mean, p.bt_se, $3, $4
  FROM UNNEST($5::text[], $6::text[], $7::text[], $8::jsonb[], $9::float8[], $10::text[],
              $11::float8[], $12::float8[])
       AS p (essay_id, primary_grade, base_grade, probabilities, confidence_score,
             confidence_label, bt_mean, bt_se)";

/// Columns of one row, in the order of the UNNEST above.
#[derive(Default)]
struct Rows {
    essay_ids: Vec<String>,
    grades: Vec<String>,
    base_grades: Vec<String>,
    probabilities: Vec<Value>,
    confidences: Vec<f64>,
    labels: Vec<&'static str>,
    means: Vec<f64>,
    standard_errors: Vec<f64>,
}

fn label_name(label: ConfidenceLabel) -> &'static str {
    match label {
        ConfidenceLabel::High => "HIGH",
        ConfidenceLabel::Mid => "MID",
        ConfidenceLabel::Low => "LOW",
    }
}

fn rows_of(scored: &BatchScored) -> Rows {
    let mut rows = Rows::default();
    for essay in scored.essays.iter().filter(|e| !e.is_anchor) {
        let Some(projection) = &essay.projection else {
            continue;
        };
        rows.essay_ids.push(essay.essay_id.to_string());
        rows.grades.push(projection.grade.clone());
        rows.base_grades.push(projection.base_grade.clone());
        rows.probabilities.push(json!(projection.probabilities));
        rows.confidences.push(projection.confidence);
        rows.labels.push(label_name(projection.label));
        rows.means.push(essay.bt_score);
        rows.standard_errors.push(essay.standard_error);
    }
    rows
}

#[async_trait::async_trait]
impl Projection for GradeProjections {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["grade_projections"]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BatchScored"])
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        let CjBatchEvent::BatchScored(scored) = &logged.event else {
            return Ok(());
        };
        let rows = rows_of(scored);
        if rows.essay_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT)
            .bind(logged.batch_id)
            .bind(scored.grade_scale.id())
            .bind(json!(scored.calibration))
            .bind(logged.recorded_at)
            .bind(rows.essay_ids)
            .bind(rows.grades)
            .bind(rows.base_grades)
            .bind(rows.probabilities)
            .bind(rows.confidences)
            .bind(rows.labels)
            .bind(rows.means)
            .bind(rows.standard_errors)
            .execute(conn)
            .await?;
        Ok(())
    }
}

const COUNT_FOR_BATCH: &str = "SELECT count(*) FROM grade_projections WHERE batch_id = $1";

/// How many essays of `batch_id` have a projected grade.
pub async fn count_for_batch(executor: impl PgExecutor<'_>, batch_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(COUNT_FOR_BATCH)
        .bind(batch_id)
        .fetch_one(executor)
        .await
}
