//! `cj-assessment history <batch>`: every event of one batch in order — time, type and a
//! one-line summary, or with `--json` the raw log rows, one JSON object per line.

use super::event_summary::summary;
use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::connect_and_migrate;
use anyhow::bail;
use cj_aggregates::ids::BatchId;
use cj_projections::log::batch_events;
use cj_projections::LoggedEvent;
use clap::Args;
use serde_json::json;
use std::io::Write;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The batch id (the CjBatch aggregate id).
    pub batch: BatchId,
    /// Print the raw log rows as JSON lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

pub fn run(args: HistoryArgs) -> anyhow::Result<()> {
    block_on(async {
        let pool = connect_and_migrate(&args.database.database_url).await?;
        let events = batch_events(&pool, args.batch.0, 0).await?;
        if events.is_empty() {
            bail!("batch {} has no events", args.batch);
        }
        let mut out = std::io::stdout().lock();
        for event in &events {
            let written = if args.json {
                writeln!(out, "{}", raw_row(event))
            } else {
                writeln!(out, "{}", line(event))
            };
            match written {
                // The reader (`| head`) has seen enough.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => break,
                other => other?,
            }
        }
        Ok(())
    })?
}

/// `#seq  time  type  summary`.
pub fn line(event: &LoggedEvent) -> String {
    format!(
        "{:>4}  {}  {:<21} {}",
        event.sequence,
        event.recorded_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        event.event_type,
        summary(&event.event)
    )
}

/// The log row as stored (payload before upcasting).
pub fn raw_row(event: &LoggedEvent) -> serde_json::Value {
    json!({
        "global_seq": event.position.global_seq,
        "tx": event.position.tx,
        "event_id": event.event_id,
        "aggregate_id": event.batch_id,
        "sequence": event.sequence,
        "event_type": event.event_type,
        "event_version": event.event_version,
        "recorded_at": event.recorded_at,
        "metadata": event.metadata,
        "payload": event.stored_payload,
    })
}
