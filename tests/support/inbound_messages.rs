//! Messages for the service's inbound topics: the contract's sample request with fresh ids,
//! and a generator of messages the consumer can never handle — garbage bytes, JSON of the
//! wrong shape, the right shape with wrong types, the right shape breaking a contract rule,
//! and (every `oversized_every`-th) more than 1 MiB — shared by the dead-letter tests.
#![allow(dead_code)]

use cj_contracts::MAX_MESSAGE_BYTES;
use serde_json::{json, Value};
use uuid::Uuid;

/// The inbound topic a message is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundTopic {
    Requests,
    Callbacks,
}

/// The contract's sample request with a fresh event id and upstream batch id, the given
/// essays (`(essay_id, text_storage_id)`) and assignment.
pub fn request(essays: &[(&str, &str)], assignment_id: Option<&str>) -> Value {
    let mut request: Value =
        serde_json::from_str(include_str!("../fixtures/contracts/request_envelope.json"))
            .expect("the sample parses");
    request["event_id"] = json!(Uuid::new_v4());
    request["correlation_id"] = json!(Uuid::new_v4());
    request["data"]["entity_id"] = json!(format!("bos-{}", Uuid::new_v4().simple()));
    request["data"]["essays_for_cj"] = essays
        .iter()
        .map(|(id, storage)| json!({"essay_id": id, "text_storage_id": storage}))
        .collect();
    request["data"]["assignment_id"] = json!(assignment_id);
    request
}

/// The contract's sample callback envelope (an error outcome) with fresh ids.
fn callback() -> Value {
    let data: Value = serde_json::from_str(include_str!(
        "../fixtures/contracts/llm_callback_error.json"
    ))
    .expect("the sample parses");
    json!({
        "event_id": Uuid::new_v4(),
        "event_type": "callback",
        "event_timestamp": "2026-01-01T12:00:00Z",
        "source_service": "llm_provider_service",
        "correlation_id": Uuid::new_v4(),
        "data": data,
    })
}

/// The `n`-th message the consumer must dead-letter on `topic`.
pub fn malformed(n: usize, topic: InboundTopic, oversized_every: usize) -> Vec<u8> {
    if n % oversized_every == 0 {
        return vec![b'{'; MAX_MESSAGE_BYTES + 10];
    }
    let message = match (n % 4, topic) {
        (0, _) => return (0..40).map(|i| ((n * 31 + i * 7) % 256) as u8).collect(),
        (1, _) => json!({"event_id": n, "data": {"unexpected": true}}),
        (2, InboundTopic::Requests) => {
            let mut wrong_types = request(&[("e1", "s1")], None);
            wrong_types["data"]["essays_for_cj"] = json!("e1, e2");
            wrong_types
        }
        (2, InboundTopic::Callbacks) => {
            let mut wrong_types = callback();
            wrong_types["data"]["response_time_ms"] = json!("fast");
            wrong_types
        }
        (_, InboundTopic::Requests) => {
            let mut breaks_a_rule = request(&[("same", "s1"), ("same", "s2")], None);
            breaks_a_rule["data"]["user_id"] = json!("u");
            breaks_a_rule
        }
        (_, InboundTopic::Callbacks) => {
            let mut breaks_a_rule = callback();
            breaks_a_rule["data"]["winner"] = json!("Essay A"); // a verdict and an error at once
            breaks_a_rule
        }
    };
    serde_json::to_vec(&message).expect("json")
}
