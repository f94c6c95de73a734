//! The rich result for the Result Aggregator Service (`AssessmentResultV1` on
//! [`topics::ASSESSMENT_RESULT_PUBLISHED`](super::topics)): every essay's score, grade and
//! rank, students and anchors alike, and how the assessment was made.

use crate::envelope::EventHeader;
use chrono::{DateTime, Utc};
use cj_aggregates::stats::grading::ConfidenceLabel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `event_name` of the rich result event.
pub const EVENT_NAME: &str = "assessment.result.published";
/// `assessment_method` of every result this service publishes.
pub const ASSESSMENT_METHOD: &str = "cj_assessment";
/// `calibration_method` when anchors laid the grade scale onto the scores.
pub const CALIBRATION_ANCHOR: &str = "anchor";
/// `calibration_method` when there was no usable calibration (students get `U`).
pub const CALIBRATION_DEFAULT: &str = "default";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentResultV1 {
    #[serde(flatten)]
    pub header: EventHeader,
    /// The upstream batch id.
    pub batch_id: String,
    /// The CJ batch id.
    pub cj_assessment_job_id: String,
    #[serde(default)]
    pub assignment_id: Option<String>,
    pub assessment_method: String,
    pub model_used: String,
    pub model_provider: String,
    #[serde(default)]
    pub model_version: Option<String>,
    /// Best first (by rank).
    pub essay_results: Vec<EssayResultV1>,
    pub assessment_metadata: AssessmentMetadata,
    pub assessed_at: DateTime<Utc>,
}

/// One essay's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EssayResultV1 {
    pub essay_id: String,
    /// 0..1, from the grade (see `GradeScale::normalized_score`).
    pub normalized_score: f64,
    /// The projected grade of a student, the known grade of an anchor. Numeric ENG5 grades
    /// ("0".."9") are published as they are.
    pub letter_grade: String,
    pub confidence_score: f64,
    pub confidence_label: ConfidenceLabel,
    pub bt_score: f64,
    /// 1 = best, over students and anchors together.
    pub rank: u32,
    pub is_anchor: bool,
    #[serde(default)]
    pub feedback_uri: Option<String>,
    #[serde(default)]
    pub metrics_uri: Option<String>,
    /// `ANCHOR GRADE <grade>` for anchors.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentMetadata {
    pub anchor_essays_used: u32,
    pub calibration_method: String,
    /// Anchors per grade, over every grade of the batch's scale.
    pub anchor_grade_distribution: BTreeMap<String, u32>,
    /// Comparisons asked of the judge (first asks and retries).
    pub comparison_count: u32,
    pub processing_duration_seconds: f64,
    #[serde(default)]
    pub llm_temperature: Option<f64>,
    #[serde(default)]
    pub assignment_id: Option<String>,
    pub course_code: String,
}
