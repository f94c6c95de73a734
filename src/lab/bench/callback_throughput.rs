//! `bench callback-throughput`: how many callbacks per second the service takes from the
//! broker through the aggregate into every projection. Batches are registered with their
//! whole budget planned as one wave and submitted, and projected before the service starts
//! (the figure is what callbacks cost, not the setup's events); every callback is produced to the
//! callback topic before the service starts, so the run measures the service draining a
//! full topic. The rate runs from the first callback recorded to the moment the last
//! projector committed the last event (both on the database's clock). The anchor, run
//! first on the same server: `pgbench`, durable single-row inserts from 8 clients for 15 s.

use super::anchors::{pgbench_single_row_inserts, PgbenchArgs};
use super::pipeline::Pipeline;
use super::report::{millis, rate_ratio, thousands, Report};
use super::scraped::counter;
use super::BenchEnvironment;
use crate::lab::llm_sim::judge::TextVerdict;
use crate::lab::llm_sim::server::callback_envelope;
use crate::store::{BatchCommandBus, CommandMetadata};
use anyhow::Context;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::{CloseIntake, EssayRef, RegisterBatch, SubmitPairs};
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::{BatchId, CorrelationId, EssayId};
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_projections::{batch_states, checkpoint, lag, log};
use clap::Args;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Callbacks produced at once while filling the topic.
const PRODUCE_AT_ONCE: usize = 500;
/// How long the service may take to drain the topic.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Args)]
pub struct CallbackThroughputArgs {
    #[arg(long, default_value_t = 200)]
    pub batches: usize,
    /// Students per batch.
    #[arg(long, default_value_t = 24)]
    pub essays: usize,
    /// Comparisons (and so callbacks) per batch.
    #[arg(long, default_value_t = 100)]
    pub comparisons: u32,
    #[command(flatten)]
    pub pgbench: PgbenchArgs,
}

pub async fn run(env: &BenchEnvironment, args: &CallbackThroughputArgs) -> anyhow::Result<Report> {
    let mut pipeline = Pipeline::prepare(env, "throughput").await?;
    let pgbench =
        pgbench_single_row_inserts(&pipeline.db.pool, &pipeline.db.url, args.pgbench).await?;

    let bus = BatchCommandBus::new(pipeline.db.pool.clone());
    let mut planned = Vec::new();
    for index in 0..args.batches {
        planned.extend(open_batch(&bus, index, args).await?);
    }
    // The batches' registration and planning are projected here first: the run measures
    // what callbacks cost, not the setup's events.
    pipeline.db.project_everything().await?;
    let filling = Instant::now();
    for chunk in planned.chunks(PRODUCE_AT_ONCE) {
        let sends = chunk.iter().map(|(batch_id, correlation_id)| {
            let payload = verdict_payload(*batch_id, *correlation_id);
            let key = correlation_id.to_string();
            let topic = pipeline.kafka.topics.callbacks.clone();
            let publisher = pipeline.publisher.clone();
            async move { publisher.send(&topic, &key, &payload, &[]).await }
        });
        for sent in futures::future::join_all(sends).await {
            sent?;
        }
    }
    eprintln!(
        "produced {} callbacks in {:.1} s",
        planned.len(),
        filling.elapsed().as_secs_f64()
    );

    // Nothing is dispatched: every comparison is submitted already.
    pipeline
        .start_service("http://127.0.0.1:9", |s| s.dispatch_concurrency = 1)
        .await?;
    let drained = drained(&pipeline, planned.len() as i64, args.batches as i64).await?;
    let seconds = (drained.projected_at - drained.first_recorded).num_milliseconds() as f64 / 1e3;
    let rate = planned.len() as f64 / seconds;
    let metrics = reqwest::get(format!("{}/metrics", pipeline.base_url()?))
        .await?
        .text()
        .await?;
    let (from_cache, from_log) = (
        counter(&metrics, "cj_aggregate_loads_total", "source", "cache"),
        counter(&metrics, "cj_aggregate_loads_total", "source", "log"),
    );

    let mut report = Report::new(format!(
        "Callback throughput: {} batches × {} callbacks",
        args.batches, args.comparisons
    ));
    report
        .compared(
            "callbacks/s, broker → aggregate → all projections current",
            thousands(rate),
            format!("pgbench {} tps ({} clients, {} s)", thousands(pgbench.tps), pgbench.clients, pgbench.seconds),
            rate_ratio(rate, pgbench.tps, "pgbench"),
        )
        .figure("callbacks", thousands(planned.len() as f64))
        .figure("drain time", format!("{seconds:.2} s"))
        .figure(
            "of which recording (first → last callback in the log)",
            format!("{:.2} s", (drained.last_recorded - drained.first_recorded).num_milliseconds() as f64 / 1e3),
        )
        .figure("callbacks per RecordCallbacks command", format!("{:.1}", planned.len() as f64 / drained.commands.max(1) as f64))
        .figure("commands decided on cached state", format!("{:.1} %", 100.0 * from_cache / (from_cache + from_log).max(1.0)))
        .note(format!(
            "every batch: {} students, one wave of {} comparisons, completed (scored, graded, outbox derived) within the run; pgbench latency {}",
            args.essays, args.comparisons, millis(pgbench.latency_ms)
        ));
    pipeline.finish().await?;
    Ok(report)
}

/// Registers batch `index` with one wave holding its whole budget, submits the wave, and
/// returns its comparisons.
async fn open_batch(
    bus: &BatchCommandBus,
    index: usize,
    args: &CallbackThroughputArgs,
) -> anyhow::Result<Vec<(BatchId, CorrelationId)>> {
    let batch_id = BatchId(Uuid::new_v4());
    let mut settings = BatchSettings::with_budget(
        ComparisonBudget::new(args.comparisons).context("--comparisons")?,
    );
    settings.wave_size = Some(args.comparisons);
    settings.stop_when_stable = false;
    settings.seed = index as u64;
    let essays = (0..args.essays)
        .map(|i| {
            Ok(EssayRef {
                essay_id: EssayId::parse(format!("essay-{i}"))?,
                text_storage_id: format!("text-{index}-{i}"),
                content_sha256: format!("{i:064x}"),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let metadata = CommandMetadata::new(Uuid::new_v4(), "bench");
    let register = CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        upstream_batch_id: format!("bench-{batch_id}"),
        request_correlation_id: Uuid::new_v4(),
        user_id: "bench".into(),
        ..RegisterBatch::new(batch_id, Uuid::new_v4(), essays, settings)
    }));
    bus.execute(batch_id, register, &metadata).await?;
    let planned: Vec<CorrelationId> = bus
        .execute_decided(
            batch_id,
            CjBatchCommand::CloseIntake(CloseIntake { anchors: vec![] }),
            &metadata,
        )
        .await?
        .into_iter()
        .filter_map(|event| match event {
            CjBatchEvent::WavePlanned(wave) => Some(wave.comparisons),
            _ => None,
        })
        .flatten()
        .map(|c| c.correlation_id)
        .collect();
    bus.execute(
        batch_id,
        CjBatchCommand::SubmitPairs(SubmitPairs {
            correlation_ids: planned.clone(),
            prompt_hash: "bench".into(),
        }),
        &metadata,
    )
    .await?;
    Ok(planned.into_iter().map(|id| (batch_id, id)).collect())
}

/// A provider's verdict on comparison `correlation_id` of `batch_id`, as the wire carries it.
fn verdict_payload(batch_id: BatchId, correlation_id: CorrelationId) -> Vec<u8> {
    let metadata: Map<String, Value> = json!({"cj_batch_id": batch_id.to_string(), "cj_source": "els", "cj_request_type": "cj_comparison"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let verdict = if correlation_id.0.as_bytes()[0] % 2 == 0 {
        TextVerdict::EssayA { confidence: 4.0 }
    } else {
        TextVerdict::EssayB { confidence: 3.0 }
    };
    let envelope = callback_envelope(
        correlation_id.0,
        metadata,
        "bench".into(),
        Uuid::new_v4(),
        verdict,
        0,
        Utc::now(),
    );
    serde_json::to_vec(&envelope).unwrap_or_default()
}

struct Drained {
    first_recorded: DateTime<Utc>,
    last_recorded: DateTime<Utc>,
    projected_at: DateTime<Utc>,
    commands: i64,
}

/// Waits until every callback is recorded, every batch terminal and every projector
/// current; returns when the first callback was recorded and the last projector committed.
async fn drained(pipeline: &Pipeline, callbacks: i64, batches: i64) -> anyhow::Result<Drained> {
    let pool = &pipeline.db.pool;
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let totals = batch_states::totals(pool).await?;
        let (resolved, terminal) = (totals.resolved_comparisons, totals.ended);
        if resolved >= callbacks && terminal >= batches && lag::total_lag(pool).await? == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the service did not drain the topic within {DRAIN_TIMEOUT:?} ({resolved} of {callbacks} recorded, {terminal} of {batches} batches ended)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let span = log::callback_span(pool).await?;
    let projected_at = checkpoint::last_advanced_at(pool)
        .await?
        .context("no projector has a checkpoint")?;
    Ok(Drained {
        first_recorded: span.first_recorded,
        last_recorded: span.last_recorded,
        projected_at,
        commands: span.commands,
    })
}
