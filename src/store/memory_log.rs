//! The [`EventLog`] in memory, for one process: each batch's events in order, behind one
//! lock, so appends are atomic and checked against the stream as it is at that moment. The
//! demo and the simulation run on it through the same [`BatchCommandBus`] as the service,
//! so they exercise the service's write path without a database.
//!
//! Its refusals are PostgreSQL's: an append after a sequence the stream has moved past is an
//! [`AppendError::Conflict`] (the primary key's refusal there), and nothing of it is written.
//! An append that would leave a gap is an error (PostgreSQL would accept it; the bus never
//! asks for one). Metadata is not kept: nothing reads it back from memory.
//!
//! [`BatchCommandBus`]: super::command_bus::BatchCommandBus

use super::aggregate_cache::CachedBatch;
use super::event_log::{AppendError, EventLog, LogError, SequencedEvent, StreamAppend};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatch, CjBatchEvent};
use cqrs_es::Aggregate;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
#[error("batch {batch_id}: an append after sequence {after} would leave a gap after {last}")]
struct Gap {
    batch_id: BatchId,
    after: usize,
    last: usize,
}

/// Every batch's stream: event `i` of a stream has sequence `i + 1`.
#[derive(Default)]
pub struct InMemoryEventLog {
    streams: Mutex<HashMap<BatchId, Vec<CjBatchEvent>>>,
}

impl InMemoryEventLog {
    fn streams(&self) -> MutexGuard<'_, HashMap<BatchId, Vec<CjBatchEvent>>> {
        // Appends check before they write, so a panic cannot leave a stream half-written.
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The batch's events after `after`, cloned out of the lock.
    fn stream_after(&self, batch_id: BatchId, after: usize) -> Vec<CjBatchEvent> {
        self.streams()
            .get(&batch_id)
            .map_or_else(Vec::new, |stream| {
                stream[after.min(stream.len())..].to_vec()
            })
    }
}

#[async_trait::async_trait]
impl EventLog for InMemoryEventLog {
    async fn load(&self, batch_id: BatchId) -> Result<CachedBatch, LogError> {
        let events = self.stream_after(batch_id, 0);
        let sequence = events.len();
        let mut batch = CjBatch::default();
        for event in events {
            batch.apply(event);
        }
        Ok(CachedBatch { batch, sequence })
    }

    async fn events_after(
        &self,
        batch_id: BatchId,
        after: usize,
    ) -> Result<Vec<SequencedEvent>, LogError> {
        Ok(self
            .stream_after(batch_id, after)
            .into_iter()
            .zip(after + 1..)
            .map(|(event, sequence)| SequencedEvent { sequence, event })
            .collect())
    }

    async fn append_all(&self, parts: &[StreamAppend<'_>]) -> Result<(), AppendError> {
        let mut streams = self.streams();
        for part in parts {
            let last = streams.get(&part.batch_id).map_or(0, Vec::len);
            if last > part.after {
                return Err(AppendError::Conflict);
            }
            if last < part.after {
                let gap = Gap {
                    batch_id: part.batch_id,
                    after: part.after,
                    last,
                };
                return Err(AppendError::Log(LogError::new(gap)));
            }
        }
        for part in parts {
            streams
                .entry(part.batch_id)
                .or_default()
                .extend_from_slice(part.events);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::batch::commands::{EssayRef, RegisterBatch};
    use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
    use cj_aggregates::ids::EssayId;
    use cj_aggregates::CjBatchCommand;
    use std::sync::Arc;
    use uuid::Uuid;

    /// The events registering a batch of four essays decides.
    fn registration(batch_id: BatchId) -> Vec<CjBatchEvent> {
        let essays = (0..4)
            .map(|i| EssayRef {
                essay_id: EssayId::parse(format!("essay-{i}")).expect("valid id"),
                text_storage_id: format!("text-{i}"),
                content_sha256: format!("{i:064x}"),
            })
            .collect();
        let settings = BatchSettings::with_budget(ComparisonBudget::new(10).expect("budget"));
        let register = RegisterBatch::new(batch_id, Uuid::from_u128(7), essays, settings);
        CjBatch::default()
            .decide(CjBatchCommand::RegisterBatch(Box::new(register)))
            .expect("a valid registration")
    }

    fn no_metadata() -> HashMap<String, String> {
        HashMap::new()
    }

    #[tokio::test]
    async fn an_append_after_a_stale_sequence_is_refused_and_writes_nothing() {
        let log = InMemoryEventLog::default();
        let batch_id = BatchId(Uuid::from_u128(1));
        let events = registration(batch_id);
        log.append(batch_id, 0, &events, &no_metadata())
            .await
            .expect("the first append");

        let stale = log.append(batch_id, 0, &events, &no_metadata()).await;

        assert!(matches!(stale, Err(AppendError::Conflict)), "{stale:?}");
        let stored = log.events_after(batch_id, 0).await.expect("events");
        assert_eq!(
            stored.len(),
            events.len(),
            "the refused append wrote nothing"
        );
        log.append(batch_id, events.len(), &events[..1], &no_metadata())
            .await
            .expect("an append after the last sequence");
    }

    #[tokio::test]
    async fn an_append_past_the_end_of_the_stream_is_an_error_not_a_gap() {
        let log = InMemoryEventLog::default();
        let batch_id = BatchId(Uuid::from_u128(2));
        let gap = log
            .append(batch_id, 3, &registration(batch_id), &no_metadata())
            .await;
        assert!(matches!(gap, Err(AppendError::Log(_))), "{gap:?}");
        assert!(log
            .events_after(batch_id, 0)
            .await
            .expect("events")
            .is_empty());
    }

    #[tokio::test]
    async fn events_after_a_sequence_carry_their_sequences_and_load_folds_them_all() {
        let log = InMemoryEventLog::default();
        let batch_id = BatchId(Uuid::from_u128(3));
        let events = registration(batch_id);
        log.append(batch_id, 0, &events, &no_metadata())
            .await
            .expect("append");

        let all = log.events_after(batch_id, 0).await.expect("events");
        let sequences: Vec<usize> = all.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, (1..=events.len()).collect::<Vec<_>>());
        let stored: Vec<CjBatchEvent> = all.into_iter().map(|e| e.event).collect();
        assert_eq!(stored, events);
        let after_last = log
            .events_after(batch_id, events.len())
            .await
            .expect("events");
        assert!(after_last.is_empty());

        let loaded = log.load(batch_id).await.expect("load");
        assert_eq!(loaded.sequence, events.len());
        assert!(loaded.batch.registration().is_some());
        let unknown = log.load(BatchId(Uuid::from_u128(4))).await.expect("load");
        assert_eq!(unknown.sequence, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_racers_appending_after_one_sequence_exactly_one_wins() {
        const RACERS: usize = 8;
        let log = Arc::new(InMemoryEventLog::default());
        let batch_id = BatchId(Uuid::from_u128(5));
        let events = registration(batch_id);
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let (log, events) = (Arc::clone(&log), events.clone());
                tokio::spawn(async move { log.append(batch_id, 0, &events, &no_metadata()).await })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            match racer.await.expect("racer task") {
                Ok(()) => won += 1,
                Err(AppendError::Conflict) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert_eq!(won, 1);
        let stored = log.events_after(batch_id, 0).await.expect("events");
        assert_eq!(stored.len(), events.len());
    }
}
