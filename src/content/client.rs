//! Client of the Content Service (or the built-in content store with the same HTTP shape):
//! `GET {base}/{storage_id}` returns the plain text, `POST {base}` stores a text and answers
//! `201 {"storage_id": ...}`. Transient failures (5xx, network) are retried with backoff;
//! an empty body is an error, never an empty essay.

use serde::Deserialize;
use std::time::Duration;

/// Attempts per fetch: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Backoff before the first retry; doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("no text stored under {storage_id} (HTTP {status})")]
    NotFound { storage_id: String, status: u16 },
    #[error("the text stored under {storage_id} is empty")]
    Empty { storage_id: String },
    #[error("content service unavailable for {storage_id}: {reason}")]
    Unavailable { storage_id: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct ContentClient {
    http: reqwest::Client,
    base_url: String,
}

#[derive(Deserialize)]
struct Stored {
    storage_id: String,
}

impl ContentClient {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        Ok(ContentClient {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            base_url: base_url.trim_end_matches('/').to_string(),
        })
    }

    /// The text stored under `storage_id`.
    pub async fn fetch(&self, storage_id: &str) -> Result<String, ContentError> {
        let url = format!("{}/{}", self.base_url, storage_id);
        let mut backoff = FIRST_BACKOFF;
        let mut last_failure = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.http.get(&url).send().await {
                Ok(response) if response.status().is_success() => {
                    let text = response
                        .text()
                        .await
                        .map_err(|e| ContentError::Unavailable {
                            storage_id: storage_id.into(),
                            reason: e.to_string(),
                        })?;
                    if text.trim().is_empty() {
                        return Err(ContentError::Empty {
                            storage_id: storage_id.into(),
                        });
                    }
                    return Ok(text);
                }
                Ok(response) if response.status().is_client_error() => {
                    return Err(ContentError::NotFound {
                        storage_id: storage_id.into(),
                        status: response.status().as_u16(),
                    })
                }
                Ok(response) => last_failure = format!("HTTP {}", response.status()),
                Err(error) => last_failure = error.to_string(),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(ContentError::Unavailable {
            storage_id: storage_id.into(),
            reason: last_failure,
        })
    }

    /// Stores a text; returns its storage id.
    pub async fn store(&self, text: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(&self.base_url)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.to_string())
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json::<Stored>().await?.storage_id)
    }
}
