//! The LLM Provider Service's answer to one comparison (`LLMComparisonResultV1`, the `data`
//! of an envelope on [`topics::LLM_COMPARISON_RESULT`](super::topics)): exactly one of a
//! verdict or an error, plus provider, model, timing, tokens and cost.

use crate::decode::ContractViolation;
use crate::llm_provider::PROMPT_HASH_METADATA_KEY;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::{CallbackOutcome, CallbackReport, Position};
use cj_aggregates::ids::CorrelationId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The judge's confidence scale (1 = a guess, 5 = certain).
pub const CONFIDENCE_RANGE: std::ops::RangeInclusive<f64> = 1.0..=5.0;

/// Which essay the judge preferred, as the prompt named them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EssayWinner {
    #[serde(rename = "Essay A")]
    EssayA,
    #[serde(rename = "Essay B")]
    EssayB,
}

impl From<EssayWinner> for Position {
    fn from(winner: EssayWinner) -> Self {
        match winner {
            EssayWinner::EssayA => Position::A,
            EssayWinner::EssayB => Position::B,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

/// Why a comparison failed, as the provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub error_code: String,
    pub message: String,
    pub correlation_id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub service: String,
    pub operation: String,
    #[serde(default)]
    pub details: Map<String, Value>,
    #[serde(default)]
    pub stack_trace: Option<String>,
    #[serde(default)]
    pub trace_id: Option<String>,
    #[serde(default)]
    pub span_id: Option<String>,
}

/// `LLMComparisonResultV1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmComparisonResultV1 {
    /// The provider's queue id.
    pub request_id: String,
    /// The correlation id the comparison was requested with.
    pub correlation_id: Uuid,
    #[serde(default)]
    pub winner: Option<EssayWinner>,
    #[serde(default)]
    pub justification: Option<String>,
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub error_detail: Option<ErrorDetail>,
    pub provider: String,
    pub model: String,
    pub response_time_ms: u64,
    #[serde(default)]
    pub token_usage: TokenUsage,
    pub cost_estimate: f64,
    pub requested_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    #[serde(default)]
    pub trace_id: Option<String>,
    /// The request's `metadata`, echoed.
    #[serde(default)]
    pub request_metadata: Map<String, Value>,
}

impl LlmComparisonResultV1 {
    /// The verdict or the error of the callback, checked against the contract.
    pub fn outcome(&self) -> Result<CallbackOutcome, ContractViolation> {
        match (self.winner, &self.error_detail) {
            (Some(_), Some(_)) => Err(ContractViolation::VerdictAndError),
            (None, None) => Err(ContractViolation::NeitherVerdictNorError),
            (None, Some(error)) => Ok(CallbackOutcome::Error {
                code: error.error_code.clone(),
                message: error.message.clone(),
            }),
            (Some(winner), None) => {
                let (Some(confidence), Some(justification)) =
                    (self.confidence, self.justification.as_ref())
                else {
                    return Err(ContractViolation::IncompleteVerdict);
                };
                if !CONFIDENCE_RANGE.contains(&confidence) {
                    return Err(ContractViolation::ConfidenceOutOfRange(confidence));
                }
                Ok(CallbackOutcome::Verdict {
                    winner: winner.into(),
                    confidence: Some(confidence),
                    justification: Some(justification.clone()),
                    p_a_wins: None,
                })
            }
        }
    }

    /// The callback as the `RecordCallbacks` command records it.
    pub fn to_report(&self) -> Result<CallbackReport, ContractViolation> {
        Ok(CallbackReport {
            correlation_id: CorrelationId(self.correlation_id),
            outcome: self.outcome()?,
            provider: Some(self.provider.clone()),
            model: Some(self.model.clone()),
            prompt_hash: self
                .request_metadata
                .get(PROMPT_HASH_METADATA_KEY)
                .and_then(Value::as_str)
                .map(str::to_string),
            cost_estimate: Some(self.cost_estimate),
            total_tokens: Some(self.token_usage.total_tokens),
        })
    }
}
