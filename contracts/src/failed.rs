//! The failure event (`CJAssessmentFailedV1` on
//! [`topics::CJ_ASSESSMENT_FAILED`](super::topics)): the batch ended without results;
//! `system_metadata.error_info` says why (`reason`) and with which figures (`details`).

use crate::envelope::EventHeader;
use crate::system_metadata::{BatchStatus, SystemMetadata};
use serde::{Deserialize, Serialize};

/// `event_name` of the failure event.
pub const EVENT_NAME: &str = "cj_assessment.failed";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CjAssessmentFailedV1 {
    #[serde(flatten)]
    pub header: EventHeader,
    pub status: BatchStatus,
    pub system_metadata: SystemMetadata,
    pub cj_assessment_job_id: String,
}
