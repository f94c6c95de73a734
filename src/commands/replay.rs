//! `cj-assessment replay`: rebuilds one projection (`--projection NAME`) or all of them
//! together from one read of the event log, with progress on stderr and the rate on stdout.

use super::progress::Progress;
use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use cj_projections::catalogue;
use cj_projections::replay::replay_together;
use clap::Args;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Rebuild only this projection (cj_batch_states, cj_comparison_pairs, cj_essays,
    /// grade_projections, cj_dispatch_queue, cj_outbox); default: all.
    #[arg(long)]
    pub projection: Option<String>,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    block_on(async {
        let pool = connect_and_migrate(&args.database.database_url).await?;
        let projections = match &args.projection {
            Some(name) => vec![catalogue::named(name)?],
            None => catalogue::all(),
        };
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
        println!(
            "{names}: {} events in {:.2} s ({:.0} events/s)",
            report.events,
            report.elapsed.as_secs_f64(),
            report.events_per_second()
        );
        Ok(())
    })?
}
