//! Telling the projectors, in this process and every other, that events were appended: a
//! `NOTIFY` on their channel ([`cj_projections::wake::CHANNEL`]) sent after an append has
//! committed, from a transaction of its own.
//!
//! Why not from the append itself (an insert trigger, as before): PostgreSQL serialises every
//! committing transaction that notifies — each holds one database-wide lock from just before
//! its commit until after its commit record is flushed — so appends stopped sharing their
//! flushes and queued one behind another, each for a whole flush (`Lock:object` waits on the
//! `events` insert in `pg_stat_activity` under load; docs/benchmarks.md, Scale). Here the
//! appends commit side by side, and the wake-ups are coalesced: whatever is appended while a
//! `NOTIFY` is on its way is announced by exactly one more. The `NOTIFY`'s own transaction
//! does not wait for its flush (`synchronous_commit = off`), so it holds that lock only for
//! the queue write.
//!
//! A wake-up is an optimisation only, as it was: a projector also polls, so one never sent
//! (this process dying right after an append, the database unreachable for the `NOTIFY`)
//! delays a projection by at most its poll interval and loses nothing.

use cj_projections::wake::CHANNEL;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One statement, so one round trip and its own transaction; `set_config(.., true)` holds
/// for that transaction only, whose commit then returns once written, not once flushed.
const NOTIFY_WITHOUT_WAITING_FOR_THE_FLUSH: &str =
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')";

/// Sends the wake-ups of one event log's appends; stops with it.
pub struct AppendWake {
    appended: Arc<Notify>,
    sender: JoinHandle<()>,
}

impl AppendWake {
    /// Starts the sender (on the current Tokio runtime).
    pub fn start(pool: PgPool) -> Self {
        let appended = Arc::new(Notify::new());
        let sender = tokio::spawn(send_wake_ups(pool, Arc::clone(&appended)));
        AppendWake { appended, sender }
    }

    /// Events were appended and committed: the projectors hear of it soon. Never waits.
    pub fn appended(&self) {
        // One stored permit however many appends arrive meanwhile: one more NOTIFY.
        self.appended.notify_one();
    }
}

impl Drop for AppendWake {
    fn drop(&mut self) {
        self.sender.abort();
    }
}

async fn send_wake_ups(pool: PgPool, appended: Arc<Notify>) {
    loop {
        appended.notified().await;
        if let Err(error) = notify(&pool).await {
            tracing::warn!(
                %error,
                "waking the projectors failed; they find the events when they next poll"
            );
        }
    }
}

async fn notify(pool: &PgPool) -> sqlx::Result<()> {
    sqlx::query(NOTIFY_WITHOUT_WAITING_FOR_THE_FLUSH)
        .bind(CHANNEL)
        .execute(pool)
        .await?;
    Ok(())
}
