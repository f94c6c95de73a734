//! The LLM provider's HTTP contract from both sides: our client against the simulated
//! provider (202, then a callback that decodes as the contract says), and the client's
//! sorting of failures into retryable and final.

use async_trait::async_trait;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use cj_assessment::lab::llm_sim::judge::TextJudge;
use cj_assessment::lab::llm_sim::server::{router, CallbackSink, SimulatorSettings};
use cj_assessment::llm::client::{LlmProviderClient, ProviderError};
use cj_assessment::llm::prompt::{render, PromptParts};
use cj_contracts::{
    decode_callback, CjRequestType, ComparisonOverrides, ComparisonRequestMetadata,
    LlmComparisonRequest,
};
use serde_json::Map;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

#[derive(Default)]
struct CollectingSink(Mutex<Vec<(String, String, Vec<u8>)>>);

#[async_trait]
impl CallbackSink for CollectingSink {
    async fn publish(&self, topic: &str, key: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap()
            .push((topic.into(), key.into(), payload));
        Ok(())
    }
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn comparison_request() -> LlmComparisonRequest {
    LlmComparisonRequest {
        user_prompt: render(&PromptParts {
            instructions: None,
            student_prompt: None,
            rubric: None,
            essay_a: "A thoughtful essay with a clear argument and varied evidence throughout.",
            essay_b: "Short essay.",
        }),
        metadata: ComparisonRequestMetadata {
            essay_a_id: "e1".into(),
            essay_b_id: "e2".into(),
            bos_batch_id: "bos-batch-1".into(),
            cj_batch_id: Uuid::new_v4().to_string(),
            cj_source: "els".into(),
            cj_request_type: CjRequestType::CjComparison,
            extra: Map::new(),
        },
        correlation_id: Uuid::new_v4(),
        callback_topic: "huleedu.llm_provider.comparison_result.v1".into(),
        llm_config_overrides: ComparisonOverrides {
            temperature_override: Some(0.0),
            ..ComparisonOverrides::default()
        },
    }
}

#[tokio::test]
async fn the_simulated_provider_queues_then_calls_back_with_the_contract() {
    let sink = Arc::new(CollectingSink::default());
    let settings = SimulatorSettings {
        judge: TextJudge {
            error_rate: 0.0,
            ..TextJudge::default()
        },
        latency_ms: (1, 5),
        duplicate_rate: 0.0,
        seed: 5,
    };
    let base = serve(router(settings, sink.clone())).await;
    let client = LlmProviderClient::new(&base).unwrap();
    let request = comparison_request();
    let queued = client.request_comparison(&request).await.expect("202");
    assert_eq!(queued.status, "queued");

    let mut published = Vec::new();
    for _ in 0..200 {
        published = sink.0.lock().unwrap().clone();
        if !published.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(published.len(), 1, "one callback");
    let (topic, key, payload) = &published[0];
    assert_eq!(topic, &request.callback_topic);
    assert_eq!(key, &request.correlation_id.to_string());
    let callback = decode_callback(payload).expect("the callback honours the contract");
    assert_eq!(callback.data.correlation_id, request.correlation_id);
    assert_eq!(callback.data.request_metadata["essay_a_id"], "e1");
    assert_eq!(callback.data.request_id, queued.queue_id);
    assert!(callback.data.winner.is_some());
}

#[tokio::test]
async fn a_request_without_essays_is_refused_as_final() {
    let base = serve(router(
        SimulatorSettings::default(),
        Arc::new(CollectingSink::default()),
    ))
    .await;
    let client = LlmProviderClient::new(&base).unwrap();
    let mut request = comparison_request();
    request.user_prompt = "no essays here".into();
    match client.request_comparison(&request).await {
        Err(ProviderError::Rejected { status: 400, .. }) => {}
        other => panic!("expected a final 400, got {other:?}"),
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retryable_client_errors_are_final() {
    for (status, retryable) in [
        (StatusCode::TOO_MANY_REQUESTS, true),
        (StatusCode::INTERNAL_SERVER_ERROR, true),
        (StatusCode::BAD_GATEWAY, true),
        (StatusCode::SERVICE_UNAVAILABLE, true),
        (StatusCode::GATEWAY_TIMEOUT, true),
        (StatusCode::BAD_REQUEST, false),
        (StatusCode::UNAUTHORIZED, false),
        (StatusCode::FORBIDDEN, false),
        (StatusCode::NOT_FOUND, false),
    ] {
        let base =
            serve(Router::new().route("/comparison", post(move || async move { status }))).await;
        let client = LlmProviderClient::new(&base).unwrap();
        let outcome = client.request_comparison(&comparison_request()).await;
        match (outcome, retryable) {
            (Err(ProviderError::Retryable { .. }), true) => {}
            (Err(ProviderError::Rejected { status: got, .. }), false) => {
                assert_eq!(got, status.as_u16())
            }
            (other, _) => panic!("{status}: unexpected {other:?}"),
        }
    }
}
