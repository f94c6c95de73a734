//! The built-in content store: texts in PostgreSQL (`cj_content`) under opaque storage ids,
//! so the service runs without the wider pipeline's Content Service. [`super::routes`] serves
//! it over HTTP with the Content Service's shape; the anchor CLI writes to it directly.

use crate::content::hash::sha256_hex;
use sqlx::PgPool;
use uuid::Uuid;

/// A text just stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredText {
    pub storage_id: String,
    pub sha256: String,
}

/// An empty (or whitespace-only) text: the content client treats one as an error, so the
/// store never accepts one.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("refusing to store an empty text")]
    EmptyText,
    #[error("content store database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Stores `text` under a fresh storage id (a random UUID's hex, as the Content Service
/// issues them).
pub async fn put_text(pool: &PgPool, text: &str) -> Result<StoredText, StoreError> {
    if text.trim().is_empty() {
        return Err(StoreError::EmptyText);
    }
    let stored = StoredText {
        storage_id: Uuid::new_v4().simple().to_string(),
        sha256: sha256_hex(text),
    };
    sqlx::query("INSERT INTO cj_content (storage_id, text, sha256) VALUES ($1, $2, $3)")
        .bind(&stored.storage_id)
        .bind(text)
        .bind(&stored.sha256)
        .execute(pool)
        .await?;
    Ok(stored)
}

/// The text stored under `storage_id`, if any.
pub async fn get_text(pool: &PgPool, storage_id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT text FROM cj_content WHERE storage_id = $1")
        .bind(storage_id)
        .fetch_optional(pool)
        .await
}
