//! `bench completion-latency`: 200 batches of 20 essays run through the whole pipeline with
//! the simulated provider answering at once; for each, the time from producing its
//! deciding callback to both completion events (thin and rich) being readable by a
//! consumer. The deciding callback is the last produced of those recorded by the command
//! that completed the batch (the events sharing `BatchCompleted`'s transaction).
//!
//! The anchor, measured in the same run on the same broker and database: the hops the
//! completion path cannot avoid — a message produced and consumed, a durable commit, and a
//! second message produced and consumed.
//!
//! Where the time goes, per batch, split at the two instants the database records: the
//! deciding command's transaction (`BatchCompleted`'s `recorded_at`, its start) and the
//! relay noting the second completion event as acknowledged by the broker
//! (`cj_outbox_published.published_at`). Before the first: the callback's hop to the
//! consumer, the poll window and the command up to its transaction (load, decide — the
//! scoring —, the transaction's start); between them: the append's commit, the outbox
//! projector deriving the messages and the relay producing them; after: the hop to a
//! consumer. The bench's instants are placed on the database's clock by this machine's
//! wall clock, so the steps assume the database runs here (the bench's default).

use super::anchors::ANCHOR_TABLE;
use super::pipeline::Pipeline;
use super::report::{millis, quantile, time_ratio, Report};
use super::BenchEnvironment;
use crate::content::client::ContentClient;
use crate::kafka::admin::ensure_topics;
use crate::kafka::topic_reader::assigned_reader;
use crate::lab::harness::llm_sim::serve_llm_sim_into;
use crate::lab::llm_sim::judge::TextJudge;
use crate::lab::llm_sim::kafka_sink::KafkaCallbackSink;
use crate::lab::llm_sim::server::{CallbackSink, SimulatorSettings};
use crate::lab::runner::assignment::register_assignment;
use crate::lab::runner::request::{essays_renamed, request_envelope, store_essays};
use anyhow::Context;
use async_trait::async_trait;
use cj_aggregates::stats::grade_scale::GradeScale;
use clap::Args;
use rdkafka::message::Message;
use rdkafka::Offset;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Samples of the anchor.
const ANCHOR_SAMPLES: usize = 200;
/// How long one batch may take before the run gives up.
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Args)]
pub struct CompletionLatencyArgs {
    #[arg(long, default_value_t = 200)]
    pub batches: usize,
    /// Students per batch (the assignment adds its anchors).
    #[arg(long, default_value_t = 20)]
    pub essays: usize,
    /// The request's `max_comparisons`.
    #[arg(long, default_value_t = 60)]
    pub budget: u32,
    /// Batches running at once.
    #[arg(long, default_value_t = 10)]
    pub in_flight: usize,
}

/// When each message of interest became available: first acknowledgement of a callback by
/// correlation id, first receipt of a completion event by (topic, key); and one instant
/// with its wall-clock time, to place them against the database's timestamps.
struct Times {
    callbacks: Mutex<HashMap<String, Instant>>,
    completions: Mutex<HashMap<(String, String), Instant>>,
    epoch: (Instant, SystemTime),
}

impl Default for Times {
    fn default() -> Self {
        Times {
            callbacks: Mutex::default(),
            completions: Mutex::default(),
            epoch: (Instant::now(), SystemTime::now()),
        }
    }
}

impl Times {
    /// `at` as µs since the Unix epoch (the database's clock is this machine's).
    fn wall_micros(&self, at: Instant) -> f64 {
        let (instant, wall) = self.epoch;
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        since_unix.as_secs_f64() * 1e6
            + (at.saturating_duration_since(instant).as_secs_f64()
                - instant.saturating_duration_since(at).as_secs_f64())
                * 1e6
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The simulated provider's sink, noting when the broker acknowledged each callback.
struct TimedSink {
    inner: KafkaCallbackSink,
    times: Arc<Times>,
}

#[async_trait]
impl CallbackSink for TimedSink {
    async fn publish(&self, topic: &str, key: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.inner.publish(topic, key, payload).await?;
        lock(&self.times.callbacks)
            .entry(key.to_string())
            .or_insert_with(Instant::now);
        Ok(())
    }
}

pub async fn run(env: &BenchEnvironment, args: &CompletionLatencyArgs) -> anyhow::Result<Report> {
    let mut pipeline = Pipeline::prepare(env, "latency").await?;
    let times = Arc::new(Times::default());
    let sink = Arc::new(TimedSink {
        inner: KafkaCallbackSink::new(pipeline.publisher.clone()),
        times: Arc::clone(&times),
    });
    let simulator = SimulatorSettings {
        judge: TextJudge::default(),
        latency_ms: (0, 0),
        duplicate_rate: 0.01,
        seed: 5,
    };
    let provider = serve_llm_sim_into(&pipeline.kafka, simulator, sink).await?;
    pipeline.start_service(&provider.url, |_| {}).await?;
    let anchor = hop_anchor(&pipeline).await?;

    tokio::spawn(watch_completions(
        pipeline.kafka.clone(),
        Arc::clone(&times),
    ));
    let assignment = "bench-latency";
    register_assignment(&pipeline.db.pool, assignment, GradeScale::Swedish8Anchor).await?;
    let content = ContentClient::for_service(pipeline.service()?.settings())?;
    let essays = store_essays(&content, args.essays, "latency").await?;

    let upstream_ids: Vec<String> = (0..args.batches)
        .map(|i| format!("latency-{i}-{}", Uuid::new_v4().simple()))
        .collect();
    let mut running: Vec<(String, Instant)> = Vec::new();
    let mut next = 0;
    let started = Instant::now();
    while next < upstream_ids.len() || !running.is_empty() {
        while running.len() < args.in_flight.max(1) && next < upstream_ids.len() {
            let upstream = &upstream_ids[next];
            let request = request_envelope(
                upstream,
                assignment,
                essays_renamed(&essays, &format!("b{next}")),
                args.budget,
            );
            pipeline
                .publisher
                .send(
                    &pipeline.kafka.topics.requests,
                    upstream,
                    request.to_string().as_bytes(),
                    &[],
                )
                .await?;
            running.push((upstream.clone(), Instant::now()));
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let done = completed_keys(&times, &pipeline);
        for (upstream, since) in &running {
            anyhow::ensure!(since.elapsed() < BATCH_TIMEOUT || done.contains(upstream), "batch {upstream} did not complete within {BATCH_TIMEOUT:?} (log: see the service log)");
        }
        running.retain(|(upstream, _)| !done.contains(upstream));
    }
    let wall = started.elapsed();

    // Each completed batch's deciding callbacks, read once for both cuts.
    let deciding: HashMap<String, Vec<Uuid>> =
        cj_projections::log::deciding_callbacks(&pipeline.db.pool)
            .await?
            .into_iter()
            .collect();
    let latencies = latencies(&pipeline, &times, &deciding, &upstream_ids)?;
    let steps = steps(&pipeline, &times, &deciding, &upstream_ids).await?;
    let (p50, p99, max) = (
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        quantile(&latencies, 1.0),
    );
    let (anchor50, anchor99) = (quantile(&anchor, 0.5), quantile(&anchor, 0.99));
    let mut report = Report::new(format!(
        "Completion latency: {} batches × {} essays, llm-sim with zero latency",
        args.batches, args.essays
    ));
    report
        .compared("deciding callback produced → both completion events consumable, p50", millis(p50), format!("hop + commit + hop p50 {}", millis(anchor50)), time_ratio(p50, anchor50))
        .compared("… p99", millis(p99), format!("p99 {}", millis(anchor99)), time_ratio(p99, anchor99))
        .figure("… max", millis(max))
        .figure("… of which callback acknowledged → deciding command's transaction, p50 / p99", steps.to_command.summary())
        .figure("… of which that transaction → both completion events acknowledged to the relay, p50 / p99", steps.to_published.summary())
        .figure("… of which acknowledged → read by a consumer, p50 / p99", steps.to_read.summary())
        .figure("… batches in the steps (both events noted as published)", steps.to_read.0.len().to_string())
        .figure("batches per second (whole runs)", format!("{:.1}", args.batches as f64 / wall.as_secs_f64()))
        .note(format!(
            "{} batches measured; {} in flight at a time; budget {} per batch; fetch.wait.max.ms = {} (Tansu answers a fetch only when it expires, so each hop costs up to that); {ANCHOR_SAMPLES} anchor samples",
            latencies.len(), args.in_flight, args.budget, super::pipeline::FETCH_WAIT_MS
        ));
    pipeline.finish().await?;
    Ok(report)
}

/// Upstream ids whose thin and rich completion events have both been read.
fn completed_keys(times: &Times, pipeline: &Pipeline) -> std::collections::HashSet<String> {
    let topics = &pipeline.kafka.topics;
    let completions = lock(&times.completions);
    completions
        .keys()
        .filter(|(topic, _)| *topic == topics.completed)
        .filter(|(_, key)| completions.contains_key(&(topics.results.clone(), key.clone())))
        .map(|(_, key)| key.clone())
        .collect()
}

/// Reads the completion topics from their start, noting when each message arrived.
async fn watch_completions(
    kafka: crate::config::KafkaSettings,
    times: Arc<Times>,
) -> anyhow::Result<()> {
    let reader = assigned_reader(
        &kafka,
        &[&kafka.topics.completed, &kafka.topics.results],
        Offset::Beginning,
    )?;
    loop {
        let message = reader.recv().await?;
        let arrived = Instant::now();
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        lock(&times.completions)
            .entry((message.topic().to_string(), key))
            .or_insert(arrived);
    }
}

/// Per batch: both completion events read − its deciding callback acknowledged, in ms.
fn latencies(
    pipeline: &Pipeline,
    times: &Times,
    deciding: &HashMap<String, Vec<Uuid>>,
    upstream_ids: &[String],
) -> anyhow::Result<Vec<f64>> {
    let callbacks = lock(&times.callbacks);
    let completions = lock(&times.completions);
    let topics = &pipeline.kafka.topics;
    let mut latencies = Vec::new();
    for (upstream, correlation_ids) in deciding {
        if !upstream_ids.contains(upstream) {
            continue;
        }
        let (produced, read) = ends(&callbacks, &completions, topics, upstream, correlation_ids);
        let produced =
            produced.with_context(|| format!("no acknowledged callback for batch {upstream}"))?;
        let read =
            read.with_context(|| format!("completion events of {upstream} were not read"))?;
        latencies.push(read.saturating_duration_since(produced).as_secs_f64() * 1e3);
    }
    anyhow::ensure!(
        latencies.len() == upstream_ids.len(),
        "{} of {} batches completed by a callback",
        latencies.len(),
        upstream_ids.len()
    );
    Ok(latencies)
}

/// A batch's two ends: the last of its deciding callbacks (`correlation_ids`) acknowledged,
/// and the later of its thin and rich completion events read.
fn ends(
    callbacks: &HashMap<String, Instant>,
    completions: &HashMap<(String, String), Instant>,
    topics: &crate::config::TopicNames,
    upstream: &str,
    correlation_ids: &[Uuid],
) -> (Option<Instant>, Option<Instant>) {
    let produced = correlation_ids
        .iter()
        .filter_map(|id| callbacks.get(&id.to_string()))
        .max()
        .copied();
    let read = [&topics.completed, &topics.results]
        .iter()
        .map(|topic| completions.get(&((*topic).clone(), upstream.to_string())))
        .collect::<Option<Vec<_>>>()
        .and_then(|both| both.into_iter().max())
        .copied();
    (produced, read)
}

/// Each batch's completion latency cut at the database's two timestamps, in ms.
#[derive(Default)]
struct Steps {
    to_command: Samples,
    to_published: Samples,
    to_read: Samples,
}

/// One step's durations over the batches, in ms.
#[derive(Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn summary(&self) -> String {
        format!(
            "{} / {}",
            millis(quantile(&self.0, 0.5)),
            millis(quantile(&self.0, 0.99))
        )
    }
}

/// [`Steps`] of every batch of the run (see the module doc for what each step holds).
async fn steps(
    pipeline: &Pipeline,
    times: &Times,
    deciding: &HashMap<String, Vec<Uuid>>,
    upstream_ids: &[String],
) -> anyhow::Result<Steps> {
    let topics_of_both = vec![
        cj_contracts::topics::CJ_ASSESSMENT_COMPLETED.to_string(),
        cj_contracts::topics::ASSESSMENT_RESULT_PUBLISHED.to_string(),
    ];
    let recorded = cj_projections::log::completions_recorded(&pipeline.db.pool).await?;
    let mut conn = pipeline.db.pool.acquire().await?;
    let published: HashMap<Uuid, f64> =
        crate::outbox_relay::rows::published_by_batch(&mut conn, &topics_of_both)
            .await?
            .into_iter()
            .collect();
    let callbacks = lock(&times.callbacks);
    let completions = lock(&times.completions);
    let topics = &pipeline.kafka.topics;
    let mut steps = Steps::default();
    for (upstream, batch_id, committed) in recorded {
        let Some(&published) = published.get(&batch_id) else {
            continue;
        };
        if !upstream_ids.contains(&upstream) {
            continue;
        }
        let ids = deciding.get(&upstream).map_or(&[][..], Vec::as_slice);
        let (Some(produced), Some(read)) = ends(&callbacks, &completions, topics, &upstream, ids)
        else {
            continue;
        };
        let (produced, read) = (times.wall_micros(produced), times.wall_micros(read));
        steps.to_command.0.push((committed - produced) / 1e3);
        steps.to_published.0.push((published - committed) / 1e3);
        steps.to_read.0.push((read - published) / 1e3);
    }
    Ok(steps)
}

/// The floor of the completion path, [`ANCHOR_SAMPLES`] times: produce and consume a
/// message, commit a row durably, produce and consume another; in ms.
async fn hop_anchor(pipeline: &Pipeline) -> anyhow::Result<Vec<f64>> {
    let topic = format!("{}.anchor", pipeline.kafka.topics.callbacks);
    ensure_topics(&pipeline.kafka, std::slice::from_ref(&topic)).await?;
    sqlx::query(ANCHOR_TABLE).execute(&pipeline.db.pool).await?;
    // The topic is the run's own, so it is read from its start; a first message proves the
    // reader has joined before anything is timed.
    let reader = assigned_reader(&pipeline.kafka, &[&topic], Offset::Beginning)?;
    hop(pipeline, &reader, &topic, "warm-up").await?;
    let mut samples = Vec::with_capacity(ANCHOR_SAMPLES);
    for sample in 0..ANCHOR_SAMPLES {
        let started = Instant::now();
        hop(pipeline, &reader, &topic, &format!("{sample}-callback")).await?;
        sqlx::query(super::anchors::INSERT)
            .execute(&pipeline.db.pool)
            .await?;
        hop(pipeline, &reader, &topic, &format!("{sample}-completion")).await?;
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    Ok(samples)
}

/// Produces a message keyed `key` and waits until `reader` has read it.
async fn hop(
    pipeline: &Pipeline,
    reader: &rdkafka::consumer::StreamConsumer,
    topic: &str,
    key: &str,
) -> anyhow::Result<()> {
    pipeline.publisher.send(topic, key, b"anchor", &[]).await?;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), reader.recv())
            .await
            .context("the anchor's message never arrived")??;
        if message.key() == Some(key.as_bytes()) {
            return Ok(());
        }
    }
}
