//! HTTP client of the LLM Provider Service: `POST {base}/comparison`, answered `202` with a
//! queue id; the verdict comes later on the callback topic. Status codes are sorted into
//! retryable (429, 5xx, transport) and final (400, 401, 403, 404, other 4xx) failures.

use cj_contracts::{LlmComparisonRequest, LlmQueuedResponse};
use reqwest::StatusCode;
use std::time::Duration;

/// How long one request may take: queueing is the provider's job, so it answers fast.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later (rate limit, server trouble, network).
    #[error("provider unavailable ({reason}); will retry")]
    Retryable { reason: String },
    /// The provider refused this comparison; it fails with this code.
    #[error("provider refused the comparison: HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
}

impl ProviderError {
    /// The error code a refused comparison is recorded with.
    pub fn error_code(&self) -> String {
        match self {
            ProviderError::Retryable { .. } => "LLM_PROVIDER_UNAVAILABLE".into(),
            ProviderError::Rejected { status, .. } => format!("LLM_PROVIDER_HTTP_{status}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LlmProviderClient {
    http: reqwest::Client,
    comparison_url: String,
}

impl LlmProviderClient {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(LlmProviderClient {
            http,
            comparison_url: format!("{}/comparison", base_url.trim_end_matches('/')),
        })
    }

    /// Queues one comparison.
    pub async fn request_comparison(
        &self,
        request: &LlmComparisonRequest,
    ) -> Result<LlmQueuedResponse, ProviderError> {
        let response = self
            .http
            .post(&self.comparison_url)
            .json(request)
            .send()
            .await
            .map_err(|e| ProviderError::Retryable {
                reason: e.to_string(),
            })?;
        let status = response.status();
        if status == StatusCode::ACCEPTED || status.is_success() {
            return response.json::<LlmQueuedResponse>().await.map_err(|e| {
                ProviderError::Retryable {
                    reason: format!("unreadable 202 body: {e}"),
                }
            });
        }
        let body = response.text().await.unwrap_or_default();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(ProviderError::Retryable {
                reason: format!("HTTP {status}"),
            })
        } else {
            Err(ProviderError::Rejected {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            })
        }
    }
}
