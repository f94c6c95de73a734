//! `bench scale`: 1,000 batches requested at once and running side by side through the
//! whole pipeline, the simulated provider answering after a delay like a real LLM's. What
//! it shows: the service's peak resident memory (VmHWM of the `serve` process, next to its
//! peak before the batches arrived) and the callbacks per second it records while they all
//! run — next to `pgbench` measured first on the same server.

use super::anchors::{pgbench_single_row_inserts, PgbenchArgs};
use super::pipeline::Pipeline;
use super::report::{rate_ratio, thousands, Report};
use super::BenchEnvironment;
use crate::content::client::ContentClient;
use crate::lab::harness::llm_sim::serve_llm_sim;
use crate::lab::llm_sim::judge::TextJudge;
use crate::lab::llm_sim::server::SimulatorSettings;
use crate::lab::runner::assignment::register_assignment;
use crate::lab::runner::request::{essays_renamed, request_envelope, store_essays};
use anyhow::Context;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_projections::{batch_states, log};
use clap::Args;
use std::time::{Duration, Instant};

/// How long the whole run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);
/// How often the run looks at how many batches are active.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Args)]
pub struct ScaleArgs {
    #[arg(long, default_value_t = 1_000)]
    pub batches: usize,
    /// Students per batch (the assignment adds its anchors).
    #[arg(long, default_value_t = 10)]
    pub essays: usize,
    /// The request's `max_comparisons`.
    #[arg(long, default_value_t = 40)]
    pub budget: u32,
    /// The provider's shortest and longest answer time (ms).
    #[arg(long, default_value_t = 500)]
    pub latency_min_ms: u64,
    #[arg(long, default_value_t = 2_000)]
    pub latency_max_ms: u64,
    /// The service's `--dispatch-concurrency` for the run.
    #[arg(long, default_value_t = 16)]
    pub dispatch_concurrency: usize,
    #[command(flatten)]
    pub pgbench: PgbenchArgs,
}

pub async fn run(env: &BenchEnvironment, args: &ScaleArgs) -> anyhow::Result<Report> {
    let mut pipeline = Pipeline::prepare(env, "scale").await?;
    let pgbench =
        pgbench_single_row_inserts(&pipeline.db.pool, &pipeline.db.url, args.pgbench).await?;
    let simulator = SimulatorSettings {
        judge: TextJudge::default(),
        latency_ms: (args.latency_min_ms, args.latency_max_ms),
        duplicate_rate: 0.01,
        seed: 3,
    };
    let provider = serve_llm_sim(&pipeline.kafka, simulator).await?;
    let concurrency = args.dispatch_concurrency;
    pipeline
        .start_service(&provider.url, |s| s.dispatch_concurrency = concurrency)
        .await?;
    let assignment = "bench-scale";
    register_assignment(&pipeline.db.pool, assignment, GradeScale::Swedish8Anchor).await?;
    let content = ContentClient::for_service(pipeline.service()?.settings())?;
    let essays = store_essays(&content, args.essays, "scale").await?;
    let idle_kib = pipeline
        .service()?
        .peak_rss_kib()
        .context("the service's memory")?;

    let started = Instant::now();
    let requests = (0..args.batches).map(|index| {
        let upstream = format!(
            "scale-{index}-{}",
            &pipeline.db.name[pipeline.db.name.len() - 8..]
        );
        let request = request_envelope(
            &upstream,
            assignment,
            essays_renamed(&essays, &format!("b{index}")),
            args.budget,
        );
        let (publisher, topic) = (
            pipeline.publisher.clone(),
            pipeline.kafka.topics.requests.clone(),
        );
        async move {
            publisher
                .send(&topic, &upstream, request.to_string().as_bytes(), &[])
                .await
        }
    });
    for sent in futures::future::join_all(requests).await {
        sent?;
    }
    let most_active = watch_until_done(&pipeline, args.batches as i64, started).await?;
    let wall = started.elapsed();
    let peak_kib = pipeline
        .service()?
        .peak_rss_kib()
        .context("the service's memory")?;

    let span = log::callback_span(&pipeline.db.pool).await?;
    let (callbacks, first, last) = (span.callbacks, span.first_recorded, span.last_recorded);
    let recording_seconds = (last - first).num_milliseconds().max(1) as f64 / 1e3;
    let rate = callbacks as f64 / recording_seconds;
    let mib = |kib: u64| format!("{:.0} MiB", kib as f64 / 1024.0);
    let mut report = Report::new(format!(
        "Scale: {} batches at once, provider answering in {}–{} ms",
        thousands(args.batches as f64),
        args.latency_min_ms,
        args.latency_max_ms
    ));
    report
        .compared("peak RSS of serve", mib(peak_kib), format!("before the batches: {}", mib(idle_kib)), format!("+{:.0} KiB per active batch", (peak_kib.saturating_sub(idle_kib)) as f64 / most_active.max(1) as f64))
        .figure("batches active at once (most seen)", thousands(most_active as f64))
        .compared("callbacks/s while they run", thousands(rate), format!("pgbench {} tps ({} clients, {} s)", thousands(pgbench.tps), pgbench.clients, pgbench.seconds), rate_ratio(rate, pgbench.tps, "pgbench"))
        .figure("callbacks recorded", thousands(callbacks as f64))
        .figure("all batches requested → all completed", format!("{:.1} s", wall.as_secs_f64()))
        .note(format!("{} students per batch plus the assignment's anchors, budget {}; {} comparisons sent to the provider at once (--dispatch-concurrency)", args.essays, args.budget, args.dispatch_concurrency));
    pipeline.finish().await?;
    Ok(report)
}

/// Waits until all `batches` ended; returns the most that were active at one look.
async fn watch_until_done(
    pipeline: &Pipeline,
    batches: i64,
    started: Instant,
) -> anyhow::Result<i64> {
    let mut most_active = 0;
    loop {
        let totals = batch_states::totals(&pipeline.db.pool).await?;
        let (registered, ended) = (totals.batches, totals.ended);
        most_active = most_active.max(registered - ended);
        if ended >= batches {
            return Ok(most_active);
        }
        anyhow::ensure!(
            started.elapsed() < RUN_TIMEOUT,
            "{ended} of {batches} batches ended within {RUN_TIMEOUT:?}"
        );
        tokio::time::sleep(WATCH_INTERVAL).await;
    }
}
