//! `cj-contracts`: the wire contracts of the older Python CJ Assessment Service, which this service replaces
//! on the wire. Field names, enum values and topic names here are the contract; see
//! `docs/contracts.md` for each message, its topic and key, and every deliberate difference
//! from the old service.
//!
//! Incoming messages ignore unknown fields (forward compatibility) and reject missing
//! required fields; [`decode`] adds the checks serde cannot express. Outgoing messages are
//! built by the read side's outbox (`cj_projections::outbox`).

pub mod callback;
pub mod completed;
pub mod decode;
pub mod envelope;
pub mod failed;
pub mod llm_provider;
pub mod request;
pub mod resource;
pub mod result;
pub mod system_metadata;
pub mod topics;

pub use callback::{ErrorDetail, EssayWinner, LlmComparisonResultV1, TokenUsage};
pub use completed::{CjAssessmentCompletedV1, ProcessingSummary};
pub use decode::{
    decode_callback, decode_request, ContractViolation, DecodeError, MAX_MESSAGE_BYTES,
};
pub use envelope::{EventEnvelope, EventHeader, SCHEMA_VERSION, SOURCE_SERVICE};
pub use failed::CjAssessmentFailedV1;
pub use llm_provider::{
    CjRequestType, ComparisonOverrides, ComparisonRequestMetadata, LlmComparisonRequest,
    LlmQueuedResponse,
};
pub use request::{
    CourseCode, ElsCjAssessmentRequestV1, EssayForCj, LlmConfigOverrides, RequestEnvelope,
    RequestHints, StorageReference,
};
pub use resource::ResourceConsumptionV1;
pub use result::{AssessmentMetadata, AssessmentResultV1, EssayResultV1};
pub use system_metadata::{BatchStatus, ProcessingStage, SystemMetadata};
