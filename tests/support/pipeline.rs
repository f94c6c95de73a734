//! The whole service in a test: the simulated LLM provider (HTTP + Kafka callbacks) and
//! `serve`, both in-process, against the test database and broker.
#![allow(dead_code)]

use super::kafka::settings_for_test;
use super::service::{service_settings_on, wait_until_ready};
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::commands::serve::serve;
use cj_assessment::config::{KafkaSettings, ServiceSettings};
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::lab::commands::run_eng5::{run_once, RunArgs};
use cj_assessment::lab::harness::llm_sim::serve_llm_sim;
use cj_assessment::lab::llm_sim::judge::TextJudge;
use cj_assessment::lab::llm_sim::server::SimulatorSettings;
use cj_assessment::lab::runner::follow::RunOutcome;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Serves the simulated provider; returns its base URL.
pub async fn start_llm_sim(kafka: &KafkaSettings, latency_ms: (u64, u64)) -> String {
    ensure_topics(kafka, &kafka.topics.all())
        .await
        .expect("topics");
    let simulator = SimulatorSettings {
        judge: TextJudge {
            error_rate: 0.02,
            ..TextJudge::default()
        },
        latency_ms,
        duplicate_rate: 0.02,
        seed: 9,
    };
    serve_llm_sim(kafka, simulator)
        .await
        .expect("the simulated provider serves")
        .url
}

/// A running `serve`.
pub struct RunningService {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<anyhow::Result<()>>,
}

impl RunningService {
    pub async fn start(settings: &ServiceSettings) -> RunningService {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(settings.clone(), shutdown.clone()));
        wait_until_ready(&format!("http://{}", settings.http_addr)).await;
        RunningService { shutdown, task }
    }

    /// What SIGTERM does: stop taking messages, finish, store offsets, flush; then wait.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("serve stops within its grace period")
            .expect("serve did not panic")
    }
}

/// Settings for a pipeline on `database_url` with the simulated provider answering after
/// `latency_ms`.
pub async fn pipeline_settings(database_url: &str, latency_ms: (u64, u64)) -> ServiceSettings {
    pipeline_settings_on(database_url, settings_for_test(), latency_ms).await
}

/// [`pipeline_settings`] with the given Kafka settings (another broker, TLS properties).
pub async fn pipeline_settings_on(
    database_url: &str,
    kafka: KafkaSettings,
    latency_ms: (u64, u64),
) -> ServiceSettings {
    let mut settings = service_settings_on(database_url, kafka);
    settings.llm_provider_url = start_llm_sim(&settings.kafka, latency_ms).await;
    settings
}

/// Drives one batch of 20 students (80 comparisons at most) on `scale` through the running
/// service, as `run-eng5` does: the request through the service's own producer, the batch
/// followed to its end (120 s at most).
pub async fn run_one_batch(settings: &ServiceSettings, scale: GradeScale) -> RunOutcome {
    let args = RunArgs {
        settings: settings.clone(),
        scale,
        students: 20,
        request_max_comparisons: 80,
        timeout_secs: 120,
    };
    run_once(&args, false).await.expect("the run ends")
}

/// One batch of `students` new essays for `assignment` (`max_comparisons` at most), its
/// request published as upstream batch `upstream` through the broker, followed until every
/// projection (the assignment's scale too) has seen its end (60 s at most).
pub async fn run_assignment_batch(
    settings: &ServiceSettings,
    pool: &sqlx::PgPool,
    assignment: &str,
    upstream: &str,
    students: usize,
    max_comparisons: u32,
    scale: GradeScale,
) -> RunOutcome {
    use cj_assessment::content::client::ContentClient;
    use cj_assessment::kafka::producer::Publisher;
    use cj_assessment::lab::runner::follow::follow_batch;
    use cj_assessment::lab::runner::request::{publish_request, request_envelope, store_essays};
    let content = ContentClient::for_service(settings).unwrap();
    let publisher = Publisher::new(&settings.kafka).unwrap();
    let essays = store_essays(&content, students, upstream).await.unwrap();
    let request = request_envelope(upstream, assignment, essays, max_comparisons);
    publish_request(&publisher, &settings.kafka, upstream, &request)
        .await
        .unwrap();
    follow_batch(pool, upstream, scale, Duration::from_secs(60), |_, _| {})
        .await
        .expect("the batch ends")
}
