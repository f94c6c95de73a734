//! One active relay: the relay that holds a PostgreSQL advisory lock on a connection of its
//! own publishes; the others wait and try again. The lock lives as long as the connection,
//! so a relay that dies (or loses its database connection) frees it for the next one.

use crate::leader::try_advisory_lock;
use sqlx::{PgConnection, PgPool};

/// The advisory lock key of the outbox relay ("cjoutbox" in ASCII). Other singletons (the
/// batch monitor) use keys of their own.
pub const RELAY_LOCK_KEY: i64 = 0x636a_6f75_7462_6f78;

/// A connection holding the relay lock, or `None` when another relay holds it.
pub async fn try_lead(pool: &PgPool) -> sqlx::Result<Option<PgConnection>> {
    // Detached: the connection never returns to the pool still holding the lock.
    let mut conn = pool.acquire().await?.detach();
    let led = try_advisory_lock(&mut conn, RELAY_LOCK_KEY).await?;
    Ok(led.then_some(conn))
}
