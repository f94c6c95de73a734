//! Nothing lost, nothing doubled: the checks every fault test ends with, over the event log
//! and over the topics read from their beginning.
//!
//! - Every requested batch is registered once and ends once (one BatchCompleted or
//!   BatchFailed).
//! - No comparison is resolved twice (ComparisonRecorded, ComparisonFailed and
//!   LateCallbackRecorded together: at most one per correlation id), and every callback the
//!   provider published is resolved exactly once — late ones as LateCallbackRecorded.
//! - A batch that ended by its budget or for lack of pairs resolved every comparison it
//!   planned.
//! - Every message the outbox derived is on its topic and nothing else is; per batch and
//!   event type there is exactly one distinct `event_id` (re-sends of the same id are
//!   allowed and counted); each batch has one completion or one failure.

use crate::support::kafka::read_topic;
use cj_aggregates::batch::events::{CompletionTrigger, FailureReason};
use cj_aggregates::CjBatchEvent;
use cj_assessment::config::KafkaSettings;
use cj_contracts::decode_callback;
use cj_projections::log::{read_final_after, LogPosition};
use serde_json::Value;
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// What a run did, for the test to print.
#[derive(Debug, Default)]
pub struct Figures {
    pub batches: usize,
    pub completed: usize,
    pub failed: usize,
    /// Failed batches per reason.
    pub failure_reasons: BTreeMap<String, usize>,
    pub events: usize,
    pub planned: usize,
    /// Distinct comparisons the provider answered (callbacks on the topic).
    pub answered: usize,
    /// Callback messages, duplicates included.
    pub callback_messages: usize,
    pub recorded: usize,
    pub failed_comparisons: usize,
    pub late: usize,
    pub outbox_messages: usize,
    /// Per output topic: messages beyond the first with the same `event_id`.
    pub resends: BTreeMap<&'static str, usize>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} batches ({} completed, {} failed {:?}), {} events; {} comparisons planned, {} answered \
             ({} callback messages with duplicates): {} recorded, {} failed, {} late; \
             {} completion messages derived, re-sends {:?}",
            self.batches,
            self.completed,
            self.failed,
            self.failure_reasons,
            self.events,
            self.planned,
            self.answered,
            self.callback_messages,
            self.recorded,
            self.failed_comparisons,
            self.late,
            self.outbox_messages,
            self.resends
        )
    }
}

/// One batch as its log tells it.
#[derive(Default)]
struct BatchLog {
    upstream: Vec<String>,
    ends: Vec<&'static str>,
    trigger: Option<CompletionTrigger>,
    failure: Option<FailureReason>,
    planned: BTreeSet<Uuid>,
    /// Correlation id → the events that resolved it.
    resolved: BTreeMap<Uuid, Vec<&'static str>>,
    /// Correlation id → the error code of its ComparisonFailed.
    failure_codes: BTreeMap<Uuid, String>,
}

impl BatchLog {
    fn resolve(&mut self, correlation_id: Uuid, how: &'static str) {
        self.resolved.entry(correlation_id).or_default().push(how);
    }

    /// Whether the batch ended only once nothing it planned was outstanding.
    fn ended_with_everything_answered(&self) -> bool {
        matches!(
            self.trigger,
            Some(CompletionTrigger::BudgetSpent | CompletionTrigger::NoPairLeft)
        ) || self.failure == Some(FailureReason::LowSuccessRate)
    }
}

/// Runs every check (panicking on the first broken rule) and returns the figures.
pub async fn audit(
    label: &str,
    pool: &PgPool,
    kafka: &KafkaSettings,
    requested: &BTreeSet<String>,
) -> Figures {
    let mut figures = Figures::default();
    let batches = batches_in_log(pool, &mut figures).await;
    check_batches(label, &batches, requested, &mut figures);
    check_callbacks(label, &batches, kafka, &mut figures).await;
    check_outputs(label, pool, kafka, requested, &mut figures).await;
    figures
}

async fn batches_in_log(pool: &PgPool, figures: &mut Figures) -> BTreeMap<Uuid, BatchLog> {
    let events = read_final_after(pool, LogPosition::default(), i64::MAX)
        .await
        .expect("the whole log");
    figures.events = events.len();
    let mut batches: BTreeMap<Uuid, BatchLog> = BTreeMap::new();
    for logged in events {
        let batch = batches.entry(logged.batch_id).or_default();
        match logged.event {
            CjBatchEvent::BatchRegistered(registered) => {
                batch.upstream.push(registered.upstream_batch_id)
            }
            CjBatchEvent::WavePlanned(wave) => batch
                .planned
                .extend(wave.comparisons.iter().map(|c| c.correlation_id.0)),
            CjBatchEvent::ComparisonRetried(retry) => {
                batch.planned.insert(retry.comparison.correlation_id.0);
            }
            CjBatchEvent::ComparisonRecorded(recorded) => {
                batch.resolve(recorded.correlation_id.0, "ComparisonRecorded")
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                batch.resolve(failed.correlation_id.0, "ComparisonFailed");
                batch
                    .failure_codes
                    .insert(failed.correlation_id.0, failed.error_code);
            }
            CjBatchEvent::LateCallbackRecorded(late) => {
                batch.resolve(late.correlation_id.0, "LateCallbackRecorded")
            }
            CjBatchEvent::ScoringStarted(scoring) => batch.trigger = Some(scoring.trigger),
            CjBatchEvent::BatchCompleted(_) => batch.ends.push("BatchCompleted"),
            CjBatchEvent::BatchFailed(failed) => {
                batch.failure = Some(failed.reason);
                batch.ends.push("BatchFailed");
            }
            _ => {}
        }
    }
    batches
}

fn check_batches(
    label: &str,
    batches: &BTreeMap<Uuid, BatchLog>,
    requested: &BTreeSet<String>,
    figures: &mut Figures,
) {
    let mut registered = BTreeSet::new();
    for (batch_id, batch) in batches {
        assert_eq!(
            batch.upstream.len(),
            1,
            "{label}: batch {batch_id} registered once"
        );
        assert!(
            registered.insert(batch.upstream[0].clone()),
            "{label}: one batch per request ({})",
            batch.upstream[0]
        );
        assert_eq!(
            batch.ends.len(),
            1,
            "{label}: batch {batch_id} ({}) ends exactly once: {:?}",
            batch.upstream[0],
            batch.ends
        );
        for (correlation_id, how) in &batch.resolved {
            assert_eq!(
                how.len(),
                1,
                "{label}: comparison {correlation_id} of batch {batch_id} resolved once: {how:?}"
            );
            assert!(
                batch.planned.contains(correlation_id),
                "{label}: {correlation_id} resolved by batch {batch_id} was planned by it"
            );
            match how[0] {
                "ComparisonRecorded" => figures.recorded += 1,
                "ComparisonFailed" => figures.failed_comparisons += 1,
                _ => figures.late += 1,
            }
        }
        if batch.ended_with_everything_answered() {
            let answered_in_time: BTreeSet<Uuid> = batch
                .resolved
                .iter()
                .filter(|(_, how)| how[0] != "LateCallbackRecorded")
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(
                answered_in_time, batch.planned,
                "{label}: batch {batch_id} ended by {:?}/{:?} with every planned comparison resolved",
                batch.trigger, batch.failure
            );
        }
        figures.planned += batch.planned.len();
        match batch.ends[0] {
            "BatchCompleted" => figures.completed += 1,
            _ => {
                figures.failed += 1;
                let reason = format!("{:?}", batch.failure);
                *figures.failure_reasons.entry(reason).or_default() += 1;
            }
        }
    }
    figures.batches = batches.len();
    assert_eq!(
        &registered, requested,
        "{label}: every request became a batch"
    );
}

async fn check_callbacks(
    label: &str,
    batches: &BTreeMap<Uuid, BatchLog>,
    kafka: &KafkaSettings,
    figures: &mut Figures,
) {
    let mut answered = BTreeSet::new();
    for (_, payload) in read_topic(kafka, &kafka.topics.callbacks).await {
        // Only what the consumer accepts as a callback: a flood's junk is dead-lettered.
        if let Ok(callback) = decode_callback(&payload) {
            answered.insert(callback.data.correlation_id);
            figures.callback_messages += 1;
        }
    }
    figures.answered = answered.len();
    let resolved: BTreeSet<Uuid> = batches
        .values()
        .flat_map(|batch| batch.resolved.keys().copied())
        .collect();
    let lost: Vec<&Uuid> = answered.difference(&resolved).take(10).collect();
    assert!(
        lost.is_empty(),
        "{label}: {} answered comparisons never reached the log, e.g. {lost:?}",
        answered.difference(&resolved).count()
    );
    let unanswered: Vec<(&Uuid, Option<&String>)> = resolved
        .difference(&answered)
        .take(10)
        .map(|id| {
            let code = batches
                .values()
                .find_map(|batch| batch.failure_codes.get(id));
            (id, code)
        })
        .collect();
    assert!(
        unanswered.is_empty(),
        "{label}: comparisons resolved without a callback (with the failure's code): {unanswered:?}"
    );
}

async fn check_outputs(
    label: &str,
    pool: &PgPool,
    kafka: &KafkaSettings,
    requested: &BTreeSet<String>,
    figures: &mut Figures,
) {
    let topics = &kafka.topics;
    let mut on_kafka: BTreeSet<(String, Uuid)> = BTreeSet::new();
    let mut ended: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for (name, topic) in [
        ("completed", &topics.completed),
        ("results", &topics.results),
        ("resources", &topics.resources),
        ("failed", &topics.failed),
    ] {
        let mut ids: BTreeMap<(String, String), BTreeSet<Uuid>> = BTreeMap::new();
        let mut messages = 0;
        for (key, payload) in read_topic(kafka, topic).await {
            let envelope: Value = serde_json::from_slice(&payload).expect("published JSON");
            let event_id: Uuid = envelope["event_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .expect("an event_id");
            let event_type = envelope["event_type"].as_str().unwrap_or_default();
            ids.entry((key, event_type.to_string()))
                .or_default()
                .insert(event_id);
            on_kafka.insert((topic.clone(), event_id));
            messages += 1;
        }
        for ((key, event_type), distinct) in &ids {
            assert_eq!(
                distinct.len(),
                1,
                "{label}: batch {key} has one {event_type} on {name}: {distinct:?}"
            );
            if matches!(name, "completed" | "failed") {
                ended.entry(key.clone()).or_default().push(name);
            }
        }
        figures.resends.insert(name, messages - ids.len());
    }
    let derived: Vec<(Uuid, String)> = sqlx::query_as("SELECT event_id, topic FROM cj_outbox")
        .fetch_all(pool)
        .await
        .expect("the outbox");
    figures.outbox_messages = derived.len();
    let derived: BTreeSet<(String, Uuid)> = derived
        .into_iter()
        .map(|(event_id, contract_topic)| {
            let topic = topics.for_contract(&contract_topic).expect("a known topic");
            (topic.to_string(), event_id)
        })
        .collect();
    assert!(
        on_kafka == derived,
        "{label}: the topics hold exactly the messages the outbox derived; only on the topics: \
         {:?}; derived, not on the topics: {:?}",
        on_kafka.difference(&derived).collect::<Vec<_>>(),
        derived.difference(&on_kafka).collect::<Vec<_>>()
    );
    for upstream in requested {
        assert_eq!(
            ended.get(upstream).map(Vec::len),
            Some(1),
            "{label}: batch {upstream} has one completion or one failure message: {:?}",
            ended.get(upstream)
        );
    }
}
