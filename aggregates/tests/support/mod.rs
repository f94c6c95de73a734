//! Builders for aggregate tests: requests, anchors, callbacks, and a `History` that runs
//! commands through the aggregate to produce realistic "given" events.
#![allow(dead_code)]

use cj_aggregates::batch::commands::*;
use cj_aggregates::batch::inputs::DecisionInputs;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::{BatchId, CorrelationId, EssayId};
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchError, CjBatchEvent};
use cqrs_es::Aggregate;
use uuid::Uuid;

pub const REQUEST_EVENT_ID: Uuid = Uuid::from_u128(0x1111);

pub fn essay_id(raw: &str) -> EssayId {
    EssayId::parse(raw).expect("test essay ids are valid")
}

pub fn settings(budget: u32) -> BatchSettings {
    let mut settings = BatchSettings::with_budget(ComparisonBudget::new(budget).unwrap());
    settings.seed = 7;
    settings
}

pub fn register(students: usize, settings: BatchSettings) -> CjBatchCommand {
    let essays = (0..students)
        .map(|i| EssayRef {
            essay_id: essay_id(&format!("s{i}")),
            text_storage_id: format!("sid-{i}"),
            content_sha256: format!("{i:064x}"),
        })
        .collect();
    CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        upstream_batch_id: "bos-batch-1".into(),
        request_correlation_id: Uuid::from_u128(0x2222),
        assignment_id: Some("assign-1".into()),
        user_id: "user-1".into(),
        ..RegisterBatch::new(
            BatchId::for_request(REQUEST_EVENT_ID),
            REQUEST_EVENT_ID,
            essays,
            settings,
        )
    }))
}

pub fn anchors(grades: &[&str]) -> CjBatchCommand {
    CjBatchCommand::CloseIntake(CloseIntake {
        anchors: grades
            .iter()
            .enumerate()
            .map(|(i, grade)| AnchorRef {
                essay_id: essay_id(&format!("anchor-{grade}-{i}")),
                grade: grade.to_string(),
                label: format!("Anchor {grade}"),
                text_storage_id: format!("anchor-sid-{i}"),
                content_sha256: format!("{:064x}", 1000 + i),
            })
            .collect(),
    })
}

/// The prompt hash the tests' dispatcher submits comparisons with.
pub const PROMPT_HASH: &str = "ab12cd34ef567890";

/// The provider accepted these comparisons, sent with [`PROMPT_HASH`].
pub fn submit(correlation_ids: Vec<CorrelationId>) -> CjBatchCommand {
    CjBatchCommand::SubmitPairs(SubmitPairs {
        correlation_ids,
        prompt_hash: PROMPT_HASH.into(),
    })
}

pub fn verdict(id: CorrelationId, winner: Position) -> CallbackReport {
    CallbackReport {
        correlation_id: id,
        outcome: CallbackOutcome::Verdict {
            winner,
            confidence: Some(4.0),
            justification: Some("clearer".into()),
            p_a_wins: None,
        },
        provider: Some("openai".into()),
        model: Some("gpt-5.1".into()),
        prompt_hash: None,
        cost_estimate: Some(0.002),
        total_tokens: Some(1500),
    }
}

pub fn error(id: CorrelationId) -> CallbackReport {
    CallbackReport {
        correlation_id: id,
        outcome: CallbackOutcome::Error {
            code: "LLM_PROVIDER_RATE_LIMIT".into(),
            message: "429".into(),
        },
        provider: Some("anthropic".into()),
        model: None,
        prompt_hash: None,
        cost_estimate: None,
        total_tokens: None,
    }
}

pub fn record(callbacks: Vec<CallbackReport>) -> CjBatchCommand {
    CjBatchCommand::RecordCallbacks(RecordCallbacks { callbacks })
}

/// A batch driven command by command, keeping every event it wrote.
#[derive(Default)]
pub struct History {
    pub batch: CjBatch,
    pub events: Vec<CjBatchEvent>,
}

impl History {
    pub fn run(&mut self, command: CjBatchCommand) -> Result<Vec<CjBatchEvent>, CjBatchError> {
        self.run_with(command, &DecisionInputs::default())
    }

    /// [`History::run`] with what the service read for the decision (the assignment scale).
    pub fn run_with(
        &mut self,
        command: CjBatchCommand,
        inputs: &DecisionInputs,
    ) -> Result<Vec<CjBatchEvent>, CjBatchError> {
        let events = self.batch.decide_with(command, inputs)?;
        for event in &events {
            self.batch.apply(event.clone());
        }
        self.events.extend(events.iter().cloned());
        Ok(events)
    }

    pub fn started(students: usize, settings: BatchSettings, anchor_grades: &[&str]) -> Self {
        let mut history = History::default();
        history.run(register(students, settings)).unwrap();
        history.run(anchors(anchor_grades)).unwrap();
        history
    }

    /// Correlation ids of comparisons still waiting for a callback.
    pub fn pending(&self) -> Vec<CorrelationId> {
        use cj_aggregates::batch::ComparisonResult;
        self.batch
            .comparisons()
            .iter()
            .filter(|c| c.result == ComparisonResult::Pending)
            .map(|c| c.correlation_id)
            .collect()
    }

    /// Verdicts for every pending comparison: the essay with the lower index wins.
    pub fn verdicts_by_index(&self) -> CjBatchCommand {
        let callbacks: Vec<CallbackReport> = self
            .pending()
            .into_iter()
            .map(|id| {
                let c = self.batch.comparison(&id).unwrap();
                let winner = if c.essay_a < c.essay_b {
                    Position::A
                } else {
                    Position::B
                };
                verdict(id, winner)
            })
            .collect();
        record(callbacks)
    }

    /// Answers every pending comparison: the essay with the lower index wins.
    pub fn answer_all_by_index(&mut self) -> Vec<CjBatchEvent> {
        self.run(self.verdicts_by_index()).unwrap()
    }

    /// Answers by index until the batch ends; returns every event written on the way.
    pub fn answer_until_terminal(&mut self) -> Vec<CjBatchEvent> {
        let mut events = Vec::new();
        for _ in 0..1000 {
            if self.batch.is_terminal() {
                break;
            }
            events.extend(self.answer_all_by_index());
        }
        assert!(self.batch.is_terminal(), "batch did not end");
        events
    }
}

pub fn names(events: &[CjBatchEvent]) -> Vec<&'static str> {
    events.iter().map(CjBatchEvent::name).collect()
}
