//! `cj-assessment llm-sim`: serves the simulated LLM Provider Service (`POST /comparison`,
//! see [`crate::lab::llm_sim`]) and publishes its callbacks to Kafka. The demo, the end-to-end
//! runner and the benchmarks point `CJ_LLM_PROVIDER_URL` at it.

use crate::commands::block_on;
use crate::config::KafkaSettings;
use crate::kafka::admin::ensure_topics;
use crate::kafka::producer::Publisher;
use crate::lab::llm_sim::judge::TextJudge;
use crate::lab::llm_sim::kafka_sink::KafkaCallbackSink;
use crate::lab::llm_sim::server::{router, SimulatorSettings};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct LlmSimArgs {
    /// Where the simulated provider listens (`POST {addr}/comparison` and
    /// `/api/v1/comparison`).
    #[arg(long, env = "CJ_LLM_SIM_ADDR", default_value = "127.0.0.1:8091")]
    pub http_addr: SocketAddr,
    /// Shortest callback latency (ms).
    #[arg(long, env = "CJ_LLM_SIM_LATENCY_MIN_MS", default_value_t = 5)]
    pub latency_min_ms: u64,
    /// Longest callback latency (ms); each callback's is drawn uniformly in between.
    #[arg(long, env = "CJ_LLM_SIM_LATENCY_MAX_MS", default_value_t = 50)]
    pub latency_max_ms: u64,
    /// Logit bonus of the essay shown as "Essay A".
    #[arg(long, env = "CJ_LLM_SIM_POSITION_BIAS", default_value_t = TextJudge::default().position_bias)]
    pub position_bias: f64,
    /// Share of comparisons answered with an error callback.
    #[arg(long, env = "CJ_LLM_SIM_ERROR_RATE", default_value_t = TextJudge::default().error_rate)]
    pub error_rate: f64,
    /// Share of callbacks published twice.
    #[arg(long, env = "CJ_LLM_SIM_DUPLICATE_RATE", default_value_t = SimulatorSettings::default().duplicate_rate)]
    pub duplicate_rate: f64,
    /// How decisive the judge is (logits per unit of text-feature difference).
    #[arg(long, env = "CJ_LLM_SIM_DISCRIMINATION", default_value_t = TextJudge::default().discrimination)]
    pub discrimination: f64,
    /// Seed of the judge's noise, latencies and duplicates.
    #[arg(long, env = "CJ_LLM_SIM_SEED", default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub kafka: KafkaSettings,
}

impl LlmSimArgs {
    pub fn simulator_settings(&self) -> SimulatorSettings {
        SimulatorSettings {
            judge: TextJudge {
                discrimination: self.discrimination,
                position_bias: self.position_bias,
                error_rate: self.error_rate,
            },
            latency_ms: (self.latency_min_ms, self.latency_max_ms),
            duplicate_rate: self.duplicate_rate,
            seed: self.seed,
        }
    }
}

/// How long queued callbacks may take to leave after SIGTERM/SIGINT.
const FLUSH_GRACE: Duration = Duration::from_secs(10);

pub fn run(args: LlmSimArgs) -> anyhow::Result<()> {
    block_on(async {
        ensure_topics(
            &args.kafka,
            std::slice::from_ref(&args.kafka.topics.callbacks),
        )
        .await
        .context("creating the callback topic")?;
        let publisher = Publisher::new(&args.kafka)?;
        let sink = Arc::new(KafkaCallbackSink::new(publisher.clone()));
        let app = router(args.simulator_settings(), sink);
        let listener = tokio::net::TcpListener::bind(args.http_addr)
            .await
            .with_context(|| format!("binding {}", args.http_addr))?;
        eprintln!("llm-sim listening on http://{}", listener.local_addr()?);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving the simulated provider")?;
        publisher.flush(FLUSH_GRACE)
    })?
}

/// SIGINT or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminated) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated.recv() => {}
    }
}
