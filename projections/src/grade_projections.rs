//! Projection `grade_projections`: the projected grade of every student essay of a scored
//! batch — primary grade, probabilities of every grade (jsonb), confidence, the BT score it
//! was read from and the calibration behind it (table: `migrations/*_grade_projections.sql`).
//! A batch whose anchors could not calibrate the scale has no rows here. Rows are only ever
//! inserted, so a chunk's rows are written with one statement.

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use crate::projection::Projection;
use chrono::{DateTime, Utc};
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
SELECT p.batch_id, p.essay_id, p.primary_grade, p.base_grade, p.grade_scale,
       p.probabilities, p.confidence_score, p.confidence_label, p.bt_mean, p.bt_se,
       p.calibration, p.projected_at
  FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[],
              $7::float8[], $8::text[], $9::float8[], $10::float8[], $11::jsonb[],
              $12::timestamptz[])
       AS p (batch_id, essay_id, primary_grade, base_grade, grade_scale, probabilities,
             confidence_score, confidence_label, bt_mean, bt_se, calibration, projected_at)";

/// Columns of the rows of a chunk, in the order of the UNNEST above.
#[derive(Default)]
struct Rows {
    batch_ids: Vec<Uuid>,
    grade_scales: Vec<&'static str>,
    calibrations: Vec<Value>,
    projected_at: Vec<DateTime<Utc>>,
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

impl Rows {
    /// Adds the rows of the batch `logged` scored.
    fn add(&mut self, logged: &LoggedEvent, scored: &BatchScored) {
        let calibration = json!(scored.calibration);
        for essay in scored.essays.iter().filter(|e| !e.is_anchor) {
            let Some(projection) = &essay.projection else {
                continue;
            };
            self.batch_ids.push(logged.batch_id);
            self.grade_scales.push(scored.grade_scale.id());
            self.calibrations.push(calibration.clone());
            self.projected_at.push(logged.recorded_at);
            self.essay_ids.push(essay.essay_id.to_string());
            self.grades.push(projection.grade.clone());
            self.base_grades.push(projection.base_grade.clone());
            self.probabilities.push(json!(projection.probabilities));
            self.confidences.push(projection.confidence);
            self.labels.push(label_name(projection.label));
            self.means.push(essay.bt_score);
            self.standard_errors.push(essay.standard_error);
        }
    }
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

    fn sparse(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        self.apply_all(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        let mut rows = Rows::default();
        for logged in events {
            if let CjBatchEvent::BatchScored(scored) = &logged.event {
                rows.add(logged, scored);
            }
        }
        if rows.essay_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT)
            .bind(rows.batch_ids)
            .bind(rows.essay_ids)
            .bind(rows.grades)
            .bind(rows.base_grades)
            .bind(rows.grade_scales)
            .bind(rows.probabilities)
            .bind(rows.confidences)
            .bind(rows.labels)
            .bind(rows.means)
            .bind(rows.standard_errors)
            .bind(rows.calibrations)
            .bind(rows.projected_at)
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
