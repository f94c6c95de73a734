//! The dispatcher's side of `cj_dispatch_queue`: claiming due comparisons (several
//! dispatcher instances may run: `FOR UPDATE SKIP LOCKED`, and a lease — `holder` and a
//! `due_at` moved ahead — that its holder renews while it works and that brings a dead
//! instance's rows back when it runs out: [`super::lease`]), and noting what became of each,
//! only on rows still held. Times come from the injected clock, passed in as `now`.
//!
//! This file is the queue's declared second writer: it updates only the columns the
//! projection's contract gives the dispatcher (`holder`, `due_at`, `dispatch_attempts`,
//! `status`, `last_error`; see `cj_projections::dispatch_queue`), never inserts or deletes,
//! and reads `cj_dispatch_batches` only joined to rows it claims.

use super::lease::LeaseSettings;
use crate::backoff::{Backoff, Jitter};
use chrono::{DateTime, Utc};
use cj_aggregates::batch::settings::LlmSettings;
use sqlx::types::Json;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

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
    /// The end of the lease this claim took.
    pub leased_until: DateTime<Utc>,
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
   SET due_at = $3 + make_interval(secs => $2),
       holder = $4,
       dispatch_attempts = q.dispatch_attempts + (q.status = 'pending')::int
  FROM (SELECT correlation_id FROM cj_dispatch_queue
         WHERE due_at <= $3 AND correlation_id <> ALL($5)
         ORDER BY due_at, correlation_id
         LIMIT $1
           FOR UPDATE SKIP LOCKED) due,
       cj_dispatch_batches b
 WHERE q.correlation_id = due.correlation_id AND b.batch_id = q.batch_id
RETURNING q.correlation_id, q.batch_id, q.essay_a, q.essay_b, q.text_a, q.text_b, q.attempt,
          q.status, q.dispatch_attempts, q.last_error, b.upstream_batch_id,
          b.request_correlation_id, b.assignment_id, b.llm, q.due_at AS leased_until";

/// Claims up to `limit` comparisons due at `now` for `holder`, for a lease of `lease`,
/// never one of `in_flight`: a request that outlived its lease (renewals failed) must not be
/// claimed and sent a second time by the instance still sending it.
pub async fn claim(
    pool: &PgPool,
    holder: Uuid,
    limit: usize,
    now: DateTime<Utc>,
    lease: LeaseSettings,
    in_flight: &[Uuid],
) -> sqlx::Result<Vec<ClaimedComparison>> {
    sqlx::query_as(CLAIM)
        .bind(limit as i64)
        .bind(lease.length.as_secs_f64())
        .bind(now)
        .bind(holder)
        .bind(in_flight)
        .fetch_all(pool)
        .await
}

/// Rows locked right now (being noted, or deleted by the projection) are skipped, not
/// waited for: a renewal never takes part in a deadlock, and a skipped row is renewed at the
/// next heartbeat.
const RENEW: &str = "
UPDATE cj_dispatch_queue q
   SET due_at = $3 + make_interval(secs => $4)
  FROM (SELECT correlation_id FROM cj_dispatch_queue
         WHERE correlation_id = ANY($1) AND holder = $2
         ORDER BY correlation_id
           FOR UPDATE SKIP LOCKED) mine
 WHERE q.correlation_id = mine.correlation_id
RETURNING q.correlation_id, q.due_at";

/// Renews, from `now`, the leases on `ids` that `holder` still holds and nobody has locked;
/// returns those with their new ends.
pub async fn renew(
    pool: &PgPool,
    holder: Uuid,
    ids: &[Uuid],
    now: DateTime<Utc>,
    lease: LeaseSettings,
) -> sqlx::Result<Vec<(Uuid, DateTime<Utc>)>> {
    sqlx::query_as(RENEW)
        .bind(ids)
        .bind(holder)
        .bind(now)
        .bind(lease.length.as_secs_f64())
        .fetch_all(pool)
        .await
}

const HELD_ELSEWHERE: &str = "
SELECT correlation_id FROM cj_dispatch_queue
 WHERE correlation_id = ANY($1) AND holder IS DISTINCT FROM $2";

/// Of `ids`, those whose lease another instance holds now (claimed after `holder`'s ran
/// out). Rows no longer in the queue are done, not lost.
pub async fn held_elsewhere(pool: &PgPool, holder: Uuid, ids: &[Uuid]) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(HELD_ELSEWHERE)
        .bind(ids)
        .bind(holder)
        .fetch_all(pool)
        .await
}

/// Rows are locked in key order, as renewals do, so two notes never deadlock each other. A
/// row the provider already accepted stays `sent` when postponed (its record failed for a
/// passing reason): put back to `pending`, it would be sent again.
const MARK: &str = "
UPDATE cj_dispatch_queue q
   SET status = CASE WHEN q.status = 'sent' AND $2 = 'pending' THEN 'sent' ELSE $2 END, last_error = $3, due_at = $5 + make_interval(secs => $4)
  FROM (SELECT correlation_id FROM cj_dispatch_queue
         WHERE correlation_id = ANY($1) AND holder = $6
         ORDER BY correlation_id
           FOR UPDATE) mine
 WHERE q.correlation_id = mine.correlation_id";

/// Who notes, and when: marks touch only rows `holder` still holds.
#[derive(Debug, Clone, Copy)]
pub struct Marker {
    pub holder: Uuid,
    pub now: DateTime<Utc>,
    pub lease: LeaseSettings,
}

impl Marker {
    /// The provider accepted these: SubmitPairs is being recorded. Should that fail, the
    /// rows come back after the lease and only the command is tried again.
    pub async fn sent(&self, pool: &PgPool, ids: &[Uuid]) -> sqlx::Result<()> {
        self.mark(pool, ids, "sent", None, self.lease.length).await
    }

    /// The provider refused this one with `code`: its failure is being recorded.
    pub async fn refused(&self, pool: &PgPool, id: Uuid, code: &str) -> sqlx::Result<()> {
        self.mark(pool, &[id], "failed", Some(code), self.lease.length)
            .await
    }

    /// Sending failed for a passing reason: try again after `delay`.
    pub async fn postpone(
        &self,
        pool: &PgPool,
        id: Uuid,
        reason: &str,
        delay: Duration,
    ) -> sqlx::Result<()> {
        self.mark(pool, &[id], "pending", Some(reason), delay).await
    }

    async fn mark(
        &self,
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
            .bind(self.now)
            .bind(self.holder)
            .execute(pool)
            .await?;
        Ok(())
    }
}

/// The pause before retrying a comparison: a quarter second after the first retryable
/// failure, doubling per attempt up to a minute (a provider down for long is asked about
/// once a minute per comparison). Not jittered.
const RETRY_BACKOFF: Backoff = Backoff::new(
    Duration::from_millis(250),
    Duration::from_secs(60),
    Jitter::None,
);

/// The pause before the next try after `attempts` failed ones.
pub fn backoff(attempts: i32) -> Duration {
    RETRY_BACKOFF.delay(attempts.saturating_sub(1).clamp(0, 16) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_quarter_second_up_to_a_minute() {
        let ms = Duration::from_millis;
        let delays: Vec<Duration> = (1..=10).map(backoff).collect();
        let expected = [
            250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000,
        ];
        assert_eq!(delays, expected.map(ms));
        assert_eq!(backoff(40), ms(60_000));
        assert_eq!(backoff(i32::MAX), ms(60_000));
        assert_eq!(backoff(0), ms(250));
        assert_eq!(backoff(-3), ms(250));
    }
}
