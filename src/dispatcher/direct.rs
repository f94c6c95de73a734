//! A comparison judged by a direct judge ([`crate::judges`]): the request the dispatcher
//! built for the LLM Provider Service supplies the prompt (the same words either way), the
//! judge answers synchronously, and the answer becomes the [`CallbackReport`] a Kafka
//! callback would have carried — recorded by [`super::record`] through the callbacks'
//! own recording path after the comparison's `SubmitPairs`.

use super::send::Outcome;
use crate::judges::{DirectJudge, JudgeAnswer, JudgeCall, JudgeError, OFF_FORMAT};
use chrono::Utc;
use cj_aggregates::batch::commands::{CallbackOutcome, CallbackReport};
use cj_aggregates::batch::settings::LlmSettings;
use cj_aggregates::ids::CorrelationId;
use uuid::Uuid;

/// Judges one comparison with `judge`, the prompt `user_prompt` and the batch's `llm`
/// settings; `prompt_hash` names the prompt's template.
pub async fn judge_directly(
    judge: &DirectJudge,
    correlation_id: Uuid,
    user_prompt: &str,
    llm: &LlmSettings,
    prompt_hash: String,
) -> Outcome {
    let requested_at = Utc::now();
    let report = |outcome, model: String| CallbackReport {
        correlation_id: CorrelationId(correlation_id),
        outcome,
        provider: Some(judge.provider_name().to_string()),
        model: Some(model),
        prompt_hash: Some(prompt_hash.clone()),
        cost_estimate: None,
        total_tokens: None,
    };
    match judge.judge(JudgeCall { user_prompt, llm }).await {
        Ok(answer) => {
            let JudgeAnswer {
                winner,
                justification,
                confidence,
                p_a_wins,
                usage,
                model,
                cost_estimate,
            } = answer;
            let outcome = CallbackOutcome::Verdict {
                winner,
                confidence,
                justification,
                p_a_wins,
            };
            Outcome::Judged {
                report: CallbackReport {
                    cost_estimate,
                    total_tokens: Some(usage.total()).filter(|total| *total > 0),
                    ..report(outcome, model)
                },
                requested_at,
                prompt_hash,
            }
        }
        Err(JudgeError::OffFormat { model, text }) => {
            let outcome = CallbackOutcome::Error {
                code: OFF_FORMAT.to_string(),
                message: text,
            };
            Outcome::Judged {
                report: report(outcome, model),
                requested_at,
                prompt_hash,
            }
        }
        Err(error @ JudgeError::Refused { status, .. }) => Outcome::Refused {
            code: format!("LLM_PROVIDER_HTTP_{status}"),
            message: error.to_string(),
        },
        Err(error @ JudgeError::Unavailable { .. }) => Outcome::Retry {
            reason: error.to_string(),
        },
    }
}
