//! `cj-assessment inspect <batch>`: one screen for an operator — status, state, budget and
//! counters, what its verdicts cost (tokens, dollars; from its history), waves, anchors, grade
//! projections and where their boundaries came from (the assignment scale's version, from
//! its history), last activity, SSR, the divergence flag,
//! how far behind each projector is, and the scored batch's reliability (the figures come
//! from the projections).

use super::event_summary::{figure, grades_from_history};
use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::usage::Usage;
use cj_aggregates::ids::BatchId;
use cj_projections::catalogue;
use cj_projections::lag::projector_lag;
use cj_projections::log::batch_events;
use cj_projections::monitoring::{batch_monitoring, BatchMonitoringRow};
use clap::Args;
use sqlx::PgPool;

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
        print!("{}", inspect(&pool, args.batch, Utc::now()).await?);
        Ok(())
    })?
}

/// The inspect screen of `batch` as it stands at `now`, read from the projections and its
/// history.
pub async fn inspect(pool: &PgPool, batch: BatchId, now: DateTime<Utc>) -> anyhow::Result<String> {
    let row = batch_monitoring(pool, batch.0)
        .await?
        .with_context(|| format!("batch {batch} is not in the projections"))?;
    let mut lags = Vec::new();
    for name in catalogue::names() {
        lags.push((name, projector_lag(pool, name).await?));
    }
    let history = batch_events(pool, batch.0, 0).await?;
    let usage = Usage::of(history.iter().map(|logged| &logged.event));
    let grades_from = grades_from_history(history.iter().map(|logged| &logged.event));
    Ok(screen(&row, usage, &grades_from, &lags, now))
}

/// The inspect screen.
pub fn screen(
    row: &BatchMonitoringRow,
    usage: Usage,
    grades_from: &str,
    lags: &[(&str, i64)],
    now: DateTime<Utc>,
) -> String {
    let idle = (now - row.last_activity_at).num_seconds();
    let lags: Vec<String> = lags.iter().map(|(n, l)| format!("{n} {l}")).collect();
    let ssr = figure(row.ssr);
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
LLM usage        {usage}
waves            {}
anchors          {} ({})
projections      {} grade projections
grades from      {grades_from}
SSR              {ssr}
created          {}
last activity    {} ({idle} s ago)
completed        {completed_at}
divergent        {divergence}
projector lag    {}
{}",
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
        lags.join(", "),
        reliability(row)
    )
}

/// A count, or "n/a".
fn count(value: Option<i32>) -> String {
    value.map_or_else(|| "n/a".to_string(), |n| n.to_string())
}

/// The order effect η with "flagged" when the judge favours a position, or "n/a".
fn order_effect(row: &BatchMonitoringRow) -> String {
    let Some(estimate) = row.order_effect else {
        return "n/a".to_string();
    };
    let flag = if row.order_effect_flagged == Some(true) {
        " flagged"
    } else {
        ""
    };
    format!("{estimate:+.3}{flag}")
}

/// The "Reliability" block: estimator, SSR, reference SSR, separation G, split-half, order
/// effect and misfitting essays and judges ("n/a" until scored, and before 1.1).
fn reliability(row: &BatchMonitoringRow) -> String {
    format!(
        "Reliability
  estimator      {}
  SSR            {}
  reference SSR  {}
  separation G   {}
  split-half     {} (Spearman–Brown)
  order effect   {}
  misfitting     {} essays, {} judges
",
        row.estimator.as_deref().unwrap_or("n/a"),
        figure(row.ssr),
        figure(row.reference_ssr),
        figure(row.sep_g),
        figure(row.split_half_spearman_brown),
        order_effect(row),
        count(row.misfitting_essays),
        count(row.misfitting_judges),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn row() -> BatchMonitoringRow {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        BatchMonitoringRow {
            batch_id: Uuid::nil(),
            upstream_batch_id: "up".into(),
            upload_status: "COMPLETE_STABLE".into(),
            state: "COMPLETED".into(),
            total_budget: 60,
            submitted_comparisons: 40,
            completed_comparisons: 39,
            failed_comparisons: 1,
            current_wave: 3,
            anchor_count: 4,
            projection_count: 10,
            ssr: Some(0.8123),
            created_at: at,
            last_activity_at: at,
            completed_at: Some(at),
            divergent: false,
            estimator: Some("regularised".into()),
            reference_ssr: Some(0.8456),
            sep_g: Some(2.3456),
            split_half_spearman_brown: Some(0.7012),
            order_effect: Some(-0.4321),
            order_effect_flagged: Some(true),
            misfitting_essays: Some(2),
            misfitting_judges: Some(1),
        }
    }

    fn reliability_lines(row: &BatchMonitoringRow) -> Vec<String> {
        let screen = screen(
            row,
            Usage::default(),
            "the batch's own anchors (4 anchors)",
            &[("cj_batch_states", 0)],
            DateTime::<Utc>::UNIX_EPOCH,
        );
        screen
            .lines()
            .skip_while(|line| *line != "Reliability")
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn the_screen_shows_a_scored_batchs_reliability() {
        assert_eq!(
            reliability_lines(&row()),
            [
                "Reliability",
                "estimator regularised",
                "SSR 0.812",
                "reference SSR 0.846",
                "separation G 2.346",
                "split-half 0.701 (Spearman–Brown)",
                "order effect -0.432 flagged",
                "misfitting 2 essays, 1 judges",
            ]
        );
    }

    #[test]
    fn an_unflagged_order_effect_is_shown_without_the_flag() {
        let row = BatchMonitoringRow {
            order_effect: Some(0.05),
            order_effect_flagged: Some(false),
            ..row()
        };
        assert!(reliability_lines(&row).contains(&"order effect +0.050".to_string()));
    }

    #[test]
    fn a_batch_without_a_report_shows_n_a() {
        let row = BatchMonitoringRow {
            ssr: None,
            estimator: None,
            reference_ssr: None,
            sep_g: None,
            split_half_spearman_brown: None,
            order_effect: None,
            order_effect_flagged: None,
            misfitting_essays: None,
            misfitting_judges: None,
            ..row()
        };
        assert_eq!(
            reliability_lines(&row),
            [
                "Reliability",
                "estimator n/a",
                "SSR n/a",
                "reference SSR n/a",
                "separation G n/a",
                "split-half n/a (Spearman–Brown)",
                "order effect n/a",
                "misfitting n/a essays, n/a judges",
            ]
        );
    }
}
