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

use crate::stats::anchor_shrinkage::{
    prior_positions, shrink_toward_line, GradeMean, ShrunkCentre,
};
use crate::stats::grade_scale::GradeScale;
use serde::{Deserialize, Serialize};
use statrs::function::erf::erfc;
use std::collections::BTreeMap;

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

/// Lays `scale` onto the BT axis using the anchors (see the module doc for the rules).
pub fn calibrate(
    scale: GradeScale,
    anchors: &[AnchorPoint],
) -> Result<Calibration, CalibrationError> {
    let scores_by_grade = group_by_grade(scale, anchors)?;
    let grade_means: Vec<GradeMean> = scores_by_grade
        .iter()
        .enumerate()
        .filter(|(_, scores)| !scores.is_empty())
        .map(|(grade_index, scores)| GradeMean {
            grade_index,
            mean: mean(scores),
            variance: mean_sampling_variance(anchors, grade_index, scores.len()),
        })
        .collect();
    if grade_means.len() < 2 {
        return Err(CalibrationError::TooFewAnchorGrades {
            distinct: grade_means.len(),
        });
    }
    let shrunk = shrink_toward_line(&prior_positions(scale), &grade_means);
    let anchored: Vec<(usize, f64)> = shrunk.iter().map(|c| (c.grade_index, c.centre)).collect();

    let raw_centres: Vec<f64> = (0..scores_by_grade.len())
        .map(
            |grade| match anchored.iter().find(|(index, _)| *index == grade) {
                Some(&(_, centre)) => centre,
                None => unanchored_centre(&anchored, grade),
            },
        )
        .collect();
    let weights: Vec<f64> = scores_by_grade
        .iter()
        .map(|scores| scores.len().max(1) as f64)
        .collect();
    let centres = pool_adjacent_violators(&raw_centres, &weights);
    let boundaries: Vec<f64> = centres
        .windows(2)
        .map(|pair| 0.5 * pair[0] + 0.5 * pair[1])
        .collect();
    let spread =
        pooled_within_grade_sd(&scores_by_grade).map_or(MIN_SPREAD, |sd| sd.max(MIN_SPREAD));
    let boundary_uncertainty = boundary_uncertainty(scale.grades().len(), &shrunk);
    let below_lowest_cutoff = match (scale.below_lowest(), centres.first()) {
        (Some(_), Some(lowest_centre)) => Some(lowest_centre - BELOW_LOWEST_SPREADS * spread),
        _ => None,
    };

    let all_finite = centres
        .iter()
        .chain(&boundaries)
        .chain(below_lowest_cutoff.iter())
        .chain([&spread, &boundary_uncertainty])
        .all(|value| value.is_finite());
    if !all_finite {
        return Err(CalibrationError::NonFiniteScore);
    }
    tracing::debug!(
        scale = %scale,
        anchors = anchors.len(),
        anchored_grades = anchored.len(),
        spread,
        "calibrated grade scale"
    );
    Ok(Calibration {
        scale,
        centres,
        boundaries,
        spread,
        below_lowest_cutoff,
        boundary_uncertainty,
        cohort: None,
        anchor_count: anchors.len(),
        anchored_grades: anchored.len(),
    })
}

/// The anchor scores of each grade of the scale, validated.
fn group_by_grade(
    scale: GradeScale,
    anchors: &[AnchorPoint],
) -> Result<Vec<Vec<f64>>, CalibrationError> {
    let mut scores_by_grade = vec![Vec::new(); scale.grades().len()];
    for anchor in anchors {
        let scores = scores_by_grade.get_mut(anchor.grade_index).ok_or(
            CalibrationError::GradeOutOfScale {
                grade_index: anchor.grade_index,
                scale,
            },
        )?;
        if !anchor.score.is_finite() {
            return Err(CalibrationError::NonFiniteScore);
        }
        scores.push(anchor.score);
    }
    Ok(scores_by_grade)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Centre of a grade without anchors, on the line through two anchored grades: the nearest
/// below and above it, or the two nearest on its side when it lies past either end.
/// `anchored` is sorted by grade index and holds at least two grades.
fn unanchored_centre(anchored: &[(usize, f64)], grade: usize) -> f64 {
    let first_above = anchored
        .iter()
        .position(|&(index, _)| index > grade)
        .unwrap_or(anchored.len());
    let pair_start = first_above
        .saturating_sub(1)
        .min(anchored.len().saturating_sub(2));
    match anchored.get(pair_start..pair_start + 2) {
        Some(&[from, to]) => value_on_line(from, to, grade),
        _ => f64::NAN,
    }
}

/// The value at `grade` of the line through two (grade index, centre) points.
fn value_on_line(
    (from_index, from_centre): (usize, f64),
    (to_index, to_centre): (usize, f64),
    grade: usize,
) -> f64 {
    let slope = (to_centre - from_centre) / (to_index as f64 - from_index as f64);
    from_centre + slope * (grade as f64 - from_index as f64)
}

/// Weighted isotonic (non-decreasing) regression by pooling adjacent violators.
fn pool_adjacent_violators(values: &[f64], weights: &[f64]) -> Vec<f64> {
    struct Block {
        mean: f64,
        weight: f64,
        len: usize,
    }
    let mut blocks: Vec<Block> = Vec::with_capacity(values.len());
    for (&value, &weight) in values.iter().zip(weights) {
        let mut current = Block {
            mean: value,
            weight,
            len: 1,
        };
        while let Some(previous) = blocks.last() {
            if previous.mean <= current.mean {
                break;
            }
            let weight = previous.weight + current.weight;
            current = Block {
                mean: (previous.mean * previous.weight + current.mean * current.weight) / weight,
                weight,
                len: previous.len + current.len,
            };
            blocks.pop();
        }
        blocks.push(current);
    }
    blocks
        .iter()
        .flat_map(|block| (0..block.len).map(|_| block.mean))
        .collect()
}

/// sqrt(Σ_g Σ (x − mean_g)² / (N − G)) over grades with anchors; `None` when N = G.
fn pooled_within_grade_sd(scores_by_grade: &[Vec<f64>]) -> Option<f64> {
    let anchored = scores_by_grade.iter().filter(|scores| !scores.is_empty());
    let (count, grades, squares) = anchored.fold((0usize, 0usize, 0.0), |(n, g, ss), scores| {
        let centre = mean(scores);
        let grade_squares: f64 = scores.iter().map(|x| (x - centre).powi(2)).sum();
        (n + scores.len(), g + 1, ss + grade_squares)
    });
    let degrees_of_freedom = count.checked_sub(grades).filter(|&df| df > 0)?;
    Some((squares / degrees_of_freedom as f64).sqrt())
}

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

/// Root-mean-square standard error of the grade boundaries. A grade without anchors takes
/// the mean centre variance of the anchored grades; a boundary, midway between two
/// centres, has a quarter of their summed variances.
fn boundary_uncertainty(grades: usize, centres: &[ShrunkCentre]) -> f64 {
    if centres.is_empty() || grades < 2 {
        return 0.0;
    }
    let fallback = centres.iter().map(|c| c.variance).sum::<f64>() / centres.len() as f64;
    let variances: Vec<f64> = (0..grades)
        .map(|grade| {
            centres
                .iter()
                .find(|c| c.grade_index == grade)
                .map_or(fallback, |c| c.variance)
        })
        .collect();
    let mean_boundary_variance = variances
        .windows(2)
        .map(|pair| (pair[0] + pair[1]) / 4.0)
        .sum::<f64>()
        / (grades - 1) as f64;
    mean_boundary_variance.max(0.0).sqrt()
}

/// Sampling variance of the mean score of a grade's anchors: mean SE² over their count.
/// Anchors without a usable SE count as exact.
fn mean_sampling_variance(anchors: &[AnchorPoint], grade_index: usize, count: usize) -> f64 {
    let squares: f64 = anchors
        .iter()
        .filter(|a| a.grade_index == grade_index)
        .map(|a| {
            let se = a.standard_error;
            if se.is_finite() && se > 0.0 {
                se * se
            } else {
                0.0
            }
        })
        .sum();
    squares / (count * count) as f64
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

fn standard_normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn anchors_by_grade(scale: GradeScale, groups: &[(&str, &[f64])]) -> Vec<AnchorPoint> {
        groups
            .iter()
            .flat_map(|(grade, scores)| {
                let grade_index = scale.index_of(grade).expect("grade on scale");
                scores
                    .iter()
                    .map(move |&score| AnchorPoint::new(score, grade_index))
            })
            .collect()
    }

    fn reference_calibration() -> Calibration {
        let anchors = anchors_by_grade(
            GradeScale::Swedish8Anchor,
            &[
                ("A", &[0.95, 0.9, 0.85]),
                ("B", &[0.8, 0.8, 0.8]),
                ("C", &[0.6, 0.6, 0.6]),
                ("D", &[0.4, 0.4, 0.4]),
            ],
        );
        calibrate(GradeScale::Swedish8Anchor, &anchors).expect("calibrates")
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "{actual:?} vs {expected:?}");
        }
    }

    #[test]
    fn reference_case_publishes_b_minus_low_in_the_interval_and_plain_b_in_the_middle() {
        let calibration = reference_calibration();
        let low = calibration.project(0.76, 0.01);
        assert_eq!(low.grade, "B-");
        assert_eq!(low.base_grade, "B");
        let middle = calibration.project(0.80, 0.01);
        assert_eq!(middle.grade, "B");
        assert_eq!(middle.base_grade, "B");
    }

    #[test]
    fn unanchored_grades_are_interpolated_between_and_extrapolated_beyond_anchored_ones() {
        let calibration = reference_calibration();
        // F and E extrapolate the D–C line (0.1 per grade); D+ and C+ sit halfway.
        assert_close(
            &calibration.centres,
            &[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        );
        assert_close(
            &calibration.boundaries,
            &[0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85],
        );
        assert_eq!(calibration.anchor_count, 12);
        assert_eq!(calibration.anchored_grades, 4);
    }

    #[test]
    fn grades_above_the_highest_anchor_extrapolate_its_two_nearest_anchored_grades() {
        let scale = GradeScale::Eng5NpNational9Step;
        let anchors = anchors_by_grade(scale, &[("1", &[-3.0]), ("2", &[-2.5]), ("4", &[-1.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        // "3" interpolates 1 and 4; "5".."9" follow the "2"–"4" line (0.75 per grade).
        assert_close(
            &calibration.centres,
            &[-3.0, -2.5, -1.75, -1.0, -0.25, 0.5, 1.25, 2.0, 2.75],
        );
    }

    #[test]
    fn two_anchored_grades_extend_the_line_through_them_both_ways() {
        let scale = GradeScale::Swedish8Anchor;
        let anchors = anchors_by_grade(scale, &[("D", &[-1.0]), ("C", &[1.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert_close(
            &calibration.centres,
            &[-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0],
        );
    }

    #[test]
    fn isotonic_regression_pools_an_inverted_anchor_pair_by_anchor_weight() {
        let scale = GradeScale::Swedish8Anchor;
        let anchors = anchors_by_grade(
            scale,
            &[
                ("F", &[0.0]),
                ("E", &[1.0]),
                ("D", &[2.0]),
                ("D+", &[4.0, 4.0, 4.0]),
                ("C", &[3.0]),
                ("C+", &[5.0]),
                ("B", &[6.0]),
                ("A", &[7.0]),
            ],
        );
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        // D+ (three anchors at 4) and C (one at 3) pool to (12 + 3) / 4.
        assert_close(
            &calibration.centres,
            &[0.0, 1.0, 2.0, 3.75, 3.75, 5.0, 6.0, 7.0],
        );
        // The pooled pair share a boundary of zero width: C+ is reached straight from D+.
        assert_eq!(calibration.boundaries[3], 3.75);
        assert_eq!(calibration.interval_of(3.8).map(|i| i.grade), Some("C"));
        assert_eq!(calibration.interval_of(3.7).map(|i| i.grade), Some("D+"));
    }

    #[test]
    fn unanchored_grades_weigh_one_anchor_when_pooled() {
        let scale = GradeScale::Swedish8Anchor;
        // E at 1 and C+ at 0 (inverted): the line through them falls 0.25 per grade, so
        // every centre F..A decreases (1.25 down to −0.5) and all eight pool to their
        // mean with weight 1 each: 3 / 8.
        let anchors = anchors_by_grade(scale, &[("E", &[1.0]), ("C+", &[0.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert_close(&calibration.centres, &[0.375; 8]);
        // Three anchors at C+ outweigh the one at E: the pool moves towards C+.
        let anchors = anchors_by_grade(scale, &[("E", &[1.0]), ("C+", &[0.0, 0.0, 0.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert_close(&calibration.centres, &[3.0 / 10.0; 8]);
    }

    #[test]
    fn spread_is_the_pooled_within_grade_standard_deviation() {
        let scale = GradeScale::Swedish8Anchor;
        // Squares 1+1 in each grade: sqrt(4 / (4 − 2)).
        let anchors = anchors_by_grade(scale, &[("E", &[0.0, 2.0]), ("C", &[10.0, 12.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert!((calibration.spread - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn spread_is_floored_when_anchors_agree() {
        // Reference case: pooled SD is sqrt(0.005 / 8) = 0.025, under the floor.
        assert_eq!(reference_calibration().spread, MIN_SPREAD);
    }

    #[test]
    fn spread_is_the_floor_when_no_grade_has_two_anchors() {
        let scale = GradeScale::Swedish8Anchor;
        let anchors = anchors_by_grade(scale, &[("E", &[0.0]), ("C", &[1.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert_eq!(calibration.spread, MIN_SPREAD);
    }

    #[test]
    fn fewer_than_two_anchored_grades_cannot_calibrate() {
        let scale = GradeScale::Swedish8Anchor;
        assert_eq!(
            calibrate(scale, &[]),
            Err(CalibrationError::TooFewAnchorGrades { distinct: 0 })
        );
        let one_grade = anchors_by_grade(scale, &[("C", &[0.1, 0.5, -0.2])]);
        assert_eq!(
            calibrate(scale, &one_grade),
            Err(CalibrationError::TooFewAnchorGrades { distinct: 1 })
        );
    }

    #[test]
    fn anchors_off_the_scale_or_not_finite_are_rejected() {
        let scale = GradeScale::Swedish8Anchor;
        let valid = AnchorPoint::new(0.0, 1);
        let off_scale = AnchorPoint::new(1.0, 8);
        assert_eq!(
            calibrate(scale, &[valid, off_scale]),
            Err(CalibrationError::GradeOutOfScale {
                grade_index: 8,
                scale
            })
        );
        for score in [f64::NAN, f64::INFINITY] {
            let bad = AnchorPoint::new(score, 2);
            assert_eq!(
                calibrate(scale, &[valid, bad]),
                Err(CalibrationError::NonFiniteScore)
            );
        }
        let overflowing = AnchorPoint::new(f64::MAX, 2);
        assert_eq!(
            calibrate(scale, &[valid, overflowing, overflowing]),
            Err(CalibrationError::NonFiniteScore)
        );
    }

    #[test]
    fn eng5_national_gives_grade_zero_below_the_cutoff_and_numeric_grades_above() {
        let scale = GradeScale::Eng5NpNational9Step;
        let anchors = anchors_by_grade(
            scale,
            &[("1", &[-2.0, -2.2]), ("5", &[0.0, 0.2]), ("9", &[2.0, 2.2])],
        );
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        let cutoff = calibration.centres[0] - 2.0 * calibration.spread;
        assert_eq!(calibration.below_lowest_cutoff, Some(cutoff));

        let far_below = calibration.project(cutoff - 0.01, 0.1);
        assert_eq!(far_below.grade, "0");
        assert_eq!(far_below.base_grade, "0");
        let just_above = calibration.project(cutoff + 0.01, 0.1);
        assert_eq!(just_above.grade, "1");
        let top = calibration.project(2.1, 0.1);
        assert_eq!(top.grade, "9");

        let keys: Vec<&str> = far_below.probabilities.keys().map(String::as_str).collect();
        assert_eq!(keys, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        assert!(far_below.probabilities["0"] > 0.5);
        let mid = calibration.project(0.1, 0.1);
        assert_eq!(mid.grade, "5");
        assert_eq!(calibration.published_grades().len(), 10);
    }

    #[test]
    fn eng5_legacy_gives_f_below_the_cutoff_and_no_derived_modifiers() {
        let scale = GradeScale::Eng5NpLegacy9Step;
        let anchors = anchors_by_grade(scale, &[("F+", &[-2.0]), ("B", &[1.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        assert_eq!(calibration.project(-3.0, 0.2).grade, "F");
        let lowest = calibration.project(-2.0, 0.2);
        assert_eq!(lowest.grade, "F+");
        assert!(lowest.probabilities.contains_key("F"));
        // Low in the B interval, yet legacy grades never take derived modifiers.
        let low_b = calibration.interval_of(1.0).expect("interval");
        let projection = calibration.project(low_b.lower + 0.01, 0.0);
        assert_eq!(projection.grade, "B");
    }

    #[test]
    fn swedish_plus_applies_to_e_and_b_only_and_open_intervals_stay_plain() {
        let calibration = reference_calibration();
        // Boundaries 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85.
        assert_eq!(calibration.project(0.34, 0.01).grade, "E+");
        assert_eq!(calibration.project(0.26, 0.01).grade, "E-");
        assert_eq!(calibration.project(0.84, 0.01).grade, "B+");
        assert_eq!(calibration.project(0.44, 0.01).grade, "D");
        assert_eq!(calibration.project(0.36, 0.01).grade, "D-");
        assert_eq!(calibration.project(0.46, 0.01).grade, "D+");
        assert_eq!(calibration.project(0.54, 0.01).grade, "D+");
        assert_eq!(calibration.project(0.66, 0.01).grade, "C+");
        assert_eq!(calibration.project(0.56, 0.01).grade, "C-");
        // F and A are open-ended: plain however far out.
        assert_eq!(calibration.project(0.86, 0.01).grade, "A");
        assert_eq!(calibration.project(0.10, 0.01).grade, "F");
        assert_eq!(calibration.project(0.24, 0.01).grade, "F");
    }

    #[test]
    fn confidence_labels_switch_at_their_thresholds() {
        assert_eq!(ConfidenceLabel::from_confidence(0.7), ConfidenceLabel::High);
        assert_eq!(
            ConfidenceLabel::from_confidence(0.6999),
            ConfidenceLabel::Mid
        );
        assert_eq!(ConfidenceLabel::from_confidence(0.4), ConfidenceLabel::Mid);
        assert_eq!(
            ConfidenceLabel::from_confidence(0.3999),
            ConfidenceLabel::Low
        );
        assert_eq!(
            ConfidenceLabel::from_confidence(f64::NAN),
            ConfidenceLabel::Low
        );
        let json = serde_json::to_string(&[
            ConfidenceLabel::High,
            ConfidenceLabel::Mid,
            ConfidenceLabel::Low,
        ])
        .expect("serialises");
        assert_eq!(json, r#"["HIGH","MID","LOW"]"#);
    }

    #[test]
    fn confidence_is_the_probability_of_the_primary_grade_and_falls_with_the_error() {
        let scale = GradeScale::Swedish8Anchor;
        let anchors = anchors_by_grade(scale, &[("D", &[-1.0]), ("C", &[1.0])]);
        let calibration = calibrate(scale, &anchors).expect("calibrates");
        // D+ is [−0.5, 0.5): half a logit either side of the score.
        let sure = calibration.project(0.0, 0.1);
        assert_eq!(sure.base_grade, "D+");
        assert_eq!(sure.confidence, sure.probabilities["D+"]);
        assert_eq!(sure.label, ConfidenceLabel::High);
        let unsure = calibration.project(0.0, 0.5);
        assert_eq!(unsure.base_grade, "D+");
        assert!(unsure.confidence < sure.confidence);
        assert_eq!(unsure.label, ConfidenceLabel::Mid);
        let lost = calibration.project(0.0, 2.0);
        assert_eq!(lost.base_grade, "D+");
        assert_eq!(lost.label, ConfidenceLabel::Low);
    }

    #[test]
    fn probabilities_follow_the_normal_model() {
        let calibration = reference_calibration();
        // s = sqrt(0.03² + 0.05²); B is [0.75, 0.85) around 0.80.
        let s = 0.03f64.hypot(0.05);
        let expected = standard_normal_cdf(0.05 / s) - standard_normal_cdf(-0.05 / s);
        let projection = calibration.project(0.80, 0.03);
        assert!((projection.probabilities["B"] - expected).abs() < 1e-12);
        // statrs' erfc is good to about 1e-11 here, ample for grade probabilities.
        assert!((standard_normal_cdf(1.0) - 0.841_344_746_068_543).abs() < 1e-10);
        assert!((standard_normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-10);
    }

    #[test]
    fn unknown_standard_error_spreads_the_probabilities() {
        let calibration = reference_calibration();
        for standard_error in [f64::NAN, f64::INFINITY, -1.0] {
            let projection = calibration.project(0.80, standard_error);
            assert_eq!(projection.base_grade, "B");
            assert_eq!(projection.label, ConfidenceLabel::Low);
            assert_eq!(
                projection,
                calibration.project(0.80, UNKNOWN_STANDARD_ERROR)
            );
        }
        let unknown_score = calibration.project(f64::NAN, 0.01);
        assert_eq!(
            unknown_score,
            calibration.project(0.0, UNKNOWN_STANDARD_ERROR)
        );
        assert_eq!(calibration.interval_of(f64::NAN), None);
        assert_eq!(calibration.project(f64::INFINITY, 0.1).grade, "A");
        assert_eq!(calibration.project(f64::NEG_INFINITY, 0.1).confidence, 1.0);
    }

    #[test]
    fn distance_to_nearest_boundary_counts_the_below_lowest_cutoff() {
        let calibration = reference_calibration();
        assert!((calibration.distance_to_nearest_boundary(0.76) - 0.01).abs() < 1e-12);
        assert!((calibration.distance_to_nearest_boundary(0.0) - 0.25).abs() < 1e-12);
        assert_eq!(
            calibration.distance_to_nearest_boundary(f64::NAN),
            f64::INFINITY
        );

        let scale = GradeScale::Eng5NpNational9Step;
        let anchors = anchors_by_grade(scale, &[("1", &[0.0]), ("2", &[1.0])]);
        let eng5 = calibrate(scale, &anchors).expect("calibrates");
        // Cutoff at 0 − 2 × 0.05 = −0.1.
        assert!((eng5.distance_to_nearest_boundary(-0.15) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn a_hand_built_calibration_with_missing_or_disordered_edges_does_not_panic() {
        let mut calibration = reference_calibration();
        calibration.boundaries = vec![0.5, f64::NAN, 0.1];
        calibration.spread = f64::NAN;
        let projection = calibration.project(0.3, 0.1);
        let total: f64 = projection.probabilities.values().sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(projection
            .probabilities
            .values()
            .all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(calibration.intervals().len(), 8);
    }

    #[test]
    fn calibration_round_trips_through_json() {
        let calibration = reference_calibration();
        let json = serde_json::to_string(&calibration).expect("serialises");
        let back: Calibration = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back.scale, calibration.scale);
        assert_eq!(back.anchor_count, calibration.anchor_count);
        // serde_json may parse a float one unit in the last place off.
        assert_close(&back.centres, &calibration.centres);
        assert_close(&back.boundaries, &calibration.boundaries);
        assert_eq!(back.project(0.76, 0.01).grade, "B-");
        let projection = calibration.project(0.76, 0.01);
        let json = serde_json::to_value(&projection).expect("serialises");
        assert_eq!(json["grade"], "B-");
        assert_eq!(json["label"], "MID");
    }

    fn scales() -> impl Strategy<Value = GradeScale> {
        prop::sample::select(GradeScale::ALL.to_vec())
    }

    /// Anchors on the lowest eight grades, which every scale has.
    fn anchor_sets() -> impl Strategy<Value = Vec<AnchorPoint>> {
        prop::collection::vec((0usize..8, -4.0f64..4.0), 2..30).prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(grade_index, score)| AnchorPoint::new(score, grade_index))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn probabilities_are_real_and_sum_to_one(
            scale in scales(),
            anchors in anchor_sets(),
            score in -6.0f64..6.0,
            standard_error in 0.0f64..3.0,
        ) {
            let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
            let projection = calibration.project(score, standard_error);
            let total: f64 = projection.probabilities.values().sum();
            prop_assert!((total - 1.0).abs() < 1e-9, "sum {total}");
            prop_assert!(projection.probabilities.values().all(|p| (0.0..=1.0).contains(p)));
            prop_assert_eq!(projection.probabilities.len(), calibration.published_grades().len());
            prop_assert_eq!(projection.confidence, projection.probabilities[&projection.base_grade]);
        }

        #[test]
        fn centres_and_boundaries_never_decrease(scale in scales(), anchors in anchor_sets()) {
            let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
            prop_assert_eq!(calibration.centres.len(), scale.grades().len());
            prop_assert_eq!(calibration.boundaries.len(), scale.grades().len() - 1);
            prop_assert!(calibration.centres.windows(2).all(|pair| pair[0] <= pair[1]));
            prop_assert!(calibration.boundaries.windows(2).all(|pair| pair[0] <= pair[1]));
            prop_assert!(calibration.spread >= MIN_SPREAD);
            if let Some(cutoff) = calibration.below_lowest_cutoff {
                prop_assert!(cutoff < calibration.boundaries[0]);
            }
        }

        #[test]
        fn primary_grade_is_the_interval_containing_the_score_whatever_the_error(
            scale in scales(),
            anchors in anchor_sets(),
            score in -6.0f64..6.0,
            small_error in 0.0f64..0.2,
            large_error in 0.2f64..5.0,
        ) {
            let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
            let interval = calibration.interval_of(score).expect("finite score has an interval");
            prop_assert!(interval.lower <= score && score < interval.upper);
            let precise = calibration.project(score, small_error);
            let vague = calibration.project(score, large_error);
            prop_assert_eq!(precise.base_grade.as_str(), interval.grade);
            prop_assert_eq!(vague.base_grade.as_str(), interval.grade);
            prop_assert_eq!(precise.grade, vague.grade);
        }

        #[test]
        fn any_inputs_project_without_panicking(
            anchors in anchor_sets(),
            score in any::<f64>(),
            standard_error in any::<f64>(),
        ) {
            let Ok(calibration) = calibrate(GradeScale::Eng5NpNational9Step, &anchors) else { return Ok(()) };
            let projection = calibration.project(score, standard_error);
            let total: f64 = projection.probabilities.values().sum();
            prop_assert!((total - 1.0).abs() < 1e-9);
            prop_assert!(projection.confidence.is_finite());
            let _ = calibration.distance_to_nearest_boundary(score);
        }
    }
}
