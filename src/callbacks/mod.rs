//! Callbacks: the LLM Provider Service's comparison results become `RecordCallbacks`
//! commands, one per batch. The beside-room of [`crate::intake`]: the consumer
//! ([`crate::consumer`]) polls the callback topic, decodes each message (dead-lettering what
//! cannot be decoded) and hands a poll's decoded callbacks here; everything after that —
//! which batch each belongs to, what is an orphan, recording, retrying — is this module's.
//!
//! - [`routing`] — which batch each callback belongs to: the batch id the callback names,
//!   else its correlation id looked up in the `cj_comparison_pairs` projection (one query
//!   per poll); a callback found by neither is an orphan.
//! - [`CallbackHandler::record_poll`] — each batch's group recorded with one
//!   `RecordCallbacks` command, every batch's command of the poll appended together (one
//!   commit; `BatchCommandBus::execute_together`), transient failures retried batch by
//!   batch with the consumer's capped backoff. Callbacks of comparisons no batch knows (unrouted, an
//!   unregistered batch, or ids the aggregate rejects as `UnknownComparisons`) are orphans:
//!   counted, logged and dropped — never retried forever, never dead-lettered. Duplicates
//!   are the aggregate's business (it ignores them), so a redelivered poll is safe.

pub mod routing;

use crate::metrics::metrics;
use crate::retry::{until_done, Interrupted, Retries};
use crate::store::{
    BatchCommand, BatchCommandBus, CommandError, CommandMetadata, RECORD_CONCURRENCY,
};
use chrono::Utc;
use cj_aggregates::batch::commands::{CallbackOutcome, RecordCallbacks};
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::{CjBatchCommand, CjBatchError};
use futures::stream::{self, StreamExt};
use routing::InboundCallback;
use sqlx::PgPool;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

/// `actor` of the events callbacks cause.
pub const ACTOR: &str = "callback-consumer";

#[derive(Clone)]
pub struct CallbackHandler {
    pub pool: PgPool,
    pub bus: Arc<BatchCommandBus>,
}

impl CallbackHandler {
    /// Records the decoded callbacks of a poll. [`Interrupted`] when shutdown cut a retry
    /// short: then none of the poll's messages may be marked done.
    pub async fn record_poll(
        &self,
        callbacks: &[InboundCallback],
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        if callbacks.is_empty() {
            return Ok(());
        }
        let routed = until_done(shutdown, "routing callbacks", || async {
            Ok(routing::route(&self.pool, callbacks).await?)
        })
        .await?;
        for orphan in &routed.orphans {
            count_orphan(orphan.report.correlation_id, None);
        }
        // Every batch's command at once, appended together; each then settled on its own.
        let commands: Vec<BatchCommand> = routed
            .by_batch
            .iter()
            .map(|(&batch_id, group)| BatchCommand {
                batch_id,
                command: record_callbacks(group),
                metadata: metadata_of(group),
            })
            .collect();
        let outcomes = self.bus.execute_together(&commands).await;
        let settled: Vec<Result<(), Interrupted>> =
            stream::iter(routed.by_batch.into_iter().zip(commands).zip(outcomes))
                .map(|(((batch_id, group), command), outcome)| {
                    let span = info_span!(
                        "record_callbacks",
                        %batch_id,
                        correlation_id = %group[0].correlation_id,
                        callbacks = group.len()
                    );
                    let outcome = outcome.map(drop);
                    self.settle(batch_id, group, command.metadata, outcome, shutdown)
                        .instrument(span)
                })
                .buffer_unordered(RECORD_CONCURRENCY)
                .collect()
                .await;
        settled.into_iter().collect()
    }

    /// Records one batch's callbacks with one command under `metadata`: the path every
    /// verdict takes, a Kafka callback's and a direct judge's answer alike
    /// (`crate::dispatcher::record`).
    pub async fn record_as(
        &self,
        batch_id: BatchId,
        group: Vec<InboundCallback>,
        metadata: &CommandMetadata,
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let outcome = self
            .bus
            .execute(batch_id, record_callbacks(&group), metadata)
            .await;
        self.settle(batch_id, group, metadata.clone(), outcome, shutdown)
            .await
    }

    /// Settles one batch's callbacks after their command's `outcome`: counted when recorded;
    /// callbacks the batch does not know dropped as orphans and the rest tried once more;
    /// transient failures retried with back-off until recorded or shut down.
    async fn settle(
        &self,
        batch_id: BatchId,
        mut group: Vec<InboundCallback>,
        metadata: CommandMetadata,
        mut outcome: Result<(), CommandError>,
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let mut backoff = Retries::default();
        let mut dropped_unknown = false;
        loop {
            match outcome {
                Ok(()) => {
                    tracing::debug!(recorded = group.len(), "callbacks recorded");
                    group.iter().for_each(count_recorded);
                    return Ok(());
                }
                Err(CommandError::Rejected(CjBatchError::UnknownComparisons {
                    correlation_ids,
                })) if !dropped_unknown => {
                    dropped_unknown = true;
                    group.retain(|c| !correlation_ids.contains(&c.report.correlation_id));
                    for unknown in correlation_ids {
                        count_orphan(unknown, Some(batch_id));
                    }
                    if group.is_empty() {
                        return Ok(());
                    }
                }
                Err(CommandError::Rejected(
                    CjBatchError::UnknownComparisons { .. } | CjBatchError::NotRegistered,
                )) => {
                    for orphan in &group {
                        count_orphan(orphan.report.correlation_id, Some(batch_id));
                    }
                    return Ok(());
                }
                Err(CommandError::Rejected(rejection)) => {
                    tracing::error!(%batch_id, %rejection, callbacks = group.len(), "batch refused its callbacks; dropping them");
                    metrics()
                        .callbacks_processed
                        .with_label_values(&["rejected"])
                        .inc_by(group.len() as u64);
                    return Ok(());
                }
                Err(transient) => {
                    tracing::warn!(%batch_id, error = %transient, "recording callbacks failed; retrying");
                    if !backoff.wait(shutdown).await {
                        return Err(Interrupted);
                    }
                }
            }
            outcome = self
                .bus
                .execute(batch_id, record_callbacks(&group), &metadata)
                .await;
        }
    }
}

/// The one command recording a batch's callbacks.
fn record_callbacks(group: &[InboundCallback]) -> CjBatchCommand {
    CjBatchCommand::RecordCallbacks(RecordCallbacks {
        callbacks: group.iter().map(|c| c.report.clone()).collect(),
    })
}

/// The events of a batch's callbacks carry the first callback's correlation id and are
/// caused by its message.
fn metadata_of(group: &[InboundCallback]) -> CommandMetadata {
    let first = &group[0];
    CommandMetadata::new(first.correlation_id, ACTOR).caused_by(first.event_id)
}

fn count_recorded(callback: &InboundCallback) {
    let status = match callback.report.outcome {
        CallbackOutcome::Verdict { .. } => "success",
        CallbackOutcome::Error { .. } => "error",
    };
    let metrics = metrics();
    metrics
        .callbacks_processed
        .with_label_values(&[status])
        .inc();
    let waited = (Utc::now() - callback.requested_at)
        .to_std()
        .unwrap_or_default();
    metrics.callback_latency.observe(waited.as_secs_f64());
}

fn count_orphan(correlation_id: CorrelationId, named_batch: Option<BatchId>) {
    let metrics = metrics();
    metrics.orphan_callbacks.inc();
    metrics
        .callbacks_processed
        .with_label_values(&["orphan"])
        .inc();
    tracing::warn!(%correlation_id, batch = ?named_batch, "orphan callback: no comparison has this correlation id; dropped");
}
