//! Assessment instructions per assignment (`cj_assessment_instructions`): the grade scale
//! its anchors and results use, the instructions text, the student prompt and the judge
//! rubric. An assignment without a row uses the default scale and no instructions.

use super::RegistryError;
use chrono::{DateTime, Utc};
use cj_aggregates::stats::grade_scale::GradeScale;
use sqlx::PgPool;

/// One assignment's registered instructions as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AssessmentInstructions {
    pub assignment_id: String,
    pub instructions_text: Option<String>,
    /// The scale id as stored; [`AssessmentInstructions::scale`] parses it.
    pub grade_scale: String,
    pub student_prompt: Option<String>,
    pub judge_rubric: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AssessmentInstructions {
    /// The assignment's grade scale; an id this version does not know is an error.
    pub fn scale(&self) -> Result<GradeScale, RegistryError> {
        Ok(self.grade_scale.parse::<GradeScale>()?)
    }
}

/// What `instructions set` writes for an assignment (replacing the previous row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstructionsUpdate {
    pub assignment_id: String,
    pub grade_scale: GradeScale,
    pub instructions_text: Option<String>,
    pub student_prompt: Option<String>,
    pub judge_rubric: Option<String>,
}

const COLUMNS: &str =
    "assignment_id, instructions_text, grade_scale, student_prompt, judge_rubric, created_at";

pub async fn upsert_instructions(
    pool: &PgPool,
    update: &InstructionsUpdate,
) -> Result<AssessmentInstructions, RegistryError> {
    if update.assignment_id.trim().is_empty() {
        return Err(RegistryError::Empty("assignment id"));
    }
    let row = sqlx::query_as(&format!(
        "INSERT INTO cj_assessment_instructions
                (assignment_id, instructions_text, grade_scale, student_prompt, judge_rubric)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (assignment_id) DO UPDATE
            SET instructions_text = EXCLUDED.instructions_text,
                grade_scale = EXCLUDED.grade_scale,
                student_prompt = EXCLUDED.student_prompt,
                judge_rubric = EXCLUDED.judge_rubric
         RETURNING {COLUMNS}"
    ))
    .bind(&update.assignment_id)
    .bind(&update.instructions_text)
    .bind(update.grade_scale.id())
    .bind(&update.student_prompt)
    .bind(&update.judge_rubric)
    .fetch_one(pool)
    .await?;
    Ok(row)
}

pub async fn get_instructions(
    pool: &PgPool,
    assignment_id: &str,
) -> Result<Option<AssessmentInstructions>, RegistryError> {
    let row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cj_assessment_instructions WHERE assignment_id = $1"
    ))
    .bind(assignment_id)
    .fetch_optional(pool)
    .await?;
    Ok(row)
}

pub async fn list_instructions(
    pool: &PgPool,
) -> Result<Vec<AssessmentInstructions>, RegistryError> {
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM cj_assessment_instructions ORDER BY assignment_id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows)
}

/// Deletes an assignment's instructions; whether there were any. Its anchors stay.
pub async fn delete_instructions(
    pool: &PgPool,
    assignment_id: &str,
) -> Result<bool, RegistryError> {
    let deleted = sqlx::query("DELETE FROM cj_assessment_instructions WHERE assignment_id = $1")
        .bind(assignment_id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// The grade scale of an assignment: its registered one, else the default.
pub async fn grade_scale_of(
    pool: &PgPool,
    assignment_id: &str,
) -> Result<GradeScale, RegistryError> {
    match get_instructions(pool, assignment_id).await? {
        Some(instructions) => instructions.scale(),
        None => Ok(GradeScale::default()),
    }
}
