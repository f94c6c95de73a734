//! The command bus's memory of batches: each active batch's decided state with the last
//! sequence it was decided at, so a command does not reload and refold the whole stream.
//! The cache is an optimisation, never a source of truth: an entry is trusted only as long
//! as appending after its sequence succeeds. Another process that appended first makes the
//! append conflict, and the bus then evicts the entry and reloads from the log. The bus
//! keeps only active batches here (terminal ones change no more).

use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatch;
use std::collections::HashMap;
use std::sync::Mutex;

/// Batches kept at most. An active batch of 20–40 essays takes some tens of KiB, so this
/// bounds the cache to about 100–200 MiB; beyond it the least recently used batches are
/// reloaded from the log when next needed.
pub const DEFAULT_CAPACITY: usize = 4096;

/// A batch as last decided: its state and the sequence of its last event.
#[derive(Debug, Clone)]
pub struct CachedBatch {
    pub batch: CjBatch,
    pub sequence: usize,
}

struct Entry {
    cached: CachedBatch,
    last_used: u64,
}

#[derive(Default)]
struct Slots {
    entries: HashMap<BatchId, Entry>,
    clock: u64,
}

/// A bounded map from batch id to its last decided state.
pub struct AggregateCache {
    capacity: usize,
    slots: Mutex<Slots>,
}

impl Default for AggregateCache {
    fn default() -> Self {
        AggregateCache::with_capacity(DEFAULT_CAPACITY)
    }
}

impl AggregateCache {
    /// A cache of at most `capacity` batches (0 disables caching).
    pub fn with_capacity(capacity: usize) -> Self {
        AggregateCache {
            capacity,
            slots: Mutex::default(),
        }
    }

    /// Takes the batch out of the cache: the caller holds the batch's turn, decides with
    /// it and puts back what it decided (or nothing, when the outcome is uncertain).
    pub fn take(&self, batch_id: BatchId) -> Option<CachedBatch> {
        self.lock()
            .entries
            .remove(&batch_id)
            .map(|entry| entry.cached)
    }

    /// Remembers `cached` as the batch's latest state.
    pub fn put(&self, batch_id: BatchId, cached: CachedBatch) {
        if self.capacity == 0 {
            return;
        }
        let mut slots = self.lock();
        slots.clock += 1;
        let last_used = slots.clock;
        if slots.entries.len() >= self.capacity && !slots.entries.contains_key(&batch_id) {
            evict_least_recently_used(&mut slots.entries, self.capacity);
        }
        slots.entries.insert(batch_id, Entry { cached, last_used });
    }

    /// Batches currently cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // Only short, panic-free sections hold the lock.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Drops the least recently used tenth of the entries (at least one), so a full cache
/// scans its entries once per many insertions rather than on every one.
fn evict_least_recently_used(entries: &mut HashMap<BatchId, Entry>, capacity: usize) {
    let drop_count = (capacity / 10).max(1);
    let mut ages: Vec<(u64, BatchId)> = entries.iter().map(|(id, e)| (e.last_used, *id)).collect();
    ages.sort_unstable_by_key(|(last_used, _)| *last_used);
    for (_, id) in ages.into_iter().take(drop_count) {
        entries.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn id(n: u128) -> BatchId {
        BatchId(Uuid::from_u128(n))
    }

    fn cached(sequence: usize) -> CachedBatch {
        CachedBatch {
            batch: CjBatch::default(),
            sequence,
        }
    }

    #[test]
    fn a_taken_batch_is_gone_until_put_back() {
        let cache = AggregateCache::default();
        cache.put(id(1), cached(7));
        assert_eq!(cache.take(id(1)).map(|c| c.sequence), Some(7));
        assert!(cache.take(id(1)).is_none());
    }

    #[test]
    fn a_full_cache_forgets_the_least_recently_used_batches() {
        let cache = AggregateCache::with_capacity(10);
        for n in 0..10 {
            cache.put(id(n), cached(n as usize));
        }
        // Batch 0 is used again, so batch 1 is now the oldest.
        let zero = cache.take(id(0)).expect("cached");
        cache.put(id(0), zero);
        cache.put(id(10), cached(10));
        assert_eq!(cache.len(), 10);
        assert!(cache.take(id(1)).is_none(), "the oldest was evicted");
        assert!(cache.take(id(0)).is_some(), "the recently used stays");
        assert!(cache.take(id(10)).is_some());
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let cache = AggregateCache::with_capacity(0);
        cache.put(id(1), cached(1));
        assert!(cache.is_empty());
    }
}
