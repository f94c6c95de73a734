//! Rebuilding projections from the whole log. Each projection is rebuilt in one transaction
//! of its own: lock the projector's checkpoint (the live projector waits), truncate the
//! projection's tables, apply every final event from the log start, and set the checkpoint
//! to where the rebuild stopped. Readers see the old rows until the commit and the new ones
//! after it; the live projector then continues from the rebuilt checkpoint. Why
//! truncate-under-lock rather than fresh tables swapped in:
//! `docs/adr/0005-replay-truncates-under-lock.md`.
//!
//! [`replay`] rebuilds one projection, reading the log in its own transaction.
//! [`replay_together`] rebuilds several from one read of the log: a reader pages
//! through it in chunks of [`REPLAY_CHUNK_SIZE`] events and hands each chunk to every
//! projection's rebuild, each on its own connection, so the database applies them side by
//! side while the next chunk is read. A rebuild commits only once the reader reached the
//! log's end; if the reader or any rebuild fails, none commits.

use crate::checkpoint;
use crate::error::ProjectionError;
use crate::log::{self, Chunk, LogPosition};
use crate::projection::Projection;
use crate::runner::{apply_chunk, plan_each_statement};
use sqlx::{PgConnection, PgPool};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events per chunk of a rebuild. A rebuild is one long transaction anyway, so its chunks
/// can be large: every projection folds a chunk into a few statements ([`crate::fold`]),
/// and a comparison planned and answered within one chunk is written once.
pub const REPLAY_CHUNK_SIZE: i64 = 5_000;

/// Chunks read ahead of the slowest rebuild.
const READ_AHEAD: usize = 4;

/// The name a report of every projection rebuilt together carries.
pub const ALL_PROJECTIONS: &str = "all projections";

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

/// Rebuilds `projection` alone, reading the log in its own transaction;
/// `progress(applied, log_size)` is called after every chunk.
pub async fn replay(
    pool: &PgPool,
    projection: &dyn Projection,
    mut progress: impl FnMut(u64, i64),
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let log_size = log::event_count(pool).await?;
    let mut tx = pool.begin().await?;
    start_rebuild(&mut tx, projection).await?;
    let mut position = LogPosition::default();
    let mut events = 0u64;
    while let Some((last, applied)) =
        apply_chunk(&mut tx, projection, position, REPLAY_CHUNK_SIZE).await?
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

/// Locks the projector's checkpoint, empties the projection's tables and puts the
/// checkpoint back to the log start, in the rebuild's transaction.
async fn start_rebuild(
    conn: &mut PgConnection,
    projection: &dyn Projection,
) -> Result<(), ProjectionError> {
    plan_each_statement(&mut *conn).await?;
    checkpoint::lock(&mut *conn, projection.name()).await?;
    let tables = projection.tables().join(", ");
    sqlx::query(&format!("TRUNCATE {tables}"))
        .execute(&mut *conn)
        .await?;
    checkpoint::reset(conn, projection.name()).await
}

/// Rebuilds every one of `projections` from one read of the log; `progress(read,
/// log_size)` is called after every chunk read.
pub async fn replay_together(
    pool: &PgPool,
    projections: Vec<Arc<dyn Projection>>,
    mut progress: impl FnMut(u64, i64),
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let log_size = log::event_count(pool).await?;
    let wanted = wanted_by(&projections);
    let mut feeds = Vec::with_capacity(projections.len());
    let mut rebuilds = Vec::with_capacity(projections.len());
    for projection in projections {
        let (feed, chunks) = mpsc::channel(READ_AHEAD);
        feeds.push(feed);
        rebuilds.push(tokio::spawn(rebuild(pool.clone(), projection, chunks)));
    }
    let mut events = 0u64;
    let read = async {
        let mut position = LogPosition::default();
        loop {
            let chunk =
                log::read_chunk(pool, position, REPLAY_CHUNK_SIZE, wanted.as_deref()).await?;
            let Some(last) = chunk.last else { break };
            position = last;
            events += chunk.spanned as u64;
            let chunk = Arc::new(chunk);
            for feed in &feeds {
                if feed.send(Feed::Chunk(Arc::clone(&chunk))).await.is_err() {
                    return Ok(false); // that rebuild failed: its error is reported below
                }
            }
            progress(events, log_size);
        }
        Ok::<bool, ProjectionError>(true)
    };
    let mut errors = Vec::new();
    match read.await {
        Ok(true) => {
            for feed in &feeds {
                let _ = feed.send(Feed::End).await;
            }
        }
        Ok(false) => {}
        Err(error) => errors.push(error),
    }
    drop(feeds);
    for rebuild in rebuilds {
        let outcome = rebuild.await.unwrap_or_else(|panic| {
            Err(ProjectionError::Aborted {
                projection: ALL_PROJECTIONS,
                reason: format!("a rebuild panicked: {panic}"),
            })
        });
        errors.extend(outcome.err());
    }
    // The cause, rather than the other rebuilds' stopping because of it.
    let cause = errors
        .iter()
        .position(|e| !is_stopped_early(e))
        .unwrap_or(0);
    match (!errors.is_empty()).then(|| errors.swap_remove(cause)) {
        Some(error) => Err(error),
        None => Ok(ReplayReport {
            projection: ALL_PROJECTIONS,
            events,
            elapsed: started.elapsed(),
        }),
    }
}

/// Why a rebuild stopped when its feed ended before the log's end.
const STOPPED_EARLY: &str = "the rebuild stopped before the log's end";

fn is_stopped_early(error: &ProjectionError) -> bool {
    matches!(error, ProjectionError::Aborted { reason, .. } if reason == STOPPED_EARLY)
}

/// What the reader hands a rebuild.
enum Feed {
    Chunk(Arc<Chunk>),
    /// The whole log was read: commit.
    End,
}

/// The event types any of `projections` wants (`None`: every type).
fn wanted_by(projections: &[Arc<dyn Projection>]) -> Option<Vec<&'static str>> {
    let mut wanted: Vec<&'static str> = Vec::new();
    for projection in projections {
        wanted.extend(projection.event_types()?);
    }
    wanted.sort_unstable();
    wanted.dedup();
    Some(wanted)
}

/// One projection's rebuild, in its own transaction, from the chunks the reader feeds it.
async fn rebuild(
    pool: PgPool,
    projection: Arc<dyn Projection>,
    mut chunks: mpsc::Receiver<Feed>,
) -> Result<(), ProjectionError> {
    let name = projection.name();
    let mut tx = pool.begin().await?;
    start_rebuild(&mut tx, projection.as_ref()).await?;
    let (mut position, mut events) = (LogPosition::default(), 0i64);
    loop {
        match chunks.recv().await {
            Some(Feed::Chunk(chunk)) => {
                projection.apply_all(&mut tx, &chunk.events).await?;
                position = chunk.last.unwrap_or(position);
                events += chunk.spanned as i64;
            }
            Some(Feed::End) => break,
            None => {
                return Err(ProjectionError::Aborted {
                    projection: name,
                    reason: STOPPED_EARLY.into(),
                })
            }
        }
    }
    checkpoint::advance(&mut tx, name, position, events).await?;
    tx.commit().await?;
    Ok(())
}
