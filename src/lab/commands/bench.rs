//! `cj-assessment bench <name>`: runs one benchmark (or `all`) and prints its report — the
//! machine, then a Markdown table of figures, anchors measured in the same run, and ratios.

use crate::commands::block_on;
use crate::lab::bench::{self, BenchEnvironment};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub bench: BenchName,
    #[command(flatten)]
    pub environment: BenchEnvironment,
}

#[derive(Debug, Clone, Subcommand)]
pub enum BenchName {
    /// Bradley–Terry fit, ours against choix (needs python3 with choix).
    BtFit(bench::bt_fit::BtFitArgs),
    /// The reference estimator (sirt::btm) with 100 split halves on the largest real CJ
    /// session, next to choix (needs python3 with choix and ../shared/datasets).
    ReferenceFit(bench::reference_fit::ReferenceFitArgs),
    /// Rebuild every projection from a log of a million events.
    Replay(bench::replay::ReplayArgs),
    /// One monitor sweep over 10,000 batches, 1,000 of them stuck.
    MonitorSweep(bench::monitor_sweep::MonitorSweepArgs),
    /// Callbacks per second, broker → aggregate → every projection, next to pgbench.
    CallbackThroughput(bench::callback_throughput::CallbackThroughputArgs),
    /// Deciding callback → both completion events consumable, next to two broker hops and
    /// a commit.
    CompletionLatency(bench::completion_latency::CompletionLatencyArgs),
    /// 1,000 batches at once: peak memory and callbacks per second.
    Scale(bench::scale::ScaleArgs),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let environment = &args.environment;
    let report = match &args.bench {
        BenchName::BtFit(bt) => bench::bt_fit::run(bt)?,
        BenchName::ReferenceFit(reference) => bench::reference_fit::run(reference)?,
        BenchName::Replay(replay) => block_on(bench::replay::run(environment, replay))??,
        BenchName::MonitorSweep(sweep) => block_on(bench::monitor_sweep::run(environment, sweep))??,
        BenchName::CallbackThroughput(throughput) => {
            block_on(bench::callback_throughput::run(environment, throughput))??
        }
        BenchName::CompletionLatency(latency) => {
            block_on(bench::completion_latency::run(environment, latency))??
        }
        BenchName::Scale(scale) => block_on(bench::scale::run(environment, scale))??,
    };
    let machine = block_on(async {
        match crate::store::database::connect(&environment.database_url).await {
            Ok(pool) => bench::machine::describe(&pool).await,
            Err(_) => "Machine: (PostgreSQL unreachable)".to_string(),
        }
    })?;
    println!("{}", report.render(&machine));
    Ok(())
}
