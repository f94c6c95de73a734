//! What the planner is asked for one wave ([`PairingRequest`]) and why it may refuse
//! ([`PairingError`]). Validation happens once, up front, so everything after it may index
//! the per-essay slices by essay number without checks: lengths match `essay_count`, scores
//! and standard errors (logits) are finite, standard errors are not negative, and every
//! history record names two different essays of the batch.

use thiserror::Error;

use super::{PairRecord, MAX_ESSAYS};
use crate::stats::matching::MatchingError;

/// Everything the planner needs for one wave.
#[derive(Debug, Clone, Copy)]
pub struct PairingRequest<'a> {
    pub essay_count: usize,
    /// Every comparison so far, in the order it was planned.
    pub history: &'a [PairRecord],
    /// Current Bradley–Terry scores (logits, mean 0); zeros before any fit.
    pub scores: &'a [f64],
    /// Standard errors of the scores (logits).
    pub standard_errors: &'a [f64],
    /// Distance (logits) of an essay's score to the nearest grade boundary, when a
    /// calibration exists: for anchors, where they land places the boundaries. None for
    /// essays the boundaries should not steer. (Steering students near a boundary the same
    /// way was tried in `simulate` and changed no grading figure by more than .002.)
    pub boundary_distance: &'a [Option<f64>],
    /// Which essays are anchors, when an assignment scale has settled their positions
    /// relative to each other (ADR 0012): such anchors are never paired with each other —
    /// their distances are known, so a verdict between two of them teaches the batch
    /// nothing it needs — and every comparison they take links students to the scale.
    /// `None`: anchors are learned like any essay (no scale yet, an unsettled one, or a
    /// calibration round, which is anchors only).
    pub settled_anchors: Option<&'a [bool]>,
    /// Comparisons (pending + succeeded) each essay should reach before informative pairs.
    pub coverage_target: usize,
    pub max_pairs: usize,
    pub seed: u64,
    pub wave: u32,
}

/// A request the planner cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PairingError {
    #[error("a wave needs at least two essays, the batch has {0}")]
    TooFewEssays(usize),
    #[error("the batch has {0} essays, more than the planner's limit of {MAX_ESSAYS}")]
    TooManyEssays(usize),
    #[error("{field} has {actual} entries for {expected} essays")]
    LengthMismatch {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("history record {record} names essay {essay}, but the batch has {essay_count} essays")]
    EssayOutOfRange {
        record: usize,
        essay: usize,
        essay_count: usize,
    },
    #[error("history record {record} compares essay {essay} with itself")]
    SelfComparison { record: usize, essay: usize },
    #[error("{field} of essay {essay} is not a finite number")]
    NonFinite { field: &'static str, essay: usize },
    #[error("standard error of essay {essay} is negative")]
    NegativeStandardError { essay: usize },
    #[error("boundary distance of essay {essay} is NaN")]
    BoundaryDistanceNaN { essay: usize },
    #[error("pair matching failed: {0}")]
    Matching(#[from] MatchingError),
}

pub(super) fn validate(request: &PairingRequest<'_>) -> Result<(), PairingError> {
    let n = request.essay_count;
    if n < 2 {
        return Err(PairingError::TooFewEssays(n));
    }
    if n > MAX_ESSAYS {
        return Err(PairingError::TooManyEssays(n));
    }
    for (field, actual) in [
        ("scores", request.scores.len()),
        ("standard_errors", request.standard_errors.len()),
        ("boundary_distance", request.boundary_distance.len()),
        (
            "settled_anchors",
            request.settled_anchors.map_or(n, <[bool]>::len),
        ),
    ] {
        if actual != n {
            return Err(PairingError::LengthMismatch {
                field,
                expected: n,
                actual,
            });
        }
    }
    for (record_index, record) in request.history.iter().enumerate() {
        for essay in [record.essay_a, record.essay_b] {
            if essay >= n {
                return Err(PairingError::EssayOutOfRange {
                    record: record_index,
                    essay,
                    essay_count: n,
                });
            }
        }
        if record.essay_a == record.essay_b {
            return Err(PairingError::SelfComparison {
                record: record_index,
                essay: record.essay_a,
            });
        }
    }
    for essay in 0..n {
        for (field, value) in [
            ("score", request.scores[essay]),
            ("standard error", request.standard_errors[essay]),
        ] {
            if !value.is_finite() {
                return Err(PairingError::NonFinite { field, essay });
            }
        }
        if request.standard_errors[essay] < 0.0 {
            return Err(PairingError::NegativeStandardError { essay });
        }
        // An infinite distance is meaningful (no finite boundary exists): it earns no boost.
        if request.boundary_distance[essay].is_some_and(f64::is_nan) {
            return Err(PairingError::BoundaryDistanceNaN { essay });
        }
    }
    Ok(())
}
