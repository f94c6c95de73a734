//! A finished batch's history reads from its registration to its completion, in order,
//! with the metadata every event carries.

use crate::support::{run_simulated_batch, TestDatabase};
use cj_assessment::commands::history::line;
use cj_assessment::store::BatchCommandBus;
use cj_projections::log::batch_events;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_of_a_finished_batch_runs_from_registration_to_completion() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let run = run_simulated_batch(&bus, 42).await;
    let history = batch_events(&db.pool, run.batch_id.0, 0)
        .await
        .expect("history");
    let types: Vec<&str> = history.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types.first(), Some(&"BatchRegistered"));
    assert_eq!(types.get(1), Some(&"AnchorsRegistered"));
    assert_eq!(types.last(), Some(&"BatchCompleted"));
    let sequences: Vec<i64> = history.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=history.len() as i64).collect::<Vec<_>>());
    assert!(history
        .windows(2)
        .all(|w| w[0].recorded_at <= w[1].recorded_at));
    assert!(history
        .iter()
        .all(|e| e.metadata["actor"] == "simulation" && e.metadata["correlation_id"].is_string()));
    let first_line = line(&history[0]);
    assert!(first_line.contains("BatchRegistered"), "{first_line}");
    println!(
        "history: {} events, last: {}",
        history.len(),
        line(&history[history.len() - 1])
    );
}
