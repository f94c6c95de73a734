//! Why the `CjBatch` aggregate refuses a command.

use crate::batch::status::{BatchState, UploadStatus};
use crate::ids::{CorrelationId, EssayId};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CjBatchError {
    #[error("batch is not registered")]
    NotRegistered,
    #[error("batch is already registered for another request")]
    AlreadyRegistered,
    #[error("anchors are already registered; intake is closed")]
    IntakeClosed,
    #[error("batch has ended with {status}; it accepts no further change")]
    BatchTerminal { status: UploadStatus },
    #[error("batch is {state}, not in progress")]
    NotInProgress { state: BatchState },
    /// The callback consumer counts and drops these (orphan callbacks).
    #[error("no comparison of this batch has correlation id(s) {}", list(.correlation_ids))]
    UnknownComparisons { correlation_ids: Vec<CorrelationId> },
    #[error("essay id {essay_id} appears more than once in the batch")]
    DuplicateEssayId { essay_id: EssayId },
    #[error("anchor {essay_id} has grade {grade:?}, which is not on scale {scale}")]
    AnchorGradeNotOnScale {
        essay_id: EssayId,
        grade: String,
        scale: String,
    },
    /// A calibration round compares an assignment's anchors only (ADR 0012).
    #[error("a calibration round must name an assignment and register no student essays")]
    InvalidCalibrationRound,
    #[error("the command carries nothing to do")]
    EmptyCommand,
    /// A verdict's P(A wins) must be a finite probability; the whole command is refused.
    #[error("the verdict of comparison {correlation_id} gives P(A wins) = {p_a_wins}, not a probability in [0, 1]")]
    InvalidProbability {
        correlation_id: CorrelationId,
        p_a_wins: f64,
    },
}

fn list(ids: &[CorrelationId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
