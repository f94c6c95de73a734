//! The relay's reads and writes: outbox rows not yet published, in log order, and the
//! record of each message the broker acknowledged (`cj_outbox_published`). Reads start
//! after a position the relay has passed ([`OutboxPosition`]): the outbox projection
//! appends in log order, so everything behind it was seen published, and a read costs the
//! rows ahead of it rather than the whole outbox.

use crate::kafka::producer::Delivered;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// A row's place in the outbox: the terminal event's log position, then the message's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutboxPosition {
    pub log_tx: i64,
    pub log_seq: i64,
    pub ordinal: i32,
}

/// One message waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub log_tx: i64,
    pub log_seq: i64,
    pub ordinal: i32,
    pub event_id: Uuid,
    pub batch_id: Uuid,
    /// The contract's topic name.
    pub topic: String,
    pub kafka_key: String,
    pub payload: Value,
    /// When the batch ended.
    pub created_at: DateTime<Utc>,
}

impl OutboxRow {
    pub fn position(&self) -> OutboxPosition {
        OutboxPosition {
            log_tx: self.log_tx,
            log_seq: self.log_seq,
            ordinal: self.ordinal,
        }
    }
}

const PENDING: &str = "
SELECT o.log_tx, o.log_seq, o.ordinal, o.event_id, o.batch_id, o.topic, o.kafka_key,
       o.payload, o.created_at
  FROM cj_outbox o
 WHERE (o.log_tx, o.log_seq, o.ordinal) > ($1, $2, $3)
   AND NOT EXISTS (SELECT 1 FROM cj_outbox_published p WHERE p.event_id = o.event_id)
 ORDER BY o.log_tx, o.log_seq, o.ordinal
 LIMIT $4";

/// Up to `limit` unpublished messages after `after`, oldest first.
pub async fn pending(
    conn: &mut PgConnection,
    after: OutboxPosition,
    limit: i64,
) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(PENDING)
        .bind(after.log_tx)
        .bind(after.log_seq)
        .bind(after.ordinal)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// Messages after `after` derived but not yet acknowledged.
pub async fn unpublished_count(
    conn: &mut PgConnection,
    after: OutboxPosition,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM cj_outbox o
          WHERE (o.log_tx, o.log_seq, o.ordinal) > ($1, $2, $3)
            AND NOT EXISTS (SELECT 1 FROM cj_outbox_published p WHERE p.event_id = o.event_id)",
    )
    .bind(after.log_tx)
    .bind(after.log_seq)
    .bind(after.ordinal)
    .fetch_one(conn)
    .await
}

/// Notes the messages the broker acknowledged (call only after the acknowledgements), in
/// one statement.
pub async fn mark_published(
    conn: &mut PgConnection,
    acknowledged: &[(&OutboxRow, &str, Delivered)],
) -> sqlx::Result<()> {
    if acknowledged.is_empty() {
        return Ok(());
    }
    let event_ids: Vec<Uuid> = acknowledged
        .iter()
        .map(|(row, _, _)| row.event_id)
        .collect();
    let topics: Vec<&str> = acknowledged.iter().map(|(_, topic, _)| *topic).collect();
    let partitions: Vec<i32> = acknowledged.iter().map(|(_, _, d)| d.partition).collect();
    let offsets: Vec<i64> = acknowledged.iter().map(|(_, _, d)| d.offset).collect();
    sqlx::query(
        "INSERT INTO cj_outbox_published (event_id, topic, partition, kafka_offset)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::int8[])
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event_ids)
    .bind(&topics)
    .bind(&partitions)
    .bind(&offsets)
    .execute(conn)
    .await?;
    Ok(())
}

/// Per batch whose messages on every one of `topics` (contract names) are noted as
/// published: the batch and when the last of them was noted, in µs since the epoch (the
/// latency benchmark's cut; a page of acknowledged messages is noted at once).
pub async fn published_by_batch(
    conn: &mut PgConnection,
    topics: &[String],
) -> sqlx::Result<Vec<(Uuid, f64)>> {
    sqlx::query_as(
        "SELECT o.batch_id, (extract(epoch FROM max(p.published_at)) * 1e6)::float8
           FROM cj_outbox o
           JOIN cj_outbox_published p ON p.event_id = o.event_id
          WHERE o.topic = ANY($1)
          GROUP BY o.batch_id
         HAVING count(DISTINCT o.topic) = cardinality($1)",
    )
    .bind(topics)
    .fetch_all(conn)
    .await
}
