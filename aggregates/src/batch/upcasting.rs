//! Reading events written in an older shape. Every stored event carries its type and
//! version; before an event is decoded, the upcasters registered here rewrite older
//! versions into the current shape. The event store (loading aggregates) and every log
//! reader (projectors, replay, history) decode through [`decode_event`] or
//! [`upcasters`], so a change of shape needs exactly one new entry here.
//!
//! Registered:
//! - `ComparisonFailed` before 1.0 (the foundation's development log) had no `attempt`;
//!   such failures were always first asks, so the upcaster records `attempt: 1`.
//! - `PairsSubmitted` before 1.1 had no `prompt_hash`: it is read as `unknown`.
//! - `ComparisonRecorded` before 1.1 had `provider` and `model` (each possibly null) and no
//!   judge: they become `judge {provider, model, prompt_hash: "unknown"}`, a missing part
//!   `unknown` too.
//! - `BatchRegistered` before 1.1 had no `settings.estimator`: those batches were scored with
//!   I-LSR, so it is read as `ilsr` (a batch in flight across the upgrade keeps its estimator).
//! - `BatchScored` 1.1 only added optional fields (`reliability`, per-essay `infit`,
//!   `outfit`, `misfit`); a 1.0 payload decodes as it lies, with them absent. `BatchScored`
//!   1.2 only added the optional `assignment_scale_version`: an earlier payload decodes
//!   with it absent (graded from the batch's own anchors, as it was).
//! - `BatchRegistered` 1.2 only added the optional `purpose`: an earlier payload decodes
//!   with it absent, an assessment (calibration rounds did not exist).

use crate::batch::events::{CjBatchEvent, ESTIMATOR_EVENT_VERSION, JUDGE_EVENT_VERSION};
use crate::judge::UNKNOWN;
use crate::stats::scale::Estimator;
use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster, SerializedEvent};
use serde::Deserialize;
use serde_json::Value;
use std::sync::OnceLock;

/// All upcasters, in the order they apply (older versions first).
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![
        Box::new(SemanticVersionEventUpcaster::new(
            "ComparisonFailed",
            "1.0",
            Box::new(|payload| {
                with_default_field(payload, "ComparisonFailed", "attempt", 1.into())
            }),
        )),
        Box::new(SemanticVersionEventUpcaster::new(
            "PairsSubmitted",
            JUDGE_EVENT_VERSION,
            Box::new(|payload| {
                with_default_field(payload, "PairsSubmitted", "prompt_hash", UNKNOWN.into())
            }),
        )),
        Box::new(SemanticVersionEventUpcaster::new(
            "ComparisonRecorded",
            JUDGE_EVENT_VERSION,
            Box::new(judge_from_provider_and_model),
        )),
        Box::new(SemanticVersionEventUpcaster::new(
            "BatchRegistered",
            ESTIMATOR_EVENT_VERSION,
            Box::new(estimator_before_the_setting),
        )),
    ]
}

/// Why a stored event could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot decode {event_type} v{event_version}: {source}")]
pub struct DecodeError {
    pub event_type: String,
    pub event_version: String,
    #[source]
    pub source: serde_json::Error,
}

/// Upcasts a stored payload to the current shape and decodes it. A payload already in the
/// current shape (every event written by this version) is decoded where it lies; only one
/// an upcaster applies to is copied, to be rewritten.
pub fn decode_event(
    event_type: &str,
    event_version: &str,
    payload: &Value,
) -> Result<CjBatchEvent, DecodeError> {
    static UPCASTERS: OnceLock<Vec<Box<dyn EventUpcaster>>> = OnceLock::new();
    let upcasters = UPCASTERS.get_or_init(upcasters);
    let decoded = if upcasters
        .iter()
        .any(|upcaster| upcaster.can_upcast(event_type, event_version))
    {
        let mut event = SerializedEvent::new(
            String::new(),
            0,
            String::new(),
            event_type.to_string(),
            event_version.to_string(),
            payload.clone(),
            Value::Null,
        );
        for upcaster in upcasters {
            if upcaster.can_upcast(&event.event_type, &event.event_version) {
                event = upcaster.upcast(event);
            }
        }
        serde_json::from_value(event.payload)
    } else {
        CjBatchEvent::deserialize(payload)
    };
    decoded.map_err(|source| DecodeError {
        event_type: event_type.to_string(),
        event_version: event_version.to_string(),
        source,
    })
}

/// Adds `field` with `default` to the body of the externally tagged `variant`, unless the
/// body already has it. Payloads of another shape pass through unchanged (decoding then
/// reports them).
fn with_default_field(mut payload: Value, variant: &str, field: &str, default: Value) -> Value {
    if let Some(Value::Object(body)) = payload.get_mut(variant) {
        body.entry(field.to_string()).or_insert(default);
    }
    payload
}

/// A 1.0 `BatchRegistered`: its settings name the estimator that scored it.
fn estimator_before_the_setting(mut payload: Value) -> Value {
    if let Some(Value::Object(settings)) = payload
        .get_mut("BatchRegistered")
        .and_then(|body| body.get_mut("settings"))
    {
        settings
            .entry("estimator".to_string())
            .or_insert(Estimator::before_the_setting().as_str().into());
    }
    payload
}

/// A 1.0 `ComparisonRecorded`: its `provider` and `model` move into `judge`, with the
/// prompt hash unknown (it was not recorded before 1.1).
fn judge_from_provider_and_model(mut payload: Value) -> Value {
    if let Some(Value::Object(body)) = payload.get_mut("ComparisonRecorded") {
        if !body.contains_key("judge") {
            let mut part = |name: &str| match body.remove(name) {
                Some(Value::String(value)) if !value.trim().is_empty() => Value::String(value),
                _ => UNKNOWN.into(),
            };
            let judge = serde_json::json!({
                "provider": part("provider"),
                "model": part("model"),
                "prompt_hash": UNKNOWN,
            });
            body.insert("judge".to_string(), judge);
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::events::ComparisonFailed;
    use serde_json::json;

    #[test]
    fn a_comparison_failure_written_before_1_0_is_read_as_a_first_attempt() {
        let old = json!({"ComparisonFailed": {
            "correlation_id": "6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4",
            "error_code": "TIMEOUT",
            "message": "provider timed out"
        }});
        let event = decode_event("ComparisonFailed", "0.9", &old).expect("upcast and decode");
        let CjBatchEvent::ComparisonFailed(ComparisonFailed { attempt, .. }) = event else {
            panic!("decoded to another event: {event:?}");
        };
        assert_eq!(attempt, 1);
    }

    #[test]
    fn a_current_event_is_not_rewritten() {
        let current = json!({"ComparisonFailed": {
            "correlation_id": "6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4",
            "error_code": "TIMEOUT",
            "message": "provider timed out",
            "attempt": 3
        }});
        let event = decode_event("ComparisonFailed", "1.0", &current).expect("decode");
        assert!(matches!(
            event,
            CjBatchEvent::ComparisonFailed(ComparisonFailed { attempt: 3, .. })
        ));
    }

    #[test]
    fn a_verdict_written_as_1_0_keeps_its_provider_and_model_and_has_an_unknown_prompt() {
        let old = json!({"ComparisonRecorded": {
            "correlation_id": "6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4",
            "winner": "e1", "winner_position": "A", "confidence": 4.0,
            "justification": null, "provider": "openai", "model": null,
            "cost_estimate": 0.002, "total_tokens": 1500
        }});
        let event = decode_event("ComparisonRecorded", "1.0", &old).expect("upcast and decode");
        let CjBatchEvent::ComparisonRecorded(recorded) = event else {
            panic!("decoded to another event: {event:?}");
        };
        assert_eq!(recorded.judge.to_string(), "openai/unknown/unknown");
        assert_eq!(recorded.total_tokens, Some(1500));
    }

    #[test]
    fn a_submission_written_as_1_0_has_an_unknown_prompt() {
        let old = json!({"PairsSubmitted": {
            "correlation_ids": ["6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4"]
        }});
        let event = decode_event("PairsSubmitted", "1.0", &old).expect("upcast and decode");
        let CjBatchEvent::PairsSubmitted(submitted) = event else {
            panic!("decoded to another event: {event:?}");
        };
        assert_eq!(submitted.prompt_hash, UNKNOWN);
    }

    #[test]
    fn a_batch_registered_as_1_0_keeps_the_estimator_it_was_scored_with() {
        let current =
            CjBatchEvent::BatchRegistered(Box::new(crate::batch::events::BatchRegistered {
                batch_id: crate::ids::BatchId::for_request(uuid::Uuid::nil()),
                upstream_batch_id: "b".into(),
                request_event_id: uuid::Uuid::nil(),
                request_correlation_id: uuid::Uuid::nil(),
                essays: Vec::new(),
                failed_essays: Vec::new(),
                language: "en".into(),
                course_code: "ENG5".into(),
                assignment_id: None,
                user_id: "u".into(),
                org_id: None,
                grade_scale: crate::stats::grade_scale::GradeScale::default(),
                settings: crate::batch::settings::BatchSettings::with_budget(
                    crate::batch::settings::ComparisonBudget::new(10).unwrap(),
                ),
                llm: crate::batch::settings::LlmSettings::default(),
                purpose: crate::batch::events::BatchPurpose::Assessment,
            }));
        let mut old = serde_json::to_value(&current).unwrap();
        old["BatchRegistered"]["settings"]
            .as_object_mut()
            .unwrap()
            .remove("estimator");
        let CjBatchEvent::BatchRegistered(registered) =
            decode_event("BatchRegistered", "1.0", &old).expect("upcast and decode")
        else {
            panic!("decoded to another event");
        };
        assert_eq!(registered.settings.estimator, Estimator::Ilsr);
        let CjBatchEvent::BatchRegistered(new) = decode_event(
            "BatchRegistered",
            "1.1",
            &serde_json::to_value(&current).unwrap(),
        )
        .expect("decode") else {
            panic!("decoded to another event");
        };
        assert_eq!(new.settings.estimator, Estimator::Regularised);
        // Written before 1.2, no purpose: an assessment, as every batch then was.
        assert!(new.purpose.is_assessment());
        assert!(old["BatchRegistered"].get("purpose").is_none());

        let mut round = new.clone();
        round.purpose = crate::batch::events::BatchPurpose::CalibrationRound;
        let written = serde_json::to_value(CjBatchEvent::BatchRegistered(round)).unwrap();
        assert_eq!(written["BatchRegistered"]["purpose"], "calibration_round");
        let CjBatchEvent::BatchRegistered(read) =
            decode_event("BatchRegistered", "1.2", &written).expect("decode")
        else {
            panic!("decoded to another event");
        };
        assert!(read.purpose.is_calibration_round());
    }

    #[test]
    fn an_old_event_without_its_new_field_does_not_decode_without_the_upcaster() {
        let old = json!({"ComparisonFailed": {
            "correlation_id": "6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4",
            "error_code": "TIMEOUT",
            "message": "provider timed out"
        }});
        assert!(serde_json::from_value::<CjBatchEvent>(old).is_err());
    }
}
