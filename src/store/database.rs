//! Connecting to PostgreSQL and bringing its schema up to date. The migrations in
//! `migrations/` are compiled into the binary and run at start-up of every command that
//! uses the database (and by `cj-assessment migrate`); sqlx records applied ones, so
//! running them again is a no-op.

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};
use std::time::Duration;

/// The event store, the projection tables, their views and functions.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Connections per process: the projectors (one each while a chunk is applied), the
/// notification listener, the relay's and the monitor's lock holders, the projectors'
/// wake-up after appends (one statement at a time), and commands — up to
/// [`RECORD_CONCURRENCY`](super::command_bus::RECORD_CONCURRENCY) at once — share them.
pub const MAX_CONNECTIONS: u32 = 32;

/// How long to wait for a free connection before reporting the database as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] MigrateError),
}

pub async fn connect(database_url: &str) -> Result<PgPool, DatabaseError> {
    PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_release(|connection, _| {
            // A connection keeps its socket buffers as large as the largest message it ever
            // sent or read: an append of a whole poll's events (a few MiB, ADR 0016) or a
            // long history, times every pooled connection. Back in the pool, the write buffer
            // is cut to at most 8 KiB (to the last message's size, below that; the next
            // statements grow it again, a few small reallocations) and the read buffer's
            // spare room above 8 KiB is let go.
            connection.shrink_buffers();
            Box::pin(async { Ok(true) })
        })
        .connect(database_url)
        .await
        .map_err(DatabaseError::Connect)
}

pub async fn migrate(pool: &PgPool) -> Result<(), DatabaseError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Connects and applies pending migrations: what every database command starts with.
pub async fn connect_and_migrate(database_url: &str) -> Result<PgPool, DatabaseError> {
    let pool = connect(database_url).await?;
    migrate(&pool).await?;
    Ok(pool)
}
