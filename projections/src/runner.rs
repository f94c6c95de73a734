//! A projector: the unit of work that keeps one projection up to date. Each chunk is one
//! transaction — lock the checkpoint, read the next final events, apply them, advance the
//! checkpoint, commit — so a crash anywhere before the commit leaves both the projection
//! rows and the checkpoint as they were, and the chunk is applied again, once.
//!
//! A sparse projection ([`Projection::sparse`]: a batch's registration, scoring or end) sees
//! mostly spans of events it does not want: while batches run, the log is their verdicts.
//! Such a span is stepped over with two statements (the span's types read, then
//! [`checkpoint::skip`]) instead of a chunk's seven (the probe, `BEGIN`, the plan setting,
//! the lock, the read, the advance, `COMMIT`): four of the service's eight projectors are
//! of this kind, and under `bench scale` their empty chunks were half of all chunks
//! (docs/benchmarks.md, Scale).

use crate::checkpoint;
use crate::error::ProjectionError;
use crate::log::{self, LogPosition};
use crate::projection::Projection;
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;

/// Events per transaction: large enough to amortise the commit, small enough that a
/// chunk's transaction stays short (a long one holds back every projector's cursor).
pub const DEFAULT_CHUNK_SIZE: i64 = 500;

/// What [`Projector::apply_next_chunk`] finds after the checkpoint.
enum Ahead {
    /// No final event.
    Nothing,
    /// This many final events, none wanted, stepped over ([`checkpoint::skip`]).
    SteppedOver(usize),
    /// Events to read in a locked chunk.
    Chunk,
}

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

    /// Applies the next chunk of final events, if any, and returns how many it applied
    /// (stepped over, for a span of events the projection does not want).
    pub async fn apply_next_chunk(&self) -> Result<usize, ProjectionError> {
        match self.ahead().await? {
            Ahead::Nothing => return Ok(0),
            Ahead::SteppedOver(spanned) => return Ok(spanned),
            Ahead::Chunk => {}
        }
        let mut tx = self.pool.begin().await?;
        plan_each_statement(&mut tx).await?;
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

    /// What follows the checkpoint, read without a transaction: for a sparse projection a
    /// span without wanted events is stepped over here.
    async fn ahead(&self) -> Result<Ahead, ProjectionError> {
        let sparse = self.projection.sparse();
        let Some(wanted) = self.projection.event_types().filter(|_| sparse) else {
            let any = log::has_final_events_for(&self.pool, self.name()).await?;
            return Ok(if any { Ahead::Chunk } else { Ahead::Nothing });
        };
        let Some(span) = log::final_span_for(&self.pool, self.name(), wanted).await? else {
            return Ok(Ahead::Nothing);
        };
        if !span.wanted
            && checkpoint::skip(&self.pool, self.name(), span.after, span.last, span.spanned)
                .await?
        {
            let spanned = usize::try_from(span.spanned).unwrap_or(usize::MAX);
            return Ok(Ahead::SteppedOver(spanned));
        }
        // Wanted events, or a checkpoint that moved meanwhile (or has no row yet): the
        // locked chunk decides.
        Ok(Ahead::Chunk)
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

/// Makes PostgreSQL plan every statement of the transaction for its actual parameters and
/// the tables' current size. Otherwise a connection's cached generic plan, chosen while a
/// projection table was small (a fresh deployment, a replay that truncated it), keeps
/// scanning the whole table once it is large — measured: a replay of 150,000 events at 540
/// events/s, each verdict update a sequential scan.
pub async fn plan_each_statement(conn: &mut PgConnection) -> Result<(), ProjectionError> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(conn)
        .await?;
    Ok(())
}

/// Reads the next `limit` final events after `from` and applies those the projection
/// wants through `conn`; returns the position of the last one read and how many were read,
/// or `None` when there were none. The caller owns the transaction (and the checkpoint).
pub async fn apply_chunk(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    from: LogPosition,
    limit: i64,
) -> Result<Option<(LogPosition, usize)>, ProjectionError> {
    let chunk = log::read_chunk(&mut *conn, from, limit, projection.event_types()).await?;
    let Some(last) = chunk.last else {
        return Ok(None);
    };
    projection.apply_all(&mut *conn, &chunk.events).await?;
    Ok(Some((last, chunk.spanned)))
}
