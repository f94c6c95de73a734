//! The projectors' shortcuts change nothing, row for row, for batches with verdicts,
//! failures, retries and duplicates: folding a chunk into set-based statements (one event
//! per transaction equals a replay's chunks of thousands), and skipping the event types a
//! projection does not want (equals reading and applying every event — for the outbox, a
//! history taken from the chunk equals one read back from the log).

use crate::support::{
    all_projection_rows, drain_projections_in_chunks_of, run_simulated_batch, TestDatabase,
};
use cj_assessment::store::BatchCommandBus;
use cj_projections::log::LoggedEvent;
use cj_projections::replay::replay;
use cj_projections::{catalogue, Projection, ProjectionError};
use sqlx::PgConnection;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folded_chunks_build_the_same_tables_as_one_event_at_a_time() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    for seed in 1..=6 {
        run_simulated_batch(&bus, seed).await;
    }
    drain_projections_in_chunks_of(&db.pool, 1).await;
    let one_at_a_time = all_projection_rows(&db.pool).await;
    for projection in catalogue::all() {
        replay(&db.pool, projection.as_ref(), |_, _| {})
            .await
            .expect("replay");
    }
    let folded = all_projection_rows(&db.pool).await;
    assert!(
        one_at_a_time[1].1.len() > 100,
        "the batches planned comparisons"
    );
    for ((table, single), (_, chunked)) in one_at_a_time.iter().zip(&folded) {
        assert_eq!(single, chunked, "{table}: rows differ");
    }
}

/// A projection read without its event-type filter: every event reaches `apply_all`.
struct Unfiltered(Arc<dyn Projection>);

#[async_trait::async_trait]
impl Projection for Unfiltered {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        self.0.apply(conn, event).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        self.0.apply_all(conn, events).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_unwanted_event_types_builds_the_same_tables_as_reading_every_event() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    for seed in 7..=10 {
        run_simulated_batch(&bus, seed).await;
    }
    drain_projections_in_chunks_of(&db.pool, 100).await;
    let filtered = all_projection_rows(&db.pool).await;
    for projection in catalogue::all() {
        replay(&db.pool, &Unfiltered(projection), |_, _| {})
            .await
            .expect("replay");
    }
    let unfiltered = all_projection_rows(&db.pool).await;
    assert!(filtered[2].1.len() > 10, "essays were projected");
    for ((table, with_filter), (_, without)) in filtered.iter().zip(&unfiltered) {
        assert_eq!(with_filter, without, "{table}: rows differ");
    }
}
