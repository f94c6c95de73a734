//! The two state enums of the contract: the batch's upload status (what downstream sees)
//! and its workflow state (where the batch is in its lifecycle). Both serialise by their
//! SCREAMING_SNAKE values.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Upload status of a batch, as the older service and its dashboards name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UploadStatus {
    #[default]
    Pending,
    FetchingContent,
    PerformingComparisons,
    CompleteStable,
    CompleteMaxComparisons,
    CompleteForcedRecovery,
    CompleteInsufficientEssays,
    ErrorProcessing,
    ErrorEssayProcessing,
}

impl UploadStatus {
    pub const ALL: [UploadStatus; 9] = [
        UploadStatus::Pending,
        UploadStatus::FetchingContent,
        UploadStatus::PerformingComparisons,
        UploadStatus::CompleteStable,
        UploadStatus::CompleteMaxComparisons,
        UploadStatus::CompleteForcedRecovery,
        UploadStatus::CompleteInsufficientEssays,
        UploadStatus::ErrorProcessing,
        UploadStatus::ErrorEssayProcessing,
    ];

    pub fn is_complete(self) -> bool {
        matches!(
            self,
            UploadStatus::CompleteStable
                | UploadStatus::CompleteMaxComparisons
                | UploadStatus::CompleteForcedRecovery
                | UploadStatus::CompleteInsufficientEssays
        )
    }

    pub fn is_error(self) -> bool {
        matches!(
            self,
            UploadStatus::ErrorProcessing | UploadStatus::ErrorEssayProcessing
        )
    }

    /// Any COMPLETE_* or ERROR_* status: the batch accepts no further state change.
    pub fn is_terminal(self) -> bool {
        self.is_complete() || self.is_error()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Pending => "PENDING",
            UploadStatus::FetchingContent => "FETCHING_CONTENT",
            UploadStatus::PerformingComparisons => "PERFORMING_COMPARISONS",
            UploadStatus::CompleteStable => "COMPLETE_STABLE",
            UploadStatus::CompleteMaxComparisons => "COMPLETE_MAX_COMPARISONS",
            UploadStatus::CompleteForcedRecovery => "COMPLETE_FORCED_RECOVERY",
            UploadStatus::CompleteInsufficientEssays => "COMPLETE_INSUFFICIENT_ESSAYS",
            UploadStatus::ErrorProcessing => "ERROR_PROCESSING",
            UploadStatus::ErrorEssayProcessing => "ERROR_ESSAY_PROCESSING",
        }
    }
}

/// Workflow state of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BatchState {
    #[default]
    Initializing,
    GeneratingPairs,
    WaitingCallbacks,
    Scoring,
    Completed,
    Failed,
    Cancelled,
}

impl BatchState {
    pub const ALL: [BatchState; 7] = [
        BatchState::Initializing,
        BatchState::GeneratingPairs,
        BatchState::WaitingCallbacks,
        BatchState::Scoring,
        BatchState::Completed,
        BatchState::Failed,
        BatchState::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            BatchState::Completed | BatchState::Failed | BatchState::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Initializing => "INITIALIZING",
            BatchState::GeneratingPairs => "GENERATING_PAIRS",
            BatchState::WaitingCallbacks => "WAITING_CALLBACKS",
            BatchState::Scoring => "SCORING",
            BatchState::Completed => "COMPLETED",
            BatchState::Failed => "FAILED",
            BatchState::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for UploadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for BatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialised_names_match_the_contract_values() {
        for status in UploadStatus::ALL {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{}\"", status.as_str())
            );
        }
        for state in BatchState::ALL {
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{}\"", state.as_str())
            );
        }
    }

    #[test]
    fn only_complete_and_error_statuses_are_terminal() {
        let terminal: Vec<_> = UploadStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal.len(), 6);
        assert!(!UploadStatus::PerformingComparisons.is_terminal());
    }
}
