//! Projection `cj_outbox`: when BatchCompleted or BatchFailed appears in the log, the
//! batch's whole history is read back and its outgoing messages derived
//! ([`derive_outgoing`]) and stored, ordered by the terminal event's log position (table:
//! `migrations/*_cj_outbox.sql`). The relay publishes them; what it has published is kept
//! in a table of its own, so rebuilding this projection re-derives the same rows (same
//! `event_id`s) without publishing anything twice.

use crate::error::ProjectionError;
use crate::log::{batch_events, LoggedEvent};
use crate::outbox::{derive_outgoing, RecordedEvent};
use crate::projection::Projection;
use cj_aggregates::CjBatchEvent;
use sqlx::PgConnection;

pub struct Outbox;

pub const NAME: &str = "cj_outbox";

const INSERT: &str = "
INSERT INTO cj_outbox
    (event_id, log_tx, log_seq, ordinal, batch_id, topic, kafka_key, payload, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
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

    async fn apply(
        &self,
        conn: &mut PgConnection,
        logged: &LoggedEvent,
    ) -> Result<(), ProjectionError> {
        if !matches!(
            logged.event,
            CjBatchEvent::BatchCompleted(_) | CjBatchEvent::BatchFailed(_)
        ) {
            return Ok(());
        }
        let history: Vec<RecordedEvent> = batch_events(&mut *conn, logged.batch_id, 0)
            .await?
            .into_iter()
            .map(|e| RecordedEvent {
                sequence: e.sequence as u64,
                recorded_at: e.recorded_at,
                event: e.event,
            })
            .collect();
        let messages = derive_outgoing(&history).map_err(|source| ProjectionError::Outbox {
            batch_id: logged.batch_id,
            source,
        })?;
        for (ordinal, message) in messages.iter().enumerate() {
            sqlx::query(INSERT)
                .bind(message.event_id)
                .bind(logged.position.tx)
                .bind(logged.position.global_seq)
                .bind(ordinal as i32)
                .bind(logged.batch_id)
                .bind(message.topic)
                .bind(&message.key)
                .bind(&message.payload)
                .bind(logged.recorded_at)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}
