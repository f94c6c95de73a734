//! Runs one generated batch through the real `CjBatch` aggregate: registers it, sends each
//! planned comparison to the simulated judge, and delivers the answers back as callbacks —
//! shuffled, in consumer-poll-sized groups, the way they arrive from Kafka — until the
//! batch ends. Commands go through the service's [`BatchCommandBus`], on the in-memory log
//! for `demo`/`simulate` and on PostgreSQL for `demo --database-url` and the tests.

use super::judge::{JudgeAnswer, JudgeProfile};
use super::scenario::Scenario;
use crate::store::assignment_scales::FixedAssignmentScale;
use crate::store::{BatchCommandBus, CommandMetadata};
use anyhow::{bail, Context};
use cj_aggregates::batch::commands::*;
use cj_aggregates::batch::events::BatchPurpose;
use cj_aggregates::batch::events::{BatchCompleted, BatchFailed, BatchScored, PlannedComparison};
use cj_aggregates::batch::settings::BatchSettings;
use cj_aggregates::ids::{BatchId, CorrelationId};
use cj_aggregates::stats::assignment_scale::AssignmentScale;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Who the driver's commands are recorded as.
pub const SIMULATION_ACTOR: &str = "simulation";

/// The simulated judge's identity on every verdict (`simulated/bt-judge/no-prompt`): it
/// answers from the essays' hidden qualities and reads no prompt, so its prompt hash says
/// so instead of naming a template.
pub const SIMULATED_PROVIDER: &str = "simulated";
pub const SIMULATED_MODEL: &str = "bt-judge";
pub const SIMULATED_PROMPT_HASH: &str = "no-prompt";

/// How callbacks are delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// Callbacks per `RecordCallbacks` command (one consumer poll's worth for one batch).
    pub poll_size: usize,
    /// Share of callbacks delivered twice.
    pub duplicate_rate: f64,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            poll_size: 8,
            duplicate_rate: 0.02,
        }
    }
}

/// What a batch ended with.
#[derive(Debug, Clone)]
pub struct BatchRun {
    pub batch_id: BatchId,
    pub events: Vec<CjBatchEvent>,
    pub scored: Option<BatchScored>,
    pub completed: Option<BatchCompleted>,
    pub failed: Option<BatchFailed>,
    pub commands: usize,
}

impl BatchRun {
    pub fn waves(&self) -> u32 {
        self.events
            .iter()
            .filter(|e| matches!(e, CjBatchEvent::WavePlanned(_)))
            .count() as u32
    }
}

/// Runs `scenario` as one batch to its end on a fresh in-memory log.
pub async fn run_batch(
    scenario: &Scenario,
    settings: BatchSettings,
    judge: JudgeProfile,
    delivery: Delivery,
) -> anyhow::Result<BatchRun> {
    run_batch_of_assignment(
        scenario,
        settings,
        judge,
        delivery,
        AssignmentScale::default(),
    )
    .await
}

/// [`run_batch`] for a batch whose assignment's scale so far is `scale`: the bus hands it to
/// the aggregate, which pairs by it and grades from it (ADR 0012), as the service does.
pub async fn run_batch_of_assignment(
    scenario: &Scenario,
    settings: BatchSettings,
    judge: JudgeProfile,
    delivery: Delivery,
    scale: AssignmentScale,
) -> anyhow::Result<BatchRun> {
    let request_event_id = Uuid::from_u64_pair(0x5eed, scenario.spec.seed ^ settings.seed);
    let bus =
        BatchCommandBus::in_memory().with_assignment_scales(Arc::new(FixedAssignmentScale(scale)));
    run_batch_on(&bus, request_event_id, scenario, settings, judge, delivery).await
}

/// Runs `scenario` as the batch of request `request_event_id` to its end through `bus`.
pub async fn run_batch_on(
    bus: &BatchCommandBus,
    request_event_id: Uuid,
    scenario: &Scenario,
    settings: BatchSettings,
    judge: JudgeProfile,
    delivery: Delivery,
) -> anyhow::Result<BatchRun> {
    let batch_id = BatchId::for_request(request_event_id);
    let request_correlation_id = Uuid::from_u64_pair(0xc0, scenario.spec.seed);
    let metadata = CommandMetadata::new(request_correlation_id, SIMULATION_ACTOR);
    let mut commands = 0usize;
    let mut execute = |command: CjBatchCommand| {
        commands += 1;
        bus.execute(batch_id, command, &metadata)
    };

    execute(CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        upstream_batch_id: format!("sim-batch-{}", scenario.spec.seed),
        request_correlation_id,
        assignment_id: Some("simulated-assignment".into()),
        user_id: "simulation".into(),
        grade_scale: scenario.spec.scale,
        // A scenario without students is a calibration round of its anchors (ADR 0012).
        purpose: if scenario.students.is_empty() {
            BatchPurpose::CalibrationRound
        } else {
            BatchPurpose::Assessment
        },
        ..RegisterBatch::new(
            batch_id,
            request_event_id,
            scenario.essay_refs(),
            settings.clone(),
        )
    })))
    .await
    .context("registering the batch")?;
    execute(CjBatchCommand::CloseIntake(CloseIntake {
        anchors: scenario.anchor_refs(),
    }))
    .await
    .context("registering anchors")?;

    let qualities: HashMap<_, _> = scenario
        .all()
        .map(|e| (e.essay_id.clone(), e.quality))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed.wrapping_mul(31) ^ scenario.spec.seed);
    let mut seen = 0usize;
    loop {
        let new_events = events_after(bus, batch_id, seen).await?;
        seen += new_events.len();
        let to_ask = comparisons_to_ask(&new_events);
        if to_ask.is_empty() {
            break;
        }
        let ids: Vec<CorrelationId> = to_ask.iter().map(|c| c.correlation_id).collect();
        execute(CjBatchCommand::SubmitPairs(SubmitPairs {
            correlation_ids: ids,
            prompt_hash: SIMULATED_PROMPT_HASH.into(),
        }))
        .await
        .context("submitting pairs")?;
        let mut callbacks: Vec<CallbackReport> = Vec::new();
        for comparison in &to_ask {
            let (Some(&qa), Some(&qb)) = (
                qualities.get(&comparison.essay_a),
                qualities.get(&comparison.essay_b),
            ) else {
                bail!(
                    "comparison {} names an unknown essay",
                    comparison.correlation_id
                );
            };
            let report = callback(comparison.correlation_id, judge.judge(qa, qb, &mut rng));
            if rng.gen::<f64>() < delivery.duplicate_rate {
                callbacks.push(report.clone());
            }
            callbacks.push(report);
        }
        callbacks.shuffle(&mut rng);
        for poll in callbacks.chunks(delivery.poll_size.max(1)) {
            execute(CjBatchCommand::RecordCallbacks(RecordCallbacks {
                callbacks: poll.to_vec(),
            }))
            .await
            .context("recording callbacks")?;
        }
    }

    let events = events_after(bus, batch_id, 0).await?;
    let mut run = BatchRun {
        batch_id,
        scored: None,
        completed: None,
        failed: None,
        commands,
        events: Vec::new(),
    };
    for event in &events {
        match event {
            CjBatchEvent::BatchScored(s) => run.scored = Some(s.clone()),
            CjBatchEvent::BatchCompleted(c) => run.completed = Some(c.clone()),
            CjBatchEvent::BatchFailed(f) => run.failed = Some(f.clone()),
            _ => {}
        }
    }
    run.events = events;
    if run.completed.is_none() && run.failed.is_none() {
        bail!("batch {batch_id} stopped without a terminal event");
    }
    Ok(run)
}

/// The batch's events after the first `seen`, in order.
async fn events_after(
    bus: &BatchCommandBus,
    batch_id: BatchId,
    seen: usize,
) -> anyhow::Result<Vec<CjBatchEvent>> {
    let logged = bus.events_after(batch_id, seen).await?;
    Ok(logged.into_iter().map(|logged| logged.event).collect())
}

/// The comparisons newly planned in these events: first asks and retries.
pub fn comparisons_to_ask(events: &[CjBatchEvent]) -> Vec<PlannedComparison> {
    events
        .iter()
        .flat_map(|event| match event {
            CjBatchEvent::WavePlanned(wave) => wave.comparisons.clone(),
            CjBatchEvent::ComparisonRetried(retry) => vec![retry.comparison.clone()],
            _ => Vec::new(),
        })
        .collect()
}

fn callback(correlation_id: CorrelationId, answer: JudgeAnswer) -> CallbackReport {
    let outcome = match answer {
        JudgeAnswer::Verdict {
            winner,
            confidence,
            p_a_wins,
        } => CallbackOutcome::Verdict {
            winner,
            confidence: Some(confidence),
            justification: None,
            p_a_wins,
        },
        JudgeAnswer::Error => CallbackOutcome::Error {
            code: "LLM_PROVIDER_SERVICE_ERROR".into(),
            message: "simulated provider error".into(),
        },
    };
    CallbackReport {
        correlation_id,
        outcome,
        provider: Some(SIMULATED_PROVIDER.into()),
        model: Some(SIMULATED_MODEL.into()),
        prompt_hash: None,
        cost_estimate: Some(0.0),
        total_tokens: Some(0),
    }
}
