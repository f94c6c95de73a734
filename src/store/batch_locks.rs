//! One async lock per batch id within this process, so the command bus runs one command
//! per batch at a time. Optimistic concurrency alone starves a racer: two consumers of
//! equal speed recording new callbacks on one batch conflict on nearly every command (the
//! winner commits once per load-decide-commit cycle, inside every window of the loser),
//! and a bounded retry then gives up. Commands of other processes still race; the bus
//! retries those.

use cj_aggregates::ids::BatchId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

/// Entries kept before dead ones are swept: locks of finished commands are dropped, so
/// the map only holds batches with a command in flight plus at most this many stale ids.
const SWEEP_ABOVE: usize = 1024;

#[derive(Default, Clone)]
pub struct BatchLocks {
    locks: Arc<Mutex<HashMap<BatchId, Weak<tokio::sync::Mutex<()>>>>>,
}

impl BatchLocks {
    /// Waits for the batch's lock; holding the guard excludes other commands on it.
    pub async fn lock(&self, batch_id: BatchId) -> OwnedMutexGuard<()> {
        self.lock_of(batch_id).lock_owned().await
    }

    /// The batch's lock if no command holds it now (without waiting).
    pub fn try_lock(&self, batch_id: BatchId) -> Option<OwnedMutexGuard<()>> {
        self.lock_of(batch_id).try_lock_owned().ok()
    }

    fn lock_of(&self, batch_id: BatchId) -> Arc<tokio::sync::Mutex<()>> {
        // The map is only touched in short, panic-free sections.
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() > SWEEP_ABOVE {
            locks.retain(|_, lock| lock.strong_count() > 0);
        }
        match locks.get(&batch_id).and_then(Weak::upgrade) {
            Some(lock) => lock,
            None => {
                let lock = Arc::new(tokio::sync::Mutex::new(()));
                locks.insert(batch_id, Arc::downgrade(&lock));
                lock
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[tokio::test]
    async fn one_batch_is_locked_once_other_batches_are_free() {
        let locks = BatchLocks::default();
        let one = BatchId(Uuid::from_u128(1));
        let held = locks.lock(one).await;
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock(one));
        assert!(again.await.is_err(), "the same batch waits");
        let _other = locks.lock(BatchId(Uuid::from_u128(2))).await;
        drop(held);
        let _relocked = locks.lock(one).await;
    }

    #[tokio::test]
    async fn try_lock_takes_a_free_batch_and_refuses_a_held_one() {
        let locks = BatchLocks::default();
        let one = BatchId(Uuid::from_u128(1));
        let held = locks.try_lock(one).expect("a free batch");
        assert!(locks.try_lock(one).is_none(), "a held batch is refused");
        assert!(locks.try_lock(BatchId(Uuid::from_u128(2))).is_some());
        drop(held);
        assert!(locks.try_lock(one).is_some(), "free again once released");
    }
}
