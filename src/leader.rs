//! Leadership by PostgreSQL advisory lock: the one step the singletons share. The batch
//! monitor ([`crate::monitor`]) and the outbox relay ([`crate::outbox_relay`]) each try a
//! session-level advisory lock under a key of their own on a connection kept out of the pool;
//! the holder leads while that connection lives, and closing it (or a dead session) frees
//! the lock for another instance.
//!
//! What differs stays with each caller: the monitor tries on a pooled connection and
//! detaches it only once the lock is taken, treats any error as "not leading", checks the
//! session before every sweep and releases the lock after a failed one; the relay detaches
//! before trying, reports errors (it pauses longer after them), and leads until its
//! publishing loop ends.

use sqlx::PgConnection;

/// Tries the session-level advisory lock `key` on `connection`: `true` when this session now
/// holds it (it is held until the session ends), `false` when another session does.
pub async fn try_advisory_lock(connection: &mut PgConnection, key: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(connection)
        .await
}
