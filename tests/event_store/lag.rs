//! Projector lag after a burst: 10,000 events appended at once drain to a lag of 0. The
//! figures are printed; nothing here asserts on time.

use crate::support::{append_raw, opening_events, TestDatabase};
use cj_aggregates::ids::BatchId;
use cj_projections::lag::{projector_lag, wait_until_applied, wait_until_caught_up};
use cj_projections::{catalogue, supervisor};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BURST: usize = 10_000;
const STUDENTS: usize = 4;
/// Batches per writing transaction: the burst arrives as a few large commits.
const BATCHES_PER_TRANSACTION: usize = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projector_lag_drains_to_zero_after_a_burst_of_10_000_events() {
    let db = TestDatabase::create().await;
    let per_batch = opening_events(BatchId(Uuid::nil()), STUDENTS).len();
    let batches = BURST.div_ceil(per_batch);
    let projectors = supervisor::start(&db.pool, catalogue::all())
        .await
        .expect("start projectors");
    let started = Instant::now();
    for chunk in 0..batches.div_ceil(BATCHES_PER_TRANSACTION) {
        let mut tx = db.pool.begin().await.expect("begin");
        let in_chunk = BATCHES_PER_TRANSACTION.min(batches - chunk * BATCHES_PER_TRANSACTION);
        for _ in 0..in_chunk {
            let batch_id = BatchId(Uuid::new_v4());
            append_raw(&mut tx, batch_id, 1, &opening_events(batch_id, STUDENTS)).await;
        }
        tx.commit().await.expect("commit");
    }
    let written = started.elapsed();
    let mut peak = Vec::new();
    for name in catalogue::names() {
        peak.push((name, projector_lag(&db.pool, name).await.expect("lag")));
    }
    let names = catalogue::names();
    let lags = wait_until_caught_up(&db.pool, &names, Duration::from_secs(300))
        .await
        .expect("lag");
    let drained = started.elapsed();
    projectors.stop().await;
    println!(
        "lag test: {} events written in {:.2} s; lag right after the burst {peak:?}; \
         drained to {lags:?} {:.2} s after the burst started",
        batches * per_batch,
        written.as_secs_f64(),
        drained.as_secs_f64()
    );
    assert!(batches * per_batch >= BURST);
    assert!(lags.iter().all(|(_, lag)| *lag == 0), "{lags:?}");
}

/// A reader that saw one projection show a batch's end waits for the others to apply it:
/// behind before the projectors run, 0 once they have, whatever else the log holds.
#[tokio::test]
async fn projectors_count_as_behind_a_batch_until_they_have_applied_its_last_event() {
    let db = TestDatabase::create().await;
    let batch_id = BatchId(Uuid::new_v4());
    let mut tx = db.pool.begin().await.expect("begin");
    append_raw(&mut tx, batch_id, 1, &opening_events(batch_id, STUDENTS)).await;
    tx.commit().await.expect("commit");
    let names = catalogue::names();
    let aggregate_id = batch_id.0.to_string();

    let before = wait_until_applied(&db.pool, &names, &aggregate_id, Duration::ZERO)
        .await
        .expect("behind");
    assert_eq!(before, names.len() as i64, "no projector has run yet");

    let projectors = supervisor::start(&db.pool, catalogue::all())
        .await
        .expect("start projectors");
    let after = wait_until_applied(&db.pool, &names, &aggregate_id, Duration::from_secs(60))
        .await
        .expect("behind");
    projectors.stop().await;
    assert_eq!(after, 0);
}
