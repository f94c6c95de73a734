//! Kafka topic names of the contract. Each outgoing envelope's `event_type` is its topic name.

/// Assessment requests from the Essay Lifecycle Service (in).
pub const CJ_ASSESSMENT_REQUESTED: &str = "huleedu.els.cj_assessment.requested.v1";
/// Comparison results from the LLM Provider Service (in); also the `callback_topic` the
/// service names in every comparison request.
pub const LLM_COMPARISON_RESULT: &str = "huleedu.llm_provider.comparison_result.v1";
/// Thin completion event for the Essay Lifecycle Service (out).
pub const CJ_ASSESSMENT_COMPLETED: &str = "huleedu.cj_assessment.completed.v1";
/// Rich result event for the Result Aggregator Service (out).
pub const ASSESSMENT_RESULT_PUBLISHED: &str = "huleedu.assessment.result.published.v1";
/// Batch failure event (out).
pub const CJ_ASSESSMENT_FAILED: &str = "huleedu.cj_assessment.failed.v1";
/// Billable usage for the Entitlements Service (out).
pub const RESOURCE_CONSUMPTION: &str = "huleedu.resource.consumption.v1";

/// The dead-letter topic of an incoming topic (`<topic>.dlq`).
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}
