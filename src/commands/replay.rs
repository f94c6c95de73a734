//! `cj-assessment replay`: rebuilds one projection (`--projection NAME`) or all of them from
//! the event log, with progress on stderr and the rate on stdout.

use crate::cli::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use cj_projections::catalogue;
use cj_projections::replay::replay;
use clap::Args;
use std::io::Write;

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
            let report = replay(&pool, projection.as_ref(), |applied, log_size| {
                eprint!("\r{}", progress_bar(name, applied, log_size));
                let _ = std::io::stderr().flush();
            })
            .await?;
            eprintln!();
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

/// Width of the bar in characters.
const BAR_WIDTH: usize = 30;

/// `name [#######.......] applied/total`.
fn progress_bar(name: &str, applied: u64, total: i64) -> String {
    let total = total.max(1) as u64;
    let filled = ((applied.min(total) * BAR_WIDTH as u64) / total) as usize;
    format!(
        "{name:<20} [{}{}] {applied}/{total}",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_progress() {
        assert!(progress_bar("p", 0, 10).contains(&".".repeat(BAR_WIDTH)));
        assert!(progress_bar("p", 10, 10).contains(&"#".repeat(BAR_WIDTH)));
        assert!(progress_bar("p", 20, 10).ends_with("20/10"));
    }
}
