//! `cj-assessment replay`: rebuilds one projection (`--projection NAME`) or all of them from
//! the event log, with progress on stderr and the rate on stdout.

use super::progress::Progress;
use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use cj_projections::catalogue;
use cj_projections::replay::replay;
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
        for projection in projections {
            let name = projection.name();
            let mut progress = Progress::new(name, "events");
            let report = replay(&pool, projection.as_ref(), |applied, log_size| {
                progress.update(applied, log_size.max(0) as u64);
            })
            .await?;
            progress.finish();
            println!(
                "{name}: {} events in {:.2} s ({:.0} events/s)",
                report.events,
                report.elapsed.as_secs_f64(),
                report.events_per_second()
            );
        }
        Ok(())
    })?
}
