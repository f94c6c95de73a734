//! What the service reads before a command is decided and hands to the aggregate, which
//! does no I/O: the current scale of the batch's assignment (`cj_assignment_scales`, learned
//! over its earlier batches; ADR 0012). It arrives as the aggregate's `Services`, not as a
//! field of every command: the one write path (the command bus) reads it for the commands
//! that can plan a wave or score a batch ([`CjBatch::assignment_scale_wanted`]), so no
//! caller (callback consumer, dispatcher, monitor, operator) needs to know about it.
//!
//! Whatever a decision used is recorded in its events (the pairs in `WavePlanned`,
//! `BatchScored.calibration` and `assignment_scale_version`), so state rebuilt from the log
//! never needs the inputs again.

use crate::batch::commands::CjBatchCommand;
use crate::batch::CjBatch;
use crate::stats::assignment_scale::AssignmentScale;

/// Inputs of one decision. The default (an empty scale) grades a batch from its own
/// anchors, exactly as before assignment scales existed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionInputs {
    /// The batch's assignment scale as the service read it; empty for a batch without an
    /// assignment, the assignment's first batch, or a command that cannot score.
    pub assignment_scale: AssignmentScale,
}

impl DecisionInputs {
    /// Inputs carrying `scale` as the batch's assignment scale.
    pub fn with_assignment_scale(scale: AssignmentScale) -> Self {
        DecisionInputs {
            assignment_scale: scale,
        }
    }
}

impl CjBatch {
    /// The assignment whose scale `command` may need: the batch's, when it has one, is not
    /// over and the command can plan a wave (closing intake, verdicts) or end in scoring it
    /// (those two, a forced recovery, an operator's finalize). `None`: decide without.
    pub fn assignment_scale_wanted(&self, command: &CjBatchCommand) -> Option<&str> {
        let can_score = matches!(
            command,
            CjBatchCommand::CloseIntake(_)
                | CjBatchCommand::RecordCallbacks(_)
                | CjBatchCommand::ForceRecovery(_)
                | CjBatchCommand::Finalize(_)
        );
        if !can_score || self.is_terminal() {
            return None;
        }
        self.registration()?.assignment_id.as_deref()
    }
}
