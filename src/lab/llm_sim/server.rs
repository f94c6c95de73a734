//! The simulated provider's HTTP server: validates `POST /comparison`, answers 202 with a
//! queue id, and later publishes the callback through a [`CallbackSink`] (Kafka in
//! production; anything in tests).

use super::judge::{TextJudge, TextVerdict};
use crate::llm::prompt::essays_in;
use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use cj_contracts::{
    ErrorDetail, EssayWinner, EventEnvelope, LlmComparisonRequest, LlmComparisonResultV1,
    LlmQueuedResponse, TokenUsage,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Where callbacks go.
#[async_trait]
pub trait CallbackSink: Send + Sync + 'static {
    /// Publishes one serialised callback envelope to `topic`, keyed by `key`.
    async fn publish(&self, topic: &str, key: &str, payload: Vec<u8>) -> anyhow::Result<()>;
}

/// How the simulated provider behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimulatorSettings {
    pub judge: TextJudge,
    /// Latency of each callback, drawn uniformly from this range (milliseconds).
    pub latency_ms: (u64, u64),
    /// Share of callbacks published twice.
    pub duplicate_rate: f64,
    pub seed: u64,
}

impl Default for SimulatorSettings {
    fn default() -> Self {
        SimulatorSettings {
            judge: TextJudge::default(),
            latency_ms: (5, 50),
            duplicate_rate: 0.01,
            seed: 1,
        }
    }
}

struct Simulator {
    settings: SimulatorSettings,
    rng: Mutex<ChaCha8Rng>,
    sink: Arc<dyn CallbackSink>,
}

/// The router of the simulated provider: `POST /comparison`, `GET /healthz/live`.
pub fn router(settings: SimulatorSettings, sink: Arc<dyn CallbackSink>) -> Router {
    let simulator = Arc::new(Simulator {
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(settings.seed)),
        settings,
        sink,
    });
    Router::new()
        .route("/comparison", post(queue_comparison))
        .route("/api/v1/comparison", post(queue_comparison))
        .route("/healthz/live", axum::routing::get(|| async { "ok" }))
        .with_state(simulator)
}

async fn queue_comparison(
    State(simulator): State<Arc<Simulator>>,
    body: axum::body::Bytes,
) -> Response {
    let request: LlmComparisonRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("invalid comparison request: {error}")})),
            )
                .into_response()
        }
    };
    let Some((essay_a, essay_b)) = essays_in(&request.user_prompt) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "the prompt does not contain Essay A and Essay B"})),
        )
            .into_response();
    };
    let (verdict, latency, duplicate) = {
        let mut rng = simulator.rng.lock().unwrap_or_else(|p| p.into_inner());
        let (low, high) = simulator.settings.latency_ms;
        (
            simulator.settings.judge.judge(essay_a, essay_b, &mut *rng),
            rng.gen_range(low..=high.max(low)),
            rng.gen::<f64>() < simulator.settings.duplicate_rate,
        )
    };
    let queue_id = Uuid::new_v4();
    let requested_at = Utc::now();
    let sink = Arc::clone(&simulator.sink);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(latency)).await;
        let callback = callback_for(&request, queue_id, verdict, latency, requested_at);
        let payload = match serde_json::to_vec(&callback) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::error!(%error, "serialising a simulated callback failed");
                return;
            }
        };
        let key = request.correlation_id.to_string();
        for _ in 0..if duplicate { 2 } else { 1 } {
            if let Err(error) = sink
                .publish(&request.callback_topic, &key, payload.clone())
                .await
            {
                tracing::warn!(%error, correlation_id = %key, "publishing a simulated callback failed");
            }
        }
    });
    let queued = LlmQueuedResponse {
        queue_id: queue_id.to_string(),
        status: "queued".into(),
        message: Some("Request queued for processing".into()),
        estimated_wait_minutes: Some(1),
    };
    (StatusCode::ACCEPTED, Json(queued)).into_response()
}

/// The callback envelope for a verdict on `request`.
pub fn callback_for(
    request: &LlmComparisonRequest,
    queue_id: Uuid,
    verdict: TextVerdict,
    latency_ms: u64,
    requested_at: chrono::DateTime<Utc>,
) -> EventEnvelope<LlmComparisonResultV1> {
    let request_metadata: Map<String, Value> = serde_json::to_value(&request.metadata)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let model = request
        .llm_config_overrides
        .model_override
        .clone()
        .unwrap_or_else(|| "llm-sim".into());
    callback_envelope(
        request.correlation_id,
        request_metadata,
        model,
        queue_id,
        verdict,
        latency_ms,
        requested_at,
    )
}

/// The callback envelope a provider publishes for comparison `correlation_id`, echoing
/// the request's `request_metadata`.
pub fn callback_envelope(
    correlation_id: Uuid,
    request_metadata: Map<String, Value>,
    model: String,
    queue_id: Uuid,
    verdict: TextVerdict,
    latency_ms: u64,
    requested_at: chrono::DateTime<Utc>,
) -> EventEnvelope<LlmComparisonResultV1> {
    let now = Utc::now();
    let (winner, confidence, justification, error_detail) = match verdict {
        TextVerdict::EssayA { confidence } => (
            Some(EssayWinner::EssayA),
            Some(confidence),
            Some("Essay A argues more fully.".to_string()),
            None,
        ),
        TextVerdict::EssayB { confidence } => (
            Some(EssayWinner::EssayB),
            Some(confidence),
            Some("Essay B argues more fully.".to_string()),
            None,
        ),
        TextVerdict::Error => (
            None,
            None,
            None,
            Some(ErrorDetail {
                error_code: "LLM_PROVIDER_SERVICE_ERROR".into(),
                message: "simulated provider error".into(),
                correlation_id,
                timestamp: now,
                service: "llm_provider_service".into(),
                operation: "process_queue".into(),
                details: Map::new(),
                stack_trace: None,
                trace_id: None,
                span_id: None,
            }),
        ),
    };
    EventEnvelope {
        event_id: Uuid::new_v4(),
        event_type: cj_contracts::topics::LLM_COMPARISON_RESULT.to_string(),
        event_timestamp: now,
        source_service: "llm_provider_service".into(),
        schema_version: 1,
        correlation_id,
        data_schema_uri: None,
        data: LlmComparisonResultV1 {
            request_id: queue_id.to_string(),
            correlation_id,
            winner,
            justification,
            confidence,
            error_detail,
            provider: crate::lab::simulation::driver::SIMULATED_PROVIDER.into(),
            model,
            response_time_ms: latency_ms,
            token_usage: TokenUsage::default(),
            cost_estimate: 0.0,
            requested_at,
            completed_at: now,
            trace_id: None,
            request_metadata,
        },
        metadata: None,
    }
}
