//! An in-memory cqrs-es event store for one process: every aggregate's events plus its
//! current state, so loading is a clone instead of a replay. Optimistic concurrency as in
//! the PostgreSQL store: a commit based on a stale sequence is an `AggregateConflict`.
//! (cqrs-es's own `MemStore` replays on every load and prints each load to stdout.)
//! [`MemoryBatchStore`] puts the `CjBatch` aggregate on it for the simulation driver.

use crate::store::{BatchStore, CommandMetadata};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchEvent};
use cqrs_es::{
    Aggregate, AggregateContext, AggregateError, CqrsFramework, EventEnvelope, EventStore,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

struct Stream<A: Aggregate> {
    events: Vec<EventEnvelope<A>>,
    state: A,
}

/// Shared handle: clones see the same events.
pub struct InMemoryEventStore<A: Aggregate> {
    streams: Arc<Mutex<HashMap<String, Stream<A>>>>,
}

impl<A: Aggregate> Clone for InMemoryEventStore<A> {
    fn clone(&self) -> Self {
        InMemoryEventStore {
            streams: Arc::clone(&self.streams),
        }
    }
}

impl<A: Aggregate> Default for InMemoryEventStore<A> {
    fn default() -> Self {
        InMemoryEventStore {
            streams: Arc::default(),
        }
    }
}

/// A loaded aggregate and the sequence it was loaded at.
pub struct LoadedAggregate<A> {
    aggregate_id: String,
    state: A,
    sequence: usize,
}

impl<A: Aggregate> AggregateContext<A> for LoadedAggregate<A> {
    fn aggregate(&mut self) -> &mut A {
        &mut self.state
    }
}

impl<A: Aggregate> InMemoryEventStore<A> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Stream<A>>> {
        // A panic while holding the lock cannot leave a stream half-written: commits
        // validate before they mutate.
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Payloads of an aggregate's events from position `start` on.
    pub fn events_since(&self, aggregate_id: &str, start: usize) -> Vec<A::Event> {
        self.lock()
            .get(aggregate_id)
            .map_or_else(Vec::new, |stream| {
                stream.events[start.min(stream.events.len())..]
                    .iter()
                    .map(|e| e.payload.clone())
                    .collect()
            })
    }

    pub fn len(&self, aggregate_id: &str) -> usize {
        self.lock().get(aggregate_id).map_or(0, |s| s.events.len())
    }

    pub fn is_empty(&self, aggregate_id: &str) -> bool {
        self.len(aggregate_id) == 0
    }
}

impl<A: Aggregate + Clone> EventStore<A> for InMemoryEventStore<A> {
    type AC = LoadedAggregate<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        Ok(self
            .lock()
            .get(aggregate_id)
            .map_or_else(Vec::new, |s| s.events.clone()))
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let streams = self.lock();
        let (state, sequence) = streams
            .get(aggregate_id)
            .map_or_else(|| (A::default(), 0), |s| (s.state.clone(), s.events.len()));
        Ok(LoadedAggregate {
            aggregate_id: aggregate_id.to_string(),
            state,
            sequence,
        })
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let mut streams = self.lock();
        let stream = streams
            .entry(context.aggregate_id.clone())
            .or_insert_with(|| Stream {
                events: Vec::new(),
                state: A::default(),
            });
        if stream.events.len() != context.sequence {
            return Err(AggregateError::AggregateConflict);
        }
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .enumerate()
            .map(|(i, payload)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence: context.sequence + i + 1,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        // The context's state already has these events applied by the command's sink.
        stream.state = context.state;
        stream.events.extend(envelopes.iter().cloned());
        Ok(envelopes)
    }
}

/// The driver's store in memory: a cqrs-es framework over [`InMemoryEventStore`].
pub struct MemoryBatchStore {
    store: InMemoryEventStore<CjBatch>,
    cqrs: CqrsFramework<CjBatch, InMemoryEventStore<CjBatch>>,
}

impl Default for MemoryBatchStore {
    fn default() -> Self {
        let store = InMemoryEventStore::default();
        MemoryBatchStore {
            cqrs: CqrsFramework::new(store.clone(), Vec::new(), ()),
            store,
        }
    }
}

#[async_trait::async_trait]
impl BatchStore for MemoryBatchStore {
    async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> anyhow::Result<()> {
        self.cqrs
            .execute_with_metadata(&batch_id.to_string(), command, metadata.to_map())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn events_since(
        &self,
        batch_id: BatchId,
        seen: usize,
    ) -> anyhow::Result<Vec<CjBatchEvent>> {
        Ok(self.store.events_since(&batch_id.to_string(), seen))
    }
}
