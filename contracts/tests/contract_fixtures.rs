//! Every contract sample decodes into its type, and what the types write back has the
//! sample's shape.

mod common;

use cj_aggregates::batch::commands::{CallbackOutcome, Position};
use cj_contracts::*;
use common::{assert_same_shape, callback_envelope, fixture, fixture_bytes};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map};
use uuid::Uuid;

fn round_trips_with_its_shape<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let sample = fixture(name);
    let decoded: T = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
    assert_same_shape(&serde_json::to_value(&decoded).unwrap(), &sample);
    decoded
}

#[test]
fn the_request_sample_decodes_with_its_hints() {
    let envelope = decode_request(&fixture_bytes("request_envelope.json")).unwrap();
    let request = &envelope.data;
    assert_eq!(envelope.event_type, topics::CJ_ASSESSMENT_REQUESTED);
    assert_eq!(
        envelope.correlation_id,
        Uuid::parse_str("11111111-2222-3333-4444-555555555555").unwrap()
    );
    assert_eq!(request.header.entity_id, "bos-batch-1");
    assert_eq!(request.essays_for_cj.len(), 2);
    assert_eq!(request.essays_for_cj[1].text_storage_id, "sid-2");
    assert_eq!(request.course_code, CourseCode::Eng5);
    assert_eq!(request.user_id, "user-1");
    let overrides = request.llm_config_overrides.as_ref().unwrap();
    assert_eq!(overrides.temperature_override, Some(0.1));
    assert_eq!(overrides.reasoning_effort.as_deref(), Some("low"));
    let prompt = request.student_prompt_ref.as_ref().unwrap();
    assert_eq!(
        prompt.references["student_prompt_text"].storage_id,
        "prompt-sid"
    );
    let hints = envelope.metadata.unwrap();
    assert_eq!(hints.max_comparisons, Some(60));
    assert_eq!(
        hints.llm_batching_mode_hint.as_deref(),
        Some("serial_bundle")
    );
}

#[test]
fn the_request_sample_round_trips_with_its_shape() {
    let request: RequestEnvelope = round_trips_with_its_shape("request_envelope.json");
    assert_eq!(request.schema_version, SCHEMA_VERSION);
}

#[test]
fn the_success_callback_sample_decodes_to_a_verdict_for_essay_a() {
    let bytes = serde_json::to_vec(&callback_envelope("llm_callback_success.json")).unwrap();
    let callback = decode_callback(&bytes).unwrap().data;
    let report = callback.to_report().unwrap();
    assert_eq!(
        report.outcome,
        CallbackOutcome::Verdict {
            winner: Position::A,
            confidence: Some(4.2),
            justification: Some("A is clearer.".into()),
            p_a_wins: None,
        }
    );
    assert_eq!(report.model.as_deref(), Some("gpt-5.1"));
    assert_eq!(report.total_tokens, Some(1560));
    assert_eq!(callback.request_metadata["cj_batch_id"], "42");
}

#[test]
fn the_error_callback_sample_decodes_to_its_error_code() {
    let bytes = serde_json::to_vec(&callback_envelope("llm_callback_error.json")).unwrap();
    let callback = decode_callback(&bytes).unwrap().data;
    assert_eq!(
        callback.outcome().unwrap(),
        CallbackOutcome::Error {
            code: "LLM_PROVIDER_RATE_LIMIT".into(),
            message: "429".into(),
        }
    );
}

#[test]
fn callback_samples_round_trip_with_their_shape() {
    round_trips_with_its_shape::<LlmComparisonResultV1>("llm_callback_success.json");
    round_trips_with_its_shape::<LlmComparisonResultV1>("llm_callback_error.json");
}

#[test]
fn the_queued_answer_sample_decodes() {
    let queued: LlmQueuedResponse = round_trips_with_its_shape("llm_queued_202.json");
    assert_eq!(queued.status, "queued");
}

#[test]
fn the_outgoing_samples_decode_into_their_types() {
    let thin: CjAssessmentCompletedV1 = round_trips_with_its_shape("completed_thin.json");
    assert_eq!(thin.status, BatchStatus::CompletedSuccessfully);
    assert_eq!(thin.processing_summary.successful_essay_ids, ["e1", "e2"]);
    let rich: AssessmentResultV1 = round_trips_with_its_shape("assessment_result_rich.json");
    assert_eq!(rich.essay_results.len(), 2);
    assert_eq!(rich.assessment_metadata.comparison_count, 1);
    let failed: CjAssessmentFailedV1 = round_trips_with_its_shape("failed.json");
    assert_eq!(failed.status, BatchStatus::FailedCritically);
    assert_eq!(
        failed.system_metadata.error_info["reason"],
        "low_success_rate"
    );
}

#[test]
fn a_comparison_request_body_keeps_an_explicit_zero_temperature() {
    let overrides = LlmConfigOverrides {
        temperature_override: Some(0.0),
        model_override: Some("gpt-5.1".into()),
        ..LlmConfigOverrides::default()
    };
    let body = LlmComparisonRequest {
        user_prompt: "Essay A … Essay B …".into(),
        metadata: ComparisonRequestMetadata {
            essay_a_id: "e1".into(),
            essay_b_id: "e2".into(),
            bos_batch_id: "bos-batch-1".into(),
            cj_batch_id: "42".into(),
            cj_source: llm_provider::CJ_SOURCE.into(),
            cj_request_type: CjRequestType::CjComparison,
            extra: Map::new(),
        },
        correlation_id: Uuid::from_u128(7),
        callback_topic: topics::LLM_COMPARISON_RESULT.into(),
        llm_config_overrides: ComparisonOverrides::from(&overrides),
    };
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(
        json["llm_config_overrides"],
        json!({
            "provider_override": null,
            "model_override": "gpt-5.1",
            "temperature_override": 0.0,
            "system_prompt_override": null,
        })
    );
    assert_eq!(json["metadata"]["cj_request_type"], "cj_comparison");
    // The callback echoes this metadata: the sample's echo has the same fields.
    let echoed = fixture("llm_callback_success.json")["request_metadata"].clone();
    for key in json["metadata"].as_object().unwrap().keys() {
        assert!(echoed.get(key).is_some(), "{key} missing from the echo");
    }
}
