//! The assessment request from the Essay Lifecycle Service (`ELS_CJAssessmentRequestV1`, the
//! `data` of an envelope on [`topics::CJ_ASSESSMENT_REQUESTED`](super::topics)) and the hints
//! its envelope's `metadata` may carry.

use crate::decode::ContractViolation;
use crate::envelope::{EventEnvelope, EventHeader};
use crate::system_metadata::SystemMetadata;
use cj_aggregates::ids::EssayId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// The request's LLM overrides are the batch's LLM settings, recorded unchanged (an explicit
/// `temperature_override` of 0.0 stays 0.0).
pub use cj_aggregates::batch::settings::LlmSettings as LlmConfigOverrides;

/// A request as it arrives: the envelope with the request in `data` and hints in `metadata`.
pub type RequestEnvelope = EventEnvelope<ElsCjAssessmentRequestV1, RequestHints>;

/// Highest temperature the contract admits.
pub const MAX_TEMPERATURE: f64 = 2.0;
/// Longest `assignment_id` the old service admits.
pub const MAX_ASSIGNMENT_ID_LEN: usize = 100;

/// Courses the pipeline knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CourseCode {
    #[serde(rename = "ENG5")]
    Eng5,
    #[serde(rename = "ENG6")]
    Eng6,
    #[serde(rename = "ENG7")]
    Eng7,
    #[serde(rename = "SV1")]
    Sv1,
    #[serde(rename = "SV2")]
    Sv2,
    #[serde(rename = "SV3")]
    Sv3,
}

impl CourseCode {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseCode::Eng5 => "ENG5",
            CourseCode::Eng6 => "ENG6",
            CourseCode::Eng7 => "ENG7",
            CourseCode::Sv1 => "SV1",
            CourseCode::Sv2 => "SV2",
            CourseCode::Sv3 => "SV3",
        }
    }
}

/// One student essay to judge; its text is fetched from the Content Service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EssayForCj {
    pub essay_id: EssayId,
    pub text_storage_id: String,
    /// Passed through by the pipeline; not used for judging.
    #[serde(default)]
    pub spellcheck_metrics: Option<Value>,
}

/// Where a piece of content lives in the Content Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentLocation {
    pub storage_id: String,
    #[serde(default)]
    pub path: Option<String>,
}

/// Content Service references by content type (`student_prompt_text`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StorageReference {
    #[serde(default)]
    pub references: BTreeMap<String, ContentLocation>,
}

/// `ELS_CJAssessmentRequestV1`: judge these essays as one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElsCjAssessmentRequestV1 {
    /// `entity_id` is the upstream batch id: the key of every event published for it.
    #[serde(flatten)]
    pub header: EventHeader,
    pub system_metadata: SystemMetadata,
    pub essays_for_cj: Vec<EssayForCj>,
    pub language: String,
    pub course_code: CourseCode,
    #[serde(default)]
    pub student_prompt_ref: Option<StorageReference>,
    #[serde(default)]
    pub llm_config_overrides: Option<LlmConfigOverrides>,
    /// Selects the registered anchors and the grade scale of the assignment.
    #[serde(default)]
    pub assignment_id: Option<String>,
    pub user_id: String,
    #[serde(default)]
    pub org_id: Option<String>,
}

/// Hints in the request envelope's `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RequestHints {
    /// Lowers the batch's comparison budget (never raises it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_comparisons: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_batching_mode_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_config_overrides: Option<Map<String, Value>>,
}

impl ElsCjAssessmentRequestV1 {
    /// The checks of the contract that serde's shape does not already make.
    pub fn validate(&self) -> Result<(), ContractViolation> {
        let mut seen = HashSet::new();
        if let Some(duplicate) = self
            .essays_for_cj
            .iter()
            .find(|essay| !seen.insert(&essay.essay_id))
        {
            return Err(ContractViolation::DuplicateEssayId(
                duplicate.essay_id.to_string(),
            ));
        }
        if let Some(assignment_id) = &self.assignment_id {
            if assignment_id.chars().count() > MAX_ASSIGNMENT_ID_LEN {
                return Err(ContractViolation::AssignmentIdTooLong);
            }
        }
        if self.user_id.trim().is_empty() {
            return Err(ContractViolation::EmptyUserId);
        }
        if let Some(overrides) = &self.llm_config_overrides {
            validate_overrides(overrides)?;
        }
        Ok(())
    }
}

fn validate_overrides(overrides: &LlmConfigOverrides) -> Result<(), ContractViolation> {
    if let Some(temperature) = overrides.temperature_override {
        if !(0.0..=MAX_TEMPERATURE).contains(&temperature) {
            return Err(ContractViolation::TemperatureOutOfRange(temperature));
        }
    }
    if overrides.max_tokens_override == Some(0) {
        return Err(ContractViolation::ZeroMaxTokens);
    }
    Ok(())
}
