//! A sparse projector (one that wants a few kinds of event) steps its checkpoint over spans
//! of others without a chunk, applies the events it wants exactly once, and never steps
//! over a checkpoint that moved after it looked.

use crate::support::{append_raw, opening_events, wait_until_final, TestDatabase};
use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use cj_projections::{
    checkpoint, LogPosition, LoggedEvent, Projection, ProjectionError, Projector,
};
use sqlx::{PgConnection, PgPool};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const NAME: &str = "test_sparse";

/// A projection that only records what reaches it: each chunk's wanted events, by type.
struct Recording {
    wants: &'static [&'static str],
    chunks: Arc<Mutex<Vec<Vec<String>>>>,
}

#[async_trait::async_trait]
impl Projection for Recording {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(self.wants)
    }

    fn sparse(&self) -> bool {
        true
    }

    async fn apply(&self, _: &mut PgConnection, _: &LoggedEvent) -> Result<(), ProjectionError> {
        unreachable!("the projector applies whole chunks")
    }

    async fn apply_all(
        &self,
        _: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        let types = events.iter().map(|e| e.event_type.clone()).collect();
        self.chunks.lock().expect("not poisoned").push(types);
        Ok(())
    }
}

/// A projector of `wants` and the chunks it ran, as they will be recorded.
fn recording(
    pool: &PgPool,
    wants: &'static [&'static str],
) -> (Projector, Arc<Mutex<Vec<Vec<String>>>>) {
    let chunks = Arc::default();
    let projection = Recording {
        wants,
        chunks: Arc::clone(&chunks),
    };
    (Projector::new(pool.clone(), Arc::new(projection)), chunks)
}

/// A fresh batch's opening events (BatchRegistered, AnchorsRegistered, WavePlanned,
/// PairsSubmitted), committed and final; returns how many.
async fn a_batch_opens(pool: &PgPool) -> i64 {
    let batch_id = BatchId(Uuid::new_v4());
    let events = opening_events(batch_id, 4);
    committed(pool, batch_id, 1, &events).await;
    events.len() as i64
}

/// `events` appended to `batch_id`'s stream from `first_sequence`, committed and final (the
/// horizon is the cluster's: other tests' open transactions hold it back).
async fn committed(pool: &PgPool, batch_id: BatchId, first_sequence: i64, events: &[CjBatchEvent]) {
    let mut tx = pool.begin().await.expect("begin");
    append_raw(&mut tx, batch_id, first_sequence, events).await;
    tx.commit().await.expect("commit");
    wait_until_final(pool).await;
}

/// A projector of `wants` that has applied one opened batch, and how many events that was
/// (its first chunk creates the checkpoint row, which only the locked chunk does).
async fn caught_up_on_one_batch(
    pool: &PgPool,
    wants: &'static [&'static str],
) -> (Projector, Arc<Mutex<Vec<Vec<String>>>>, i64) {
    let (projector, chunks) = recording(pool, wants);
    let first = a_batch_opens(pool).await;
    assert_eq!(projector.catch_up().await.expect("catch up"), first as u64);
    (projector, chunks, first)
}

/// The checkpoint's position and its count of events applied.
async fn checkpoint_of(pool: &PgPool) -> (LogPosition, i64) {
    let (tx, global_seq, applied): (i64, i64, i64) = sqlx::query_as(
        "SELECT last_tx::text::bigint, last_seq, events_applied FROM projector_checkpoints
          WHERE projector = $1",
    )
    .bind(NAME)
    .fetch_one(pool)
    .await
    .expect("the checkpoint");
    (LogPosition { tx, global_seq }, applied)
}

async fn log_end(pool: &PgPool) -> LogPosition {
    let (tx, global_seq): (i64, i64) = sqlx::query_as(
        "SELECT tx::text::bigint, global_seq FROM events ORDER BY tx DESC, global_seq DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("the last event");
    LogPosition { tx, global_seq }
}

#[tokio::test]
async fn a_span_without_wanted_events_is_stepped_over_without_a_chunk() {
    let db = TestDatabase::create().await;
    let (projector, chunks, first) = caught_up_on_one_batch(&db.pool, &["BatchScored"]).await;
    assert_eq!(chunks.lock().unwrap().len(), 1);

    let second = a_batch_opens(&db.pool).await;
    assert_eq!(projector.catch_up().await.expect("catch up"), second as u64);

    assert_eq!(
        chunks.lock().unwrap().len(),
        1,
        "no chunk for events it does not want"
    );
    assert_eq!(
        checkpoint_of(&db.pool).await,
        (log_end(&db.pool).await, first + second)
    );
}

#[tokio::test]
async fn wanted_events_among_others_are_applied_once_each() {
    let db = TestDatabase::create().await;
    let (projector, chunks, _) = caught_up_on_one_batch(&db.pool, &["WavePlanned"]).await;
    let batch_id = BatchId(Uuid::new_v4());
    let opening = opening_events(batch_id, 4);
    let (registered, planned) = opening.split_at(2); // [BatchRegistered, AnchorsRegistered]

    committed(&db.pool, batch_id, 1, registered).await;
    projector.catch_up().await.expect("catch up");
    committed(&db.pool, batch_id, 3, planned).await;
    projector.catch_up().await.expect("catch up");
    projector.catch_up().await.expect("nothing left");

    // The registration was stepped over: no chunk of its own.
    assert_eq!(
        *chunks.lock().unwrap(),
        vec![
            vec!["WavePlanned".to_string()],
            vec!["WavePlanned".to_string()]
        ]
    );
    assert_eq!(checkpoint_of(&db.pool).await.0, log_end(&db.pool).await);
}

#[tokio::test]
async fn a_step_waiting_behind_a_chunk_that_moves_the_checkpoint_moves_nothing() {
    let db = TestDatabase::create().await;
    let (_, _, first) = caught_up_on_one_batch(&db.pool, &["BatchScored"]).await;
    let second = a_batch_opens(&db.pool).await;
    let end = log_end(&db.pool).await;

    // A chunk holds the row; the step, from where the chunk found the checkpoint, waits
    // (or, should it start after the commit, finds the row moved: the same rule).
    let mut chunk = db.pool.begin().await.expect("begin");
    let from = checkpoint::lock(&mut chunk, NAME).await.expect("lock");
    let step = tokio::spawn({
        let pool = db.pool.clone();
        async move { checkpoint::skip(&pool, NAME, from, end, second).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    checkpoint::advance(&mut chunk, NAME, end, second)
        .await
        .expect("advance");
    chunk.commit().await.expect("commit");

    assert!(!step.await.expect("joined").expect("the statement runs"));
    assert_eq!(
        checkpoint_of(&db.pool).await,
        (end, first + second),
        "counted once"
    );
}
