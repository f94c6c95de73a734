//! `cj-assessment calibrate --assignment ID`: asks for a calibration round of the
//! assignment's anchors (ADR 0012), straight into the database like `anchors`: the round is
//! registered through the same command bus and planned at once, and the running service's
//! dispatcher judges it like any batch — no service token needed, and the command works
//! while the HTTP API is down. Prints the round's batch id (follow it with `inspect`).
//! The same request id (default: one round per assignment) changes nothing.

use crate::commands::{block_on, DatabaseArgs};
use crate::config::DEFAULT_MAX_COMPARISONS;
use crate::intake::calibration::{request_round, RoundRequest, DEFAULT_COMPARISONS_PER_ANCHOR};
use crate::store::database::connect_and_migrate;
use crate::store::BatchCommandBus;
use anyhow::Context;
use cj_aggregates::batch::settings::ComparisonBudget;
use clap::Args;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The assignment whose registered anchors are compared with each other.
    #[arg(long)]
    pub assignment: String,
    /// Comparisons each anchor takes part in on average: `anchors × N / 2` in all.
    #[arg(long, default_value_t = DEFAULT_COMPARISONS_PER_ANCHOR)]
    pub comparisons_per_anchor: u32,
    /// Asking again with the same id changes nothing (default: one round per assignment).
    #[arg(long)]
    pub request_id: Option<String>,
    /// The service's largest budget of a batch (as `serve`'s): the round stays within it.
    #[arg(long, env = "CJ_MAX_COMPARISONS", default_value_t = DEFAULT_MAX_COMPARISONS)]
    pub max_comparisons: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Why the round was not registered, for the exit code: a refusal is the operator's to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RoundRefused(pub String);

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    block_on(run_round(args))?
}

async fn run_round(args: CalibrateArgs) -> anyhow::Result<()> {
    let maximum = ComparisonBudget::new(args.max_comparisons)
        .context("--max-comparisons must be at least 1")?;
    let pool = connect_and_migrate(&args.database.database_url).await?;
    let bus = BatchCommandBus::new(pool.clone());
    let request = RoundRequest {
        assignment_id: args.assignment,
        comparisons_per_anchor: args.comparisons_per_anchor,
        request_id: args.request_id,
        requested_by: "operator-cli".into(),
    };
    let round = request_round(&pool, &bus, maximum, &request)
        .await?
        .map_err(|refusal| RoundRefused(refusal.to_string()))?;
    let verb = if round.already_requested {
        "was already requested"
    } else {
        "registered"
    };
    println!(
        "calibration round {} {verb}: assignment {}, request id {}, {} anchors, up to {} comparisons",
        round.batch_id, request.assignment_id, round.request_id, round.anchors, round.max_comparisons
    );
    Ok(())
}
