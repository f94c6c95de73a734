//! Reading events written in an older shape. Every stored event carries its type and
//! version; before an event is decoded, the upcasters registered here rewrite older
//! versions into the current shape. The event store (loading aggregates) and every log
//! reader (projectors, replay, history) decode through [`decode_event`] or
//! [`upcasters`], so a change of shape needs exactly one new entry here.
//!
//! Registered:
//! - `ComparisonFailed` before 1.0 (the foundation's development log) had no `attempt`;
//!   such failures were always first asks, so the upcaster records `attempt: 1`.

use crate::events::CjBatchEvent;
use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster, SerializedEvent};
use serde::Deserialize;
use serde_json::Value;
use std::sync::OnceLock;

/// All upcasters, in the order they apply (older versions first).
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "ComparisonFailed",
        "1.0",
        Box::new(|payload| with_default_field(payload, "ComparisonFailed", "attempt", 1.into())),
    ))]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::ComparisonFailed;
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
    fn an_old_event_without_its_new_field_does_not_decode_without_the_upcaster() {
        let old = json!({"ComparisonFailed": {
            "correlation_id": "6a1f3c2e-9b7d-4e55-8c1a-2f0e7d3b91c4",
            "error_code": "TIMEOUT",
            "message": "provider timed out"
        }});
        assert!(serde_json::from_value::<CjBatchEvent>(old).is_err());
    }
}
