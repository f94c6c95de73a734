//! The `CJAssessmentFailedV1` a refused request is answered with. Its `event_id` is derived
//! from the request's (UUIDv5), so refusing a redelivered request re-publishes the same
//! event rather than a second one; it is keyed by the upstream batch id like every event of
//! the batch.

use super::plan::Refusal;
use chrono::{DateTime, Utc};
use cj_aggregates::ids::BatchId;
use cj_contracts::failed::{self, CjAssessmentFailedV1};
use cj_contracts::{
    BatchStatus, EventEnvelope, EventHeader, ProcessingStage, RequestEnvelope, SystemMetadata,
    SCHEMA_VERSION, SOURCE_SERVICE,
};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The name the refusal's `event_id` is derived from, in the request event id's namespace.
/// Fixed forever: changing it would give a re-published refusal a new id.
const EVENT_ID_NAME: &str = "intake/cj_assessment.failed";

/// A serialised failure event ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureMessage {
    pub event_id: Uuid,
    /// The upstream batch id.
    pub key: String,
    pub payload: Vec<u8>,
}

/// The `event_id` of the refusal of request `request_event_id`.
pub fn refusal_event_id(request_event_id: Uuid) -> Uuid {
    Uuid::new_v5(&request_event_id, EVENT_ID_NAME.as_bytes())
}

/// The failure event refusing `envelope`, published on `topic` at `now`.
pub fn failed_event(
    envelope: &RequestEnvelope,
    refusal: &Refusal,
    topic: &str,
    now: DateTime<Utc>,
) -> Result<FailureMessage, serde_json::Error> {
    let upstream_batch_id = &envelope.data.header.entity_id;
    let header = EventHeader::for_batch(failed::EVENT_NAME, upstream_batch_id, now);
    let mut error_info = Map::new();
    error_info.insert("reason".into(), Value::from(refusal.code()));
    error_info.insert(
        "details".into(),
        json!({ "message": refusal.to_string(), "stage": "intake" }),
    );
    let event_id = refusal_event_id(envelope.event_id);
    let data = CjAssessmentFailedV1 {
        system_metadata: SystemMetadata::terminal(
            &header,
            ProcessingStage::Failed,
            now,
            error_info,
        ),
        header,
        status: BatchStatus::FailedCritically,
        cj_assessment_job_id: BatchId::for_request(envelope.event_id).to_string(),
    };
    let wrapped: EventEnvelope<CjAssessmentFailedV1> = EventEnvelope {
        event_id,
        event_type: topic.to_string(),
        event_timestamp: now,
        source_service: SOURCE_SERVICE.to_string(),
        schema_version: SCHEMA_VERSION,
        correlation_id: envelope.correlation_id,
        data_schema_uri: None,
        data,
        metadata: None,
    };
    Ok(FailureMessage {
        event_id,
        key: upstream_batch_id.clone(),
        payload: serde_json::to_vec(&wrapped)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_contracts::decode_request;

    fn sample_request() -> RequestEnvelope {
        decode_request(include_bytes!(
            "../../tests/fixtures/contracts/request_envelope.json"
        ))
        .expect("the contract sample decodes")
    }

    #[test]
    fn a_refusal_has_the_contract_shape_and_a_stable_id() {
        let request = sample_request();
        let now = Utc::now();
        let topic = cj_contracts::topics::CJ_ASSESSMENT_FAILED;
        let first = failed_event(&request, &Refusal::NoEssays, topic, now).unwrap();
        let again = failed_event(&request, &Refusal::NoEssays, topic, now).unwrap();
        assert_eq!(first.event_id, again.event_id);
        assert_eq!(first.key, "bos-batch-1");

        let sent: Value = serde_json::from_slice(&first.payload).unwrap();
        let sample: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/contracts/failed.json"))
                .unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&sent["data"]), keys(&sample));
        assert_eq!(sent["data"]["status"], "failed_critically");
        assert_eq!(
            sent["data"]["system_metadata"]["error_info"]["reason"],
            "no_essays"
        );
        assert_eq!(sent["correlation_id"], request.correlation_id.to_string());
    }
}
