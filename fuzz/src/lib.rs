//! Shared by the fuzz targets: what must hold after each wire decoder returns
//! ([`check_request`], [`check_callback`]), the contract samples the targets start from, and
//! a structured mutator of those samples ([`mutate`]).
//!
//! The decoders promise never to panic, whatever the bytes. For an accepted message the
//! checks go on with what the consumers do next, as far as it is pure code in
//! `cj-contracts` / `cj-aggregates` (the root crate is left out: it builds rdkafka's C
//! library): the request intake's batch id, budget, essay ids, course code and LLM
//! settings; the callback's `to_report()`, its routing hint and latency; and that what was
//! decoded survives the JSON of the event store and of re-publication unchanged. Any panic
//! or failed assertion here is a crash for libFuzzer.

pub mod mutate;

use chrono::Utc;
use cj_aggregates::batch::commands::CallbackOutcome;
use cj_aggregates::ids::{BatchId, EssayId};
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_contracts::callback::CONFIDENCE_RANGE;
use cj_contracts::request::{MAX_ASSIGNMENT_ID_LEN, MAX_TEMPERATURE};
use cj_contracts::{
    decode_callback, decode_request, CourseCode, DecodeError, EventEnvelope, LlmComparisonResultV1,
    RequestEnvelope, MAX_MESSAGE_BYTES,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Debug;

/// `request_envelope.json`, the request sample.
pub const REQUEST_SAMPLE: &str =
    include_str!("../../tests/fixtures/contracts/request_envelope.json");
/// `llm_callback_success.json`, the `data` of a verdict callback.
pub const CALLBACK_SUCCESS_SAMPLE: &str =
    include_str!("../../tests/fixtures/contracts/llm_callback_success.json");
/// `llm_callback_error.json`, the `data` of an error callback.
pub const CALLBACK_ERROR_SAMPLE: &str =
    include_str!("../../tests/fixtures/contracts/llm_callback_error.json");

/// The comparison budget ceiling the intake resolves a request's `max_comparisons` against
/// (any positive value does: only the bounds are checked).
const CONFIGURED_MAXIMUM: u32 = 350;

/// The request sample as JSON.
pub fn request_sample() -> Value {
    serde_json::from_str(REQUEST_SAMPLE).expect("the request sample is JSON")
}

/// A callback sample (`data` only) wrapped in the envelope it travels in on Kafka, as
/// `contracts/tests/common/mod.rs` `callback_envelope()` wraps it.
pub fn callback_sample(data: &str) -> Value {
    let mut envelope = request_sample();
    envelope["event_type"] = "huleedu.llm_provider.comparison_result.v1".into();
    envelope["source_service"] = "llm_provider_service".into();
    envelope["data"] = serde_json::from_str(data).expect("the callback samples are JSON");
    envelope["metadata"] = Value::Null;
    envelope
}

/// Decodes `bytes` as a request; on success runs the intake's follow-ups.
pub fn check_request(bytes: &[u8]) {
    match decode_request(bytes) {
        Ok(envelope) => {
            assert!(bytes.len() <= MAX_MESSAGE_BYTES);
            request_follow_ups(&envelope);
        }
        Err(error) => describe(&error),
    }
}

/// Decodes `bytes` as a callback; on success runs the callback consumer's follow-ups.
pub fn check_callback(bytes: &[u8]) {
    match decode_callback(bytes) {
        Ok(envelope) => {
            assert!(bytes.len() <= MAX_MESSAGE_BYTES);
            callback_follow_ups(&envelope);
        }
        Err(error) => describe(&error),
    }
}

/// What the intake does with an accepted request before any I/O (`Intake::register_command`).
pub fn request_follow_ups(envelope: &RequestEnvelope) {
    let request = &envelope.data;
    request
        .validate()
        .expect("a decoded request validates again");

    let batch_id = BatchId::for_request(envelope.event_id);
    assert_eq!(batch_id, BatchId::for_request(envelope.event_id));
    let _ = batch_id.comparison_correlation_id(0);

    let maximum = ComparisonBudget::new(CONFIGURED_MAXIMUM).expect("a positive budget");
    let requested = envelope.metadata.as_ref().and_then(|m| m.max_comparisons);
    let budget = ComparisonBudget::resolve(maximum, requested);
    assert!(
        (1..=CONFIGURED_MAXIMUM).contains(&budget.get()),
        "{budget:?}"
    );
    round_trip(&BatchSettings::with_budget(budget));

    let course: CourseCode = serde_json::from_value(request.course_code.as_str().into())
        .expect("a course code's name decodes");
    assert_eq!(course, request.course_code);

    for essay in &request.essays_for_cj {
        assert_eq!(
            EssayId::parse(essay.essay_id.as_str()).as_ref(),
            Ok(&essay.essay_id)
        );
        let _ = essay.essay_id.to_string();
    }
    if let Some(assignment_id) = &request.assignment_id {
        assert!(assignment_id.chars().count() <= MAX_ASSIGNMENT_ID_LEN);
    }
    assert!(!request.user_id.trim().is_empty());

    let llm = request.llm_config_overrides.clone().unwrap_or_default();
    if let Some(temperature) = llm.temperature_override {
        assert!(
            (0.0..=MAX_TEMPERATURE).contains(&temperature),
            "{temperature}"
        );
    }
    assert_ne!(llm.max_tokens_override, Some(0));
    // `BatchRegistered` records the settings: the event store's JSON must keep them.
    round_trip(&llm);

    // The refusal echoes the request and the logs print it: it re-encodes, to itself.
    let _ = format!("{envelope:?}");
    let bytes = serde_json::to_vec(envelope).expect("a decoded request encodes");
    let again = decode_request(&bytes).expect("a re-encoded request decodes");
    assert_eq!(&again, envelope);
}

/// What the callback consumer does with an accepted callback before any I/O
/// (`InboundCallback::from_envelope`, the metrics).
pub fn callback_follow_ups(envelope: &EventEnvelope<LlmComparisonResultV1>) {
    let result = &envelope.data;
    let outcome = result
        .outcome()
        .expect("decode_callback checked the outcome");
    let report = result
        .to_report()
        .expect("a decoded callback converts to a report");
    assert_eq!(report.outcome, outcome);
    assert_eq!(report.correlation_id.0, result.correlation_id);
    match &report.outcome {
        CallbackOutcome::Verdict {
            confidence,
            justification,
            ..
        } => {
            let confidence = confidence.expect("a verdict has a confidence");
            assert!(CONFIDENCE_RANGE.contains(&confidence), "{confidence}");
            assert!(justification.is_some());
            assert!(result.winner.is_some() && result.error_detail.is_none());
        }
        CallbackOutcome::Error { .. } => {
            assert!(result.winner.is_none() && result.error_detail.is_some());
        }
    }

    // Routing: the batch the callback names in `request_metadata.cj_batch_id`.
    let _named: Option<BatchId> = result
        .request_metadata
        .get("cj_batch_id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok());
    // Metrics: the callback's latency, as `callbacks::count_recorded` takes it.
    let waited = (Utc::now() - result.requested_at)
        .to_std()
        .unwrap_or_default();
    let _ = waited.as_secs_f64();
    let _ = result.completed_at - result.requested_at;

    // `CallbacksRecorded` records the report: the event store's JSON must keep it.
    round_trip(&report);

    let _ = format!("{envelope:?}");
    let bytes = serde_json::to_vec(envelope).expect("a decoded callback encodes");
    let again = decode_callback(&bytes).expect("a re-encoded callback decodes");
    assert_eq!(&again, envelope);
}

/// The consumer logs a refused message's error and dead-letters it with the error's text.
fn describe(error: &DecodeError) {
    let _ = format!("{error} / {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = cause.to_string();
        source = cause.source();
    }
}

/// `value` encoded as JSON decodes to `value`.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("encodes as JSON");
    let back: T = serde_json::from_slice(&json).expect("decodes from its own JSON");
    assert_eq!(&back, value);
}
