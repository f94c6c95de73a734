//! The rich result of a completed batch: every essay, students and anchors, with its score,
//! grade and rank. Anchors carry their known grade (`ANCHOR GRADE <grade>`), never `U`;
//! students without a projection get `U`; numeric ENG5 grades are published as they are.

use crate::outbox::history::FinishedBatch;
use cj_aggregates::batch::events::{BatchCompleted, BatchScored, EssayScore};
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::grading::ConfidenceLabel;
use cj_contracts::result::{
    self, AssessmentMetadata, AssessmentResultV1, EssayResultV1, ASSESSMENT_METHOD,
    CALIBRATION_ANCHOR, CALIBRATION_DEFAULT,
};
use std::collections::BTreeMap;

/// Grade of a student essay the anchors could not grade.
pub const UNGRADED: &str = "U";
/// Published model or provider when neither a callback nor the request named one.
pub const UNKNOWN_MODEL: &str = "unknown";

pub fn rich_result(
    batch: &FinishedBatch,
    completed: &BatchCompleted,
    scored: &BatchScored,
) -> AssessmentResultV1 {
    let registration = &batch.registration;
    let mut essays: Vec<&EssayScore> = scored.essays.iter().collect();
    essays.sort_by_key(|essay| essay.rank);
    let model_used = batch
        .model_used
        .clone()
        .or_else(|| registration.llm.model_override.clone());
    let model_provider = batch
        .model_provider
        .clone()
        .or_else(|| registration.llm.provider_override.clone());
    AssessmentResultV1 {
        header: batch.header(result::EVENT_NAME),
        batch_id: registration.upstream_batch_id.clone(),
        cj_assessment_job_id: registration.batch_id.to_string(),
        assignment_id: registration.assignment_id.clone(),
        assessment_method: ASSESSMENT_METHOD.to_string(),
        model_used: model_used.unwrap_or_else(|| UNKNOWN_MODEL.to_string()),
        model_provider: model_provider.unwrap_or_else(|| UNKNOWN_MODEL.to_string()),
        model_version: None,
        essay_results: essays
            .into_iter()
            .map(|essay| essay_result(scored.grade_scale, essay))
            .collect(),
        assessment_metadata: AssessmentMetadata {
            anchor_essays_used: scored.essays.iter().filter(|e| e.is_anchor).count() as u32,
            calibration_method: if scored.calibration.is_some() {
                CALIBRATION_ANCHOR
            } else {
                CALIBRATION_DEFAULT
            }
            .to_string(),
            anchor_grade_distribution: anchor_grade_distribution(scored),
            comparison_count: completed.comparisons_made,
            processing_duration_seconds: batch.duration_seconds(),
            llm_temperature: registration.llm.temperature_override,
            assignment_id: registration.assignment_id.clone(),
            course_code: registration.course_code.clone(),
        },
        assessed_at: batch.ended_at,
    }
}

fn essay_result(scale: GradeScale, essay: &EssayScore) -> EssayResultV1 {
    let (grade, confidence_score, confidence_label) = match (&essay.known_grade, &essay.projection)
    {
        // An anchor's grade is known, not estimated.
        (Some(known), _) if essay.is_anchor => (known.clone(), 1.0, ConfidenceLabel::High),
        (_, Some(projection)) => (
            projection.grade.clone(),
            projection.confidence,
            projection.label,
        ),
        _ => (UNGRADED.to_string(), 0.0, ConfidenceLabel::Low),
    };
    EssayResultV1 {
        essay_id: essay.essay_id.to_string(),
        normalized_score: scale.normalized_score(&grade).unwrap_or(0.0),
        display_name: essay.is_anchor.then(|| format!("ANCHOR GRADE {grade}")),
        letter_grade: grade,
        confidence_score,
        confidence_label,
        bt_score: essay.bt_score,
        rank: essay.rank,
        is_anchor: essay.is_anchor,
        feedback_uri: None,
        metrics_uri: None,
    }
}

/// Anchors per grade of the scale, every grade listed (zero where no anchor has it).
fn anchor_grade_distribution(scored: &BatchScored) -> BTreeMap<String, u32> {
    let mut distribution: BTreeMap<String, u32> = scored
        .grade_scale
        .grades()
        .iter()
        .map(|grade| (grade.to_string(), 0))
        .collect();
    for grade in scored
        .essays
        .iter()
        .filter(|essay| essay.is_anchor)
        .filter_map(|essay| essay.known_grade.as_ref())
    {
        *distribution.entry(grade.clone()).or_default() += 1;
    }
    distribution
}
