//! Where a scored batch's grade boundaries came from, in words an operator reads (`history`,
//! `inspect`, the report): the assignment scale it was linked to — its version is the
//! number of batches the scale was learned from — or the batch's own anchors (ADR 0012).

use crate::batch::events::BatchScored;
use std::fmt;

/// The basis of a scored batch's grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradingBasis {
    /// No calibration: the batch has no grades.
    Ungraded,
    /// The batch's own anchors, `anchors` of them.
    OwnAnchors { anchors: usize },
    /// The assignment scale of `version` (learned over that many batches), linked through
    /// the batch's anchors: `anchors` anchor points placed the boundaries.
    AssignmentScale { version: u32, anchors: usize },
}

impl BatchScored {
    /// Where this batch's grade boundaries came from.
    pub fn grading_basis(&self) -> GradingBasis {
        let Some(calibration) = &self.calibration else {
            return GradingBasis::Ungraded;
        };
        let anchors = calibration.anchor_count;
        match self.assignment_scale_version {
            Some(version) => GradingBasis::AssignmentScale { version, anchors },
            None => GradingBasis::OwnAnchors { anchors },
        }
    }
}

impl fmt::Display for GradingBasis {
    /// `assignment scale v2 (2 batches, 5 anchors)`, `the batch's own anchors (5 anchors)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GradingBasis::Ungraded => write!(f, "nowhere (no grades)"),
            GradingBasis::OwnAnchors { anchors } => {
                write!(f, "the batch's own anchors ({})", plural(anchors, "anchor"))
            }
            GradingBasis::AssignmentScale { version, anchors } => write!(
                f,
                "assignment scale v{version} ({}, {})",
                plural(version as usize, "batch"),
                plural(anchors, "anchor")
            ),
        }
    }
}

/// `1 batch`, `2 batches`, `3 anchors`.
fn plural(count: usize, noun: &str) -> String {
    match (count, noun.ends_with('h')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{count} {noun}es"),
        (_, false) => format!("{count} {noun}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::GradingBasis::*;

    #[test]
    fn the_basis_reads_as_the_scale_version_with_its_batches_and_anchors() {
        let scale = AssignmentScale {
            version: 2,
            anchors: 5,
        };
        assert_eq!(
            scale.to_string(),
            "assignment scale v2 (2 batches, 5 anchors)"
        );
        let first = AssignmentScale {
            version: 1,
            anchors: 1,
        };
        assert_eq!(first.to_string(), "assignment scale v1 (1 batch, 1 anchor)");
        let own = OwnAnchors { anchors: 4 };
        assert_eq!(own.to_string(), "the batch's own anchors (4 anchors)");
        assert_eq!(Ungraded.to_string(), "nowhere (no grades)");
    }
}
