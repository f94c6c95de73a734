//! Rebuilding projections while they serve: with batches running and readers polling, each
//! projection is built into shadow tables and switched in. No read fails, no reader sees a
//! table shrink (the switched-in tables are never behind the ones they replace), and once
//! the load ends the switched-in tables, kept current by the live projectors, equal a
//! fresh replay row for row: no event was missed or applied twice.

use crate::support::{all_projection_rows, run_simulated_batch, TestDatabase};
use cj_assessment::store::BatchCommandBus;
use cj_projections::rebuild::{build_shadow, rebuild_online, switch};
use cj_projections::replay::replay_together;
use cj_projections::{catalogue, lag, supervisor};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the readers count, each never to go down.
const READS: [&str; 3] = [
    "SELECT count(*) FROM cj_batch_monitoring",
    "SELECT count(*) FROM cj_comparison_pairs",
    "SELECT count(*) FROM cj_essays",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_online_rebuild_switches_tables_under_load_without_a_read_error_or_a_missed_event() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    for seed in 1..=8 {
        run_simulated_batch(&bus, seed).await;
    }
    let projectors = supervisor::start(&db.pool, catalogue::all())
        .await
        .expect("start projectors");
    let load = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for seed in 9..=24 {
                run_simulated_batch(&bus, seed).await;
            }
        })
    };
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (pool, stop) = (db.pool.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let (mut reads, mut errors, mut shrank) = (0u64, Vec::new(), Vec::new());
            let mut last = [0i64; READS.len()];
            while !stop.load(Ordering::SeqCst) {
                for (index, query) in READS.iter().enumerate() {
                    match sqlx::query_scalar::<_, i64>(query).fetch_one(&pool).await {
                        Ok(count) if count < last[index] => {
                            shrank.push(format!("{query}: {} then {count}", last[index]))
                        }
                        Ok(count) => last[index] = count,
                        Err(error) => errors.push(format!("{query}: {error}")),
                    }
                    reads += 1;
                }
            }
            (reads, errors, shrank)
        })
    };
    for projection in catalogue::all() {
        let report = rebuild_online(&db.pool, projection.as_ref(), |_, _| {})
            .await
            .expect("online rebuild");
        println!(
            "online rebuild {}: {} events in {:.2} s",
            report.projection,
            report.events,
            report.elapsed.as_secs_f64()
        );
    }
    load.await.expect("load");
    // The shadow falls behind the live tables before the switch: the switch must catch up.
    let names = catalogue::names();
    for (seed, projection) in (100..).zip(catalogue::all()) {
        build_shadow(&db.pool, projection.as_ref(), |_, _| {})
            .await
            .expect("shadow");
        run_simulated_batch(&bus, seed).await;
        lag::wait_until_caught_up(&db.pool, &names, Duration::from_secs(60))
            .await
            .expect("lag");
        let caught_up = switch(&db.pool, projection.as_ref()).await.expect("switch");
        assert!(
            caught_up > 0,
            "{}: the switch applied the newer events",
            projection.name()
        );
    }
    let lags = lag::wait_until_caught_up(&db.pool, &names, Duration::from_secs(60))
        .await
        .expect("lag");
    assert!(lags.iter().all(|(_, lag)| *lag == 0), "{lags:?}");
    projectors.stop().await;
    stop.store(true, Ordering::SeqCst);
    let (reads, errors, shrank) = reader.await.expect("reader");
    assert!(reads > 0, "the readers read");
    assert!(
        errors.is_empty(),
        "reads failed during the rebuilds: {errors:?}"
    );
    assert!(
        shrank.is_empty(),
        "a reader saw a table go back: {shrank:?}"
    );

    let switched = all_projection_rows(&db.pool).await;
    replay_together(&db.pool, catalogue::all(), |_, _| {})
        .await
        .expect("replay");
    let replayed = all_projection_rows(&db.pool).await;
    for ((table, after_switch), (_, fresh)) in switched.iter().zip(&replayed) {
        assert_eq!(after_switch.len(), fresh.len(), "{table}: row count");
        assert_eq!(after_switch, fresh, "{table}: rows differ");
    }
}
