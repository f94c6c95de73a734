//! Generated student essays in the content store, and the assessment request naming them,
//! in the contract's envelope.

use super::assignment::essay_text;
use crate::config::KafkaSettings;
use crate::content::client::ContentClient;
use crate::kafka::producer::Publisher;
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

/// Stores `count` essays of spread-out quality; returns the request's `essays_for_cj`.
pub async fn store_essays(
    content: &ContentClient,
    count: usize,
    salt: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut essays = Vec::with_capacity(count);
    for i in 0..count {
        let text = essay_text((i * 7) % 17, &format!("student {i} of {salt}"));
        let storage_id = content.store(&text).await?;
        essays.push(json!({
            "essay_id": format!("{salt}-e{i}"),
            "text_storage_id": storage_id,
            "spellcheck_metrics": null,
        }));
    }
    Ok(essays)
}

/// `essays` (from [`store_essays`]) under essay ids of their own, `<prefix>-e<i>`: many
/// batches can share the stored texts.
pub fn essays_renamed(essays: &[Value], prefix: &str) -> Vec<Value> {
    essays
        .iter()
        .enumerate()
        .map(|(i, essay)| {
            let mut essay = essay.clone();
            essay["essay_id"] = Value::String(format!("{prefix}-e{i}"));
            essay
        })
        .collect()
}

/// The request envelope (`huleedu.els.cj_assessment.requested.v1`).
pub fn request_envelope(
    upstream_batch_id: &str,
    assignment_id: &str,
    essays: Vec<Value>,
    max_comparisons: u32,
) -> Value {
    let now = Utc::now();
    json!({
        "event_id": Uuid::new_v4(),
        "event_type": cj_contracts::topics::CJ_ASSESSMENT_REQUESTED,
        "event_timestamp": now,
        "source_service": "cj_assessment_runner",
        "schema_version": 1,
        "correlation_id": Uuid::new_v4(),
        "data_schema_uri": null,
        "data": {
            "event_name": "els.cj_assessment.requested",
            "entity_id": upstream_batch_id,
            "entity_type": "batch",
            "parent_id": null,
            "timestamp": now,
            "system_metadata": {
                "entity_id": upstream_batch_id, "entity_type": "batch", "parent_id": null,
                "timestamp": now, "processing_stage": "pending", "started_at": null,
                "completed_at": null, "event": "els.cj_assessment.requested", "error_info": {}
            },
            "essays_for_cj": essays,
            "language": "en",
            "course_code": "ENG5",
            "student_prompt_ref": null,
            "llm_config_overrides": {"temperature_override": 0.0},
            "assignment_id": assignment_id,
            "user_id": "cj-runner",
            "org_id": null
        },
        "metadata": {"max_comparisons": max_comparisons}
    })
}

/// Publishes `request` (from [`request_envelope`]) on the requests topic, keyed by its
/// upstream batch id, as the upstream service would.
pub async fn publish_request(
    publisher: &Publisher,
    kafka: &KafkaSettings,
    upstream_batch_id: &str,
    request: &Value,
) -> anyhow::Result<()> {
    publisher
        .send(
            &kafka.topics.requests,
            upstream_batch_id,
            request.to_string().as_bytes(),
            &[],
        )
        .await?;
    Ok(())
}
