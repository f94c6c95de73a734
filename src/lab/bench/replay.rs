//! `bench replay`: rebuilds every projection from a log of a million events and reports
//! events per second, per projection and for all of them together (one read of the log, as
//! `cj-assessment replay` does). The anchor is reading the same log through the same
//! cursor, in the same chunks, decoding every event but applying none: no replay can be
//! faster than reading its input.

use super::report::{rate_ratio, thousands, Report};
use super::scratch_database::ScratchDatabase;
use super::synthetic_log::{reissued, templates, wait_until_readable, write};
use super::BenchEnvironment;
use cj_aggregates::ids::BatchId;
use cj_projections::log::{read_final_after, LogPosition};
use cj_projections::replay::{replay, replay_together, REPLAY_CHUNK_SIZE};
use clap::Args;
use std::time::Instant;
use uuid::Uuid;

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Events in the log (rounded up to whole batches).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// Distinct template batches the log is made of.
    #[arg(long, default_value_t = 32)]
    pub templates: usize,
    /// Students per batch (plus 4 anchors).
    #[arg(long, default_value_t = 20)]
    pub students: usize,
    /// Comparison budget per batch.
    #[arg(long, default_value_t = 100)]
    pub budget: u32,
}

pub async fn run(env: &BenchEnvironment, args: &ReplayArgs) -> anyhow::Result<Report> {
    let db = ScratchDatabase::create(&env.database_url, "replay", env.keep_database).await?;
    let seeding = Instant::now();
    let templates = templates(args.templates.max(1), args.students, args.budget).await?;
    let (mut events, mut batches) = (0usize, 0usize);
    while events < args.events {
        let template = &templates[batches % templates.len()];
        let rows = reissued(template, BatchId(Uuid::new_v4()), usize::MAX, None)?;
        events += rows.len();
        batches += 1;
        write(&db.pool, &rows).await?;
    }
    eprintln!(
        "seeded {events} events of {batches} batches in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    wait_until_readable(&db.pool).await?;
    let read_rate = read_whole_log(&db).await?;
    let mut report = Report::new(format!(
        "Replay: {} events → every projection",
        thousands(events as f64)
    ));
    let mut one_by_one_seconds = 0.0;
    for projection in cj_projections::catalogue::all() {
        let replayed = replay(&db.pool, projection.as_ref(), |_, _| {}).await?;
        ensure_whole_log(replayed.projection, replayed.events, events)?;
        one_by_one_seconds += replayed.elapsed.as_secs_f64();
        let rate = replayed.events_per_second();
        report.compared(
            format!("{} events/s", replayed.projection),
            thousands(rate),
            format!("read {}/s", thousands(read_rate)),
            rate_ratio(rate, read_rate, "the read"),
        );
    }
    let together = replay_together(&db.pool, cj_projections::catalogue::all(), |_, _| {}).await?;
    ensure_whole_log(together.projection, together.events, events)?;
    let overall = together.events_per_second();
    let one_by_one = events as f64 / one_by_one_seconds;
    report
        .compared(
            "all projections together, events/s of log",
            thousands(overall),
            format!("read {}/s", thousands(read_rate)),
            rate_ratio(overall, read_rate, "the read"),
        )
        .figure(
            "all projections together, total time",
            format!("{:.1} s", together.elapsed.as_secs_f64()),
        )
        .compared(
            "all projections one after another, events/s of log",
            thousands(one_by_one),
            format!("read {}/s", thousands(read_rate)),
            rate_ratio(one_by_one, read_rate, "the read"),
        )
        .note(format!(
            "{batches} batches of {} students + 4 anchors, budget {}, from {} templates; chunks of {REPLAY_CHUNK_SIZE} events; together: one read of the log feeding every projection's rebuild, as `cj-assessment replay` does",
            args.students, args.budget, templates.len()
        ));
    db.finish().await?;
    Ok(report)
}

/// Events per second of reading and decoding the whole log in replay's chunks.
async fn read_whole_log(db: &ScratchDatabase) -> anyhow::Result<f64> {
    let started = Instant::now();
    let (mut position, mut read) = (LogPosition::default(), 0usize);
    loop {
        let chunk = read_final_after(&db.pool, position, REPLAY_CHUNK_SIZE).await?;
        let Some(last) = chunk.last() else { break };
        position = last.position;
        read += chunk.len();
    }
    Ok(read as f64 / started.elapsed().as_secs_f64())
}

fn ensure_whole_log(projection: &str, replayed: u64, events: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        replayed as usize == events,
        "{projection} replayed {replayed} of {events} events"
    );
    Ok(())
}
