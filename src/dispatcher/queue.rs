//! The dispatcher's side of `cj_dispatch_queue`: claiming due comparisons (several
//! dispatcher instances may run: `FOR UPDATE SKIP LOCKED`, and a lease that moves `due_at`
//! ahead so a crashed instance's rows come back), and noting what became of each.

use cj_aggregates::settings::LlmSettings;
use sqlx::types::Json;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// How long a claimed row stays with its dispatcher before another may take it: longer
/// than fetching two texts with retries plus the provider's request timeout.
pub const LEASE: Duration = Duration::from_secs(120);

/// A comparison taken from the queue, with what sending it needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedComparison {
    pub correlation_id: Uuid,
    pub batch_id: Uuid,
    pub essay_a: String,
    pub essay_b: String,
    pub text_a: String,
    pub text_b: String,
    pub attempt: i32,
    /// `pending` (to send), `sent` (202 received, SubmitPairs to record) or `failed`
    /// (refused, the failure to record).
    pub status: String,
    pub dispatch_attempts: i32,
    pub last_error: Option<String>,
    pub upstream_batch_id: String,
    pub request_correlation_id: Uuid,
    pub assignment_id: Option<String>,
    pub llm: Json<LlmSettings>,
}

/// Where a claimed row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStatus {
    Pending,
    Sent,
    Failed,
}

impl ClaimedComparison {
    pub fn queue_status(&self) -> QueueStatus {
        match self.status.as_str() {
            "sent" => QueueStatus::Sent,
            "failed" => QueueStatus::Failed,
            _ => QueueStatus::Pending,
        }
    }
}

const CLAIM: &str = "
UPDATE cj_dispatch_queue q
   SET due_at = now() + make_interval(secs => $2),
       dispatch_attempts = q.dispatch_attempts + (q.status = 'pending')::int
  FROM (SELECT correlation_id FROM cj_dispatch_queue
         WHERE due_at <= now()
         ORDER BY due_at, correlation_id
         LIMIT $1
           FOR UPDATE SKIP LOCKED) due,
       cj_dispatch_batches b
 WHERE q.correlation_id = due.correlation_id AND b.batch_id = q.batch_id
RETURNING q.correlation_id, q.batch_id, q.essay_a, q.essay_b, q.text_a, q.text_b, q.attempt,
          q.status, q.dispatch_attempts, q.last_error, b.upstream_batch_id,
          b.request_correlation_id, b.assignment_id, b.llm";

/// Claims up to `limit` due comparisons for [`LEASE`].
pub async fn claim(pool: &PgPool, limit: usize) -> sqlx::Result<Vec<ClaimedComparison>> {
    sqlx::query_as(CLAIM)
        .bind(limit as i64)
        .bind(LEASE.as_secs_f64())
        .fetch_all(pool)
        .await
}

const MARK: &str = "
UPDATE cj_dispatch_queue
   SET status = $2, last_error = $3, due_at = now() + make_interval(secs => $4)
 WHERE correlation_id = ANY($1)";

/// The provider accepted these: SubmitPairs is being recorded. Should that fail, the rows
/// come back after the lease and only the command is tried again.
pub async fn mark_sent(pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<()> {
    mark(pool, ids, "sent", None, LEASE).await
}

/// The provider refused this one with `code`: its failure is being recorded.
pub async fn mark_refused(pool: &PgPool, id: Uuid, code: &str) -> sqlx::Result<()> {
    mark(pool, &[id], "failed", Some(code), LEASE).await
}

/// Sending failed for a passing reason: try again after `delay`.
pub async fn postpone(pool: &PgPool, id: Uuid, reason: &str, delay: Duration) -> sqlx::Result<()> {
    mark(pool, &[id], "pending", Some(reason), delay).await
}

async fn mark(
    pool: &PgPool,
    ids: &[Uuid],
    status: &str,
    error: Option<&str>,
    due_in: Duration,
) -> sqlx::Result<()> {
    sqlx::query(MARK)
        .bind(ids)
        .bind(status)
        .bind(error)
        .bind(due_in.as_secs_f64())
        .execute(pool)
        .await?;
    Ok(())
}

/// First back-off after a retryable failure; it doubles per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// A provider down for long is asked about once a minute per comparison.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The pause before the next try after `attempts` failed ones.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_quarter_second_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(1));
        assert_eq!(backoff(40), MAX_BACKOFF);
        assert_eq!(backoff(0), FIRST_BACKOFF);
    }
}
