//! The LLM Provider Service's HTTP contract: the body of `POST {base}/comparison` and its
//! `202 Accepted` answer. The verdict arrives later as a callback ([`super::callback`]).

use crate::request::LlmConfigOverrides;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Default base URL of the LLM Provider Service.
pub const DEFAULT_LLM_PROVIDER_URL: &str = "http://llm_provider_service:8080/api/v1";
/// `cj_source` of every comparison this service requests.
pub const CJ_SOURCE: &str = "els";

/// The `metadata` field carrying the hash of the comparison's prompt template (ADR 0010).
/// The provider echoes it in the callback's `request_metadata`, so a verdict that overtakes
/// the record of its submission still names its prompt.
pub const PROMPT_HASH_METADATA_KEY: &str = "cj_prompt_hash";

/// First ask or a retry of a failed comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CjRequestType {
    CjComparison,
    CjRetry,
}

/// The request's `metadata`, echoed by the callback as `request_metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRequestMetadata {
    pub essay_a_id: String,
    pub essay_b_id: String,
    pub bos_batch_id: String,
    pub cj_batch_id: String,
    pub cj_source: String,
    pub cj_request_type: CjRequestType,
    /// Additive fields (`cj_prompt_hash`, `prompt_sha256`, batching hints).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// LLM overrides as the provider takes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ComparisonOverrides {
    pub provider_override: Option<String>,
    pub model_override: Option<String>,
    /// An explicit 0.0 is sent as 0.0.
    pub temperature_override: Option<f64>,
    pub system_prompt_override: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens_override: Option<u32>,
}

impl From<&LlmConfigOverrides> for ComparisonOverrides {
    fn from(settings: &LlmConfigOverrides) -> Self {
        ComparisonOverrides {
            provider_override: settings.provider_override.clone(),
            model_override: settings.model_override.clone(),
            temperature_override: settings.temperature_override,
            system_prompt_override: settings.system_prompt_override.clone(),
            max_tokens_override: settings.max_tokens_override,
        }
    }
}

/// Body of `POST {LLM_PROVIDER_SERVICE_URL}/comparison`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmComparisonRequest {
    /// Names the two essays `Essay A` and `Essay B`.
    pub user_prompt: String,
    pub metadata: ComparisonRequestMetadata,
    /// The comparison's own correlation id; the callback carries it back.
    pub correlation_id: Uuid,
    pub callback_topic: String,
    pub llm_config_overrides: ComparisonOverrides,
}

/// The `202 Accepted` answer: the comparison is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmQueuedResponse {
    pub queue_id: String,
    pub status: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub estimated_wait_minutes: Option<u32>,
}
