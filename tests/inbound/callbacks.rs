//! Callbacks are recorded once each, whether they name their batch or are found through the
//! comparison pairs; duplicates change nothing; orphans are counted and dropped.

use crate::harness::{batch_of, borrowed, is_wave_planned, request, Inbound};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::CjBatchEvent;
use cj_assessment::metrics::metrics;
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use serde_json::{json, Value};
use uuid::Uuid;

fn callback(sample: &str, correlation_id: Uuid, batch: Option<BatchId>) -> Value {
    let mut data: Value = serde_json::from_str(sample).expect("sample");
    data["correlation_id"] = json!(correlation_id);
    if let Some(error) = data.get_mut("error_detail").filter(|e| e.is_object()) {
        error["correlation_id"] = json!(correlation_id);
    }
    match batch {
        Some(batch) => data["request_metadata"]["cj_batch_id"] = json!(batch.to_string()),
        None => {
            if let Some(metadata) = data["request_metadata"].as_object_mut() {
                metadata.remove("cj_batch_id");
            }
        }
    }
    json!({
        "event_id": Uuid::new_v4(),
        "event_type": "huleedu.llm_provider.comparison_result.v1",
        "event_timestamp": "2026-01-01T12:00:00Z",
        "source_service": "llm_provider_service",
        "schema_version": 1,
        "correlation_id": correlation_id,
        "data_schema_uri": null,
        "data": data,
        "metadata": null,
    })
}

const SUCCESS: &str = include_str!("../fixtures/contracts/llm_callback_success.json");
const ERROR: &str = include_str!("../fixtures/contracts/llm_callback_error.json");

fn recorded(events: &[CjBatchEvent], id: CorrelationId) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, CjBatchEvent::ComparisonRecorded(c) if c.correlation_id == id))
        .count()
}

fn failed(events: &[CjBatchEvent], id: CorrelationId) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, CjBatchEvent::ComparisonFailed(c) if c.correlation_id == id))
        .count()
}

/// Starts a batch of six essays and waits for its first wave: the batch and the wave's
/// comparisons (at least four).
async fn batch_with_a_first_wave(inbound: &Inbound) -> (BatchId, Vec<CorrelationId>) {
    let essays = inbound.store_essays(6).await;
    let mut request = request(&borrowed(&essays), None);
    request["metadata"]["max_comparisons"] = json!(30);
    inbound.produce_request(&request).await;
    let batch = batch_of(&request);
    let events = inbound
        .wait_for_event(batch, "the first wave", is_wave_planned)
        .await;
    let planned: Vec<CorrelationId> = events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::WavePlanned(wave) => {
                Some(wave.comparisons.iter().map(|c| c.correlation_id).collect())
            }
            _ => None,
        })
        .expect("a planned wave");
    assert!(
        planned.len() >= 4,
        "wave 1 has {} comparisons",
        planned.len()
    );
    (batch, planned)
}

/// Produces `callback` on the callback topic, keyed by `batch` like a provider does.
async fn send_callback(inbound: &Inbound, batch: BatchId, callback: Value) {
    let payload = serde_json::to_vec(&callback).expect("json");
    let topic = &inbound.settings.kafka.topics.callbacks;
    inbound.produce(topic, &batch.to_string(), &payload).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_recorded_once_and_orphans_are_counted_and_dropped() {
    let inbound = Inbound::start().await;
    let (batch, planned) = batch_with_a_first_wave(&inbound).await;
    // Callbacks that do not name their batch are found through the comparison pairs.
    crate::support::drain_projections(&inbound.db.pool).await;

    let orphans_before = metrics().orphan_callbacks.get();
    let send = |callback: Value| send_callback(&inbound, batch, callback);
    send(callback(SUCCESS, planned[0].0, Some(batch))).await;
    send(callback(ERROR, planned[1].0, None)).await;
    send(callback(SUCCESS, Uuid::new_v4(), None)).await; // orphan: nobody's comparison
    send(callback(SUCCESS, Uuid::new_v4(), Some(batch))).await; // orphan the batch rejects
    send(callback(SUCCESS, planned[0].0, Some(batch))).await; // duplicate in the same poll
    send(callback(SUCCESS, planned[2].0, Some(batch))).await;
    inbound
        .wait_for_event(
            batch,
            "the third callback",
            |e| matches!(e, CjBatchEvent::ComparisonRecorded(c) if c.correlation_id == planned[2]),
        )
        .await;
    // A duplicate arriving in a later poll, then one more verdict to know it was handled.
    send(callback(SUCCESS, planned[0].0, None)).await;
    send(callback(SUCCESS, planned[3].0, Some(batch))).await;
    let events = inbound
        .wait_for_event(
            batch,
            "the fourth callback",
            |e| matches!(e, CjBatchEvent::ComparisonRecorded(c) if c.correlation_id == planned[3]),
        )
        .await;

    assert_eq!(
        recorded(&events, planned[0]),
        1,
        "the duplicates changed nothing"
    );
    assert_eq!(failed(&events, planned[1]), 1);
    assert_eq!(recorded(&events, planned[2]), 1);
    assert_eq!(recorded(&events, planned[3]), 1);
    assert_eq!(metrics().orphan_callbacks.get() - orphans_before, 2);
    assert!(inbound.consumer_is_running());
    inbound.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callbacks_provider_and_model_land_on_the_verdict_with_the_prompt_it_was_sent_with() {
    let inbound = Inbound::start().await;
    let (batch, planned) = batch_with_a_first_wave(&inbound).await;
    // planned[0]'s submission is recorded before its verdict; the others' verdicts overtake
    // theirs.
    let bus = BatchCommandBus::new(inbound.db.pool.clone());
    let submit = crate::support::submit_pairs(vec![planned[0]]);
    bus.execute(
        batch,
        submit,
        &CommandMetadata::new(Uuid::new_v4(), "tests"),
    )
    .await
    .expect("submit");
    let echoing = |id: CorrelationId| {
        let mut echoed = callback(SUCCESS, id.0, Some(batch));
        echoed["data"]["request_metadata"]["cj_prompt_hash"] = json!("ec40ed0000000000");
        echoed
    };
    send_callback(&inbound, batch, echoing(planned[0])).await;
    send_callback(&inbound, batch, echoing(planned[1])).await;
    send_callback(
        &inbound,
        batch,
        callback(SUCCESS, planned[2].0, Some(batch)),
    )
    .await;
    let events = inbound
        .wait_for_event(
            batch,
            "the third verdict",
            |e| matches!(e, CjBatchEvent::ComparisonRecorded(c) if c.correlation_id == planned[2]),
        )
        .await;

    let judge_of = |id: CorrelationId| {
        events.iter().find_map(|e| match e {
            CjBatchEvent::ComparisonRecorded(c) if c.correlation_id == id => {
                Some(c.judge.to_string())
            }
            _ => None,
        })
    };
    // The sample callback names provider "openai" and model "gpt-5.1".
    assert_eq!(
        judge_of(planned[0]).as_deref(),
        Some("openai/gpt-5.1/7e57000000000000"),
        "the hash recorded at submission wins over the echoed one"
    );
    assert_eq!(
        judge_of(planned[1]).as_deref(),
        Some("openai/gpt-5.1/ec40ed0000000000")
    );
    assert_eq!(
        judge_of(planned[2]).as_deref(),
        Some("openai/gpt-5.1/unknown")
    );
    inbound.stop().await;
}
