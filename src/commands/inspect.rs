//! `cj-assessment inspect <batch>`: one screen for an operator — status, state, budget and
//! counters, waves, anchors, grade projections, last activity, SSR, the divergence flag,
//! and how far behind each projector is (the figures come from the projections).

use crate::cli::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use chrono::{DateTime, Utc};
use cj_aggregates::ids::BatchId;
use cj_projections::catalogue;
use cj_projections::lag::projector_lag;
use cj_projections::monitoring::{batch_monitoring, BatchMonitoringRow};
use clap::Args;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The batch id (the CjBatch aggregate id).
    pub batch: BatchId,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    block_on(async {
        let pool = connect_and_migrate(&args.database.database_url).await?;
        let row = batch_monitoring(&pool, args.batch.0)
            .await?
            .with_context(|| format!("batch {} is not in the projections", args.batch))?;
        let mut lags = Vec::new();
        for name in catalogue::names() {
            lags.push((name, projector_lag(&pool, name).await?));
        }
        print!("{}", screen(&row, &lags, Utc::now()));
        Ok(())
    })?
}

/// The inspect screen.
pub fn screen(row: &BatchMonitoringRow, lags: &[(&str, i64)], now: DateTime<Utc>) -> String {
    let idle = (now - row.last_activity_at).num_seconds();
    let lags: Vec<String> = lags.iter().map(|(n, l)| format!("{n} {l}")).collect();
    let ssr = row.ssr.map_or("n/a".to_string(), |s| format!("{s:.3}"));
    let completed_at = row.completed_at.map_or("-".to_string(), |t| t.to_rfc3339());
    let divergence = if row.divergent {
        "YES — status and state/projections disagree"
    } else {
        "no"
    };
    format!(
        "batch            {} (upstream {})
upload status    {}
state            {}
budget           {}
comparisons      {} submitted, {} completed, {} failed
waves            {}
anchors          {} ({})
projections      {} grade projections
SSR              {ssr}
created          {}
last activity    {} ({idle} s ago)
completed        {completed_at}
divergent        {divergence}
projector lag    {}
",
        row.batch_id,
        row.upstream_batch_id,
        row.upload_status,
        row.state,
        row.total_budget,
        row.submitted_comparisons,
        row.completed_comparisons,
        row.failed_comparisons,
        row.current_wave,
        if row.anchor_count > 0 { "yes" } else { "no" },
        row.anchor_count,
        row.projection_count,
        row.created_at.to_rfc3339(),
        row.last_activity_at.to_rfc3339(),
        lags.join(", ")
    )
}
