//! The batch monitor — recovery only. The normal path never waits for it: batches finalize
//! in the command that records their deciding callback. Every interval, one instance (the
//! holder of a PostgreSQL advisory lock) sweeps the projections once:
//! - batches in GENERATING_PAIRS or WAITING_CALLBACKS idle past the timeout are stuck:
//!   `ForceRecovery` completes them as COMPLETE_FORCED_RECOVERY at ≥ 80 % progress, or fails
//!   them (`stuck_timeout_insufficient_progress`) below;
//! - the completion sweep finalizes batches whose callbacks are all in but which are not
//!   terminal — 0 in normal operation, counted when not.
//!
//! The others ask for the lock every [`LOCK_RETRY`], so the monitor moves within seconds
//! of its leader's death. The lock is held on a connection of its own, checked before every
//! sweep, and released (the connection closed) after a failed sweep or at shutdown. Time
//! comes from the injected clock.

pub mod sweep;

use crate::clock::Clock;
use crate::leader::try_advisory_lock;
use crate::metrics::{metrics, LEADER_MONITOR};
use crate::store::command_bus::BatchCommandBus;
use crate::worker::Worker;
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::time::Duration;
use sweep::{sweep_once, SweepSettings};
use tokio_util::sync::CancellationToken;

/// Advisory-lock key of the monitor: only the instance holding it sweeps ("cjmonitr").
pub const MONITOR_LOCK_KEY: i64 = 0x636a_6d6f_6e69_7472;

/// How often an instance that does not run the monitor tries to take the lock: a few
/// seconds, one cheap query each; the sweep interval (minutes) would leave a dead leader's
/// monitor unrun that long.
pub const LOCK_RETRY: Duration = Duration::from_secs(5);

/// The monitor as one of `serve`'s workers: [`run_monitor`] with its shutdown.
pub fn worker(
    pool: PgPool,
    bus: Arc<BatchCommandBus>,
    clock: Arc<dyn Clock>,
    settings: SweepSettings,
    interval: Duration,
) -> Worker {
    Worker::new("monitor", move |shutdown| {
        run_monitor(pool, bus, clock, settings, interval, shutdown)
    })
}

/// Runs the monitor until `shutdown`: waits for the advisory lock (another instance may
/// hold it), then sweeps every `interval`, logging a heartbeat each cycle.
pub async fn run_monitor(
    pool: PgPool,
    bus: Arc<BatchCommandBus>,
    clock: Arc<dyn Clock>,
    settings: SweepSettings,
    interval: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut lock_holder = None;
    let leading = metrics().leader.with_label_values(&[LEADER_MONITOR]);
    loop {
        if let Some(holder) = lock_holder.as_mut() {
            if !is_alive(holder).await {
                tracing::warn!("batch monitor lost its lock connection; taking the lock again");
                release(lock_holder.take()).await;
            }
        }
        if lock_holder.is_none() {
            lock_holder = try_take_lock(&pool).await;
            if lock_holder.is_some() {
                tracing::info!("batch monitor leads");
            }
        }
        leading.set(i64::from(lock_holder.is_some()));
        if lock_holder.is_some() {
            match sweep_once(&pool, &bus, clock.as_ref(), &settings).await {
                Ok(report) => tracing::info!(?report, "batch monitor heartbeat"),
                Err(error) => {
                    tracing::warn!(%error, "batch monitor sweep failed; lock released, will retry");
                    release(lock_holder.take()).await;
                }
            }
        } else {
            tracing::debug!("another instance runs the batch monitor");
        }
        // A waiting instance asks for the lock more often than the leader sweeps, so the
        // monitor moves within LOCK_RETRY of its leader's death.
        let pause = if lock_holder.is_some() {
            interval
        } else {
            interval.min(LOCK_RETRY)
        };
        tokio::select! {
            _ = shutdown.cancelled() => {
                release(lock_holder.take()).await;
                leading.set(0);
                return Ok(());
            }
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// A connection holding the monitor's advisory lock, or `None` when another instance holds
/// it. The connection is detached from the pool: the lock lives as long as the session, so
/// a pooled connection would go back to the pool still holding it, and no other instance
/// could take over. Closing the connection (`release`) frees the lock.
pub async fn try_take_lock(pool: &PgPool) -> Option<PgConnection> {
    let mut connection = pool.acquire().await.ok()?;
    let taken = try_advisory_lock(&mut connection, MONITOR_LOCK_KEY)
        .await
        .ok()?;
    taken.then(|| connection.detach())
}

/// Whether the lock holder's session is still there (a database restart ends it, and the
/// lock with it).
async fn is_alive(holder: &mut PgConnection) -> bool {
    sqlx::query("SELECT 1").execute(holder).await.is_ok()
}

/// Closes the lock holder's connection, which frees the lock.
async fn release(holder: Option<PgConnection>) {
    if let Some(holder) = holder {
        let _ = holder.close().await;
    }
}
