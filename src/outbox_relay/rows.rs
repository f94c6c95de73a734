//! The relay's reads and writes: outbox rows not yet published, in log order, and the
//! record of each message the broker acknowledged (`cj_outbox_published`).

use crate::kafka::producer::Delivered;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// One message waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub event_id: Uuid,
    pub batch_id: Uuid,
    /// The contract's topic name.
    pub topic: String,
    pub kafka_key: String,
    pub payload: Value,
    /// When the batch ended.
    pub created_at: DateTime<Utc>,
}

const PENDING: &str = "
SELECT o.event_id, o.batch_id, o.topic, o.kafka_key, o.payload, o.created_at
  FROM cj_outbox o
 WHERE NOT EXISTS (SELECT 1 FROM cj_outbox_published p WHERE p.event_id = o.event_id)
 ORDER BY o.log_tx, o.log_seq, o.ordinal
 LIMIT $1";

/// Up to `limit` unpublished messages, oldest first.
pub async fn pending(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(PENDING).bind(limit).fetch_all(conn).await
}

/// Messages derived but not yet acknowledged.
pub async fn unpublished_count(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM cj_outbox o
          WHERE NOT EXISTS (SELECT 1 FROM cj_outbox_published p WHERE p.event_id = o.event_id)",
    )
    .fetch_one(conn)
    .await
}

/// Notes that the broker acknowledged `row` (call only after the acknowledgement).
pub async fn mark_published(
    conn: &mut PgConnection,
    row: &OutboxRow,
    topic: &str,
    delivered: Delivered,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO cj_outbox_published (event_id, topic, partition, kafka_offset)
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(row.event_id)
    .bind(topic)
    .bind(delivered.partition)
    .bind(delivered.offset)
    .execute(conn)
    .await?;
    Ok(())
}
