//! The thin completion event for the Essay Lifecycle Service (`CJAssessmentCompletedV1` on
//! [`topics::CJ_ASSESSMENT_COMPLETED`](super::topics)): which student essays were assessed,
//! no scores.

use crate::envelope::EventHeader;
use crate::system_metadata::{BatchStatus, SystemMetadata};
use serde::{Deserialize, Serialize};

/// `event_name` of the thin completion event.
pub const EVENT_NAME: &str = "cj_assessment.completed";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CjAssessmentCompletedV1 {
    #[serde(flatten)]
    pub header: EventHeader,
    pub status: BatchStatus,
    pub system_metadata: SystemMetadata,
    /// The CJ batch id (the aggregate id), for lookups in this service.
    pub cj_assessment_job_id: String,
    pub processing_summary: ProcessingSummary,
}

/// Student essays only: anchors are not the pipeline's essays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingSummary {
    pub total_essays: u32,
    pub successful: u32,
    pub failed: u32,
    pub successful_essay_ids: Vec<String>,
    /// Essays whose text could not be fetched at intake.
    pub failed_essay_ids: Vec<String>,
    pub processing_time_seconds: f64,
    /// Fewer than two student essays: nothing was compared.
    pub single_essay_batch: bool,
}
