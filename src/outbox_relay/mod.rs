//! The outbox relay: publishes the messages the `cj_outbox` projection derived when
//! batches ended, in log order, a page at a time with the shared idempotent producer, keyed
//! by the upstream batch id; woken by the projection's notifications. A message is noted as
//! published only after the broker acknowledged it, so a crash between the two re-sends the
//! same `event_id` (consumers de-duplicate) and never loses one. One relay is active at a time
//! ([`leadership`]); the others wait.
//!
//! - [`rows`] — reading unpublished rows, noting published ones.

pub mod leadership;
pub mod rows;

use crate::config::{KafkaSettings, TopicNames};
use crate::kafka::producer::{Delivered, Publisher};
use crate::metrics::{metrics, LEADER_RELAY};
use crate::worker::Worker;
use anyhow::Context;
use chrono::Utc;
use rows::{OutboxPosition, OutboxRow};
use sqlx::postgres::PgListener;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

/// How often an idle leader looks for new messages when no notification came (one lost
/// while the listener reconnected); notified, a finished batch's events leave at once.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The channel the `cj_outbox` insert trigger notifies (migrations/*_cj_outbox_notify.sql).
pub const DERIVED_CHANNEL: &str = "cj_outbox";
/// How often a waiting relay tries to become the leader.
const LEAD_RETRY: Duration = Duration::from_millis(500);
/// Pause after a failure (broker or database) before leading again.
const ERROR_PAUSE: Duration = Duration::from_secs(1);
/// Rows read per query.
const PAGE: i64 = 100;

/// Publishes outbox rows to the configured topics.
#[derive(Clone)]
pub struct OutboxRelay {
    topics: TopicNames,
    publisher: Publisher,
}

/// The relay as one of `serve`'s workers: [`run_outbox_relay`] with its shutdown.
pub fn worker(settings: KafkaSettings, pool: PgPool, publisher: Publisher) -> Worker {
    Worker::new("outbox relay", move |shutdown| async move {
        run_outbox_relay(&settings, pool, publisher, shutdown).await
    })
}

/// Runs a relay until `shutdown`: leads when it can, waits otherwise.
pub async fn run_outbox_relay(
    settings: &KafkaSettings,
    pool: PgPool,
    publisher: Publisher,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    OutboxRelay::new(settings.topics.clone(), publisher)
        .run(&pool, &shutdown)
        .await;
    Ok(())
}

impl OutboxRelay {
    pub fn new(topics: TopicNames, publisher: Publisher) -> Self {
        OutboxRelay { topics, publisher }
    }

    pub async fn run(&self, pool: &PgPool, shutdown: &CancellationToken) {
        while !shutdown.is_cancelled() {
            let pause = match leadership::try_lead(pool).await {
                Ok(Some(mut conn)) => {
                    tracing::info!("outbox relay leads");
                    let leading = metrics().leader.with_label_values(&[LEADER_RELAY]);
                    leading.set(1);
                    let led = self.lead(pool, &mut conn, shutdown).await;
                    let _ = conn.close().await; // frees the lock
                    leading.set(0);
                    match led {
                        Ok(()) => Duration::ZERO,
                        Err(error) => {
                            tracing::error!(
                                error = format!("{error:#}"),
                                "outbox relay stopped leading"
                            );
                            ERROR_PAUSE
                        }
                    }
                }
                Ok(None) => LEAD_RETRY,
                Err(error) => {
                    tracing::error!(%error, "outbox relay cannot reach the database");
                    ERROR_PAUSE
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Publishes while holding the lock on `conn`, until shutdown or a failure. Woken by
    /// the outbox's notifications (`cj_outbox` channel), with polling as the fallback.
    async fn lead(
        &self,
        pool: &PgPool,
        conn: &mut PgConnection,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let mut derived = PgListener::connect_with(pool).await?;
        derived.listen(DERIVED_CHANNEL).await?;
        // Everything up to here was seen published; a new leader starts from the outbox's
        // beginning once.
        let mut passed = OutboxPosition::default();
        while !shutdown.is_cancelled() {
            metrics()
                .outbox_lag
                .set(rows::unpublished_count(conn, passed).await?);
            let page = rows::pending(conn, passed, PAGE).await?;
            if page.is_empty() {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    woken = derived.recv() => { woken?; }
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
                continue;
            }
            passed = self.publish_page(conn, &page).await?;
        }
        Ok(())
    }

    /// Sends a page's messages together (the idempotent producer keeps each partition's
    /// order), then notes every acknowledged one in one statement and returns the position of
    /// the last; a failure ends the page after noting the acknowledged messages before it —
    /// the rest are sent again later, under the same event ids.
    async fn publish_page(
        &self,
        conn: &mut PgConnection,
        page: &[OutboxRow],
    ) -> anyhow::Result<OutboxPosition> {
        let sent = futures::future::join_all(page.iter().map(|row| self.publish(row))).await;
        let mut acknowledged = Vec::with_capacity(page.len());
        let mut failure = None;
        for (row, outcome) in page.iter().zip(sent) {
            match outcome {
                Ok((topic, delivered)) => acknowledged.push((row, topic, delivered)),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        rows::mark_published(conn, &acknowledged).await?;
        for (row, _, _) in &acknowledged {
            metrics().outbox_lag.dec();
            observe_completion_latency(row);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(page.last().map(OutboxRow::position).unwrap_or_default()),
        }
    }

    /// Sends one row and waits for the broker's acknowledgement; returns the topic it went
    /// to and where it was stored.
    pub async fn publish(&self, row: &OutboxRow) -> anyhow::Result<(&str, Delivered)> {
        let span = info_span!(
            "relay_outbox_event",
            batch_id = %row.batch_id,
            correlation_id = row.payload.get("correlation_id").and_then(|id| id.as_str()),
            event_id = %row.event_id
        );
        self.publish_in_span(row).instrument(span).await
    }

    async fn publish_in_span(&self, row: &OutboxRow) -> anyhow::Result<(&str, Delivered)> {
        let topic = self.topics.for_contract(&row.topic).with_context(|| {
            format!(
                "outbox row {} names unknown topic {}",
                row.event_id, row.topic
            )
        })?;
        let payload = serde_json::to_vec(&row.payload)?;
        let delivered = self
            .publisher
            .send(topic, &row.kafka_key, &payload, &[])
            .await?;
        tracing::debug!(topic, "outbox event published");
        Ok((topic, delivered))
    }
}

/// Time from the batch's end to its completion (or failure) event being acknowledged.
fn observe_completion_latency(row: &OutboxRow) {
    use cj_contracts::topics;
    let outcome = match row.topic.as_str() {
        topics::CJ_ASSESSMENT_COMPLETED => "completed",
        topics::CJ_ASSESSMENT_FAILED => "failed",
        _ => return,
    };
    let seconds = (Utc::now() - row.created_at).num_milliseconds().max(0) as f64 / 1000.0;
    metrics()
        .completion_latency
        .with_label_values(&[outcome])
        .observe(seconds);
}
