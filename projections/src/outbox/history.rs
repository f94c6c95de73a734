//! The facts of one batch that its outgoing messages are made from, gathered from its event
//! history up to (and including) the event that ended it. Later events (late callbacks kept
//! for audit) never change what was published.

use chrono::{DateTime, Utc};
use cj_aggregates::batch::events::{BatchCompleted, BatchFailed, BatchRegistered, BatchScored};
use cj_aggregates::{CjBatch, CjBatchEvent};
use cj_contracts::envelope::EventHeader;
use cqrs_es::Aggregate;
use std::collections::BTreeMap;

/// One event of a batch as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// The event's sequence within its aggregate (1-based in postgres-es).
    pub sequence: u64,
    /// When the event was committed (`recorded_at` column).
    pub recorded_at: DateTime<Utc>,
    pub event: CjBatchEvent,
}

/// How the batch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Completed {
        completed: BatchCompleted,
        /// Boxed: with its reliability report it outweighs the other variant many times.
        scored: Box<BatchScored>,
    },
    Failed {
        failed: BatchFailed,
        /// Comparisons the judge was asked before the batch failed.
        comparisons_made: u32,
    },
}

/// What a finished batch's messages are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedBatch {
    pub registration: BatchRegistered,
    pub registered_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub ending: Ending,
    /// The model and provider that answered most of the recorded comparisons.
    pub model_used: Option<String>,
    pub model_provider: Option<String>,
}

/// Why a history cannot yield messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("the batch ended but its history has no BatchRegistered event")]
    NotRegistered,
    #[error("the batch completed but its history has no BatchScored event")]
    CompletedWithoutScores,
}

impl FinishedBatch {
    /// The finished batch of a history, or `None` while the batch is still running.
    pub fn from_history(history: &[RecordedEvent]) -> Result<Option<Self>, HistoryError> {
        let Some(end) = history.iter().position(|e| is_terminal(&e.event)) else {
            return Ok(None);
        };
        let until_end = &history[..=end];
        let mut batch = CjBatch::default();
        let mut registered_at = None;
        let mut scored = None;
        let mut models = Tally::default();
        let mut providers = Tally::default();
        for recorded in until_end {
            match &recorded.event {
                CjBatchEvent::BatchRegistered(_) => registered_at = Some(recorded.recorded_at),
                CjBatchEvent::BatchScored(s) => scored = Some(s.clone()),
                CjBatchEvent::ComparisonRecorded(c) => {
                    models.add(c.judge.known_model());
                    providers.add(c.judge.known_provider());
                }
                _ => {}
            }
            batch.apply(recorded.event.clone());
        }
        let (Some(registration), Some(registered_at)) =
            (batch.registration().cloned(), registered_at)
        else {
            return Err(HistoryError::NotRegistered);
        };
        let ending = match &history[end].event {
            CjBatchEvent::BatchCompleted(completed) => Ending::Completed {
                completed: completed.clone(),
                scored: Box::new(scored.ok_or(HistoryError::CompletedWithoutScores)?),
            },
            CjBatchEvent::BatchFailed(failed) => Ending::Failed {
                failed: failed.clone(),
                comparisons_made: batch.comparisons_made(),
            },
            // `end` was found as a terminal event; nothing else can be there.
            _ => return Ok(None),
        };
        Ok(Some(FinishedBatch {
            registration,
            registered_at,
            ended_at: history[end].recorded_at,
            ending,
            model_used: models.most_frequent(),
            model_provider: providers.most_frequent(),
        }))
    }

    /// The header of an event about this batch, stamped with the time the batch ended.
    pub fn header(&self, event_name: &str) -> EventHeader {
        EventHeader::for_batch(
            event_name,
            &self.registration.upstream_batch_id,
            self.ended_at,
        )
    }

    /// Seconds from registration to the end (never negative, whatever the clocks did).
    pub fn duration_seconds(&self) -> f64 {
        let elapsed = self.ended_at - self.registered_at;
        let micros = elapsed.num_microseconds().unwrap_or(i64::MAX).max(0);
        micros as f64 / 1e6
    }
}

fn is_terminal(event: &CjBatchEvent) -> bool {
    matches!(
        event,
        CjBatchEvent::BatchCompleted(_) | CjBatchEvent::BatchFailed(_)
    )
}

/// Counts names; the most frequent wins, ties go to the alphabetically first so the result
/// never depends on the order comparisons were answered in.
#[derive(Default)]
struct Tally(BTreeMap<String, u32>);

impl Tally {
    fn add(&mut self, name: Option<&str>) {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            *self.0.entry(name.to_string()).or_default() += 1;
        }
    }

    fn most_frequent(&self) -> Option<String> {
        let top = self.0.values().copied().max()?;
        self.0
            .iter()
            .find(|(_, &count)| count == top)
            .map(|(name, _)| name.clone())
    }
}
