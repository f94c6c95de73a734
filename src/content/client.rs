//! Client of the Content Service (or the built-in content store with the same HTTP shape):
//! `GET {base}/{storage_id}` returns the plain text, `POST {base}` stores a text and answers
//! `201 {"storage_id": ...}`. Transient failures (5xx, network) and refused credentials
//! (401/403: a configuration error, not the essay's) are retried with backoff and end as
//! [`ContentError::Unavailable`]; an empty body is an error, never an empty essay. Every
//! request carries the bearer token of its [`ContentCredentials`]: a fixed one
//! (`CJ_CONTENT_SERVICE_TOKEN`, for an external Content Service) or a short-lived service
//! token minted from `CJ_JWT_SECRET`, re-signed every 150 s rather than per request (the
//! built-in store, which checks tokens with the same settings). A client given a
//! [`TextCache`] reads each text from the service once ([`super::cache`]).

use super::cache::TextCache;
use crate::config::ServiceSettings;
use crate::http::auth::{mint_token, AuthSettings, Role};
use serde::Deserialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Attempts per fetch: the first and two retries.
const ATTEMPTS: u32 = 3;
/// Backoff before the first retry; doubles after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Lifetime of a minted service token: one request with its retries fits well inside it,
/// and a token that leaks is useless soon after.
const MINTED_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// A minted token is reused for this long, then a fresh one is signed: every request still
/// carries one with at least half its lifetime left, and a dispatcher fetching two texts per
/// comparison signs one token per 150 s instead of one per fetch.
const MINTED_TOKEN_REUSE: Duration = Duration::from_secs(150);
/// The `sub` of minted service tokens, as the store's logs show it.
const SERVICE_SUBJECT: &str = "cj-assessment-service";

/// How the client authenticates to the content service.
#[derive(Clone)]
pub enum ContentCredentials {
    /// No `Authorization` header: a store with insecurely open reads, or one without auth.
    Anonymous,
    /// A fixed bearer token, e.g. an external Content Service's.
    Bearer(String),
    /// A reader + content-writer token minted from the HS256 secret, reused for
    /// `MINTED_TOKEN_REUSE` (shared by the clones of one client).
    Minted {
        secret: String,
        issuer: String,
        audience: String,
        last: Arc<Mutex<Option<(String, Instant)>>>,
    },
}

impl std::fmt::Debug for ContentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token or the secret.
        f.write_str(match self {
            ContentCredentials::Anonymous => "Anonymous",
            ContentCredentials::Bearer(_) => "Bearer(..)",
            ContentCredentials::Minted { .. } => "Minted(..)",
        })
    }
}

impl ContentCredentials {
    /// `token` when given; otherwise tokens minted from the HS256 secret of `auth`;
    /// otherwise none (RS256 deployments must give a token: the service cannot sign).
    pub fn resolve(token: Option<&str>, auth: &AuthSettings) -> ContentCredentials {
        match (token.filter(|t| !t.is_empty()), auth.jwt_secret.as_deref()) {
            (Some(token), _) => ContentCredentials::Bearer(token.to_string()),
            (None, Some(secret)) if !secret.is_empty() => ContentCredentials::Minted {
                secret: secret.to_string(),
                issuer: auth.jwt_issuer.clone(),
                audience: auth.jwt_audience.clone(),
                last: Arc::default(),
            },
            _ => ContentCredentials::Anonymous,
        }
    }

    fn bearer(&self) -> Result<Option<String>, String> {
        match self {
            ContentCredentials::Anonymous => Ok(None),
            ContentCredentials::Bearer(token) => Ok(Some(token.clone())),
            ContentCredentials::Minted {
                secret,
                issuer,
                audience,
                last,
            } => {
                let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some((token, minted)) = last.as_ref() {
                    if minted.elapsed() < MINTED_TOKEN_REUSE {
                        return Ok(Some(token.clone()));
                    }
                }
                let token = mint_token(
                    secret,
                    issuer,
                    audience,
                    SERVICE_SUBJECT,
                    &[Role::Reader, Role::ContentWriter],
                    MINTED_TOKEN_LIFETIME,
                )
                .map_err(|e| format!("minting a service token: {e}"))?;
                *last = Some((token.clone(), Instant::now()));
                Ok(Some(token))
            }
        }
    }
}

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
    credentials: ContentCredentials,
    /// Texts already read, when the client keeps them ([`ContentClient::with_cache`]).
    cache: Option<Arc<TextCache>>,
}

#[derive(Deserialize)]
struct Stored {
    storage_id: String,
}

impl ContentClient {
    pub fn new(base_url: &str, credentials: ContentCredentials) -> anyhow::Result<Self> {
        Ok(ContentClient {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            base_url: base_url.trim_end_matches('/').to_string(),
            credentials,
            cache: None,
        })
    }

    /// The client of the content service `settings` name, with their credentials.
    pub fn for_service(settings: &ServiceSettings) -> anyhow::Result<Self> {
        ContentClient::new(
            &settings.content_service_url,
            ContentCredentials::resolve(settings.content_service_token.as_deref(), &settings.auth),
        )
    }

    fn authorised(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, String> {
        Ok(match self.credentials.bearer()? {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    }

    /// Keeps the texts it reads in `cache` and reads each from there after the first time.
    pub fn with_cache(mut self, cache: Arc<TextCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The text stored under `storage_id`: from the cache when kept there, else from the
    /// content service (and then kept).
    pub async fn fetch(&self, storage_id: &str) -> Result<String, ContentError> {
        let Some(cache) = &self.cache else {
            return self.fetch_from_service(storage_id).await;
        };
        if let Some(text) = cache.get(storage_id) {
            return Ok(text.to_string());
        }
        let text = self.fetch_from_service(storage_id).await?;
        cache.insert(storage_id, Arc::from(text.as_str()));
        Ok(text)
    }

    async fn fetch_from_service(&self, storage_id: &str) -> Result<String, ContentError> {
        let url = format!("{}/{}", self.base_url, storage_id);
        let mut backoff = FIRST_BACKOFF;
        let mut last_failure = String::new();
        for attempt in 1..=ATTEMPTS {
            let request = self.authorised(self.http.get(&url)).map_err(|reason| {
                ContentError::Unavailable {
                    storage_id: storage_id.into(),
                    reason,
                }
            })?;
            match request.send().await {
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
                Ok(response) if matches!(response.status().as_u16(), 401 | 403) => {
                    // Our credentials, not the essay: retried (and, past the attempts,
                    // reported as unavailable) so a fixed token recovers without losing it.
                    last_failure = format!(
                        "HTTP {}: the content service refused this service's token \
                         (CJ_CONTENT_SERVICE_TOKEN or CJ_JWT_SECRET)",
                        response.status()
                    )
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
            .authorised(self.http.post(&self.base_url))
            .map_err(anyhow::Error::msg)?
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.to_string())
            .send()
            .await?
            .error_for_status()?;
        Ok(response.json::<Stored>().await?.storage_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// When the cached token of `credentials` was signed.
    fn signed_at(credentials: &ContentCredentials) -> Option<Instant> {
        match credentials {
            ContentCredentials::Minted { last, .. } => {
                last.lock().expect("the cache").as_ref().map(|(_, at)| *at)
            }
            _ => None,
        }
    }

    #[test]
    fn a_minted_token_is_reused_by_every_clone_until_it_is_due_for_renewal() {
        let credentials =
            ContentCredentials::resolve(None, &AuthSettings::with_secret("a-test-secret"));
        let first = credentials.bearer().expect("minted");
        let signed = signed_at(&credentials).expect("cached after the first request");

        let clone = credentials.clone();
        assert_eq!(clone.bearer().expect("minted"), first);
        assert_eq!(signed_at(&credentials), Some(signed), "not signed again");

        if let ContentCredentials::Minted { last, .. } = &credentials {
            let due = Instant::now() - MINTED_TOKEN_REUSE - Duration::from_secs(1);
            last.lock().expect("the cache").as_mut().expect("cached").1 = due;
        }
        clone.bearer().expect("minted");
        let resigned = signed_at(&credentials).expect("cached");
        assert!(resigned > signed, "signed again once due, for every clone");
    }
}
