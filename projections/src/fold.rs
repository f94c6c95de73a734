//! Folding a chunk of the log into few statements. A projection walks the chunk's events in
//! log order in memory: a row the chunk creates is built whole (its later changes in the
//! same chunk applied to it before it is written, a row the chunk creates and removes again
//! never written), and changes to rows of earlier chunks are merged per row. The chunk is
//! then written with one statement per kind — changes to earlier rows first, new rows after
//! — instead of one or more per event. The result equals applying the events one by one:
//! that is what `tests/event_store/chunk_folding.rs` checks, for chunks of one event and of
//! hundreds.

use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use sqlx::PgConnection;
use std::collections::HashMap;
use std::hash::Hash;

/// A chunk's changes to one projection's tables: gathered event by event in log order, then
/// written.
#[async_trait::async_trait]
pub trait ChunkChanges<'a>: Default + Send {
    /// Takes in the next event of the chunk (one the projection ignores changes nothing).
    fn fold(&mut self, logged: &'a LoggedEvent);

    /// Writes what the chunk's events did, with a few set-based statements.
    async fn write(self, conn: &mut PgConnection) -> Result<(), ProjectionError>;
}

/// Folds `events` into `C` and writes them: a projection's `apply_all` (and, with one
/// event, its `apply`).
pub async fn fold_and_write<'a, C: ChunkChanges<'a>>(
    conn: &mut PgConnection,
    events: &'a [LoggedEvent],
) -> Result<(), ProjectionError> {
    let mut changes = C::default();
    for logged in events {
        changes.fold(logged);
    }
    changes.write(conn).await
}

/// The rows a chunk creates, in creation order, findable by key.
#[derive(Debug)]
pub struct NewRows<K, R> {
    rows: Vec<Option<(K, R)>>,
    index: HashMap<K, usize>,
}

impl<K, R> Default for NewRows<K, R> {
    fn default() -> Self {
        NewRows {
            rows: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, R> NewRows<K, R> {
    /// Adds a row. A key created twice is kept twice, so the INSERT fails on the table's
    /// key as the second of two one-by-one inserts would; later changes go to the second.
    pub fn insert(&mut self, key: K, row: R) {
        self.index.insert(key.clone(), self.rows.len());
        self.rows.push(Some((key, row)));
    }

    pub fn get(&self, key: &K) -> Option<&R> {
        let index = *self.index.get(key)?;
        self.rows[index].as_ref().map(|(_, row)| row)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut R> {
        let index = *self.index.get(key)?;
        self.rows[index].as_mut().map(|(_, row)| row)
    }

    /// Forgets the row of `key`; whether there was one.
    pub fn remove(&mut self, key: &K) -> bool {
        match self.index.remove(key) {
            Some(index) => self.rows[index].take().is_some(),
            None => false,
        }
    }

    /// Forgets every row `keep` refuses.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &R) -> bool) {
        for slot in &mut self.rows {
            if slot.as_ref().is_some_and(|(key, row)| !keep(key, row)) {
                if let Some((key, _)) = slot.take() {
                    self.index.remove(&key);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Option::is_none)
    }

    /// The rows still there, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &R)> {
        self.rows.iter().flatten().map(|(key, row)| (key, row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_order_and_forgotten_ones_are_not_written() {
        let mut rows = NewRows::default();
        rows.insert("a", 1);
        rows.insert("b", 2);
        rows.insert("c", 3);
        assert!(rows.remove(&"b"));
        assert!(!rows.remove(&"b"));
        *rows.get_mut(&"c").expect("c") += 10;
        rows.retain(|key, _| *key != "a");
        assert_eq!(rows.iter().collect::<Vec<_>>(), vec![(&"c", &13)]);
        assert_eq!(rows.get(&"a"), None);
    }

    #[test]
    fn a_key_created_twice_is_written_twice_and_changed_in_its_second_row() {
        let mut rows = NewRows::default();
        rows.insert(1, "first");
        rows.insert(1, "second");
        *rows.get_mut(&1).expect("1") = "changed";
        assert_eq!(
            rows.iter().map(|(_, row)| *row).collect::<Vec<_>>(),
            vec!["first", "changed"]
        );
    }
}
