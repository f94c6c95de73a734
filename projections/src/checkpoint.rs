//! A projector's checkpoint row in `projector_checkpoints`: the last log position it
//! applied. Locked `FOR UPDATE` for the length of a chunk, so two instances of a projector
//! (or a projector and a replay) never apply the same events concurrently. One writer takes
//! no lock: [`skip`], which steps a checkpoint over events nobody applies, and only from
//! the position it read — behind a chunk's, a replay's or a rebuild's lock it waits, then
//! finds the row moved and does nothing.

use crate::error::ProjectionError;
use crate::log::LogPosition;
use sqlx::{PgConnection, PgExecutor};

/// Locks the projector's row (creating it at the log start if missing) and returns its
/// position. Held until the caller's transaction ends.
///
/// The row exists for every chunk but a projector's first, so it is locked first and
/// inserted only when missing: one statement per chunk instead of two. Under `bench scale`
/// the projectors run some 8,000 chunks, and the insert-if-missing that used to open every
/// one of them was 7 % of all the statements the service ran (docs/benchmarks.md, Scale).
pub async fn lock(
    conn: &mut PgConnection,
    projector: &str,
) -> Result<LogPosition, ProjectionError> {
    if let Some(position) = locked_row(&mut *conn, projector).await? {
        return Ok(position);
    }
    sqlx::query("INSERT INTO projector_checkpoints (projector) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(projector)
        .execute(&mut *conn)
        .await?;
    locked_row(&mut *conn, projector)
        .await?
        .ok_or(ProjectionError::Database(sqlx::Error::RowNotFound))
}

/// The projector's row, locked until the transaction ends; `None` when it has none.
async fn locked_row(
    conn: &mut PgConnection,
    projector: &str,
) -> Result<Option<LogPosition>, ProjectionError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT last_tx::text::bigint, last_seq FROM projector_checkpoints
          WHERE projector = $1 FOR UPDATE",
    )
    .bind(projector)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(tx, global_seq)| LogPosition { tx, global_seq }))
}

/// Moves the checkpoint to `to`, counting `applied` more events.
pub async fn advance(
    conn: &mut PgConnection,
    projector: &str,
    to: LogPosition,
    applied: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projector_checkpoints
            SET last_tx = $2::bigint::text::xid8, last_seq = $3,
                events_applied = events_applied + $4, updated_at = now()
          WHERE projector = $1",
    )
    .bind(projector)
    .bind(to.tx)
    .bind(to.global_seq)
    .bind(applied)
    .execute(conn)
    .await?;
    Ok(())
}

/// Steps the checkpoint from `after` to `to` over `spanned` final events the projector
/// does not want, without a transaction of its own: with the read of the span, two
/// statements instead of a chunk's seven. Only when the checkpoint still stands at `after` — another instance that moved
/// it, or a replay that reset it, wins, and `false` sends the caller to the locked chunk
/// (as does a projector without a row yet). The events between are final, so none can
/// appear there later: stepping over them is what a chunk that applied nothing would do.
pub async fn skip(
    executor: impl PgExecutor<'_>,
    projector: &str,
    after: LogPosition,
    to: LogPosition,
    spanned: i64,
) -> Result<bool, ProjectionError> {
    let stepped = sqlx::query(
        "UPDATE projector_checkpoints
            SET last_tx = $4::bigint::text::xid8, last_seq = $5,
                events_applied = events_applied + $6, updated_at = now()
          WHERE projector = $1 AND last_tx = $2::bigint::text::xid8 AND last_seq = $3",
    )
    .bind(projector)
    .bind(after.tx)
    .bind(after.global_seq)
    .bind(to.tx)
    .bind(to.global_seq)
    .bind(spanned)
    .execute(executor)
    .await?;
    Ok(stepped.rows_affected() == 1)
}

/// Puts the checkpoint back to the log start (replay).
pub async fn reset(conn: &mut PgConnection, projector: &str) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projector_checkpoints
            SET last_tx = '0', last_seq = 0, events_applied = 0, updated_at = now()
          WHERE projector = $1",
    )
    .bind(projector)
    .execute(conn)
    .await?;
    Ok(())
}

/// When any projector last advanced its checkpoint (`None` before the first).
pub async fn last_advanced_at(
    executor: impl PgExecutor<'_>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ProjectionError> {
    Ok(
        sqlx::query_scalar("SELECT max(updated_at) FROM projector_checkpoints")
            .fetch_one(executor)
            .await?,
    )
}

/// Moves projector `to`'s checkpoint to where `from` stands and forgets `from` (an online
/// rebuild's shadow projector handing over).
pub async fn take_over(
    conn: &mut PgConnection,
    from: &str,
    to: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projector_checkpoints c
            SET last_tx = s.last_tx, last_seq = s.last_seq, events_applied = s.events_applied,
                updated_at = now()
           FROM projector_checkpoints s
          WHERE s.projector = $1 AND c.projector = $2",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM projector_checkpoints WHERE projector = $1")
        .bind(from)
        .execute(conn)
        .await?;
    Ok(())
}
