//! The gap test: writers whose transactions commit in another order than their rows were
//! numbered must not make projectors skip anything.

use crate::support::{append_raw, count, opening_events, uuid_set, TestDatabase};
use cj_aggregates::ids::BatchId;
use cj_projections::{catalogue, lag, supervisor};
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Duration;
use uuid::Uuid;

const WRITERS: usize = 8;
const TRANSACTIONS_PER_WRITER: usize = 25;
/// Every 50th transaction rolls back: 2 %.
const ROLLBACK_EVERY: usize = 50;
const STUDENTS: usize = 4;

/// Writes batches, one transaction each, holding it open for a random time; returns the
/// batches that committed.
async fn writer(pool: sqlx::PgPool, writer: usize) -> Vec<BatchId> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(writer as u64);
    let mut committed = Vec::new();
    for i in 0..TRANSACTIONS_PER_WRITER {
        let batch_id = BatchId(Uuid::new_v4());
        let events = opening_events(batch_id, STUDENTS);
        let mut tx = pool.begin().await.expect("begin");
        append_raw(&mut tx, batch_id, 1, &events).await;
        let hold = Duration::from_millis(rng.gen_range(0..25));
        tokio::time::sleep(hold).await;
        if (writer * TRANSACTIONS_PER_WRITER + i) % ROLLBACK_EVERY == ROLLBACK_EVERY - 1 {
            tx.rollback().await.expect("rollback");
        } else {
            tx.commit().await.expect("commit");
            committed.push(batch_id);
        }
    }
    committed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_committed_event_reaches_every_projection_exactly_once_under_concurrent_writers() {
    let db = TestDatabase::create().await;
    let projectors = supervisor::start(&db.pool, catalogue::all())
        .await
        .expect("start projectors");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(db.pool.clone(), w)))
        .collect();
    let mut committed = BTreeSet::new();
    for handle in writers {
        committed.extend(handle.await.expect("writer task").into_iter().map(|b| b.0));
    }
    let names = catalogue::names();
    let lags = lag::wait_until_caught_up(&db.pool, &names, Duration::from_secs(60))
        .await
        .expect("lag");
    projectors.stop().await;

    let events_per_batch = opening_events(BatchId(Uuid::nil()), STUDENTS).len() as i64;
    let planned_per_batch = count(&db.pool, "SELECT count(*) FROM cj_comparison_pairs").await
        / committed.len().max(1) as i64;
    let log_events = count(&db.pool, "SELECT count(*) FROM events").await;
    let attempted = WRITERS * TRANSACTIONS_PER_WRITER;
    println!(
        "gap test: {attempted} transactions, {} committed, {} rolled back, {log_events} events \
         in the log, lags {lags:?}",
        committed.len(),
        attempted - committed.len()
    );
    assert_eq!(attempted - committed.len(), attempted / ROLLBACK_EVERY);
    assert_eq!(log_events, committed.len() as i64 * events_per_batch);
    assert!(lags.iter().all(|(_, lag)| *lag == 0), "{lags:?}");

    let projected = uuid_set(&db.pool, "SELECT batch_id FROM cj_batch_states").await;
    assert_eq!(
        projected, committed,
        "cj_batch_states has exactly the committed batches"
    );
    let essays = uuid_set(&db.pool, "SELECT DISTINCT batch_id FROM cj_essays").await;
    assert_eq!(
        essays, committed,
        "cj_essays has exactly the committed batches"
    );
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM cj_essays").await,
        committed.len() as i64 * STUDENTS as i64
    );
    // Counters are increments: an event applied twice would double them.
    let wrong_counters = count(
        &db.pool,
        "SELECT count(*) FROM cj_batch_states s
          WHERE s.submitted_comparisons <>
                (SELECT count(*) FROM cj_comparison_pairs p WHERE p.batch_id = s.batch_id)
             OR s.last_sequence <> 4",
    )
    .await;
    assert_eq!(wrong_counters, 0);
    assert!(planned_per_batch > 0);
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM cj_comparison_pairs WHERE submitted_at IS NULL"
        )
        .await,
        0
    );
    for name in names {
        let applied: i64 = sqlx::query_scalar(
            "SELECT events_applied FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .expect("checkpoint");
        assert_eq!(
            applied, log_events,
            "{name} applied every committed event once"
        );
    }
}
