//! The crash test: a projector that fails after applying events but before its commit
//! leaves no trace, and a restarted projector applies everything exactly once.

use crate::support::{
    all_projection_rows, count, run_simulated_batch, wait_until_final, TestDatabase,
};
use async_trait::async_trait;
use cj_assessment::store::BatchCommandBus;
use cj_projections::replay::replay;
use cj_projections::{catalogue, LoggedEvent, Projection, ProjectionError, Projector};
use sqlx::PgConnection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Applies the real projection, then fails on its `fail_at`-th event: the rows are written
/// in the transaction, the checkpoint is not, and the commit never happens.
struct CrashingProjection {
    inner: Arc<dyn Projection>,
    fail_at: usize,
    applied: AtomicUsize,
}

#[async_trait]
impl Projection for CrashingProjection {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.inner.tables()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        self.inner.apply(conn, event).await?;
        if self.applied.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(ProjectionError::Aborted {
                projection: self.inner.name(),
                reason: "injected crash between apply and commit".into(),
            });
        }
        Ok(())
    }
}

const CHUNK: i64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_crashing_before_commit_resumes_without_loss_or_double_application() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    for seed in 1..=3 {
        run_simulated_batch(&bus, seed).await;
    }
    wait_until_final(&db.pool).await;
    let log_events = count(&db.pool, "SELECT count(*) FROM events").await;
    // Fail in the middle of the third chunk: two chunks commit, the third rolls back.
    let fail_at = (2 * CHUNK + CHUNK / 2) as usize;
    for projection in catalogue::all() {
        let crashing = Arc::new(CrashingProjection {
            inner: Arc::clone(&projection),
            fail_at,
            applied: AtomicUsize::new(0),
        });
        let crashed = Projector::new(db.pool.clone(), crashing).with_chunk_size(CHUNK);
        let error = crashed.catch_up().await.expect_err("the injected crash");
        assert!(matches!(error, ProjectionError::Aborted { .. }), "{error}");
        let applied: i64 = sqlx::query_scalar(
            "SELECT events_applied FROM projector_checkpoints WHERE projector = $1",
        )
        .bind(projection.name())
        .fetch_one(&db.pool)
        .await
        .expect("checkpoint");
        assert_eq!(applied, 2 * CHUNK, "only the committed chunks count");

        let restarted = Projector::new(db.pool.clone(), projection).with_chunk_size(CHUNK);
        let resumed = restarted
            .catch_up()
            .await
            .expect("restarted projector catches up");
        assert_eq!(resumed as i64, log_events - 2 * CHUNK);
    }
    let live = all_projection_rows(&db.pool).await;
    for projection in catalogue::all() {
        replay(&db.pool, projection.as_ref(), |_, _| {})
            .await
            .expect("replay");
    }
    let rebuilt = all_projection_rows(&db.pool).await;
    println!(
        "crash test: {log_events} events; rows after recovery: {:?}",
        live.iter()
            .map(|(t, rows)| (*t, rows.len()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        live, rebuilt,
        "recovered tables equal a clean rebuild row for row"
    );
}
