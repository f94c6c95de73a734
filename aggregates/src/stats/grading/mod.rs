//! Grade projection: turns Bradley–Terry scores (logits, mean 0) and their standard errors
//! into grades on a [`GradeScale`], calibrated by anchor essays of known grade.
//!
//! This module owns the calibration (grade centres, boundaries and spread on the BT axis),
//! a student's grade probabilities, primary grade and confidence, the Swedish derived
//! modifiers (`B-`, `E+`), and the boundary distance the pair planner uses. Anchors keep
//! their known grade everywhere: nothing here re-grades an anchor.
//!
//! Calibration, in order:
//! 1. the centre of a grade with anchors is the mean of its anchors' scores;
//! 2. a grade without anchors lies on the line through the nearest anchored grades below and
//!    above it (in grade index), or, past either end, through the two nearest anchored grades
//!    on its one side;
//! 3. pool adjacent violators makes the centres non-decreasing. Each grade weighs its number
//!    of anchors; an unanchored grade weighs 1, as much as a single anchor, so that an
//!    interpolated guess can never outvote a grade that several anchors agree on, yet still
//!    takes part in the pooling it sits between;
//! 4. boundaries lie at the midpoints between consecutive centres;
//! 5. the spread τ is the pooled within-grade standard deviation of the anchor scores,
//!    floored at [`MIN_SPREAD`] (and equal to it when no grade has two anchors).
//!
//! # Layout
//!
//! - here — the types a calibration and a projection are made of, and the thresholds
//!   (logits, probabilities) they share.
//! - `calibration` — [`calibrate`]: anchors to grade centres, boundaries, spread τ and the
//!   boundary uncertainty, by the rules above.
//! - `projection` — [`Calibration::project`] and friends: a student's grade intervals,
//!   probabilities, published grade (with derived modifiers) and boundary distance.

mod calibration;
mod projection;

#[cfg(test)]
mod tests;

use crate::stats::grade_scale::GradeScale;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use calibration::calibrate;

/// Floor on the spread τ. Anchors that agree almost exactly, or grades with one anchor
/// each, would otherwise give a spread near zero and probabilities of 0 or 1 that a
/// handful of anchors cannot support; 0.05 logits is far below the gap between grade
/// centres, so the floor only matters in those degenerate cases.
pub const MIN_SPREAD: f64 = 0.05;
/// A primary grade at least this probable is labelled [`ConfidenceLabel::High`]: more
/// than two chances in three that a rerun of the judging would give the same grade.
pub const HIGH_CONFIDENCE: f64 = 0.7;
/// A primary grade at least this probable (but below [`HIGH_CONFIDENCE`]) is
/// [`ConfidenceLabel::Mid`]: still the likeliest grade by a clear margin on a scale of
/// eight or nine grades, though not a safe one.
pub const MID_CONFIDENCE: f64 = 0.4;
/// How many spreads below the lowest grade's centre the below-lowest grade (ENG5) begins:
/// two spreads leaves about 2 % of essays that truly belong to the lowest grade below it.
pub const BELOW_LOWEST_SPREADS: f64 = 2.0;
/// Standard error used in place of one that is NaN, infinite or negative (and for a NaN
/// score). Ten logits is several times the width of any calibrated scale, so the
/// probabilities spread over the whole scale and the label comes out low, which is all an
/// unknown error can honestly say, while the arithmetic stays finite.
pub const UNKNOWN_STANDARD_ERROR: f64 = 10.0;

/// An anchor essay's BT score and its known grade.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnchorPoint {
    pub score: f64,
    /// Index into `scale.grades()`.
    pub grade_index: usize,
    /// The anchor score's own standard error: anchors are estimated like every essay, so
    /// the grade boundaries they place are uncertain too. 0 when a caller has none.
    #[serde(default)]
    pub standard_error: f64,
}

impl AnchorPoint {
    /// An anchor whose score carries no standard error.
    pub fn new(score: f64, grade_index: usize) -> Self {
        AnchorPoint {
            score,
            grade_index,
            standard_error: 0.0,
        }
    }
}

/// The grade scale laid onto the BT axis by the anchors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub scale: GradeScale,
    /// One centre per grade of `scale.grades()`, non-decreasing.
    pub centres: Vec<f64>,
    /// K−1 boundaries between consecutive grades, at the midpoints of their centres.
    pub boundaries: Vec<f64>,
    /// τ: the spread of true essay quality around a grade centre, at least [`MIN_SPREAD`].
    pub spread: f64,
    /// Scores below this get `scale.below_lowest()`; `None` on scales without one.
    pub below_lowest_cutoff: Option<f64>,
    /// Standard error of a grade boundary (root mean square over boundaries), from the
    /// anchors' own standard errors. Added to every projection's spread: with one anchor per
    /// grade the within-grade spread τ is unidentified, and ignoring where the boundaries
    /// might really lie makes the probabilities overconfident.
    #[serde(default)]
    pub boundary_uncertainty: f64,
    /// Where the batch's students lie on the axis, when known: grade probabilities then
    /// describe where a student truly lies given its score (regressed toward the cohort by
    /// its reliability), not where its noisy score fell. See [`Calibration::with_cohort`].
    #[serde(default)]
    pub cohort: Option<CohortPrior>,
    pub anchor_count: usize,
    /// Number of distinct grades that have anchors.
    pub anchored_grades: usize,
}

/// The distribution of true student positions, estimated from the batch itself: mean of
/// the student scores, and their variance less the mean squared standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CohortPrior {
    pub mean: f64,
    pub variance: f64,
}

/// Below this true-score variance (logits²) a cohort tells nothing: no regression.
const MIN_COHORT_VARIANCE: f64 = 1e-6;

impl CohortPrior {
    /// From the students' scores and standard errors; `None` with fewer than three students
    /// or no spread beyond noise.
    pub fn estimate(scores: &[f64], standard_errors: &[f64]) -> Option<CohortPrior> {
        let n = scores.len();
        if n < 3 || standard_errors.len() != n {
            return None;
        }
        let mean = scores.iter().sum::<f64>() / n as f64;
        let spread = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let noise = standard_errors.iter().map(|se| se * se).sum::<f64>() / n as f64;
        let variance = spread - noise;
        (mean.is_finite() && variance.is_finite() && variance > MIN_COHORT_VARIANCE)
            .then_some(CohortPrior { mean, variance })
    }

    /// The normal posterior (mean, variance) of a student's true position given its score.
    fn posterior(&self, score: f64, standard_error: f64) -> (f64, f64) {
        let noise = standard_error * standard_error;
        let reliability = self.variance / (self.variance + noise);
        (
            self.mean + reliability * (score - self.mean),
            reliability * noise,
        )
    }
}

/// Why the anchors cannot calibrate the scale (projections are then unavailable).
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum CalibrationError {
    #[error("anchors cover {distinct} distinct grade(s); calibration needs at least 2")]
    TooFewAnchorGrades { distinct: usize },
    #[error("anchor grade index {grade_index} is outside the scale {scale}")]
    GradeOutOfScale {
        grade_index: usize,
        scale: GradeScale,
    },
    /// An anchor score is NaN or infinite, or so large that the calibration overflows.
    #[error("an anchor score is not a finite number")]
    NonFiniteScore,
}

/// How far to trust a primary grade. Serialised as "HIGH", "MID", "LOW".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConfidenceLabel {
    High,
    Mid,
    Low,
}

impl ConfidenceLabel {
    /// The label of a primary grade with this probability.
    pub fn from_confidence(confidence: f64) -> Self {
        if confidence >= HIGH_CONFIDENCE {
            ConfidenceLabel::High
        } else if confidence >= MID_CONFIDENCE {
            ConfidenceLabel::Mid
        } else {
            ConfidenceLabel::Low
        }
    }
}

/// A student's projected grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeProjection {
    /// The published grade, with a derived modifier where the scale has them (`B-`).
    pub grade: String,
    /// The grade whose interval contains the score (below-lowest included), no modifier.
    pub base_grade: String,
    /// Probability of every published grade (below-lowest included); sums to 1.
    pub probabilities: BTreeMap<String, f64>,
    /// Probability of `base_grade`.
    pub confidence: f64,
    pub label: ConfidenceLabel,
}

/// One grade's stretch of the BT axis: scores `lower <= b < upper` get `grade`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradeInterval {
    /// Index into [`Calibration::published_grades`] (below-lowest first, where it exists).
    pub index: usize,
    pub grade: &'static str,
    pub lower: f64,
    pub upper: f64,
}
