//! An in-memory content store with the Content Service's semantics: put a text, get a
//! storage id; read it back by id. The log keeps only the id and the text's SHA-256.

use crate::content::hash::sha256_hex;
use std::collections::HashMap;

#[derive(Debug, Default, Clone)]
pub struct InMemoryContentStore {
    texts: HashMap<String, String>,
}

impl InMemoryContentStore {
    /// Stores a text under a fresh id; returns (storage id, SHA-256 hex of the text).
    pub fn put(&mut self, text: String) -> (String, String) {
        let hash = sha256_hex(&text);
        let storage_id = format!("mem-{}-{}", self.texts.len(), &hash[..12]);
        self.texts.insert(storage_id.clone(), text);
        (storage_id, hash)
    }

    pub fn get(&self, storage_id: &str) -> Option<&str> {
        self.texts.get(storage_id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_text_reads_back_and_is_hashed() {
        let mut store = InMemoryContentStore::default();
        let (id, hash) = store.put("An essay.".into());
        assert_eq!(store.get(&id), Some("An essay."));
        assert_eq!(hash, sha256_hex("An essay."));
        assert_eq!(hash.len(), 64);
        assert_eq!(store.get("missing"), None);
    }
}
