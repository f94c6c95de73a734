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
