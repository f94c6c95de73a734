//! A projector: the unit of work that keeps one projection up to date. Each chunk is one
//! transaction — lock the checkpoint, read the next final events, apply them, advance the
//! checkpoint, commit — so a crash anywhere before the commit leaves both the projection
//! rows and the checkpoint as they were, and the chunk is applied again, once.

use crate::checkpoint;
use crate::error::ProjectionError;
use crate::log::{self, LogPosition};
use crate::projection::Projection;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;

/// Events per transaction: large enough to amortise the commit, small enough that a
/// chunk's transaction stays short (a long one holds back every projector's cursor).
pub const DEFAULT_CHUNK_SIZE: i64 = 500;

#[derive(Clone)]
pub struct Projector {
    pool: PgPool,
    projection: Arc<dyn Projection>,
    chunk_size: i64,
}

impl Projector {
    pub fn new(pool: PgPool, projection: Arc<dyn Projection>) -> Self {
        Projector {
            pool,
            projection,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    pub fn with_chunk_size(mut self, chunk_size: i64) -> Self {
        self.chunk_size = chunk_size.max(1);
        self
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// Applies the next chunk of final events, if any, and returns how many it applied.
    pub async fn apply_next_chunk(&self) -> Result<usize, ProjectionError> {
        if !log::has_final_events_for(&self.pool, self.name()).await? {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let from = checkpoint::lock(&mut tx, self.name()).await?;
        let Some((to, applied)) =
            apply_chunk(&mut tx, self.projection.as_ref(), from, self.chunk_size).await?
        else {
            return Ok(0); // another instance got there first; dropping rolls back
        };
        checkpoint::advance(&mut tx, self.name(), to, applied as i64).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Applies chunks until none is left below the horizon; returns the events applied.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut total = 0u64;
        loop {
            match self.apply_next_chunk().await? {
                0 => return Ok(total),
                applied => total += applied as u64,
            }
        }
    }
}

/// Reads up to `limit` final events after `from` and applies them through `conn`; returns
/// the position of the last one and how many there were, or `None` when there were none.
/// The caller owns the transaction (and the checkpoint).
pub async fn apply_chunk(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    from: LogPosition,
    limit: i64,
) -> Result<Option<(LogPosition, usize)>, ProjectionError> {
    let events = log::read_final_after(&mut *conn, from, limit).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(None);
    };
    for event in &events {
        projection.apply(&mut *conn, event).await?;
    }
    Ok(Some((last, events.len())))
}
