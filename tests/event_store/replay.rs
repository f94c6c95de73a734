//! Replay equals live: after a realistic run of many batches with the projectors running,
//! rebuilding every projection from the log (all together, from one read, as
//! `cj-assessment replay` does) yields the same tables row for row.

use crate::support::{all_projection_rows, count, run_simulated_batch, TestDatabase};
use cj_assessment::store::BatchCommandBus;
use cj_projections::replay::replay_together;
use cj_projections::{catalogue, lag, supervisor};
use std::time::Duration;

const BATCHES: u64 = 50;
/// Batches in flight at once.
const CONCURRENCY: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_rebuilds_tables_equal_to_the_live_projections_row_for_row() {
    let db = TestDatabase::create().await;
    let projectors = supervisor::start(&db.pool, catalogue::all())
        .await
        .expect("start projectors");
    let bus = BatchCommandBus::new(db.pool.clone());
    for wave in 0..BATCHES / CONCURRENCY {
        let runs: Vec<_> = (1..=CONCURRENCY)
            .map(|i| {
                let bus = bus.clone();
                tokio::spawn(async move {
                    run_simulated_batch(&bus, wave * CONCURRENCY + i).await;
                })
            })
            .collect();
        for run in runs {
            run.await.expect("batch task");
        }
    }
    let names = catalogue::names();
    let lags = lag::wait_until_caught_up(&db.pool, &names, Duration::from_secs(60))
        .await
        .expect("lag");
    projectors.stop().await;
    assert!(lags.iter().all(|(_, lag)| *lag == 0), "{lags:?}");
    let live = all_projection_rows(&db.pool).await;
    let batches = &live[0].1;
    assert_eq!(batches.len() as u64, BATCHES);
    let with_reliability = count(
        &db.pool,
        "SELECT count(*) FROM cj_batch_states
          WHERE estimator IS NOT NULL AND reference_ssr IS NOT NULL
            AND misfitting_essays IS NOT NULL AND misfitting_judges IS NOT NULL",
    )
    .await;
    assert_eq!(
        with_reliability as u64, BATCHES,
        "every scored batch's reliability is in the live rows the rebuild must equal"
    );

    let report = replay_together(&db.pool, catalogue::all(), |_, _| {})
        .await
        .expect("replay");
    println!(
        "replay of {BATCHES} batches: {} events x {} projections in {:.2} s ({:.0} events/s); \
         conflict retries while running: {}",
        report.events,
        names.len(),
        report.elapsed.as_secs_f64(),
        report.events_per_second(),
        bus.conflict_retries()
    );
    let rebuilt = all_projection_rows(&db.pool).await;
    for ((table, live_rows), (_, rebuilt_rows)) in live.iter().zip(&rebuilt) {
        assert_eq!(live_rows.len(), rebuilt_rows.len(), "{table}: row count");
        for (live_row, rebuilt_row) in live_rows.iter().zip(rebuilt_rows) {
            assert_eq!(live_row, rebuilt_row, "{table}: rows differ");
        }
    }
}
