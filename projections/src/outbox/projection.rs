//! Projection `cj_outbox`: when BatchCompleted or BatchFailed appears in the log, the
//! batch's history is gathered and its outgoing messages derived ([`derive_outgoing`]) and
//! stored, ordered by the terminal event's log position (table:
//! `migrations/*_cj_outbox.sql`). The history is the chunk's own events when the chunk
//! holds the batch from its first event (a replay that reads every event type), else it is
//! read back from the log. A chunk's messages are written with one statement. The relay
//! publishes them; what it has published is kept in a table of its own, so rebuilding this
//! projection re-derives the same rows (same `event_id`s) without publishing anything
//! twice.

use crate::error::ProjectionError;
use crate::log::{batch_events, LoggedEvent};
use crate::outbox::{derive_outgoing, OutgoingMessage, RecordedEvent};
use crate::projection::Projection;
use chrono::{DateTime, Utc};
use cj_aggregates::CjBatchEvent;
use serde_json::Value;
use sqlx::PgConnection;
use std::collections::HashMap;
use uuid::Uuid;

pub struct Outbox;

pub const NAME: &str = "cj_outbox";

const INSERT: &str = "
INSERT INTO cj_outbox
    (event_id, log_tx, log_seq, ordinal, batch_id, topic, kafka_key, payload, created_at)
SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::int[], $5::uuid[],
                     $6::text[], $7::text[], $8::jsonb[], $9::timestamptz[])
ON CONFLICT (event_id) DO NOTHING";

#[async_trait::async_trait]
impl Projection for Outbox {
    fn name(&self) -> &'static str {
        NAME
    }

    fn tables(&self) -> &'static [&'static str] {
        &["cj_outbox"]
    }

    fn event_types(&self) -> Option<&'static [&'static str]> {
        Some(&["BatchCompleted", "BatchFailed"])
    }

    fn sparse(&self) -> bool {
        true
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        self.apply_all(conn, std::slice::from_ref(logged)).await
    }

    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        let mut in_chunk: HashMap<Uuid, Vec<&LoggedEvent>> = HashMap::new();
        let mut rows = Rows::default();
        for logged in events {
            let batch_events_so_far = in_chunk.entry(logged.batch_id).or_default();
            batch_events_so_far.push(logged);
            if !matches!(
                logged.event,
                CjBatchEvent::BatchCompleted(_) | CjBatchEvent::BatchFailed(_)
            ) {
                continue;
            }
            let history = match whole_history(batch_events_so_far, logged.sequence) {
                Some(history) => history,
                None => history_from_log(&mut *conn, logged.batch_id).await?,
            };
            let messages = derive_outgoing(&history).map_err(|source| ProjectionError::Outbox {
                batch_id: logged.batch_id,
                source,
            })?;
            rows.add(logged, messages);
        }
        if rows.event_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(INSERT)
            .bind(rows.event_ids)
            .bind(rows.log_tx)
            .bind(rows.log_seq)
            .bind(rows.ordinals)
            .bind(rows.batch_ids)
            .bind(rows.topics)
            .bind(rows.keys)
            .bind(rows.payloads)
            .bind(rows.created_at)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// A batch's events `1..=through` when the chunk holds every one of them.
fn whole_history(in_chunk: &[&LoggedEvent], through: i64) -> Option<Vec<RecordedEvent>> {
    let starts_the_batch = in_chunk.first()?.sequence == 1;
    let complete = starts_the_batch && in_chunk.len() as i64 == through;
    complete.then(|| {
        in_chunk
            .iter()
            .map(|e| RecordedEvent {
                sequence: e.sequence as u64,
                recorded_at: e.recorded_at,
                event: e.event.clone(),
            })
            .collect()
    })
}

async fn history_from_log(
    conn: &mut PgConnection,
    batch_id: Uuid,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    Ok(batch_events(conn, batch_id, 0)
        .await?
        .into_iter()
        .map(|e| RecordedEvent {
            sequence: e.sequence as u64,
            recorded_at: e.recorded_at,
            event: e.event,
        })
        .collect())
}

/// The messages of a chunk, one array per column.
#[derive(Default)]
struct Rows {
    event_ids: Vec<Uuid>,
    log_tx: Vec<i64>,
    log_seq: Vec<i64>,
    ordinals: Vec<i32>,
    batch_ids: Vec<Uuid>,
    topics: Vec<&'static str>,
    keys: Vec<String>,
    payloads: Vec<Value>,
    created_at: Vec<DateTime<Utc>>,
}

impl Rows {
    fn add(&mut self, terminal: &LoggedEvent, messages: Vec<OutgoingMessage>) {
        for (ordinal, message) in messages.into_iter().enumerate() {
            self.event_ids.push(message.event_id);
            self.log_tx.push(terminal.position.tx);
            self.log_seq.push(terminal.position.global_seq);
            self.ordinals.push(ordinal as i32);
            self.batch_ids.push(terminal.batch_id);
            self.topics.push(message.topic);
            self.keys.push(message.key);
            self.payloads.push(message.payload);
            self.created_at.push(terminal.recorded_at);
        }
    }
}
