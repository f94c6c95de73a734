//! Commands of the `CjBatch` aggregate: what the intake, the dispatcher, the callback
//! consumer, the batch monitor and operators ask a batch to do.

use crate::batch::events::BatchPurpose;
use crate::batch::settings::{BatchSettings, LlmSettings};
use crate::ids::{BatchId, CorrelationId, EssayId};
use crate::stats::grade_scale::GradeScale;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CjBatchCommand {
    RegisterBatch(Box<RegisterBatch>),
    CloseIntake(CloseIntake),
    SubmitPairs(SubmitPairs),
    RecordCallbacks(RecordCallbacks),
    ForceRecovery(ForceRecovery),
    Finalize(Finalize),
}

/// Where an essay's text lives. The text itself stays in the content store (deletable
/// personal data); the log keeps only this reference and a hash of what was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EssayRef {
    pub essay_id: EssayId,
    pub text_storage_id: String,
    pub content_sha256: String,
}

/// An essay whose text could not be fetched at intake; reported in the completion event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedEssay {
    pub essay_id: EssayId,
    pub reason: String,
}

/// Opens a batch from an assessment request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterBatch {
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
    /// An assessment, or a calibration round of the assignment's anchors (no students).
    #[serde(default)]
    pub purpose: BatchPurpose,
}

impl RegisterBatch {
    /// A registration of `essays` for the request `request_event_id`, as built where there
    /// is no upstream request to copy the rest from (the simulation, the benches, the tests;
    /// the intake maps a request field by field instead). The rest is:
    ///
    /// - `upstream_batch_id`: the batch id, written out;
    /// - `request_correlation_id`: `request_event_id`;
    /// - `failed_essays`: none;
    /// - `language` `"en"`, `course_code` `"ENG5"`, no `assignment_id`, no `org_id`;
    /// - `user_id`: [`RegisterBatch::DEFAULT_USER`];
    /// - `grade_scale`, `llm` and `purpose` (an assessment): their defaults.
    ///
    /// A caller that needs another value sets it with struct update syntax:
    /// `RegisterBatch { grade_scale, ..RegisterBatch::new(batch_id, request_event_id, essays, settings) }`.
    pub fn new(
        batch_id: BatchId,
        request_event_id: Uuid,
        essays: Vec<EssayRef>,
        settings: BatchSettings,
    ) -> Self {
        RegisterBatch {
            batch_id,
            upstream_batch_id: batch_id.to_string(),
            request_event_id,
            request_correlation_id: request_event_id,
            essays,
            failed_essays: Vec::new(),
            language: "en".into(),
            course_code: "ENG5".into(),
            assignment_id: None,
            user_id: Self::DEFAULT_USER.into(),
            org_id: None,
            grade_scale: GradeScale::default(),
            settings,
            llm: LlmSettings::default(),
            purpose: BatchPurpose::Assessment,
        }
    }

    /// `user_id` of a registration made by [`RegisterBatch::new`]: no user asked for it.
    pub const DEFAULT_USER: &'static str = "cj-assessment";
}

/// An anchor essay of known grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorRef {
    pub essay_id: EssayId,
    pub grade: String,
    pub label: String,
    pub text_storage_id: String,
    pub content_sha256: String,
}

/// Closes intake: attaches the assignment's anchors (possibly none) and plans the first wave
/// over students and anchors together, or completes the batch at once when it has fewer than
/// two student essays. Recorded as `AnchorsRegistered` (the event keeps the name it had when
/// this command was called `RegisterAnchors`; ADR 0003).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloseIntake {
    pub anchors: Vec<AnchorRef>,
}

/// The provider accepted these comparisons (HTTP 202), all sent with the prompt template
/// whose hash is `prompt_hash` (see `docs/adr/0010-judge-identity-on-the-verdict.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitPairs {
    pub correlation_ids: Vec<CorrelationId>,
    pub prompt_hash: String,
}

/// Which essay the judge preferred, by the position it was shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Position {
    A,
    B,
}

/// What the judge answered for one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CallbackOutcome {
    Verdict {
        winner: Position,
        confidence: Option<f64>,
        justification: Option<String>,
        /// P(the essay shown in position A wins), in [0, 1], when the judge reported one
        /// (a provider's token log-probabilities); the fit then counts the verdict as that
        /// share of a win. Absent for hard verdicts (the Kafka callback has none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p_a_wins: Option<f64>,
    },
    Error {
        code: String,
        message: String,
    },
}

/// One callback (or a non-retryable dispatch failure) for one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackReport {
    pub correlation_id: CorrelationId,
    pub outcome: CallbackOutcome,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// The prompt hash the provider echoed from the request's metadata. Used only when the
    /// verdict arrives before the comparison's submission was recorded (the hash recorded
    /// at submission is the batch's own record and wins).
    pub prompt_hash: Option<String>,
    pub cost_estimate: Option<f64>,
    pub total_tokens: Option<u64>,
}

/// Records the callbacks of one consumer poll that belong to this batch, then decides in
/// the same command: wait, plan the next wave, finalize or fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordCallbacks {
    pub callbacks: Vec<CallbackReport>,
}

/// The batch monitor found the batch idle past its timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForceRecovery {
    /// Progress as the monitor's projection saw it (recorded for audit; the aggregate
    /// decides on its own count).
    pub observed_progress: f64,
    pub idle_seconds: u64,
}

/// An operator or the completion sweep asks the batch to score now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finalize {
    pub requested_by: String,
}
