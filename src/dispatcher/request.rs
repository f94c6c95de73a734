//! The body of one comparison request, built from a claimed queue row, its prompt context
//! and the two essay texts, and the hash of its prompt template. Pure, so the contract
//! details (metadata the callback echoes — the prompt hash among it —, `cj_retry` for
//! retries, overrides with an explicit 0.0 temperature kept) are tested without HTTP.

use super::prompt_context::PromptContext;
use super::queue::ClaimedComparison;
use crate::llm::prompt::{prompt_hash, render, PromptParts};
use cj_contracts::llm_provider::{CJ_SOURCE, PROMPT_HASH_METADATA_KEY};
use cj_contracts::{
    CjRequestType, ComparisonOverrides, ComparisonRequestMetadata, LlmComparisonRequest,
};
use serde_json::Map;

/// The two essays' texts, as the content store returned them.
pub struct EssayTexts {
    pub essay_a: String,
    pub essay_b: String,
}

/// The prompt of `comparison` with the essays `essay_a` and `essay_b`.
fn prompt_parts<'a>(
    comparison: &'a ClaimedComparison,
    context: &'a PromptContext,
    essay_a: &'a str,
    essay_b: &'a str,
) -> PromptParts<'a> {
    // A rubric the request asked for wins over the assignment's.
    let rubric = comparison
        .llm
        .0
        .judge_rubric_override
        .as_deref()
        .or(context.rubric.as_deref());
    PromptParts {
        instructions: context.instructions.as_deref(),
        student_prompt: context.student_prompt.as_deref(),
        rubric,
        essay_a,
        essay_b,
    }
}

/// The hash of the prompt template `comparison` is (or was) sent with in `context`: known
/// without the essays' texts.
pub fn comparison_prompt_hash(comparison: &ClaimedComparison, context: &PromptContext) -> String {
    prompt_hash(
        &prompt_parts(comparison, context, "", ""),
        comparison.llm.0.system_prompt_override.as_deref(),
    )
}

/// The request for `comparison`; its metadata carries the prompt hash
/// ([`comparison_prompt_hash`]) for the callback to echo.
pub fn comparison_request(
    comparison: &ClaimedComparison,
    context: &PromptContext,
    texts: &EssayTexts,
    callback_topic: &str,
) -> LlmComparisonRequest {
    let llm = &comparison.llm.0;
    let user_prompt = render(&prompt_parts(
        comparison,
        context,
        &texts.essay_a,
        &texts.essay_b,
    ));
    let mut extra = Map::new();
    extra.insert(
        PROMPT_HASH_METADATA_KEY.to_string(),
        comparison_prompt_hash(comparison, context).into(),
    );
    let request_type = if comparison.attempt > 1 {
        CjRequestType::CjRetry
    } else {
        CjRequestType::CjComparison
    };
    LlmComparisonRequest {
        user_prompt,
        metadata: ComparisonRequestMetadata {
            essay_a_id: comparison.essay_a.clone(),
            essay_b_id: comparison.essay_b.clone(),
            bos_batch_id: comparison.upstream_batch_id.clone(),
            cj_batch_id: comparison.batch_id.to_string(),
            cj_source: CJ_SOURCE.to_string(),
            cj_request_type: request_type,
            extra,
        },
        correlation_id: comparison.correlation_id,
        callback_topic: callback_topic.to_string(),
        llm_config_overrides: ComparisonOverrides::from(llm),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::prompt::essays_in;
    use cj_aggregates::batch::settings::LlmSettings;
    use sqlx::types::Json;
    use uuid::Uuid;

    fn claimed(attempt: i32, llm: LlmSettings) -> ClaimedComparison {
        ClaimedComparison {
            correlation_id: Uuid::from_u128(7),
            batch_id: Uuid::from_u128(8),
            essay_a: "e1".into(),
            essay_b: "e2".into(),
            text_a: "t1".into(),
            text_b: "t2".into(),
            attempt,
            status: "pending".into(),
            dispatch_attempts: 1,
            last_error: None,
            upstream_batch_id: "bos-1".into(),
            request_correlation_id: Uuid::from_u128(9),
            assignment_id: None,
            llm: Json(llm),
            leased_until: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn texts() -> EssayTexts {
        EssayTexts {
            essay_a: "First essay.".into(),
            essay_b: "Second essay.".into(),
        }
    }

    #[test]
    fn a_first_ask_carries_the_ids_the_callback_echoes_and_keeps_zero_temperature() {
        let llm = LlmSettings {
            temperature_override: Some(0.0),
            model_override: Some("m".into()),
            ..LlmSettings::default()
        };
        let request =
            comparison_request(&claimed(1, llm), &PromptContext::default(), &texts(), "cb");
        assert_eq!(request.correlation_id, Uuid::from_u128(7));
        assert_eq!(request.callback_topic, "cb");
        assert_eq!(request.metadata.essay_a_id, "e1");
        assert_eq!(request.metadata.bos_batch_id, "bos-1");
        assert_eq!(request.metadata.cj_batch_id, Uuid::from_u128(8).to_string());
        assert_eq!(request.metadata.cj_source, "els");
        assert_eq!(
            request.metadata.cj_request_type,
            CjRequestType::CjComparison
        );
        assert_eq!(
            essays_in(&request.user_prompt),
            Some(("First essay.", "Second essay."))
        );
        let body = serde_json::to_value(&request).unwrap();
        assert_eq!(
            body["llm_config_overrides"]["temperature_override"],
            serde_json::json!(0.0)
        );
        assert_eq!(body["llm_config_overrides"]["model_override"], "m");
    }

    #[test]
    fn a_retry_is_marked_and_a_requested_rubric_wins_over_the_assignments() {
        let llm = LlmSettings {
            judge_rubric_override: Some("Judge the spelling only.".into()),
            ..LlmSettings::default()
        };
        let context = PromptContext {
            instructions: Some("Assignment instructions.".into()),
            rubric: Some("Assignment rubric.".into()),
            ..PromptContext::default()
        };
        let request = comparison_request(&claimed(2, llm), &context, &texts(), "cb");
        assert_eq!(request.metadata.cj_request_type, CjRequestType::CjRetry);
        assert!(request.user_prompt.contains("Judge the spelling only."));
        assert!(!request.user_prompt.contains("Assignment rubric."));
        assert!(request.user_prompt.contains("Assignment instructions."));
    }

    #[test]
    fn the_request_carries_the_hash_of_its_template_which_the_essays_do_not_change() {
        let context = PromptContext {
            rubric: Some("Assignment rubric.".into()),
            ..PromptContext::default()
        };
        let comparison = claimed(1, LlmSettings::default());
        let request = comparison_request(&comparison, &context, &texts(), "cb");
        let hash = comparison_prompt_hash(&comparison, &context);
        assert_eq!(request.metadata.extra[PROMPT_HASH_METADATA_KEY], hash);
        let other_texts = EssayTexts {
            essay_a: "Something else.".into(),
            essay_b: "And more.".into(),
        };
        let other = comparison_request(&comparison, &context, &other_texts, "cb");
        assert_eq!(other.metadata.extra[PROMPT_HASH_METADATA_KEY], hash);
        let overridden = claimed(
            1,
            LlmSettings {
                system_prompt_override: Some("Be strict.".into()),
                ..LlmSettings::default()
            },
        );
        assert_ne!(comparison_prompt_hash(&overridden, &context), hash);
        assert_ne!(
            comparison_prompt_hash(&comparison, &PromptContext::default()),
            hash
        );
    }
}
