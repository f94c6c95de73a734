//! A bounded cache of essay texts by storage id, shared by the dispatcher's sends. A text
//! never changes under its storage id (the Content Service, like the built-in store, issues
//! a fresh id for every text it stores), so a cached text is never stale. Each essay of a
//! batch takes part in `2 × comparisons / essays` comparisons (20 at ten comparisons per
//! student; an anchor's texts serve every batch of its assignment), and each comparison
//! needs both texts: without the cache every one of them is an HTTP request to the content
//! service and, for the built-in store, a query — two of the four round trips a
//! comparison's send made before its request left. Errors are not kept: a text missing or
//! unreachable now is asked for again next time.
//!
//! Bounded by the texts' bytes, least recently used first out. The default
//! [`DISPATCH_TEXT_CACHE_BYTES`] of 32 MiB holds ~10,000 essays of 500 words (~3 KiB each):
//! the essays of ~700 batches of 14 in flight at once. More in flight than that, the
//! oldest batches' texts are fetched again when their turn comes — as every text was before
//! the cache (`bench scale`'s short texts all fit).

use hashlink::LruCache;
use std::sync::{Arc, Mutex, PoisonError};

/// The dispatcher's cache: 32 MiB of essay text.
pub const DISPATCH_TEXT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Texts by storage id, at most `capacity_bytes` of them.
pub struct TextCache {
    capacity_bytes: usize,
    cached: Mutex<Cached>,
}

struct Cached {
    texts: LruCache<String, Arc<str>>,
    bytes: usize,
}

impl TextCache {
    pub fn new(capacity_bytes: usize) -> Self {
        TextCache {
            capacity_bytes,
            cached: Mutex::new(Cached {
                texts: LruCache::new_unbounded(),
                bytes: 0,
            }),
        }
    }

    /// The text under `storage_id`, if cached (and now the most recently used).
    pub fn get(&self, storage_id: &str) -> Option<Arc<str>> {
        self.lock().texts.get(storage_id).cloned()
    }

    /// Keeps `text` under `storage_id`, dropping the least recently used texts until the
    /// cache is within its capacity again. A text larger than the whole capacity is not kept.
    pub fn insert(&self, storage_id: &str, text: Arc<str>) {
        if text.len() > self.capacity_bytes {
            return;
        }
        let mut cached = self.lock();
        let added = text.len();
        if let Some(replaced) = cached.texts.insert(storage_id.to_string(), text) {
            cached.bytes -= replaced.len();
        }
        cached.bytes += added;
        while cached.bytes > self.capacity_bytes {
            match cached.texts.remove_lru() {
                Some((_, dropped)) => cached.bytes -= dropped.len(),
                None => break,
            }
        }
    }

    /// Bytes of text held.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for TextCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextCache")
            .field("capacity_bytes", &self.capacity_bytes)
            .field("bytes", &self.bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(len: usize) -> Arc<str> {
        "x".repeat(len).into()
    }

    #[test]
    fn a_kept_text_comes_back_under_its_storage_id_only() {
        let cache = TextCache::new(100);
        cache.insert("a", "essay a".into());
        assert_eq!(cache.get("a").as_deref(), Some("essay a"));
        assert_eq!(cache.get("b"), None);
    }

    #[test]
    fn over_capacity_the_least_recently_used_text_goes_first() {
        // Given three texts of 40 bytes in a cache of 100, "a" read after "b" was kept
        let cache = TextCache::new(100);
        cache.insert("a", text(40));
        cache.insert("b", text(40));
        cache.get("a");
        // When a third arrives
        cache.insert("c", text(40));
        // Then "b", the least recently used, is dropped, and the bytes add up
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.bytes(), 80);
    }

    #[test]
    fn a_text_larger_than_the_cache_is_not_kept_and_drops_nothing() {
        let cache = TextCache::new(100);
        cache.insert("a", text(60));
        cache.insert("huge", text(101));
        assert!(cache.get("huge").is_none());
        assert!(cache.get("a").is_some());
        assert_eq!(cache.bytes(), 60);
    }

    #[test]
    fn keeping_a_text_again_counts_its_bytes_once() {
        let cache = TextCache::new(100);
        cache.insert("a", text(60));
        cache.insert("a", text(60));
        assert_eq!(cache.bytes(), 60);
        assert!(cache.get("a").is_some());
    }
}
