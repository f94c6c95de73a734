//! Sending one claimed comparison: fetch both texts, render the prompt with the assignment's
//! context as its claim read it ([`super::prompt_context::ClaimContexts`]), `POST` it, and
//! sort what happened into [`Outcome`]s. Rows claimed again after a crash skip the request:
//! `sent` ones were accepted already (their prompt hash is computed again from the
//! assignment's context, which needs no essay text), `failed` ones refused. A comparison
//! whose lease is no longer held when its request is ready stays unsent ([`super::lease`]).
//! A batch a direct judge answers is judged here and then ([`super::direct`]).

use super::direct::judge_directly;
use super::lease::HeldLeases;
use super::prompt_context::{ClaimedContext, PromptContext};
use super::queue::{ClaimedComparison, QueueStatus};
use super::request::{comparison_prompt_hash, comparison_request, EssayTexts};
use super::sent_notes::SentNotes;
use crate::content::client::{ContentClient, ContentError};
use crate::judges::Judges;
use crate::llm::client::{LlmProviderClient, ProviderError};
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::CallbackReport;
use sqlx::PgPool;
use std::sync::Arc;
use tracing::{info_span, Instrument};

/// Error code of a comparison whose essay text is gone from the content store.
pub const CONTENT_MISSING: &str = "CJ_ESSAY_TEXT_UNAVAILABLE";

/// What became of one comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The provider queued it (202), sent with the prompt template `prompt_hash`: record
    /// SubmitPairs.
    Accepted { prompt_hash: String },
    /// It can never be sent: record it as failed with `code`.
    Refused { code: String, message: String },
    /// A passing failure: try again later.
    Retry { reason: String },
    /// A direct judge answered (a verdict, or an off-format answer as a failure): record
    /// SubmitPairs with `prompt_hash`, then `report` as a callback is recorded.
    Judged {
        prompt_hash: String,
        report: CallbackReport,
        requested_at: DateTime<Utc>,
    },
}

/// One comparison and its outcome.
#[derive(Debug, Clone)]
pub struct Dispatched {
    pub comparison: ClaimedComparison,
    pub outcome: Outcome,
    /// Accepted, and already noted `sent` in the queue by the send itself.
    pub noted_sent: bool,
}

/// A comparison the provider accepted before a crash: only its record is missing.
fn accepted_before(
    comparison: &ClaimedComparison,
    context: Result<Arc<PromptContext>, Outcome>,
) -> Outcome {
    match context {
        Ok(context) => Outcome::Accepted {
            prompt_hash: comparison_prompt_hash(comparison, &context),
        },
        Err(outcome) => outcome,
    }
}

/// What sending needs; shared by every in-flight send.
pub struct Sender {
    pub provider: LlmProviderClient,
    /// The direct judges; a batch none of them judges goes to `provider`.
    pub judges: Judges,
    pub content: ContentClient,
    pub callback_topic: String,
    /// Asked before each request: a lease lost or run out is not sent on.
    pub leases: Arc<HeldLeases>,
    /// Where accepted comparisons are noted `sent`, together with other sends' notes.
    pub sent_notes: SentNotes,
}

impl Sender {
    /// Sends one comparison, with its assignment's context as its claim read it (or why
    /// that read failed), inside a span with its batch id and correlation id.
    pub async fn send(&self, comparison: ClaimedComparison, context: ClaimedContext) -> Dispatched {
        let span = info_span!(
            "dispatch_comparison",
            batch_id = %comparison.batch_id,
            correlation_id = %comparison.correlation_id,
            attempt = comparison.attempt
        );
        self.send_in_span(comparison, context)
            .instrument(span)
            .await
    }

    async fn send_in_span(
        &self,
        comparison: ClaimedComparison,
        context: ClaimedContext,
    ) -> Dispatched {
        let context = context.map_err(|reason| Outcome::Retry { reason });
        let outcome = match comparison.queue_status() {
            QueueStatus::Sent => accepted_before(&comparison, context),
            QueueStatus::Failed => Outcome::Refused {
                code: comparison.last_error.clone().unwrap_or_default(),
                message: "refused by the LLM provider".into(),
            },
            QueueStatus::Pending => self.request(&comparison, context).await,
        };
        tracing::debug!(?outcome, "comparison dispatched");
        Dispatched {
            comparison,
            outcome,
            noted_sent: false,
        }
    }

    /// Sends one comparison and, when the provider accepted a fresh request, notes it
    /// `sent` at once. A death between the provider's 202 and that note is what makes
    /// another instance send the comparison again (one LLM call paid twice), so the window
    /// is a statement or two (the flush of notes in progress, then this one's), not the wait
    /// for the recorder.
    pub async fn send_and_note(
        &self,
        pool: &PgPool,
        comparison: ClaimedComparison,
        context: ClaimedContext,
    ) -> Dispatched {
        let fresh = comparison.queue_status() == QueueStatus::Pending;
        let mut dispatched = self.send(comparison, context).await;
        if fresh && matches!(dispatched.outcome, Outcome::Accepted { .. }) {
            let id = dispatched.comparison.correlation_id;
            match self.sent_notes.note(pool, &self.leases, id).await {
                Ok(()) => dispatched.noted_sent = true,
                Err(error) => {
                    tracing::warn!(%error, correlation_id = %id, "noting an accepted comparison failed; the recorder tries again")
                }
            }
        }
        dispatched
    }

    async fn request(
        &self,
        comparison: &ClaimedComparison,
        context: Result<Arc<PromptContext>, Outcome>,
    ) -> Outcome {
        let context = match context {
            Ok(context) => context,
            Err(outcome) => return outcome,
        };
        let texts = match self.texts(comparison).await {
            Ok(texts) => texts,
            Err(outcome) => return outcome,
        };
        if !self.leases.holds(comparison.correlation_id) {
            return Outcome::Retry {
                reason: "the dispatch lease ran out before the request left".into(),
            };
        }
        let request = comparison_request(comparison, &context, &texts, &self.callback_topic);
        let prompt_hash = comparison_prompt_hash(comparison, &context);
        if let Some(judge) = self.judges.for_batch(&comparison.llm.0) {
            let (id, llm) = (comparison.correlation_id, &comparison.llm.0);
            return judge_directly(judge, id, &request.user_prompt, llm, prompt_hash).await;
        }
        match self.provider.request_comparison(&request).await {
            Ok(_) => Outcome::Accepted { prompt_hash },
            Err(error @ ProviderError::Rejected { .. }) => Outcome::Refused {
                code: error.error_code(),
                message: error.to_string(),
            },
            Err(error @ ProviderError::Retryable { .. }) => Outcome::Retry {
                reason: error.to_string(),
            },
        }
    }

    async fn texts(&self, comparison: &ClaimedComparison) -> Result<EssayTexts, Outcome> {
        let (essay_a, essay_b) = tokio::join!(
            self.content.fetch(&comparison.text_a),
            self.content.fetch(&comparison.text_b)
        );
        let as_outcome = |error: ContentError| match error {
            ContentError::Unavailable { .. } => Outcome::Retry {
                reason: error.to_string(),
            },
            ContentError::NotFound { .. } | ContentError::Empty { .. } => Outcome::Refused {
                code: CONTENT_MISSING.to_string(),
                message: error.to_string(),
            },
        };
        Ok(EssayTexts {
            essay_a: essay_a.map_err(as_outcome)?,
            essay_b: essay_b.map_err(as_outcome)?,
        })
    }
}
