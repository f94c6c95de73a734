//! Turning what the provider answered into commands: accepted comparisons of one batch
//! sent with one prompt template become one `SubmitPairs` carrying its hash (one per
//! batch, as long as the assignment's context does not change mid-batch), every batch's
//! appended together (one commit per drain); refused ones one `RecordCallbacks` with error
//! outcomes (the aggregate fails them and plans their reversed retries by its own policy),
//! passing failures go back to the queue with a back-off. Several batches are recorded at
//! once.
//! A direct judge's answers are recorded as they would have arrived from the provider
//! service: `SubmitPairs`, then the answers through the callbacks' own recording
//! ([`CallbackHandler::record_as`]), one command per batch.
//! Leases are renewed until the results are recorded, then released. When a command
//! cannot be recorded the rows come back after the lease; only the command is tried again.

use super::lease::HeldLeases;
use super::queue::{self, ClaimedComparison};
use super::send::{Dispatched, Outcome};
use crate::callbacks::routing::InboundCallback;
use crate::callbacks::CallbackHandler;
use crate::metrics::metrics;
use crate::store::{BatchCommand, BatchCommandBus, CommandMetadata, Executed, RECORD_CONCURRENCY};
use cj_aggregates::batch::commands::{
    CallbackOutcome, CallbackReport, RecordCallbacks, SubmitPairs,
};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::CjBatchCommand;
use futures::stream::{self, StreamExt};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Who the dispatcher's commands are recorded as.
pub const DISPATCHER_ACTOR: &str = "dispatcher";

/// Who a direct judge's answers are recorded as.
pub const DIRECT_JUDGE_ACTOR: &str = "direct-judge";

/// A refused comparison: the row, the error code and the provider's message.
type Refusal<'a> = (&'a ClaimedComparison, &'a str, &'a str);

/// A comparison a direct judge answered, and the answer.
type Answered<'a> = (&'a ClaimedComparison, InboundCallback);

pub struct Recorder {
    pub pool: PgPool,
    pub bus: Arc<BatchCommandBus>,
    /// Renewed until a result is recorded; released then.
    pub leases: Arc<HeldLeases>,
    /// Records a direct judge's answers the way callbacks are recorded.
    pub callbacks: CallbackHandler,
    /// Cuts the retries of recording answers short.
    pub shutdown: CancellationToken,
}

impl Recorder {
    pub async fn record(&self, dispatched: &[Dispatched]) {
        let mut accepted: BTreeMap<(Uuid, &str), Vec<&ClaimedComparison>> = BTreeMap::new();
        let mut refused: BTreeMap<Uuid, Vec<Refusal<'_>>> = BTreeMap::new();
        let mut answered: BTreeMap<Uuid, Vec<Answered<'_>>> = BTreeMap::new();
        let mut unnoted: Vec<Uuid> = Vec::new();
        for Dispatched {
            comparison,
            outcome,
            noted_sent,
        } in dispatched
        {
            if matches!(outcome, Outcome::Accepted { .. }) && !noted_sent {
                unnoted.push(comparison.correlation_id);
            }
            match outcome {
                Outcome::Accepted { prompt_hash } => accepted
                    .entry((comparison.batch_id, prompt_hash.as_str()))
                    .or_default()
                    .push(comparison),
                Outcome::Refused { code, message } => refused
                    .entry(comparison.batch_id)
                    .or_default()
                    .push((comparison, code, message)),
                Outcome::Retry { reason } => self.postpone(comparison, reason).await,
                Outcome::Judged {
                    prompt_hash,
                    report,
                    requested_at,
                } => {
                    accepted
                        .entry((comparison.batch_id, prompt_hash.as_str()))
                        .or_default()
                        .push(comparison);
                    let callback = InboundCallback {
                        report: report.clone(),
                        named_batch: Some(BatchId(comparison.batch_id)),
                        requested_at: *requested_at,
                        event_id: comparison.correlation_id,
                        correlation_id: comparison.request_correlation_id,
                    };
                    answered
                        .entry(comparison.batch_id)
                        .or_default()
                        .push((comparison, callback));
                }
            }
        }
        if !unnoted.is_empty() {
            if let Err(error) = self.leases.marker().sent(&self.pool, &unnoted).await {
                tracing::error!(%error, "noting accepted comparisons failed; recording SubmitPairs anyway");
            }
        }
        // Every batch's SubmitPairs appended together: one commit for the drain.
        self.submit(&accepted).await;
        stream::iter(refused.values())
            .for_each_concurrent(RECORD_CONCURRENCY, |refusals| self.fail(refusals))
            .await;
        // After their SubmitPairs, as a callback follows its 202.
        stream::iter(answered)
            .for_each_concurrent(RECORD_CONCURRENCY, |(batch_id, answers)| {
                self.record_answers(batch_id, answers)
            })
            .await;
        self.leases
            .release(dispatched.iter().map(|d| d.comparison.correlation_id));
    }

    async fn postpone(&self, comparison: &ClaimedComparison, reason: &str) {
        let delay = queue::backoff(comparison.dispatch_attempts);
        tracing::warn!(correlation_id = %comparison.correlation_id, %reason, ?delay, "comparison not sent; will retry");
        // Released first: a renewal must not move the back-off's end.
        self.leases.release([comparison.correlation_id]);
        let marker = self.leases.marker();
        if let Err(error) = marker
            .postpone(&self.pool, comparison.correlation_id, reason, delay)
            .await
        {
            tracing::error!(%error, "postponing a comparison failed; it returns after its lease");
        }
    }

    /// One `SubmitPairs` per batch and prompt hash, executed together.
    async fn submit(&self, accepted: &BTreeMap<(Uuid, &str), Vec<&ClaimedComparison>>) {
        let commands: Vec<BatchCommand> = accepted
            .iter()
            .map(|((batch_id, prompt_hash), comparisons)| BatchCommand {
                batch_id: BatchId(*batch_id),
                command: CjBatchCommand::SubmitPairs(SubmitPairs {
                    correlation_ids: comparisons
                        .iter()
                        .map(|c| CorrelationId(c.correlation_id))
                        .collect(),
                    prompt_hash: prompt_hash.to_string(),
                }),
                metadata: metadata_of(comparisons[0]),
            })
            .collect();
        let outcomes = self.bus.execute_together(&commands).await;
        for (((batch_id, _), comparisons), outcome) in accepted.iter().zip(outcomes) {
            if recorded(BatchId(*batch_id), outcome) {
                metrics()
                    .comparisons
                    .with_label_values(&["submitted"])
                    .inc_by(comparisons.len() as u64);
            }
        }
    }

    async fn fail(&self, refusals: &[Refusal<'_>]) {
        for (comparison, code, _) in refusals {
            let marker = self.leases.marker();
            if let Err(error) = marker
                .refused(&self.pool, comparison.correlation_id, code)
                .await
            {
                tracing::error!(%error, "noting a refused comparison failed; recording it anyway");
            }
        }
        let callbacks = refusals
            .iter()
            .map(|(comparison, code, message)| CallbackReport {
                correlation_id: CorrelationId(comparison.correlation_id),
                outcome: CallbackOutcome::Error {
                    code: code.to_string(),
                    message: message.to_string(),
                },
                provider: None,
                model: None,
                prompt_hash: None,
                cost_estimate: None,
                total_tokens: None,
            })
            .collect();
        // Counted in `cj_failed_comparisons_total` by the metrics tap, like every failure.
        let command = CjBatchCommand::RecordCallbacks(RecordCallbacks { callbacks });
        self.execute(refusals[0].0, command).await;
    }

    /// Records one batch's answers from a direct judge as callbacks, then notes them
    /// `sent`: claimed again before the queue forgets them, they are not judged again.
    async fn record_answers(&self, batch_id: Uuid, answers: Vec<Answered<'_>>) {
        let first = answers[0].0;
        let metadata = CommandMetadata::new(first.request_correlation_id, DIRECT_JUDGE_ACTOR);
        let ids: Vec<Uuid> = answers.iter().map(|(c, _)| c.correlation_id).collect();
        let callbacks = answers.into_iter().map(|(_, callback)| callback).collect();
        let recorded = self
            .callbacks
            .record_as(BatchId(batch_id), callbacks, &metadata, &self.shutdown)
            .await;
        if recorded.is_err() {
            tracing::warn!(%batch_id, "shutdown before a direct judge's answers were recorded; they are judged again after the lease");
            return;
        }
        if let Err(error) = self.leases.marker().sent(&self.pool, &ids).await {
            tracing::warn!(%error, "noting judged comparisons failed; the queue forgets them with their events");
        }
    }

    /// Executes a command on the batch of `comparison`; false when it was not recorded.
    async fn execute(&self, comparison: &ClaimedComparison, command: CjBatchCommand) -> bool {
        let batch_id = BatchId(comparison.batch_id);
        let outcome = self
            .bus
            .execute_decided(batch_id, command, &metadata_of(comparison))
            .await;
        recorded(batch_id, outcome)
    }
}

/// The dispatcher's commands carry the request's correlation id.
fn metadata_of(comparison: &ClaimedComparison) -> CommandMetadata {
    CommandMetadata::new(comparison.request_correlation_id, DISPATCHER_ACTOR)
}

/// Whether a dispatcher's command was recorded; logged when not (its rows come back after
/// the lease and the command is tried again then).
fn recorded(batch_id: BatchId, outcome: Executed) -> bool {
    match outcome {
        Ok(_) => true,
        Err(error) => {
            tracing::error!(%batch_id, %error, "recording dispatch results failed; retrying after the lease");
            false
        }
    }
}
