//! Identifiers of the domain as newtypes, so a batch id cannot be passed where an essay id
//! or a comparison's correlation id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Namespace of every name-based (v5) UUID this service derives. Fixed forever: changing it
/// would give a redelivered request a second batch.
pub const SERVICE_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9b7d_4e55_8c1a_2f0e_7d3b_91c4);

/// The id of one CJ batch, which is also the id of its `CjBatch` aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub Uuid);

impl BatchId {
    /// The batch id of a request, derived from the request envelope's `event_id`, so a
    /// redelivered request lands on the same aggregate instead of creating a second batch.
    pub fn for_request(request_event_id: Uuid) -> Self {
        BatchId(Uuid::new_v5(
            &SERVICE_NAMESPACE,
            request_event_id.as_bytes(),
        ))
    }

    /// The correlation id of the `number`-th comparison (0-based) this batch plans. Derived,
    /// not random, so a retried command plans the very same comparisons.
    pub fn comparison_correlation_id(&self, number: usize) -> CorrelationId {
        CorrelationId(Uuid::new_v5(
            &self.0,
            format!("comparison/{number}").as_bytes(),
        ))
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BatchId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(BatchId)
    }
}

/// The correlation id of one comparison request: sent to the LLM provider and echoed by its
/// callback. Unique across batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CorrelationId(pub Uuid);

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for CorrelationId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(CorrelationId)
    }
}

/// An essay id as the upstream pipeline names it (students) or as the anchor registry does
/// (anchors). Unique within a batch; the same id may appear in other batches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EssayId(String);

/// Longest essay id accepted: ids travel in prompts, events and Kafka messages.
pub const MAX_ESSAY_ID_LEN: usize = 256;

/// An essay id that is empty, too long or has control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid essay id {0:?}: must be 1..={MAX_ESSAY_ID_LEN} printable characters")]
pub struct InvalidEssayId(pub String);

impl EssayId {
    /// Validates an essay id.
    pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidEssayId> {
        let raw = raw.into();
        let valid = !raw.trim().is_empty()
            && raw.len() <= MAX_ESSAY_ID_LEN
            && !raw.chars().any(char::is_control);
        if valid {
            Ok(EssayId(raw))
        } else {
            Err(InvalidEssayId(raw))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EssayId {
    type Error = InvalidEssayId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EssayId::parse(value)
    }
}

impl From<EssayId> for String {
    fn from(value: EssayId) -> Self {
        value.0
    }
}

impl fmt::Display for EssayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redelivered_request_maps_to_the_same_batch() {
        let event_id = Uuid::new_v4();
        assert_eq!(
            BatchId::for_request(event_id),
            BatchId::for_request(event_id)
        );
        assert_ne!(
            BatchId::for_request(event_id),
            BatchId::for_request(Uuid::new_v4())
        );
    }

    #[test]
    fn comparison_ids_are_stable_and_distinct_across_batches() {
        let one = BatchId::for_request(Uuid::from_u128(1));
        let two = BatchId::for_request(Uuid::from_u128(2));
        assert_eq!(
            one.comparison_correlation_id(3),
            one.comparison_correlation_id(3)
        );
        assert_ne!(
            one.comparison_correlation_id(3),
            one.comparison_correlation_id(4)
        );
        assert_ne!(
            one.comparison_correlation_id(3),
            two.comparison_correlation_id(3)
        );
    }

    #[test]
    fn essay_ids_reject_empty_and_control_characters() {
        assert!(EssayId::parse("e1").is_ok());
        assert!(EssayId::parse("").is_err());
        assert!(EssayId::parse("  ").is_err());
        assert!(EssayId::parse("a\nb").is_err());
        assert!(EssayId::parse("x".repeat(MAX_ESSAY_ID_LEN + 1)).is_err());
        assert!(serde_json::from_str::<EssayId>("\"\"").is_err());
    }
}
