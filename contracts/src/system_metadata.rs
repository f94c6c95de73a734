//! `system_metadata` of status events (the old service's `SystemProcessingMetadata`) and the
//! two status enums it and its events use.

use crate::envelope::EventHeader;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Lifecycle stage of the entity an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessingStage {
    Pending,
    Initialized,
    Processing,
    Completed,
    Failed,
    Cancelled,
}

/// Batch status carried by the completion and failure events (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    CompletedSuccessfully,
    CompletedWithFailures,
    FailedCritically,
    Cancelled,
}

/// Context of one event's creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemMetadata {
    pub entity_id: String,
    pub entity_type: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub processing_stage: Option<ProcessingStage>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The event name (`cj_assessment.completed`).
    #[serde(default)]
    pub event: Option<String>,
    /// `{}` on success; `{reason, details}` on failure.
    #[serde(default)]
    pub error_info: Map<String, Value>,
}

impl SystemMetadata {
    /// The metadata of a terminal batch event: the batch ran from `started_at` to the
    /// event's own timestamp.
    pub fn terminal(
        header: &EventHeader,
        stage: ProcessingStage,
        started_at: DateTime<Utc>,
        error_info: Map<String, Value>,
    ) -> Self {
        SystemMetadata {
            entity_id: header.entity_id.clone(),
            entity_type: header.entity_type.clone(),
            parent_id: header.parent_id.clone(),
            timestamp: header.timestamp,
            processing_stage: Some(stage),
            started_at: Some(started_at),
            completed_at: Some(header.timestamp),
            event: Some(header.event_name.clone()),
            error_info,
        }
    }
}
