//! Which messages a batch's ending yields, and how each travels: its deterministic
//! `event_id`, topic, Kafka key (the upstream batch id) and EventEnvelope.
//!
//! - BatchCompleted → thin completion, rich result, resource consumption.
//! - BatchFailed → failure, plus resource consumption when any comparison was made.
//! - A calibration round (ADR 0012) → nothing: it is the service's own batch of an
//!   assignment's anchors, not a batch the platform asked for, so no platform consumer has
//!   an entity to attach a completion, result or cost to. Its ending is in the log, `inspect`,
//!   `history` and `cj_batch_states`; its scores reach the platform through the grades of
//!   the assignment's later batches.

use crate::outbox::history::{Ending, FinishedBatch, HistoryError, RecordedEvent};
use crate::outbox::{completion, failure, result};
use cj_contracts::envelope::{EventEnvelope, SCHEMA_VERSION, SOURCE_SERVICE};
use cj_contracts::topics;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// The kinds of message a batch publishes, at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    Completed,
    AssessmentResult,
    Failed,
    ResourceConsumption,
}

impl MessageKind {
    pub fn topic(self) -> &'static str {
        match self {
            MessageKind::Completed => topics::CJ_ASSESSMENT_COMPLETED,
            MessageKind::AssessmentResult => topics::ASSESSMENT_RESULT_PUBLISHED,
            MessageKind::Failed => topics::CJ_ASSESSMENT_FAILED,
            MessageKind::ResourceConsumption => topics::RESOURCE_CONSUMPTION,
        }
    }

    /// The name the kind's `event_id` is derived from. Fixed forever: changing one would
    /// give a re-published event a new id and defeat downstream de-duplication.
    pub fn id_name(self) -> &'static str {
        match self {
            MessageKind::Completed => "outbox/cj_assessment.completed",
            MessageKind::AssessmentResult => "outbox/assessment.result.published",
            MessageKind::Failed => "outbox/cj_assessment.failed",
            MessageKind::ResourceConsumption => "outbox/resource.consumption.reported",
        }
    }

    /// The `event_id` of this kind of message for a batch: UUIDv5 in the batch id's
    /// namespace, so deriving again (after a crash, a replay) gives the same id.
    pub fn event_id(self, batch_id: Uuid) -> Uuid {
        Uuid::new_v5(&batch_id, self.id_name().as_bytes())
    }
}

/// One message ready for the relay.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    pub event_id: Uuid,
    pub kind: MessageKind,
    pub topic: &'static str,
    /// The upstream batch id: one batch's messages stay in order on one partition.
    pub key: String,
    /// The whole EventEnvelope.
    pub payload: Value,
}

/// Why a history cannot yield its messages.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("message could not be encoded as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The messages a batch publishes, from its events in order. Empty while the batch runs.
pub fn derive_outgoing(history: &[RecordedEvent]) -> Result<Vec<OutgoingMessage>, DeriveError> {
    let Some(batch) = FinishedBatch::from_history(history)? else {
        return Ok(Vec::new());
    };
    if batch.registration.purpose.is_calibration_round() {
        return Ok(Vec::new());
    }
    let messages = match &batch.ending {
        Ending::Completed { completed, scored } => vec![
            wrap(
                &batch,
                MessageKind::Completed,
                completion::thin_completion(&batch, scored),
            )?,
            wrap(
                &batch,
                MessageKind::AssessmentResult,
                result::rich_result(&batch, completed, scored),
            )?,
            wrap(
                &batch,
                MessageKind::ResourceConsumption,
                failure::resource_consumption(&batch, completed.comparisons_made),
            )?,
        ],
        Ending::Failed {
            failed,
            comparisons_made,
        } => {
            let mut messages = vec![wrap(
                &batch,
                MessageKind::Failed,
                failure::failure(&batch, failed),
            )?];
            if *comparisons_made > 0 {
                messages.push(wrap(
                    &batch,
                    MessageKind::ResourceConsumption,
                    failure::resource_consumption(&batch, *comparisons_made),
                )?);
            }
            messages
        }
    };
    Ok(messages)
}

fn wrap<D: Serialize>(
    batch: &FinishedBatch,
    kind: MessageKind,
    data: D,
) -> Result<OutgoingMessage, DeriveError> {
    let registration = &batch.registration;
    let event_id = kind.event_id(registration.batch_id.0);
    let envelope: EventEnvelope<D> = EventEnvelope {
        event_id,
        event_type: kind.topic().to_string(),
        event_timestamp: batch.ended_at,
        source_service: SOURCE_SERVICE.to_string(),
        schema_version: SCHEMA_VERSION,
        correlation_id: registration.request_correlation_id,
        data_schema_uri: None,
        data,
        metadata: None,
    };
    Ok(OutgoingMessage {
        event_id,
        kind,
        topic: kind.topic(),
        key: registration.upstream_batch_id.clone(),
        payload: serde_json::to_value(envelope)?,
    })
}
