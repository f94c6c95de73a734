//! Events of the `CjBatch` aggregate: every change of a batch, as persisted in the log.
//! Events never carry essay text, only references and hashes. Every event type is versioned;
//! a change of shape bumps its version and adds an upcaster for the old one.

use crate::batch::commands::{AnchorRef, EssayRef, FailedEssay, Position};
use crate::batch::settings::{BatchSettings, LlmSettings};
use crate::batch::status::UploadStatus;
use crate::ids::{BatchId, CorrelationId, EssayId};
use crate::judge::JudgeId;
use crate::stats::assignment_scale::AnchorObservation;
use crate::stats::grade_scale::GradeScale;
use crate::stats::grading::{Calibration, GradeProjection};
use crate::stats::scale::Estimator;
use crate::stats::split_half::SplitBy;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Current version of every event type's payload, unless `CjBatchEvent::version` names
/// a later one for its type.
pub const EVENT_VERSION: &str = "1.0";

/// Version of `PairsSubmitted` and `ComparisonRecorded` since they record the judge
/// (`prompt_hash`, `judge`); 1.0 payloads are read through the upcasters.
pub const JUDGE_EVENT_VERSION: &str = "1.1";

/// Version of `BatchRegistered` since its settings name the estimator (1.0 batches were
/// scored with I-LSR; the upcaster says so) and of `BatchScored` since it carries essay
/// misfit and the reliability report (absent in 1.0 payloads).
pub const ESTIMATOR_EVENT_VERSION: &str = "1.1";

/// Version of `BatchScored` since it names the assignment scale its grades were calibrated
/// from (`assignment_scale_version`, absent — the batch alone — in earlier payloads).
pub const ASSIGNMENT_SCALE_EVENT_VERSION: &str = "1.2";

/// Version of `BatchRegistered` since it records the batch's purpose (`purpose`, absent —
/// an ordinary assessment — in earlier payloads; ADR 0012, calibration rounds).
pub const PURPOSE_EVENT_VERSION: &str = "1.2";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CjBatchEvent {
    BatchRegistered(Box<BatchRegistered>),
    AnchorsRegistered(AnchorsRegistered),
    WavePlanned(WavePlanned),
    PairsSubmitted(PairsSubmitted),
    ComparisonRecorded(ComparisonRecorded),
    ComparisonFailed(ComparisonFailed),
    ComparisonRetried(ComparisonRetried),
    LateCallbackRecorded(LateCallbackRecorded),
    ScoringStarted(ScoringStarted),
    BatchScored(BatchScored),
    BatchCompleted(BatchCompleted),
    BatchFailed(BatchFailed),
    RecoveryForced(RecoveryForced),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRegistered {
    pub batch_id: BatchId,
    pub upstream_batch_id: String,
    pub request_event_id: Uuid,
    pub request_correlation_id: Uuid,
    pub essays: Vec<EssayRef>,
    pub failed_essays: Vec<FailedEssay>,
    pub language: String,
    pub course_code: String,
    pub assignment_id: Option<String>,
    pub user_id: String,
    pub org_id: Option<String>,
    pub grade_scale: GradeScale,
    pub settings: BatchSettings,
    pub llm: LlmSettings,
    /// What the batch is for (since 1.2; absent in earlier payloads: an assessment).
    #[serde(default, skip_serializing_if = "BatchPurpose::is_assessment")]
    pub purpose: BatchPurpose,
}

/// What a batch is for: an assessment of students' essays (every batch before 1.2), or a
/// calibration round of an assignment — its registered anchors compared with each other
/// only, to settle the assignment's scale before its first real batch (ADR 0012). A round
/// has no students, and publishes none of the platform's completion events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchPurpose {
    #[default]
    Assessment,
    CalibrationRound,
}

impl BatchPurpose {
    pub fn is_assessment(&self) -> bool {
        *self == BatchPurpose::Assessment
    }

    pub fn is_calibration_round(&self) -> bool {
        *self == BatchPurpose::CalibrationRound
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorsRegistered {
    pub anchors: Vec<AnchorRef>,
}

/// Why a comparison was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComparisonPurpose {
    Coverage,
    Informative,
    Random,
    Retry,
}

impl ComparisonPurpose {
    /// The serialised name (`coverage`, `informative`, `random`, `retry`).
    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonPurpose::Coverage => "coverage",
            ComparisonPurpose::Informative => "informative",
            ComparisonPurpose::Random => "random",
            ComparisonPurpose::Retry => "retry",
        }
    }
}

/// One comparison to ask the judge: `essay_a` is shown as "Essay A".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedComparison {
    pub correlation_id: CorrelationId,
    pub essay_a: EssayId,
    pub essay_b: EssayId,
    pub purpose: ComparisonPurpose,
    /// 1 for a first ask, 2.. for retries.
    pub attempt: u32,
}

/// The fit the batch stood at when a wave was planned: the reference for stability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSnapshot {
    /// Scores in the batch's essay order (students, then anchors).
    pub scores: Vec<f64>,
    pub ssr: Option<f64>,
    /// Successful comparisons at the time of the snapshot.
    pub successful_comparisons: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WavePlanned {
    pub wave: u32,
    pub comparisons: Vec<PlannedComparison>,
    pub fit: Option<FitSnapshot>,
}

/// The provider accepted these comparisons, all sent with the prompt template whose hash
/// is `prompt_hash` (since 1.1; `unknown` before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairsSubmitted {
    pub correlation_ids: Vec<CorrelationId>,
    pub prompt_hash: String,
}

/// A verdict. `judge` (since 1.1) is the callback's provider and model with the prompt
/// hash the comparison was submitted with; 1.0 events had `provider` and `model` only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRecorded {
    pub correlation_id: CorrelationId,
    pub winner: EssayId,
    pub winner_position: Position,
    pub confidence: Option<f64>,
    pub justification: Option<String>,
    pub judge: JudgeId,
    pub cost_estimate: Option<f64>,
    pub total_tokens: Option<u64>,
    /// P(the essay shown in position A wins) as the judge reported it, in [0, 1]; absent
    /// for hard verdicts (and every event written before verdicts could carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_a_wins: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonFailed {
    pub correlation_id: CorrelationId,
    pub error_code: String,
    pub message: String,
    pub attempt: u32,
}

/// A failed comparison asked again, reversed, in the wave being planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRetried {
    pub wave: u32,
    pub retry_of: CorrelationId,
    pub comparison: PlannedComparison,
}

/// A callback for a batch that had already ended: kept for audit and cost, changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateCallbackRecorded {
    pub correlation_id: CorrelationId,
    pub succeeded: bool,
    pub batch_status: UploadStatus,
}

/// What ended the comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionTrigger {
    Stable,
    BudgetSpent,
    NoPairLeft,
    ForcedRecovery,
    OperatorFinalize,
    InsufficientEssays,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringStarted {
    pub trigger: CompletionTrigger,
}

/// One essay's place on the scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EssayScore {
    pub essay_id: EssayId,
    pub is_anchor: bool,
    /// Anchors: the grade they were registered with (kept everywhere).
    pub known_grade: Option<String>,
    pub bt_score: f64,
    pub standard_error: f64,
    /// 1 = best, over students and anchors together.
    pub rank: u32,
    pub comparisons: u32,
    /// Students only, when a calibration exists.
    pub projection: Option<GradeProjection>,
    /// Information-weighted mean squared residual of the essay's verdicts under the
    /// reference estimator's fit; `None` for an essay without verdicts, and before 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infit: Option<f64>,
    /// Unweighted mean squared residual; `None` as for `infit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outfit: Option<f64>,
    /// Infit above mean + 2 SD of the batch's essays: its verdicts disagree with its score
    /// more than the others' do (worth a human read).
    #[serde(default)]
    pub misfit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchScored {
    pub essays: Vec<EssayScore>,
    pub ssr: Option<f64>,
    pub grade_scale: GradeScale,
    pub calibration: Option<Calibration>,
    /// Why projections are unavailable, when they are.
    pub calibration_unavailable: Option<String>,
    pub successful_comparisons: u32,
    /// Estimator, separation, split-half reliability, order effect and misfitting judges;
    /// `None` on batches scored before 1.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reliability: Option<ReliabilityReport>,
    /// The version of the assignment scale (the number of the assignment's earlier batches
    /// folded into it) the grade boundaries were calibrated from, linked through this
    /// batch's anchors; `None` when they come from the batch's anchors alone (no assignment,
    /// its first batch, no common anchor, and every batch scored before 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_scale_version: Option<u32>,
}

impl BatchScored {
    /// The batch's anchors as it placed them (score, SE, index of the known grade on its
    /// grade scale): what the batch contributes to its assignment's scale, and what links
    /// its axis to it. Anchors whose grade is not on the scale are left out.
    pub fn anchor_observations(&self) -> Vec<AnchorObservation> {
        self.essays
            .iter()
            .filter(|essay| essay.is_anchor)
            .filter_map(|essay| {
                Some(AnchorObservation {
                    essay_id: essay.essay_id.to_string(),
                    grade_index: self.grade_scale.index_of(essay.known_grade.as_deref()?)?,
                    score: essay.bt_score,
                    standard_error: essay.standard_error,
                })
            })
            .collect()
    }
}

/// How far a batch's scale can be trusted, as CJ research reports it (`docs/reliability.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityReport {
    /// The estimator that placed the essays (`BatchScored.ssr` is its SSR), its passes and
    /// whether it converged.
    pub estimator: Estimator,
    pub iterations: u32,
    pub converged: bool,
    /// The reference estimator's (`sirt::btm`) SSR, comparable with published CJ figures.
    /// On adaptively paired batches it overstates the true reliability (docs/quality.md).
    pub reference_ssr: Option<f64>,
    /// The reference estimator's separation G: true spread in units of measurement error.
    pub sep_g: Option<f64>,
    pub split_half: Option<SplitHalfFigure>,
    /// Does the judge favour the essay shown first (position A)?
    pub order_effect: Option<OrderEffectFigure>,
    /// Every judge of the batch's verdicts with its misfit.
    pub judges: Vec<JudgeReliability>,
    /// Connected components of the comparison graph (1 when every essay is linked).
    pub components: u32,
}

/// Median split-half reliability over seeded random splits of the judges (≥ 4 of them) or
/// of the comparisons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitHalfFigure {
    pub median: Option<f64>,
    pub spearman_brown: Option<f64>,
    pub splits: u32,
    pub by: SplitBy,
}

/// The position effect η (logits; positive favours the essay shown first) with its SE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEffectFigure {
    pub estimate: f64,
    pub se: Option<f64>,
    /// |η| > 2 SE.
    pub flagged: bool,
}

/// One judge's share of the verdicts and its misfit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeReliability {
    pub judge: JudgeId,
    pub comparisons: u32,
    pub infit: Option<f64>,
    pub outfit: Option<f64>,
    /// Infit above mean + 2 SD of the batch's judges (needs ≥ 3 judges).
    pub flagged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCompleted {
    pub status: UploadStatus,
    /// Comparisons asked of the judge (first asks and retries), whatever their outcome:
    /// what the batch cost.
    pub comparisons_made: u32,
    pub successful_comparisons: u32,
    pub failed_comparisons: u32,
    pub waves: u32,
}

/// Why a batch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    LowSuccessRate,
    StuckTimeoutInsufficientProgress,
    NoEssayContent,
}

impl FailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::LowSuccessRate => "low_success_rate",
            FailureReason::StuckTimeoutInsufficientProgress => {
                "stuck_timeout_insufficient_progress"
            }
            FailureReason::NoEssayContent => "no_essay_content",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchFailed {
    pub status: UploadStatus,
    pub reason: FailureReason,
    /// The figures behind the decision, as the failure event's `error_info.details`.
    pub details: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryForced {
    pub observed_progress: f64,
    pub progress: f64,
    pub idle_seconds: u64,
}

impl CjBatchEvent {
    /// Every event type name, as [`CjBatchEvent::name`] gives them.
    pub const NAMES: [&'static str; 13] = [
        "BatchRegistered",
        "AnchorsRegistered",
        "WavePlanned",
        "PairsSubmitted",
        "ComparisonRecorded",
        "ComparisonFailed",
        "ComparisonRetried",
        "LateCallbackRecorded",
        "ScoringStarted",
        "BatchScored",
        "BatchCompleted",
        "BatchFailed",
        "RecoveryForced",
    ];

    /// The current payload version of an event type.
    pub fn version_of(event_type: &str) -> &'static str {
        match event_type {
            "PairsSubmitted" | "ComparisonRecorded" => JUDGE_EVENT_VERSION,
            "BatchRegistered" => PURPOSE_EVENT_VERSION,
            "BatchScored" => ASSIGNMENT_SCALE_EVENT_VERSION,
            _ => EVENT_VERSION,
        }
    }

    /// The event's type name as stored in the log.
    pub fn name(&self) -> &'static str {
        match self {
            CjBatchEvent::BatchRegistered(_) => "BatchRegistered",
            CjBatchEvent::AnchorsRegistered(_) => "AnchorsRegistered",
            CjBatchEvent::WavePlanned(_) => "WavePlanned",
            CjBatchEvent::PairsSubmitted(_) => "PairsSubmitted",
            CjBatchEvent::ComparisonRecorded(_) => "ComparisonRecorded",
            CjBatchEvent::ComparisonFailed(_) => "ComparisonFailed",
            CjBatchEvent::ComparisonRetried(_) => "ComparisonRetried",
            CjBatchEvent::LateCallbackRecorded(_) => "LateCallbackRecorded",
            CjBatchEvent::ScoringStarted(_) => "ScoringStarted",
            CjBatchEvent::BatchScored(_) => "BatchScored",
            CjBatchEvent::BatchCompleted(_) => "BatchCompleted",
            CjBatchEvent::BatchFailed(_) => "BatchFailed",
            CjBatchEvent::RecoveryForced(_) => "RecoveryForced",
        }
    }
}

impl DomainEvent for CjBatchEvent {
    fn event_type(&self) -> String {
        self.name().to_string()
    }

    fn event_version(&self) -> String {
        Self::version_of(self.name()).to_string()
    }
}
