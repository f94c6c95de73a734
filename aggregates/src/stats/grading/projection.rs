//! Projection: a student's BT score (logits) and standard error read against a
//! [`Calibration`]: the grade intervals that tile the axis, the probability of each grade
//! under a normal model (score error, spread τ and boundary uncertainty combined; regressed
//! toward the cohort when one is known), the primary grade and its confidence label, the
//! Swedish derived modifiers (`B-`, `E+`), and the distance to the nearest boundary that
//! the pair planner weighs anchors by.

use super::{
    Calibration, CohortPrior, ConfidenceLabel, GradeInterval, GradeProjection, MIN_SPREAD,
    UNKNOWN_STANDARD_ERROR,
};
use crate::stats::grade_scale::GradeScale;
use statrs::function::erf::erfc;

/// Score used in place of NaN: BT scores are centred on 0, so a student of unknown score
/// is placed at the cohort mean (with [`UNKNOWN_STANDARD_ERROR`]).
const UNKNOWN_SCORE: f64 = 0.0;
/// A Swedish grade takes a minus when the score lies in the lowest quarter of its interval.
const MINUS_BELOW_POSITION: f64 = 0.25;
/// A Swedish grade takes a plus when the score lies in the highest quarter of its interval.
const PLUS_ABOVE_POSITION: f64 = 0.75;
/// Swedish grades published with a minus when low in their interval (F, D+, C+ never are).
const MINUS_GRADES: [&str; 5] = ["E", "D", "C", "B", "A"];
/// Swedish grades published with a plus when high in their interval.
const PLUS_GRADES: [&str; 2] = ["E", "B"];

impl Calibration {
    /// The same calibration, projecting students of this cohort (see [`CohortPrior`]).
    pub fn with_cohort(mut self, cohort: Option<CohortPrior>) -> Self {
        self.cohort = cohort;
        self
    }

    /// The grades a projection can publish (without modifiers), lowest first: the
    /// below-lowest grade where the scale has one, then `scale.grades()`.
    pub fn published_grades(&self) -> Vec<&'static str> {
        self.scale
            .below_lowest()
            .into_iter()
            .chain(self.scale.grades().iter().copied())
            .collect()
    }

    /// Every published grade's interval, lowest first; they tile the whole axis.
    pub fn intervals(&self) -> Vec<GradeInterval> {
        let bounds = self.bounds();
        let grades = self.published_grades();
        let last = grades.len().saturating_sub(1);
        // A hand-built calibration may carry too few boundaries: a missing one is taken as
        // +∞, which leaves the grades above it empty instead of panicking.
        let bound = |index: usize| bounds.get(index).copied().unwrap_or(f64::INFINITY);
        grades
            .into_iter()
            .enumerate()
            .map(|(index, grade)| GradeInterval {
                index,
                grade,
                lower: if index == 0 {
                    f64::NEG_INFINITY
                } else {
                    bound(index - 1)
                },
                upper: if index == last {
                    f64::INFINITY
                } else {
                    bound(index)
                },
            })
            .collect()
    }

    /// The interval containing `score` (`lower <= score < upper`); `None` only for NaN.
    pub fn interval_of(&self, score: f64) -> Option<GradeInterval> {
        if score.is_nan() {
            return None;
        }
        containing_interval(&self.intervals(), score)
    }

    /// Projects a student with BT `score` and `standard_error` onto the scale.
    ///
    /// A NaN, infinite or negative standard error is replaced by [`UNKNOWN_STANDARD_ERROR`];
    /// a NaN score by the cohort mean 0 with that same error. Infinite scores are kept and
    /// land in the end grades with certainty.
    pub fn project(&self, score: f64, standard_error: f64) -> GradeProjection {
        let score_known = !score.is_nan();
        let score = if score_known { score } else { UNKNOWN_SCORE };
        let standard_error = if score_known && standard_error.is_finite() && standard_error >= 0.0 {
            standard_error
        } else {
            UNKNOWN_STANDARD_ERROR
        };
        let calibration_sd =
            effective_spread(self.spread).hypot(effective_uncertainty(self.boundary_uncertainty));
        let (centre, variance) = match self.cohort {
            Some(cohort) if score.is_finite() => cohort.posterior(score, standard_error),
            _ => (score, standard_error * standard_error),
        };
        let total_sd = variance.sqrt().hypot(calibration_sd);

        let intervals = self.intervals();
        let probabilities = interval_probabilities(&intervals, centre, total_sd);
        let primary = containing_interval(&intervals, score).unwrap_or(GradeInterval {
            index: 0,
            grade: "",
            lower: f64::NEG_INFINITY,
            upper: f64::INFINITY,
        });
        let confidence = probabilities.get(primary.index).copied().unwrap_or(0.0);
        GradeProjection {
            grade: self.published_grade(&primary, score),
            base_grade: primary.grade.to_string(),
            probabilities: intervals
                .iter()
                .zip(probabilities)
                .map(|(interval, probability)| (interval.grade.to_string(), probability))
                .collect(),
            confidence,
            label: ConfidenceLabel::from_confidence(confidence),
        }
    }

    /// Distance from `score` to the nearest boundary between published grades (the
    /// below-lowest cutoff included). Infinite for a NaN score.
    pub fn distance_to_nearest_boundary(&self, score: f64) -> f64 {
        self.bounds()
            .iter()
            .filter(|bound| bound.is_finite())
            .map(|bound| (score - bound).abs())
            .fold(f64::INFINITY, f64::min)
    }

    /// The finite edges between published grades, lowest first.
    fn bounds(&self) -> Vec<f64> {
        self.below_lowest_cutoff
            .into_iter()
            .chain(self.boundaries.iter().copied())
            .collect()
    }

    /// The grade as published: on the Swedish scale a score in the lowest quarter of its
    /// interval takes a minus, one in the highest quarter a plus, where the grade has
    /// that modifier. A grade whose interval is open on either side has no position in it
    /// and stays plain.
    fn published_grade(&self, interval: &GradeInterval, score: f64) -> String {
        let plain = interval.grade.to_string();
        if self.scale != GradeScale::Swedish8Anchor
            || !interval.lower.is_finite()
            || !interval.upper.is_finite()
        {
            return plain;
        }
        let width = interval.upper - interval.lower;
        if width <= 0.0 {
            return plain;
        }
        let position = (score - interval.lower) / width;
        if position < MINUS_BELOW_POSITION && MINUS_GRADES.contains(&interval.grade) {
            format!("{plain}-")
        } else if position > PLUS_ABOVE_POSITION && PLUS_GRADES.contains(&interval.grade) {
            format!("{plain}+")
        } else {
            plain
        }
    }
}

/// The boundary uncertainty a projection uses: anything not finite and ≥ 0 counts as 0.
fn effective_uncertainty(uncertainty: f64) -> f64 {
    if uncertainty.is_finite() && uncertainty > 0.0 {
        uncertainty
    } else {
        0.0
    }
}

/// The spread a projection uses: a hand-built calibration may hold anything.
fn effective_spread(spread: f64) -> f64 {
    if spread.is_finite() {
        spread.max(MIN_SPREAD)
    } else {
        MIN_SPREAD
    }
}

/// First interval whose upper edge lies above `score`, else the top one.
fn containing_interval(intervals: &[GradeInterval], score: f64) -> Option<GradeInterval> {
    intervals
        .iter()
        .find(|interval| score < interval.upper)
        .or(intervals.last())
        .copied()
}

/// P(score + N(0, total_sd²) falls in each interval). Computed as differences of the
/// cumulative probability at each upper edge, kept non-decreasing, so every probability is
/// in [0, 1] and they sum to 1 even for a hand-built calibration with disordered edges.
fn interval_probabilities(intervals: &[GradeInterval], score: f64, total_sd: f64) -> Vec<f64> {
    let mut below_lower = 0.0;
    intervals
        .iter()
        .map(|interval| {
            // f64::max ignores a NaN edge, which then makes its grade empty.
            let below_upper = probability_below(interval.upper, score, total_sd).max(below_lower);
            let probability = below_upper - below_lower;
            below_lower = below_upper;
            probability
        })
        .collect()
}

/// P(score + N(0, total_sd²) < bound), exact at infinite bounds.
fn probability_below(bound: f64, score: f64, total_sd: f64) -> f64 {
    if bound == f64::INFINITY {
        1.0
    } else if bound == f64::NEG_INFINITY {
        0.0
    } else {
        standard_normal_cdf((bound - score) / total_sd)
    }
}

pub(super) fn standard_normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}
