//! Waiting for a run to settle: every requested batch terminal, every message the outbox
//! derived acknowledged by the broker, every projector caught up. Prints a progress line
//! every 10 s, so a slow run shows where it stands, and fails naming the batches still open
//! and where the service's consumer group stands.

use crate::rig::Rig;
use crate::support::kafka::group_position;
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub registered: i64,
    pub terminal: i64,
    pub unpublished: i64,
    pub events: i64,
    pub largest_lag: i64,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} registered, {} terminal, {} events, {} messages unpublished, largest projector lag {}",
            self.registered, self.terminal, self.events, self.unpublished, self.largest_lag
        )
    }
}

/// Where the batches of `requested` stand now.
pub async fn progress(pool: &PgPool, requested: &BTreeSet<String>) -> sqlx::Result<Progress> {
    let upstream: Vec<&str> = requested.iter().map(String::as_str).collect();
    let (registered, terminal): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE state IN ('COMPLETED', 'FAILED'))
           FROM cj_batch_states WHERE upstream_batch_id = ANY($1)",
    )
    .bind(&upstream)
    .fetch_one(pool)
    .await?;
    let unpublished: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM cj_outbox o
          WHERE NOT EXISTS (SELECT 1 FROM cj_outbox_published p WHERE p.event_id = o.event_id)",
    )
    .fetch_one(pool)
    .await?;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(pool)
        .await?;
    let largest_lag: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(projector_lag(name)), 0)::int8 FROM unnest($1::text[]) AS name",
    )
    .bind(cj_projections::catalogue::names())
    .fetch_one(pool)
    .await?;
    Ok(Progress {
        registered,
        terminal,
        unpublished,
        events,
        largest_lag,
    })
}

/// Waits until the run has settled; returns how long that took.
pub async fn settle(
    label: &str,
    rig: &Rig,
    requested: &BTreeSet<String>,
    within: Duration,
) -> Duration {
    let pool = &rig.db.pool;
    let started = Instant::now();
    let mut next_report = started + Duration::from_secs(10);
    loop {
        match progress(pool, requested).await {
            Ok(now) => {
                let expected = requested.len() as i64;
                if now.terminal == expected && now.unpublished == 0 && now.largest_lag == 0 {
                    return started.elapsed();
                }
                if Instant::now() >= next_report {
                    eprintln!("{label}: settling {:.0?}: {now}", started.elapsed());
                    next_report += Duration::from_secs(10);
                }
            }
            Err(error) => eprintln!("{label}: progress unreadable: {error}"),
        }
        if started.elapsed() >= within {
            let topics = &rig.kafka().topics;
            let consumer = tokio::task::block_in_place(|| {
                [&topics.requests, &topics.callbacks]
                    .map(|topic| (topic.clone(), group_position(rig.kafka(), topic)))
            });
            panic!(
                "{label}: the run did not settle within {within:?}; open batches: {:?}; \
                 the service's consumer group (committed offset, high watermark): {consumer:?}",
                open_batches(pool).await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// (upstream id, state, completed, failed, submitted) of every batch not yet terminal.
async fn open_batches(pool: &PgPool) -> Vec<(String, String, i32, i32, i32)> {
    sqlx::query_as(
        "SELECT upstream_batch_id, state, completed_comparisons, failed_comparisons,
                submitted_comparisons
           FROM cj_batch_states WHERE state NOT IN ('COMPLETED', 'FAILED')
          ORDER BY upstream_batch_id LIMIT 20",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default()
}
