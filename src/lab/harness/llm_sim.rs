//! The simulated LLM provider served in-process on a free local port, its callbacks going
//! to the broker of `kafka` — what fault tests and benchmarks point `CJ_LLM_PROVIDER_URL`
//! at. It runs until the runtime that started it ends.

use crate::config::KafkaSettings;
use crate::kafka::admin::ensure_topics;
use crate::kafka::producer::Publisher;
use crate::lab::llm_sim::kafka_sink::KafkaCallbackSink;
use crate::lab::llm_sim::server::{router, CallbackSink, SimulatorSettings};
use anyhow::Context;
use std::sync::Arc;

/// A running simulated provider.
pub struct SimulatedProvider {
    /// Base URL (`POST {url}/comparison`).
    pub url: String,
}

/// Creates the callback topic when missing and serves the simulator on 127.0.0.1.
pub async fn serve_llm_sim(
    kafka: &KafkaSettings,
    settings: SimulatorSettings,
) -> anyhow::Result<SimulatedProvider> {
    let sink = Arc::new(KafkaCallbackSink::new(Publisher::new(kafka)?));
    serve_llm_sim_into(kafka, settings, sink).await
}

/// The same, with callbacks going through `sink` (a benchmark's timing sink, say).
pub async fn serve_llm_sim_into(
    kafka: &KafkaSettings,
    settings: SimulatorSettings,
    sink: Arc<dyn CallbackSink>,
) -> anyhow::Result<SimulatedProvider> {
    ensure_topics(kafka, std::slice::from_ref(&kafka.topics.callbacks))
        .await
        .context("creating the callback topic")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the simulated provider")?;
    let address = listener.local_addr()?;
    let app = router(settings, sink);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the simulated provider stopped");
        }
    });
    Ok(SimulatedProvider {
        url: format!("http://{address}"),
    })
}
