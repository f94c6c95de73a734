//! The decoders the Kafka consumers call: bytes in, a validated envelope or a typed
//! [`DecodeError`] out. A `DecodeError` means the message can never be handled (the consumer
//! dead-letters it and moves on). The decoders never panic, whatever the bytes.

use crate::callback::LlmComparisonResultV1;
use crate::envelope::EventEnvelope;
use crate::request::RequestEnvelope;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Largest message accepted: Kafka's default `message.max.bytes` (1 MiB). A request
/// carries references, not essay text, so even a class of hundreds stays far below it;
/// anything larger was not produced by the pipeline and is refused before parsing.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Why a message cannot be handled.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {size} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes")]
    TooLarge { size: usize },
    #[error("message is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// Valid JSON of the wrong shape: a missing required field, a wrong type, an unknown
    /// enum value.
    #[error("message does not match the schema: {0}")]
    Schema(#[source] serde_json::Error),
    /// The right shape, but a rule of the contract is broken.
    #[error("message violates the contract: {0}")]
    Contract(#[from] ContractViolation),
}

/// A rule of the contract that serde's shape cannot express.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContractViolation {
    #[error("essay id {0:?} appears more than once in essays_for_cj")]
    DuplicateEssayId(String),
    #[error("assignment_id is longer than 100 characters")]
    AssignmentIdTooLong,
    #[error("user_id is empty")]
    EmptyUserId,
    #[error("temperature_override {0} is outside 0..=2")]
    TemperatureOutOfRange(f64),
    #[error("max_tokens_override must be positive")]
    ZeroMaxTokens,
    #[error("callback carries both a verdict and an error_detail")]
    VerdictAndError,
    #[error("callback carries neither a verdict nor an error_detail")]
    NeitherVerdictNorError,
    #[error("callback verdict lacks its justification or confidence")]
    IncompleteVerdict,
    #[error("callback confidence {0} is outside 1..=5")]
    ConfidenceOutOfRange(f64),
}

/// Decodes and validates an assessment request envelope.
pub fn decode_request(bytes: &[u8]) -> Result<RequestEnvelope, DecodeError> {
    let envelope: RequestEnvelope = parse(bytes)?;
    envelope.data.validate()?;
    Ok(envelope)
}

/// Decodes and validates a comparison callback envelope.
pub fn decode_callback(bytes: &[u8]) -> Result<EventEnvelope<LlmComparisonResultV1>, DecodeError> {
    let envelope: EventEnvelope<LlmComparisonResultV1> = parse(bytes)?;
    envelope.data.outcome()?;
    Ok(envelope)
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge { size: bytes.len() });
    }
    serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        Category::Data => DecodeError::Schema(error),
        Category::Syntax | Category::Eof | Category::Io => DecodeError::InvalidJson(error),
    })
}
