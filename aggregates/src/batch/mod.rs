//! The `CjBatch` aggregate: one comparative-judgement batch from registration to its
//! terminal status. `handle` (in `handlers`) decides and writes events; `apply` (here) only
//! folds them into state, so state rebuilt from the log equals the state decided with.
//! What a decision needs from outside the batch (its assignment's scale) is handed in as
//! [`inputs::DecisionInputs`], the aggregate's `Services`.

pub mod commands;
pub mod completion;
mod decisions;
pub mod error;
pub mod events;
pub mod grading_basis;
mod handlers;
pub mod inputs;
pub mod settings;
pub mod status;
pub mod upcasting;
pub mod usage;

use crate::batch::commands::{CjBatchCommand, Position};
use crate::batch::error::CjBatchError;
use crate::batch::events::{
    BatchRegistered, CjBatchEvent, ComparisonPurpose, FitSnapshot, PlannedComparison,
};
use crate::batch::inputs::DecisionInputs;
use crate::batch::status::{BatchState, UploadStatus};
use crate::ids::{CorrelationId, EssayId};
use crate::judge::{JudgeId, Verdict};
use crate::stats::graded::probabilities_agree_with_verdicts;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One essay of the batch: a student's or an anchor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchEssay {
    pub essay_id: EssayId,
    pub is_anchor: bool,
    pub known_grade: Option<String>,
}

/// Where one comparison stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComparisonResult {
    Pending,
    Won(Position),
    Failed,
}

/// One comparison asked (or about to be asked) of the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchComparison {
    pub correlation_id: CorrelationId,
    /// Index into the batch's essays.
    pub essay_a: usize,
    pub essay_b: usize,
    pub wave: u32,
    pub attempt: u32,
    pub purpose: ComparisonPurpose,
    pub submitted: bool,
    pub result: ComparisonResult,
    /// A retry of this failed comparison has been planned.
    pub retried: bool,
    /// The prompt template it was sent with, once its submission is recorded: an index
    /// into the batch's prompt hashes ([`CjBatch::prompt_hash_of`]).
    #[serde(default)]
    pub prompt_hash: Option<u32>,
    /// Who gave the verdict, once one is recorded: an index into [`CjBatch::judges`].
    #[serde(default)]
    pub judge: Option<u32>,
    /// The judge's P(A wins), when its verdict carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_a_wins: Option<f64>,
}

impl BatchComparison {
    /// The outcome from the first-shown essay's (A's) side: 1 when A won, 0 when B won,
    /// `None` without a verdict.
    pub fn first_won(&self) -> Option<f64> {
        match self.result {
            ComparisonResult::Won(Position::A) => Some(1.0),
            ComparisonResult::Won(Position::B) => Some(0.0),
            _ => None,
        }
    }

    /// (winner, loser) essay indices of a successful comparison.
    pub fn verdict(&self) -> Option<(usize, usize)> {
        match self.result {
            ComparisonResult::Won(Position::A) => Some((self.essay_a, self.essay_b)),
            ComparisonResult::Won(Position::B) => Some((self.essay_b, self.essay_a)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CjBatch {
    registration: Option<BatchRegistered>,
    essays: Vec<BatchEssay>,
    essay_index: HashMap<EssayId, usize>,
    comparisons: Vec<BatchComparison>,
    comparison_index: HashMap<CorrelationId, usize>,
    late_callbacks: HashSet<CorrelationId>,
    state: BatchState,
    status: UploadStatus,
    wave: u32,
    /// The fit when the current wave was planned: what stability is judged against.
    reference_fit: Option<FitSnapshot>,
    /// Every distinct judge of a recorded verdict and every distinct prompt hash of a
    /// submission, in the order first seen. Comparisons refer to them by index, so the
    /// batch (cloned for every command) clones a handful of strings, not one per comparison.
    #[serde(default)]
    judges: Vec<JudgeId>,
    #[serde(default)]
    prompt_hashes: Vec<String>,
}

impl CjBatch {
    pub fn registration(&self) -> Option<&BatchRegistered> {
        self.registration.as_ref()
    }

    /// A calibration round of its assignment's anchors rather than an assessment.
    pub fn is_calibration_round(&self) -> bool {
        self.registration
            .as_ref()
            .is_some_and(|r| r.purpose.is_calibration_round())
    }

    pub fn state(&self) -> BatchState {
        self.state
    }

    pub fn status(&self) -> UploadStatus {
        self.status
    }

    pub fn wave(&self) -> u32 {
        self.wave
    }

    pub fn essays(&self) -> &[BatchEssay] {
        &self.essays
    }

    pub fn comparisons(&self) -> &[BatchComparison] {
        &self.comparisons
    }

    pub fn comparison(&self, id: &CorrelationId) -> Option<&BatchComparison> {
        self.comparison_index.get(id).map(|&i| &self.comparisons[i])
    }

    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal() || self.state.is_terminal()
    }

    /// Every recorded verdict, in the order the comparisons were planned: which essay was
    /// shown first, its outcome as the fit counts it ([`CjBatch::fitted_outcomes`]), and the
    /// judge. What per-judge misfit, split halves by
    /// judge and the order effect are computed from.
    pub fn verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        self.fitted_outcomes()
            .map(|(comparison, first_won)| Verdict {
                first_won,
                first: self.essays[comparison.essay_a].essay_id.clone(),
                second: self.essays[comparison.essay_b].essay_id.clone(),
                judge: self
                    .judge_of(comparison)
                    .cloned()
                    .unwrap_or_else(JudgeId::unknown),
            })
    }

    /// Every verdict with the outcome the fit counts for it, from A's side: when the batch's
    /// settings read graded outcomes (`graded_outcomes`, on for new batches), the judge's
    /// P(A wins) when the verdict carried one and that judge's probabilities agree with its
    /// verdicts ([`probabilities_agree_with_verdicts`]); else 1 when A won and 0 when B did.
    pub fn fitted_outcomes(&self) -> impl Iterator<Item = (&BatchComparison, f64)> + '_ {
        // Nothing to weigh when the batch reads hard verdicts only (the default).
        let reads_probabilities = if self.settings().graded_outcomes {
            self.judges_whose_probabilities_are_read()
        } else {
            Vec::new()
        };
        self.comparisons.iter().filter_map(move |comparison| {
            let hard = comparison.first_won()?;
            let graded = comparison.p_a_wins.filter(|_| {
                comparison
                    .judge
                    .is_some_and(|j| reads_probabilities.get(j as usize) == Some(&true))
            });
            Some((comparison, graded.unwrap_or(hard)))
        })
    }

    /// Per judge (index into [`CjBatch::judges`]): whether its probabilities are read.
    fn judges_whose_probabilities_are_read(&self) -> Vec<bool> {
        let mut per_judge: Vec<Vec<(f64, f64)>> = vec![Vec::new(); self.judges.len()];
        for comparison in &self.comparisons {
            if let (Some(p), Some(hard), Some(judge)) = (
                comparison.p_a_wins,
                comparison.first_won(),
                comparison.judge,
            ) {
                per_judge[judge as usize].push((p, hard));
            }
        }
        per_judge
            .iter()
            .map(|pairs| probabilities_agree_with_verdicts(pairs))
            .collect()
    }

    /// Every distinct judge of the batch's verdicts, in the order first seen.
    pub fn judges(&self) -> &[JudgeId] {
        &self.judges
    }

    /// The judge of a comparison's recorded verdict.
    pub fn judge_of(&self, comparison: &BatchComparison) -> Option<&JudgeId> {
        comparison.judge.map(|i| &self.judges[i as usize])
    }

    /// The prompt hash a comparison's submission was recorded with.
    pub fn prompt_hash_of(&self, comparison: &BatchComparison) -> Option<&str> {
        comparison
            .prompt_hash
            .map(|i| self.prompt_hashes[i as usize].as_str())
    }

    /// Comparisons planned but not yet accepted by the provider: what a dispatcher sends.
    pub fn unsubmitted(&self) -> impl Iterator<Item = &BatchComparison> {
        self.comparisons
            .iter()
            .filter(|c| !c.submitted && c.result == ComparisonResult::Pending)
    }

    fn add_comparison(&mut self, planned: &PlannedComparison, wave: u32) {
        let (Some(&a), Some(&b)) = (
            self.essay_index.get(&planned.essay_a),
            self.essay_index.get(&planned.essay_b),
        ) else {
            // Events are only written by `handle`, which plans among known essays.
            tracing::error!(correlation_id = %planned.correlation_id, "comparison names an unknown essay");
            return;
        };
        self.comparison_index
            .insert(planned.correlation_id, self.comparisons.len());
        self.comparisons.push(BatchComparison {
            correlation_id: planned.correlation_id,
            essay_a: a,
            essay_b: b,
            wave,
            attempt: planned.attempt,
            purpose: planned.purpose,
            submitted: false,
            result: ComparisonResult::Pending,
            retried: false,
            prompt_hash: None,
            judge: None,
            p_a_wins: None,
        });
    }

    fn add_essay(&mut self, essay_id: EssayId, is_anchor: bool, known_grade: Option<String>) {
        self.essay_index.insert(essay_id.clone(), self.essays.len());
        self.essays.push(BatchEssay {
            essay_id,
            is_anchor,
            known_grade,
        });
    }

    fn comparison_mut(&mut self, id: &CorrelationId) -> Option<&mut BatchComparison> {
        self.comparison_index
            .get(id)
            .copied()
            .map(|i| &mut self.comparisons[i])
    }
}

impl Aggregate for CjBatch {
    const TYPE: &'static str = "CjBatch";
    type Command = CjBatchCommand;
    type Event = CjBatchEvent;
    type Error = CjBatchError;
    /// What the service read for the decision (the assignment scale; see [`inputs`]).
    type Services = DecisionInputs;

    async fn handle(
        &mut self,
        command: Self::Command,
        inputs: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        // Decide first, write after: a refused command leaves the aggregate untouched.
        for event in self.decide_with(command, inputs)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            CjBatchEvent::BatchRegistered(registered) => {
                for essay in &registered.essays {
                    self.add_essay(essay.essay_id.clone(), false, None);
                }
                self.registration = Some(*registered);
                self.state = BatchState::Initializing;
                self.status = UploadStatus::Pending;
            }
            CjBatchEvent::AnchorsRegistered(anchors) => {
                for anchor in anchors.anchors {
                    self.add_essay(anchor.essay_id, true, Some(anchor.grade));
                }
                self.state = BatchState::GeneratingPairs;
            }
            CjBatchEvent::WavePlanned(planned) => {
                self.wave = planned.wave;
                if planned.fit.is_some() {
                    self.reference_fit = planned.fit;
                }
                for comparison in &planned.comparisons {
                    self.add_comparison(comparison, planned.wave);
                }
                self.state = BatchState::WaitingCallbacks;
                self.status = UploadStatus::PerformingComparisons;
            }
            CjBatchEvent::ComparisonRetried(retried) => {
                if let Some(original) = self.comparison_mut(&retried.retry_of) {
                    original.retried = true;
                }
                self.add_comparison(&retried.comparison, retried.wave);
            }
            CjBatchEvent::PairsSubmitted(submitted) => {
                let prompt_hash = index_in(&mut self.prompt_hashes, submitted.prompt_hash);
                for id in &submitted.correlation_ids {
                    if let Some(comparison) = self.comparison_mut(id) {
                        comparison.submitted = true;
                        comparison.prompt_hash = Some(prompt_hash);
                    }
                }
            }
            CjBatchEvent::ComparisonRecorded(recorded) => {
                if let Some(&i) = self.comparison_index.get(&recorded.correlation_id) {
                    let judge = index_in(&mut self.judges, recorded.judge);
                    let comparison = &mut self.comparisons[i];
                    comparison.result = ComparisonResult::Won(recorded.winner_position);
                    comparison.judge = Some(judge);
                    comparison.p_a_wins = recorded.p_a_wins;
                }
            }
            CjBatchEvent::ComparisonFailed(failed) => {
                if let Some(comparison) = self.comparison_mut(&failed.correlation_id) {
                    comparison.result = ComparisonResult::Failed;
                }
            }
            CjBatchEvent::LateCallbackRecorded(late) => {
                self.late_callbacks.insert(late.correlation_id);
            }
            CjBatchEvent::ScoringStarted(_) => self.state = BatchState::Scoring,
            CjBatchEvent::BatchScored(_) | CjBatchEvent::RecoveryForced(_) => {}
            CjBatchEvent::BatchCompleted(completed) => {
                self.state = BatchState::Completed;
                self.status = completed.status;
            }
            CjBatchEvent::BatchFailed(failed) => {
                self.state = BatchState::Failed;
                self.status = failed.status;
            }
        }
    }
}

/// The index of `value` in `table`, added at the end when it is new. Tables hold a few
/// entries (judges, prompt hashes of one batch), so a scan is cheapest.
fn index_in<T: PartialEq>(table: &mut Vec<T>, value: T) -> u32 {
    let index = match table.iter().position(|known| *known == value) {
        Some(index) => index,
        None => {
            table.push(value);
            table.len() - 1
        }
    };
    index as u32
}
