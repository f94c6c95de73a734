//! The decoders the consumers call: what they accept, which `DecodeError` each broken
//! message gets (the consumer dead-letters on it), and that no input makes them panic.

mod common;

use cj_contracts::*;
use common::{callback_envelope, fixture, fixture_bytes};
use proptest::prelude::*;
use serde_json::Value;

fn request_with(change: impl FnOnce(&mut Value)) -> Result<RequestEnvelope, DecodeError> {
    let mut request = fixture("request_envelope.json");
    change(&mut request);
    decode_request(&serde_json::to_vec(&request).unwrap())
}

fn callback_with(change: impl FnOnce(&mut Value)) -> Result<(), DecodeError> {
    let mut callback = callback_envelope("llm_callback_success.json");
    change(&mut callback["data"]);
    decode_callback(&serde_json::to_vec(&callback).unwrap()).map(drop)
}

fn schema_error_mentions(result: Result<impl std::fmt::Debug, DecodeError>, words: &str) {
    match result {
        Err(DecodeError::Schema(error)) => {
            assert!(error.to_string().contains(words), "{error}")
        }
        other => panic!("expected a schema error about {words}, got {other:?}"),
    }
}

#[test]
fn a_missing_required_field_is_a_schema_error() {
    schema_error_mentions(
        request_with(|r| {
            r["data"].as_object_mut().unwrap().remove("user_id");
        }),
        "missing field `user_id`",
    );
    schema_error_mentions(
        request_with(|r| {
            r["data"].as_object_mut().unwrap().remove("essays_for_cj");
        }),
        "missing field `essays_for_cj`",
    );
    schema_error_mentions(
        request_with(|r| {
            r.as_object_mut().unwrap().remove("correlation_id");
        }),
        "missing field `correlation_id`",
    );
}

#[test]
fn a_course_code_outside_the_contract_is_a_schema_error() {
    schema_error_mentions(
        request_with(|r| r["data"]["course_code"] = "ENG9".into()),
        "unknown variant `ENG9`",
    );
}

#[test]
fn essays_for_cj_must_be_a_list_of_valid_essays() {
    schema_error_mentions(
        request_with(|r| r["data"]["essays_for_cj"] = "e1,e2".into()),
        "invalid type",
    );
    schema_error_mentions(
        request_with(|r| r["data"]["essays_for_cj"][0]["essay_id"] = "".into()),
        "invalid essay id",
    );
    assert!(matches!(
        request_with(|r| r["data"]["essays_for_cj"][1]["essay_id"] = "e1".into()),
        Err(DecodeError::Contract(ContractViolation::DuplicateEssayId(
            _
        )))
    ));
}

#[test]
fn invalid_json_is_its_own_error() {
    assert!(matches!(
        decode_request(b"{\"event_id\": "),
        Err(DecodeError::InvalidJson(_))
    ));
    assert!(matches!(
        decode_callback(b"not json"),
        Err(DecodeError::InvalidJson(_))
    ));
    assert!(matches!(
        decode_request(&[0xff, 0xfe, 0x00]),
        Err(DecodeError::InvalidJson(_))
    ));
}

#[test]
fn an_oversized_message_is_refused_before_parsing() {
    let mut bytes = fixture_bytes("request_envelope.json");
    bytes.resize(MAX_MESSAGE_BYTES + 1, b' ');
    assert!(matches!(
        decode_request(&bytes),
        Err(DecodeError::TooLarge { size }) if size == MAX_MESSAGE_BYTES + 1
    ));
    assert!(matches!(
        decode_callback(&bytes),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn unknown_fields_are_ignored_everywhere() {
    let decoded = request_with(|r| {
        r["future_envelope_field"] = 1.into();
        r["data"]["future_data_field"] = "x".into();
        r["data"]["llm_config_overrides"]["future_override"] = true.into();
        r["metadata"]["future_hint"] = Value::Null;
    });
    assert!(decoded.is_ok(), "{decoded:?}");
    assert!(callback_with(|c| c["future_field"] = 1.into()).is_ok());
}

#[test]
fn an_explicit_zero_temperature_stays_zero() {
    let request =
        request_with(|r| r["data"]["llm_config_overrides"]["temperature_override"] = 0.0.into())
            .unwrap();
    let overrides = request.data.llm_config_overrides.unwrap();
    assert_eq!(overrides.temperature_override, Some(0.0));
}

#[test]
fn a_temperature_above_two_violates_the_contract() {
    assert!(matches!(
        request_with(|r| r["data"]["llm_config_overrides"]["temperature_override"] = 2.5.into()),
        Err(DecodeError::Contract(ContractViolation::TemperatureOutOfRange(t))) if t == 2.5
    ));
}

#[test]
fn a_request_without_overrides_or_hints_decodes() {
    let request = request_with(|r| {
        r["data"]["llm_config_overrides"] = Value::Null;
        r["metadata"] = Value::Null;
    })
    .unwrap();
    assert!(request.data.llm_config_overrides.is_none());
    assert!(request.metadata.is_none());
}

#[test]
fn a_callback_must_carry_exactly_one_of_verdict_and_error() {
    let error_detail = fixture("llm_callback_error.json")["error_detail"].clone();
    assert!(matches!(
        callback_with(|c| c["error_detail"] = error_detail),
        Err(DecodeError::Contract(ContractViolation::VerdictAndError))
    ));
    assert!(matches!(
        callback_with(|c| c["winner"] = Value::Null),
        Err(DecodeError::Contract(
            ContractViolation::NeitherVerdictNorError
        ))
    ));
    assert!(matches!(
        callback_with(|c| c["justification"] = Value::Null),
        Err(DecodeError::Contract(ContractViolation::IncompleteVerdict))
    ));
}

#[test]
fn a_callback_winner_is_essay_a_or_essay_b() {
    schema_error_mentions(
        callback_with(|c| c["winner"] = "essay_a".into()),
        "unknown variant `essay_a`",
    );
    assert!(callback_with(|c| c["winner"] = "Essay B".into()).is_ok());
}

#[test]
fn a_callback_confidence_lies_between_one_and_five() {
    assert!(matches!(
        callback_with(|c| c["confidence"] = 6.0.into()),
        Err(DecodeError::Contract(
            ContractViolation::ConfidenceOutOfRange(_)
        ))
    ));
    assert!(matches!(
        callback_with(|c| c["confidence"] = 0.5.into()),
        Err(DecodeError::Contract(
            ContractViolation::ConfidenceOutOfRange(_)
        ))
    ));
    assert!(callback_with(|c| c["confidence"] = 1.into()).is_ok());
}

#[test]
fn a_callback_without_its_correlation_id_is_a_schema_error() {
    schema_error_mentions(
        callback_with(|c| {
            c.as_object_mut().unwrap().remove("correlation_id");
        }),
        "missing field `correlation_id`",
    );
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z _]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Essay A"),
            Just("ENG5"),
            Just("11111111-2222-3333-4444-555555555555"),
            Just("2026-01-01T12:00:00Z"),
        ]
        .prop_map(Value::from),
    ];
    let keys = prop_oneof![
        "[a-z_]{1,8}",
        Just("data".to_string()),
        Just("winner".to_string()),
        Just("essays_for_cj".to_string()),
        Just("correlation_id".to_string()),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A sample with one field, at any depth, replaced by arbitrary JSON.
fn mutated_sample(sample: Value) -> impl Strategy<Value = Value> {
    let paths = field_paths(&sample);
    (prop::sample::select(paths), arbitrary_json()).prop_map(move |(path, replacement)| {
        let mut mutated = sample.clone();
        if let Some(slot) = mutated.pointer_mut(&path) {
            *slot = replacement;
        }
        mutated
    })
}

fn field_paths(value: &Value) -> Vec<String> {
    let mut paths = vec![String::new()];
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                paths.extend(field_paths(child).into_iter().map(|p| format!("/{key}{p}")));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                paths.extend(field_paths(child).into_iter().map(|p| format!("/{i}{p}")));
            }
        }
        _ => {}
    }
    paths
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_request(&bytes);
        let _ = decode_callback(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_json(value in arbitrary_json()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let _ = decode_request(&bytes);
        let _ = decode_callback(&bytes);
    }

    #[test]
    fn the_request_decoder_never_panics_on_a_mutated_sample(
        value in mutated_sample(fixture("request_envelope.json"))
    ) {
        let _ = decode_request(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn the_callback_decoder_never_panics_on_a_mutated_sample(
        value in mutated_sample(callback_envelope("llm_callback_success.json"))
    ) {
        let _ = decode_callback(&serde_json::to_vec(&value).unwrap());
    }
}
