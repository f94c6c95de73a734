//! Event logs of a chosen size for the benchmarks that start from a full log (replay, the
//! monitor sweep). A few template batches are decided by the real aggregate with the
//! simulated judge, in memory; each batch of the log is a template re-issued under an id
//! of its own (every UUID in its events mapped consistently, so correlation ids stay
//! unique), written with the command path's own multi-row insert.

use crate::lab::simulation::driver::{run_batch, Delivery};
use crate::lab::simulation::judge::JudgeProfile;
use crate::lab::simulation::scenario::{Scenario, ScenarioSpec};
use crate::store::event_append::{insert_rows, LogRow};
use anyhow::Context;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use cqrs_es::DomainEvent;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

/// Rows per insert statement while seeding.
const ROWS_PER_INSERT: usize = 5_000;

/// The events of one batch, decided by the aggregate, from registration to its end.
#[derive(Debug, Clone)]
pub struct Template {
    pub batch_id: BatchId,
    pub events: Vec<CjBatchEvent>,
}

/// `count` finished batches of `students` students and 4 anchors, `budget` comparisons each.
pub async fn templates(
    count: usize,
    students: usize,
    budget: u32,
) -> anyhow::Result<Vec<Template>> {
    let mut templates = Vec::with_capacity(count);
    for seed in 0..count as u64 {
        let scenario = Scenario::generate(ScenarioSpec {
            students,
            anchors: 4,
            seed: 1_000 + seed,
            ..ScenarioSpec::default()
        });
        let mut settings =
            BatchSettings::with_budget(ComparisonBudget::new(budget).context("budget")?);
        settings.seed = seed;
        let judge = JudgeProfile {
            error_rate: 0.03,
            ..JudgeProfile::default()
        };
        let delivery = Delivery {
            poll_size: 16,
            duplicate_rate: 0.02,
        };
        let run = run_batch(&scenario, settings, judge, delivery).await?;
        templates.push(Template {
            batch_id: run.batch_id,
            events: run.events,
        });
    }
    Ok(templates)
}

/// The first `keep` events of `template` as batch `batch_id`'s log rows, recorded at
/// `recorded_at` (`None`: at insert).
pub fn reissued(
    template: &Template,
    batch_id: BatchId,
    keep: usize,
    recorded_at: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<LogRow>> {
    let metadata = serde_json::json!({"actor": "bench", "correlation_id": batch_id.0}).to_string();
    template
        .events
        .iter()
        .take(keep)
        .enumerate()
        .map(|(index, event)| {
            let mut payload = serde_json::to_value(event)?;
            map_uuids(&mut payload, template.batch_id.0, batch_id.0);
            if let Some(registered) = payload.get_mut("BatchRegistered") {
                registered["upstream_batch_id"] = Value::String(format!("bench-{batch_id}"));
            }
            Ok(LogRow {
                batch_id,
                sequence: index as i64 + 1,
                event_type: event.event_type(),
                event_version: event.event_version(),
                payload: payload.to_string(),
                metadata: metadata.clone(),
                recorded_at,
            })
        })
        .collect()
}

/// Replaces every UUID string in `value`: the template's batch id by the new one, any other
/// by a UUIDv5 of it in the new batch's namespace (so the same id maps the same way).
fn map_uuids(value: &mut Value, template_batch: Uuid, batch: Uuid) {
    match value {
        Value::String(text) => {
            if let Ok(id) = Uuid::parse_str(text) {
                let mapped = if id == template_batch {
                    batch
                } else {
                    Uuid::new_v5(&batch, id.as_bytes())
                };
                *text = mapped.to_string();
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| map_uuids(item, template_batch, batch)),
        Value::Object(fields) => fields
            .values_mut()
            .for_each(|field| map_uuids(field, template_batch, batch)),
        _ => {}
    }
}

/// Writes `rows` in statements of `ROWS_PER_INSERT`.
pub async fn write(pool: &PgPool, rows: &[LogRow]) -> anyhow::Result<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        insert_rows(pool, chunk).await.context("seeding the log")?;
    }
    Ok(())
}

/// How long a seeded log may wait to become readable: a transaction open elsewhere on the
/// server holds the horizon back for every database (docs/projections.md).
const FINAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until projectors can read the whole seeded log, or fails saying why not.
pub async fn wait_until_readable(pool: &PgPool) -> anyhow::Result<()> {
    let pending = cj_projections::lag::wait_until_final(pool, FINAL_TIMEOUT).await?;
    anyhow::ensure!(
        pending == 0,
        "{pending} seeded events are still behind the xmin horizon after {FINAL_TIMEOUT:?}: a long transaction is open somewhere on the server (see pg_stat_activity)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reissued_batches_share_no_correlation_id_and_keep_their_shape() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let template = runtime
            .block_on(templates(1, 6, 24))
            .expect("a template")
            .remove(0);
        let (one, two) = (BatchId(Uuid::from_u128(1)), BatchId(Uuid::from_u128(2)));
        let first = reissued(&template, one, usize::MAX, None).expect("rows");
        let second = reissued(&template, two, 3, None).expect("rows");
        assert_eq!(first.len(), template.events.len());
        assert_eq!(second.len(), 3);
        assert!(first[0].payload.contains(&one.to_string()));
        assert!(!first[0].payload.contains(&template.batch_id.to_string()));
        let decoded: CjBatchEvent =
            serde_json::from_str(&first[2].payload).expect("still an event");
        assert_eq!(decoded.event_type(), template.events[2].event_type());
        let wave = |rows: &[LogRow]| {
            rows.iter()
                .find(|r| r.event_type == "WavePlanned")
                .map(|r| r.payload.clone())
        };
        assert_ne!(
            wave(&first),
            wave(&second),
            "correlation ids differ between batches"
        );
    }
}
