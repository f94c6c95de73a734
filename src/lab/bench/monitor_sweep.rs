//! `bench monitor-sweep`: 10,000 batches in the projections, 1,000 of them stuck (idle for
//! five hours, half past the 80 % recovery threshold, half below it); the time of one
//! sweep, recovery commands included. The anchor is the floor of any such sweep: as many
//! durable single-row commits as there are stuck batches, at the sweep's concurrency.

use super::anchors::durable_commits;
use super::report::{millis, thousands, time_ratio, Report};
use super::scratch_database::ScratchDatabase;
use super::synthetic_log::{reissued, templates, write, Template};
use super::BenchEnvironment;
use crate::clock::SystemClock;
use crate::monitor::sweep::{sweep_once, SweepSettings};
use crate::store::BatchCommandBus;
use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use clap::Args;
use std::time::Instant;
use uuid::Uuid;

/// The sweep's command concurrency (`monitor::sweep`), matched by the anchor.
const SWEEP_CONCURRENCY: usize = 8;
/// Progress of the stuck batches that are recovered, of those that fail, and of the
/// active ones.
const RECOVERABLE: f64 = 0.85;
const UNRECOVERABLE: f64 = 0.5;
const ACTIVE: f64 = 0.5;

#[derive(Debug, Clone, Args)]
pub struct MonitorSweepArgs {
    #[arg(long, default_value_t = 10_000)]
    pub batches: usize,
    #[arg(long, default_value_t = 1_000)]
    pub stuck: usize,
    #[arg(long, default_value_t = 16)]
    pub templates: usize,
}

pub async fn run(env: &BenchEnvironment, args: &MonitorSweepArgs) -> anyhow::Result<Report> {
    let db = ScratchDatabase::create(&env.database_url, "monitor", env.keep_database).await?;
    let templates = templates(args.templates.max(1), 20, 100).await?;
    let stuck_since = chrono::Utc::now() - chrono::Duration::hours(5);
    let seeding = Instant::now();
    let mut rows = Vec::new();
    for index in 0..args.batches {
        let template = &templates[index % templates.len()];
        let stuck = index < args.stuck;
        let progress = match (stuck, index % 2) {
            (true, 0) => RECOVERABLE,
            (true, _) => UNRECOVERABLE,
            (false, _) => ACTIVE,
        };
        let recorded_at = stuck.then_some(stuck_since);
        rows.extend(reissued(
            template,
            BatchId(Uuid::new_v4()),
            mid_wave_cut(template, progress),
            recorded_at,
        )?);
        if rows.len() >= 20_000 {
            write(&db.pool, &rows).await?;
            rows.clear();
        }
    }
    write(&db.pool, &rows).await?;
    eprintln!(
        "seeded {} batches in {:.1} s",
        args.batches,
        seeding.elapsed().as_secs_f64()
    );
    let projecting = Instant::now();
    let events = db.project_everything().await?;
    eprintln!(
        "projected {events} events in {:.1} s",
        projecting.elapsed().as_secs_f64()
    );

    let bus = BatchCommandBus::new(db.pool.clone());
    let settings = SweepSettings::default();
    let started = Instant::now();
    let swept = sweep_once(&db.pool, &bus, &SystemClock, &settings).await?;
    let sweep_ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        swept.stuck == args.stuck && swept.recovered + swept.failed == args.stuck,
        "the sweep found {swept:?}, expected {} stuck",
        args.stuck
    );
    db.project_everything().await?;
    let started = Instant::now();
    let idle = sweep_once(&db.pool, &bus, &SystemClock, &settings).await?;
    let query_ms = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(idle.stuck == 0, "a second sweep found {idle:?}");
    let floor_ms = durable_commits(&db.pool, args.stuck, SWEEP_CONCURRENCY)
        .await?
        .as_secs_f64()
        * 1e3;

    let mut report = Report::new(format!(
        "Monitor sweep: {} batches, {} stuck",
        thousands(args.batches as f64),
        thousands(args.stuck as f64)
    ));
    report
        .compared(
            "one sweep incl. recovery commands",
            millis(sweep_ms),
            format!("{} durable commits ×{SWEEP_CONCURRENCY}: {}", args.stuck, millis(floor_ms)),
            time_ratio(sweep_ms, floor_ms),
        )
        .figure("per stuck batch", millis(sweep_ms / args.stuck.max(1) as f64))
        .figure("a sweep finding nothing (the query alone)", millis(query_ms))
        .note(format!(
            "{} recovered (COMPLETE_FORCED_RECOVERY), {} failed (below 80 %); each recovery loads the batch's log (cold cache), scores and grades it, and appends its events",
            swept.recovered, swept.failed
        ));
    db.finish().await?;
    Ok(report)
}

/// How many of the template's events a batch at `progress` (resolved ÷ planned) has: cut
/// just after a callback that another callback follows, so the cut is a state the batch
/// really passes through (a wave's last callback plans the next wave in the same command).
fn mid_wave_cut(template: &Template, progress: f64) -> usize {
    let (mut planned, mut resolved) = (0usize, 0usize);
    let events = &template.events;
    for (index, event) in events.iter().enumerate() {
        match event {
            CjBatchEvent::WavePlanned(wave) => planned += wave.comparisons.len(),
            CjBatchEvent::ComparisonRetried(_) => planned += 1,
            CjBatchEvent::ComparisonRecorded(_) | CjBatchEvent::ComparisonFailed(_) => {
                resolved += 1;
                let next_is_callback = matches!(
                    events.get(index + 1),
                    Some(CjBatchEvent::ComparisonRecorded(_) | CjBatchEvent::ComparisonFailed(_))
                );
                if next_is_callback && resolved as f64 >= progress * planned as f64 {
                    return index + 1;
                }
            }
            _ => {}
        }
    }
    events.len()
}
