//! `cj-assessment demo --database-url URL`: the demo's batch on the PostgreSQL event store
//! with the projectors running, so the tables fill as it goes; afterwards `inspect`,
//! `history` and `replay` work on that database. Each run is a new request (a new batch),
//! so the same seed can be run again on the same database.

use crate::lab::simulation::driver::{run_batch_on, BatchRun, Delivery};
use crate::lab::simulation::judge::JudgeProfile;
use crate::lab::simulation::scenario::Scenario;
use crate::store::database::connect_and_migrate;
use crate::store::BatchCommandBus;
use cj_aggregates::batch::settings::BatchSettings;
use cj_projections::lag::wait_until_caught_up;
use cj_projections::{catalogue, supervisor};
use std::time::Duration;
use uuid::Uuid;

/// How long the projectors get to catch up after the batch ended.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the batch and returns it with a few lines about where it is stored.
pub async fn run(
    database_url: &str,
    scenario: &Scenario,
    settings: BatchSettings,
    judge: JudgeProfile,
) -> anyhow::Result<(BatchRun, String)> {
    let pool = connect_and_migrate(database_url).await?;
    let projectors = supervisor::start(&pool, catalogue::all()).await?;
    let bus = BatchCommandBus::new(pool.clone());
    let outcome = run_batch_on(
        &bus,
        Uuid::new_v4(),
        scenario,
        settings,
        judge,
        Delivery::default(),
    )
    .await;
    let names = catalogue::names();
    let lags = wait_until_caught_up(&pool, &names, CATCH_UP_TIMEOUT).await;
    projectors.stop().await;
    let run = outcome?;
    let behind: Vec<String> = lags?
        .into_iter()
        .filter(|(_, lag)| *lag > 0)
        .map(|(name, lag)| format!("{name} {lag} behind"))
        .collect();
    let projections = if behind.is_empty() {
        "all projections caught up".to_string()
    } else {
        behind.join(", ")
    };
    let notes = format!(
        "\nevent store: batch {id}, {events} events, {retries} conflict retries; {projections}\n\
         next: cj-assessment inspect {id} --database-url …  (also: history, replay)\n",
        id = run.batch_id,
        events = run.events.len(),
        retries = bus.conflict_retries(),
    );
    Ok((run, notes))
}
