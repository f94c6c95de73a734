//! `cj-assessment replay`: rebuilds one projection (`--projection NAME`) or all of them
//! together from one read of the event log, with progress on stderr and the rate on stdout.
//! `--online` rebuilds each into shadow tables while the live ones serve, then switches
//! (`cj_projections::rebuild`).

use super::progress::Progress;
use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use cj_projections::catalogue;
use cj_projections::rebuild::rebuild_online;
use cj_projections::replay::{replay_together, ReplayReport};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Rebuild only this projection (cj_batch_states, cj_comparison_pairs, cj_essays,
    /// grade_projections, cj_dispatch_queue, cj_outbox); default: all.
    #[arg(long)]
    pub projection: Option<String>,
    /// Rebuild into shadow tables while the live tables serve and the service runs, then
    /// switch them in (one projection after another); without it, the rebuilt tables are
    /// locked until the rebuild commits.
    #[arg(long)]
    pub online: bool,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    block_on(async {
        let pool = connect_and_migrate(&args.database.database_url).await?;
        let projections = match &args.projection {
            Some(name) => vec![catalogue::named(name)?],
            None => catalogue::all(),
        };
        if args.online {
            for projection in projections {
                let mut progress = Progress::new(projection.name(), "events");
                let report = rebuild_online(&pool, projection.as_ref(), |applied, _| {
                    progress.update(applied, applied);
                })
                .await?;
                progress.finish();
                print_report(projection.name(), &report);
            }
            return Ok(());
        }
        let names = projections
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", ");
        let mut progress = Progress::new("replay", "events");
        let report = replay_together(&pool, projections, |read, log_size| {
            progress.update(read, log_size.max(0) as u64);
        })
        .await?;
        progress.finish();
        print_report(&names, &report);
        Ok(())
    })?
}

fn print_report(names: &str, report: &ReplayReport) {
    println!(
        "{names}: {} events in {:.2} s ({:.0} events/s)",
        report.events,
        report.elapsed.as_secs_f64(),
        report.events_per_second()
    );
}
