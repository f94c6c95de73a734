//! Rebuilding a projection from the whole log: in one transaction, lock the projector's
//! checkpoint (the live projector waits), truncate the projection's tables, apply every
//! final event from the log start, and set the checkpoint to where the rebuild stopped.
//! Readers see the old rows until the commit and the new ones after it; the live projector
//! then continues from the rebuilt checkpoint. Why truncate-under-lock rather than fresh
//! tables swapped in: `docs/adr/0005-replay-truncates-under-lock.md`.

use crate::checkpoint;
use crate::error::ProjectionError;
use crate::log::{self, LogPosition};
use crate::projection::Projection;
use crate::runner::{apply_chunk, plan_each_statement, DEFAULT_CHUNK_SIZE};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// What a replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub projection: &'static str,
    pub events: u64,
    pub elapsed: Duration,
}

impl ReplayReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Rebuilds `projection`; `progress(applied, log_size)` is called after every chunk.
pub async fn replay(
    pool: &PgPool,
    projection: &dyn Projection,
    mut progress: impl FnMut(u64, i64),
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let log_size = log::event_count(pool).await?;
    let mut tx = pool.begin().await?;
    plan_each_statement(&mut tx).await?;
    checkpoint::lock(&mut tx, projection.name()).await?;
    let tables = projection.tables().join(", ");
    sqlx::query(&format!("TRUNCATE {tables}"))
        .execute(&mut *tx)
        .await?;
    checkpoint::reset(&mut tx, projection.name()).await?;
    let mut position = LogPosition::default();
    let mut events = 0u64;
    while let Some((last, applied)) =
        apply_chunk(&mut tx, projection, position, DEFAULT_CHUNK_SIZE).await?
    {
        position = last;
        events += applied as u64;
        progress(events, log_size);
    }
    checkpoint::advance(&mut tx, projection.name(), position, events as i64).await?;
    tx.commit().await?;
    Ok(ReplayReport {
        projection: projection.name(),
        events,
        elapsed: started.elapsed(),
    })
}
