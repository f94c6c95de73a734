//! How far a projector is behind: events in the log after its checkpoint (the SQL function
//! `projector_lag`, so dashboards and the service read the same figure).

use crate::error::ProjectionError;
use sqlx::PgExecutor;

/// Events not yet applied by `projector`.
pub async fn projector_lag(
    executor: impl PgExecutor<'_>,
    projector: &str,
) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar("SELECT projector_lag($1)")
        .bind(projector)
        .fetch_one(executor)
        .await?)
}

const TOTAL_LAG: &str =
    "SELECT coalesce(sum(projector_lag(projector)), 0)::int8 FROM projector_checkpoints";

/// Events not yet applied, summed over every projector that has a checkpoint.
pub async fn total_lag(executor: impl PgExecutor<'_>) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar(TOTAL_LAG).fetch_one(executor).await?)
}

/// How often [`wait_until_caught_up`] looks again.
const CATCH_UP_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Polls until every named projector has a lag of 0 or `timeout` has passed; returns the
/// lags seen last (all 0 unless it timed out).
pub async fn wait_until_caught_up<'a>(
    pool: &sqlx::PgPool,
    projectors: &[&'a str],
    timeout: std::time::Duration,
) -> Result<Vec<(&'a str, i64)>, ProjectionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut lags = Vec::with_capacity(projectors.len());
        for &name in projectors {
            lags.push((name, projector_lag(pool, name).await?));
        }
        if lags.iter().all(|(_, lag)| *lag == 0) || tokio::time::Instant::now() >= deadline {
            return Ok(lags);
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
}

/// Projectors (of `projectors`) whose checkpoint is still before the last event of one
/// aggregate. Unlike a lag of 0, this is reached under a log that keeps growing: a reader
/// that saw one projection reflect a batch's end waits for the others to reflect it too.
const PROJECTORS_BEHIND_AGGREGATE: &str = "
    WITH last AS (
        SELECT tx::text::bigint AS tx, global_seq FROM events
         WHERE aggregate_id = $1 ORDER BY tx DESC, global_seq DESC LIMIT 1)
    SELECT count(*) FROM unnest($2::text[]) AS p(name)
      JOIN last ON true
      LEFT JOIN projector_checkpoints c ON c.projector = p.name
     WHERE c.projector IS NULL
        OR (c.last_tx::text::bigint, c.last_seq) < (last.tx, last.global_seq)";

/// Polls until every named projector has applied the last event of `aggregate_id` or
/// `timeout` has passed; returns how many were still behind (0 unless it timed out).
pub async fn wait_until_applied(
    pool: &sqlx::PgPool,
    projectors: &[&str],
    aggregate_id: &str,
    timeout: std::time::Duration,
) -> Result<i64, ProjectionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let behind: i64 = sqlx::query_scalar(PROJECTORS_BEHIND_AGGREGATE)
            .bind(aggregate_id)
            .bind(projectors)
            .fetch_one(pool)
            .await?;
        if behind == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(behind);
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
}

/// Events in the log not yet below the xmin horizon: written by transactions still
/// running, or held back by an older transaction anywhere on the server.
pub async fn events_not_final(executor: impl PgExecutor<'_>) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE tx >= pg_snapshot_xmin(pg_current_snapshot())",
    )
    .fetch_one(executor)
    .await?)
}

/// Polls until every event in the log is final (projectors may read all of it) or
/// `timeout` has passed; returns how many were still not final (0 unless it timed out).
pub async fn wait_until_final(
    pool: &sqlx::PgPool,
    timeout: std::time::Duration,
) -> Result<i64, ProjectionError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let pending = events_not_final(pool).await?;
        if pending == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(pending);
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
}
