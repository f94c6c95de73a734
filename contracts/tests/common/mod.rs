//! The contract samples (`tests/fixtures/contracts/`, copied from the old service) and a JSON
//! shape comparison against them; shared by the contracts and projections tests.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// A contract sample, as bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/contracts")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixtures are JSON")
}

/// A callback sample wrapped in the envelope it travels in on Kafka.
pub fn callback_envelope(name: &str) -> Value {
    let mut envelope = fixture("request_envelope.json");
    envelope["event_type"] = "huleedu.llm_provider.comparison_result.v1".into();
    envelope["source_service"] = "llm_provider_service".into();
    envelope["data"] = fixture(name);
    envelope["metadata"] = Value::Null;
    envelope
}

/// The outgoing envelope shape: the request's envelope around `data`.
pub fn envelope_sample(data: Value) -> Value {
    let mut envelope = fixture("request_envelope.json");
    envelope["data"] = data;
    envelope
}

/// Keys whose value may be null in one message and a value in another (optional fields).
const OPTIONAL_KEYS: &[&str] = &[
    "parent_id",
    "data_schema_uri",
    "metadata",
    "org_id",
    "assignment_id",
    "model_version",
    "llm_temperature",
    "display_name",
    "feedback_uri",
    "metrics_uri",
    "started_at",
    "completed_at",
];

/// Keys whose objects are maps keyed by data (grades), not records: only their value types
/// are compared. The grade distribution lists the batch's own scale.
const MAP_KEYS: &[&str] = &["anchor_grade_distribution"];

/// Asserts that `actual` has the field names and JSON types of `sample`, recursively. An
/// array's elements are each compared with the sample's first element; an integer in the
/// sample must stay an integer (the old service's models are typed `int` there).
pub fn assert_same_shape(actual: &Value, sample: &Value) {
    if let Err(problem) = compare_shape(actual, sample, "$", None) {
        panic!(
            "{problem}\nactual: {}",
            serde_json::to_string_pretty(actual).unwrap()
        );
    }
}

fn compare_shape(
    actual: &Value,
    sample: &Value,
    path: &str,
    key: Option<&str>,
) -> Result<(), String> {
    let optional = key.is_some_and(|k| OPTIONAL_KEYS.contains(&k));
    match (actual, sample) {
        (Value::Null, Value::Null) => Ok(()),
        (Value::Null, _) | (_, Value::Null) if optional => Ok(()),
        (Value::Object(a), Value::Object(s)) if key.is_some_and(|k| MAP_KEYS.contains(&k)) => {
            let value_sample = s.values().next().unwrap_or(&Value::Null);
            for (k, v) in a {
                compare_shape(v, value_sample, &format!("{path}.{k}"), None)?;
            }
            Ok(())
        }
        (Value::Object(a), Value::Object(s)) => {
            let mut actual_keys: Vec<_> = a.keys().collect();
            let mut sample_keys: Vec<_> = s.keys().collect();
            actual_keys.sort();
            sample_keys.sort();
            if actual_keys != sample_keys {
                return Err(format!(
                    "{path}: keys differ\n  actual: {actual_keys:?}\n  sample: {sample_keys:?}"
                ));
            }
            for (k, v) in a {
                compare_shape(v, &s[k], &format!("{path}.{k}"), Some(k))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(s)) => match s.first() {
            None => Ok(()),
            Some(first) => a
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| compare_shape(v, first, &format!("{path}[{i}]"), key)),
        },
        (Value::Number(a), Value::Number(s)) => {
            if s.is_f64() || !a.is_f64() {
                Ok(())
            } else {
                Err(format!("{path}: sample is an integer, actual {a} is not"))
            }
        }
        (Value::String(_), Value::String(_)) | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        _ => Err(format!(
            "{path}: actual {actual} has another type than sample {sample}"
        )),
    }
}
