//! The one way commands reach a `CjBatch` aggregate, whichever [`EventLog`] holds the
//! batches (PostgreSQL for the service, memory for the demo and the simulation). A command
//! is decided on the batch's current state and its events appended after the sequence that
//! state was decided at:
//!
//! - state comes from the [`AggregateCache`] when this process decided the batch's last
//!   command, else from the log ([`EventLog::load`]);
//! - the append ([`EventLog::append`]; on PostgreSQL one multi-row insert) refuses a
//!   sequence another writer took first; the stale state is then caught up with the events
//!   appended since and the bus decides again (bounded, with jitter), counting every retry,
//!   so a lost race is never a lost command. A refusal decided on cached state is checked
//!   once more on state loaded from the log, so a stale cache never refuses what the log
//!   would accept.
//!
//! Within this process commands on one batch take turns ([`BatchLocks`]).
//!
//! Commands on many batches at once ([`BatchCommandBus::execute_together`]: a poll of
//! callbacks, a drain of the dispatcher's results) are decided each on its batch's state as
//! above and appended with one statement, one commit for all of them: with a thousand
//! batches running, a poll holds about one callback per batch, and a commit per command was
//! what each callback cost. A command that cannot join (its batch busy, a refusal to
//! confirm on the log's state, an append another writer beat) runs on its own afterwards.
//!
//! What a decision needs from outside its batch is read here, just before deciding, and
//! handed to the aggregate as [`DecisionInputs`]: when a command of a batch of an
//! assignment ([`CjBatch::assignment_scale_wanted`]) plans a wave or scores the batch, the
//! assignment's current scale ([`AssignmentScales`]; ADR 0012) is read — it steers the
//! pairing and places the grade boundaries, nothing else — so once per wave and once per
//! scored batch, not on every callback command. The bus is the one write path, so every
//! caller — consumer, dispatcher, monitor, operator — gets it without knowing about it.

use super::aggregate_cache::{AggregateCache, CachedBatch};
use super::assignment_scales::{AssignmentScales, FixedAssignmentScale, ProjectedAssignmentScales};
use super::batch_locks::BatchLocks;
use super::event_log::{AppendError, EventLog, LogError, SequencedEvent, StreamAppend};
use super::memory_log::InMemoryEventLog;
use super::metadata::CommandMetadata;
use super::postgres_log::PostgresEventLog;
use crate::backoff::{Backoff, Jitter};
use crate::metrics::metrics;
use cj_aggregates::batch::inputs::DecisionInputs;
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchError, CjBatchEvent};
use cqrs_es::Aggregate;
use futures::stream::{self, StreamExt};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Batches whose commands are recorded at once: the callback consumer's callbacks and
/// requests, the dispatcher's results. Each command waits mostly on its commit; several in
/// flight let PostgreSQL group their commits, and one batch's commands still take turns
/// (the bus's [`BatchLocks`]).
pub const RECORD_CONCURRENCY: usize = 8;

/// How often a conflicting command is tried. Racers on one batch are a handful of
/// consumers; each conflict means another command succeeded. A racer whose rival keeps a
/// warm cache and never pauses can lose many attempts in a row (the two-process race test
/// lost 12 on a quiet machine), so the bound is generous: 40 attempts, at most ~3.6 s of
/// capped back-off, and exhausting them still leaves the message to be redelivered.
pub const MAX_ATTEMPTS: u32 = 40;

/// The pause after a conflict: a ceiling of 2 ms that doubles per attempt (attempt `n`,
/// counted from 1, waits at most `2 ms * 2^n`) up to 100 ms. The delay is drawn uniformly below the ceiling
/// (full jitter) so racers spread out.
const CONFLICT_BACKOFF: Backoff = Backoff::new(
    Duration::from_millis(2),
    Duration::from_millis(100),
    Jitter::Full,
);

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The aggregate refused the command (a business rule).
    #[error(transparent)]
    Rejected(#[from] CjBatchError),
    #[error("batch {batch_id}: still conflicting after {attempts} attempts")]
    ConflictsExhausted { batch_id: BatchId, attempts: u32 },
    #[error("event store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<LogError> for CommandError {
    fn from(LogError(error): LogError) -> Self {
        CommandError::Store(error)
    }
}

/// One command of [`BatchCommandBus::execute_together`].
#[derive(Debug, Clone)]
pub struct BatchCommand {
    pub batch_id: BatchId,
    pub command: CjBatchCommand,
    pub metadata: CommandMetadata,
}

/// What a command appended (nothing for a no-op), or why it did not.
pub type Executed = Result<Vec<CjBatchEvent>, CommandError>;

/// What deciding one command on a batch's state calls for ([`BatchCommandBus::decide_on`]).
// Returned once and matched at once: the state moves on inline, as it does into `Decided`;
// boxing it would add an allocation per command for nothing.
#[allow(clippy::large_enum_variant)]
enum Decision {
    /// Append these events after this state.
    Append(CachedBatch, Vec<CjBatchEvent>),
    /// Done: no events, a refusal confirmed, or the decision's own store error.
    Settled(Executed),
    /// A refusal decided on cached state: decide again on the log's state.
    Confirm,
}

/// A command decided within [`BatchCommandBus::execute_together`], waiting for the append.
struct Decided {
    index: usize,
    state: CachedBatch,
    events: Vec<CjBatchEvent>,
    metadata: HashMap<String, String>,
}

#[derive(Clone)]
pub struct BatchCommandBus {
    log: Arc<dyn EventLog>,
    cache: Arc<AggregateCache>,
    locks: BatchLocks,
    conflict_retries: Arc<AtomicU64>,
    scales: Arc<dyn AssignmentScales>,
}

/// Where a command's starting state came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Cache,
    Log,
}

impl BatchCommandBus {
    /// The service's bus: batches on PostgreSQL.
    pub fn new(pool: PgPool) -> Self {
        Self::with_cache(pool, AggregateCache::default())
    }

    /// A bus on PostgreSQL with its own cache (`AggregateCache::with_capacity(0)`: always
    /// from the log).
    pub fn with_cache(pool: PgPool, cache: AggregateCache) -> Self {
        Self::over(Arc::new(PostgresEventLog::new(pool.clone())), cache)
            .with_assignment_scales(Arc::new(ProjectedAssignmentScales::new(pool)))
    }

    /// A bus on a fresh in-memory log of its own (the demo's and the simulation's).
    pub fn in_memory() -> Self {
        Self::over(
            Arc::new(InMemoryEventLog::default()),
            AggregateCache::default(),
        )
    }

    /// A bus on `log`, without assignment scales; buses sharing a log act as processes
    /// sharing a database.
    pub fn over(log: Arc<dyn EventLog>, cache: AggregateCache) -> Self {
        BatchCommandBus {
            log,
            cache: Arc::new(cache),
            locks: BatchLocks::default(),
            conflict_retries: Arc::default(),
            scales: Arc::new(FixedAssignmentScale::default()),
        }
    }

    /// This bus reading assignments' scales from `scales`.
    pub fn with_assignment_scales(mut self, scales: Arc<dyn AssignmentScales>) -> Self {
        self.scales = scales;
        self
    }

    /// Retries after a conflict since start-up (a metric).
    pub fn conflict_retries(&self) -> u64 {
        self.conflict_retries.load(Ordering::Relaxed)
    }

    /// The batch's events after sequence `after`, read from the log (not the cache).
    pub async fn events_after(
        &self,
        batch_id: BatchId,
        after: usize,
    ) -> Result<Vec<SequencedEvent>, CommandError> {
        Ok(self.log.events_after(batch_id, after).await?)
    }

    /// Executes `command` on batch `batch_id`, retrying lost races.
    pub async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), CommandError> {
        self.execute_decided(batch_id, command, metadata)
            .await
            .map(drop)
    }

    /// Executes `command` and returns the events it appended (none for a no-op).
    pub async fn execute_decided(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> Result<Vec<CjBatchEvent>, CommandError> {
        let metadata = metadata.to_map();
        let _turn = self.locks.lock(batch_id).await;
        let mut attempt = 0;
        // After a conflict: the state decided with, to be caught up with the events appended
        // since (a few), not reloaded from the whole log. A reload takes longer than a racer
        // with a warm cache needs per command, so reloading racers could starve.
        let mut behind: Option<CachedBatch> = None;
        while attempt < MAX_ATTEMPTS {
            attempt += 1;
            let (current, source) = match behind.take() {
                Some(state) => (self.caught_up(batch_id, state).await?, Source::Log),
                None => self.current(batch_id).await?,
            };
            let (current, events) = match self.decide_on(batch_id, current, source, &command).await
            {
                Decision::Append(current, events) => (current, events),
                Decision::Settled(outcome) => return outcome,
                Decision::Confirm => continue,
            };
            match (self.log)
                .append(batch_id, current.sequence, &events, &metadata)
                .await
            {
                Ok(()) => {
                    self.keep_appended(batch_id, current, &events);
                    return Ok(events);
                }
                Err(AppendError::Conflict) => {
                    self.count_conflict();
                    behind = Some(current);
                    tokio::time::sleep(CONFLICT_BACKOFF.delay(attempt)).await;
                }
                // Whether the append was written is unknown: the state is not kept, and the
                // next command reloads the log.
                Err(AppendError::Log(error)) => return Err(error.into()),
            }
        }
        Err(CommandError::ConflictsExhausted {
            batch_id,
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Executes `commands` (on distinct batches) and returns each one's outcome, in order.
    /// Every command whose batch has no command in flight is decided on its state and their
    /// events appended together, with one statement; the rest — a busy batch (or one named
    /// twice), a refusal decided on cached state, every command of an append another writer
    /// beat — then run one by one through [`Self::execute_decided`], with its retries.
    /// Outcomes are those of `execute_decided`: a store error leaves the command unrecorded
    /// or recorded, unknown which, as it does there.
    pub async fn execute_together(&self, commands: &[BatchCommand]) -> Vec<Executed> {
        let mut outcomes: Vec<Option<Executed>> = commands.iter().map(|_| None).collect();
        let mut alone = Vec::new();
        {
            // Only batches that are free now: nothing here waits for a turn while holding
            // others, so two callers cannot wait on each other.
            let mut turns = Vec::new();
            let mut joined = Vec::new();
            for (index, command) in commands.iter().enumerate() {
                match self.locks.try_lock(command.batch_id) {
                    Some(turn) => {
                        turns.push(turn);
                        joined.push(index);
                    }
                    None => alone.push(index),
                }
            }
            // Loaded a few at a time, as commands one by one would be: after a restart a
            // poll can name hundreds of batches the cache does not hold.
            let batch_ids: Vec<BatchId> = joined.iter().map(|&i| commands[i].batch_id).collect();
            let states: Vec<_> = stream::iter(batch_ids)
                .map(|batch_id| self.current(batch_id))
                .buffered(RECORD_CONCURRENCY)
                .collect()
                .await;
            let mut decided = Vec::new();
            for (index, state) in joined.into_iter().zip(states) {
                let BatchCommand {
                    batch_id, command, ..
                } = &commands[index];
                let (state, source) = match state {
                    Ok(loaded) => loaded,
                    Err(error) => {
                        outcomes[index] = Some(Err(error));
                        continue;
                    }
                };
                match self.decide_on(*batch_id, state, source, command).await {
                    Decision::Append(state, events) => decided.push(Decided {
                        index,
                        state,
                        events,
                        metadata: commands[index].metadata.to_map(),
                    }),
                    Decision::Settled(outcome) => outcomes[index] = Some(outcome),
                    // Confirmed on the log's state, alone.
                    Decision::Confirm => alone.push(index),
                }
            }
            self.append_decided(commands, decided, &mut outcomes, &mut alone)
                .await;
        }
        let one_by_one: Vec<(usize, Executed)> = stream::iter(alone)
            .map(|index| async move {
                let BatchCommand {
                    batch_id,
                    command,
                    metadata,
                } = &commands[index];
                let outcome = self
                    .execute_decided(*batch_id, command.clone(), metadata)
                    .await;
                (index, outcome)
            })
            .buffer_unordered(RECORD_CONCURRENCY)
            .collect()
            .await;
        for (index, outcome) in one_by_one {
            outcomes[index] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|outcome| outcome.expect("every command is decided together or alone"))
            .collect()
    }

    /// Appends what [`Self::execute_together`] decided, with one statement, and records
    /// each command's outcome; after a conflict every one of them goes `alone`.
    async fn append_decided(
        &self,
        commands: &[BatchCommand],
        mut decided: Vec<Decided>,
        outcomes: &mut [Option<Executed>],
        alone: &mut Vec<usize>,
    ) {
        if decided.is_empty() {
            return;
        }
        // Rows in batch order, so that two processes appending to the same batches take
        // their index locks in one order and cannot deadlock each other.
        decided.sort_by_key(|d| commands[d.index].batch_id);
        let parts: Vec<StreamAppend<'_>> = decided
            .iter()
            .map(|d| StreamAppend {
                batch_id: commands[d.index].batch_id,
                after: d.state.sequence,
                events: &d.events,
                metadata: &d.metadata,
            })
            .collect();
        let appended = self.log.append_all(&parts).await;
        drop(parts);
        match appended {
            Ok(()) => {
                metrics().commands_per_append.observe(decided.len() as f64);
                for Decided {
                    index,
                    state,
                    events,
                    ..
                } in decided
                {
                    self.keep_appended(commands[index].batch_id, state, &events);
                    outcomes[index] = Some(Ok(events));
                }
            }
            Err(AppendError::Conflict) => {
                // Which stream moved on is not said: every state goes back to the cache
                // (a stale one conflicts again alone and is caught up there).
                self.count_conflict();
                for Decided { index, state, .. } in decided {
                    self.keep(commands[index].batch_id, state);
                    alone.push(index);
                }
            }
            // Whether the append was written is unknown: no state is kept.
            Err(AppendError::Log(LogError(error))) => {
                let message = error.to_string();
                for Decided { index, .. } in decided {
                    outcomes[index] = Some(Err(CommandError::Store(message.clone().into())));
                }
            }
        }
    }

    /// `command` decided on `state` (read from `source`), as a command alone and commands
    /// together both take it: events to append after the state, or an outcome settled now
    /// (the state kept: it is unchanged), or a refusal decided on cached state, to be
    /// confirmed on the log's (the state dropped, so the next load reads the log).
    async fn decide_on(
        &self,
        batch_id: BatchId,
        state: CachedBatch,
        source: Source,
        command: &CjBatchCommand,
    ) -> Decision {
        let settled = match self.decide(&state.batch, command).await {
            Ok(Ok(events)) if !events.is_empty() => return Decision::Append(state, events),
            Ok(Err(_)) if source == Source::Cache => return Decision::Confirm,
            Ok(Ok(events)) => Ok(events),
            Ok(Err(rejection)) => Err(CommandError::Rejected(rejection)),
            Err(error) => Err(error),
        };
        self.keep(batch_id, state);
        Decision::Settled(settled)
    }

    /// Decides `command` on `batch`. The assignment's scale is read only when the decision
    /// plans a wave or scores a batch of an assignment: the command is decided without it
    /// first (the scale changes nothing but the pairs of a `WavePlanned` and the grades of a
    /// `BatchScored`); when a wave comes out the command is decided again with the scale
    /// (a fit and a plan), when scores come out the decided `BatchScored` is graded again
    /// with it ([`DecisionInputs::regrade`], so the batch is scored once) — one read per
    /// wave and per scored batch, not one per callback command.
    async fn decide(
        &self,
        batch: &CjBatch,
        command: &CjBatchCommand,
    ) -> Result<Result<Vec<CjBatchEvent>, CjBatchError>, CommandError> {
        let mut events = match batch.decide_with(command.clone(), &DecisionInputs::default()) {
            Ok(events) => events,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let plans = events
            .iter()
            .any(|event| matches!(event, CjBatchEvent::WavePlanned(_)));
        let scores = events
            .iter()
            .any(|event| matches!(event, CjBatchEvent::BatchScored(_)));
        let Some(assignment_id) = batch
            .assignment_scale_wanted(command)
            .filter(|_| plans || scores)
        else {
            return Ok(Ok(events));
        };
        let inputs =
            DecisionInputs::with_assignment_scale(self.scales.current(assignment_id).await?);
        if plans {
            return Ok(batch.decide_with(command.clone(), &inputs));
        }
        inputs.regrade(&mut events);
        Ok(Ok(events))
    }

    /// Caches `state` with the `events` just appended after it applied.
    fn keep_appended(&self, batch_id: BatchId, mut state: CachedBatch, events: &[CjBatchEvent]) {
        for event in events {
            state.batch.apply(event.clone());
        }
        state.sequence += events.len();
        self.keep(batch_id, state);
    }

    /// An append lost a race: counted for the metric and [`Self::conflict_retries`].
    fn count_conflict(&self) {
        self.conflict_retries.fetch_add(1, Ordering::Relaxed);
        metrics().aggregate_conflict_retries.inc();
    }

    /// Caches the batch's state while it is active: a terminal batch changes no more, and
    /// an unregistered one (a callback naming a batch that does not exist) is nothing.
    fn keep(&self, batch_id: BatchId, current: CachedBatch) {
        if current.batch.registration().is_some() && !current.batch.is_terminal() {
            self.cache.put(batch_id, current);
        }
    }

    /// `state` with the events appended to the batch's stream after it applied.
    async fn caught_up(
        &self,
        batch_id: BatchId,
        mut state: CachedBatch,
    ) -> Result<CachedBatch, CommandError> {
        let newer = self.log.events_after(batch_id, state.sequence).await?;
        metrics()
            .aggregate_loads
            .with_label_values(&["catch_up"])
            .inc();
        for logged in newer {
            state.sequence = logged.sequence;
            state.batch.apply(logged.event);
        }
        Ok(state)
    }

    /// The batch's state to decide with: the cached one, or the log's.
    async fn current(&self, batch_id: BatchId) -> Result<(CachedBatch, Source), CommandError> {
        if let Some(cached) = self.cache.take(batch_id) {
            metrics()
                .aggregate_loads
                .with_label_values(&["cache"])
                .inc();
            return Ok((cached, Source::Cache));
        }
        metrics().aggregate_loads.with_label_values(&["log"]).inc();
        Ok((self.log.load(batch_id).await?, Source::Log))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_backoff_doubles_from_4_ms_to_100_ms_with_full_jitter() {
        let ms = Duration::from_millis;
        let ceilings: Vec<Duration> = (1..=12)
            .map(|attempt| CONFLICT_BACKOFF.step(attempt))
            .collect();
        let expected = [4, 8, 16, 32, 64, 100, 100, 100, 100, 100, 100, 100].map(ms);
        assert_eq!(ceilings, expected);
        assert_eq!(CONFLICT_BACKOFF.step(40), ms(100));
        for attempt in 1..40 {
            for _ in 0..20 {
                assert!(CONFLICT_BACKOFF.delay(attempt) <= CONFLICT_BACKOFF.step(attempt));
            }
        }
        assert!(
            (0..200).any(|_| CONFLICT_BACKOFF.delay(6) < ms(50)),
            "jitter reaches below half the ceiling"
        );
    }
}
