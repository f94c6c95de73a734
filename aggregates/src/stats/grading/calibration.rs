//! Calibration: lays a grade scale onto the BT axis (logits) from the anchors, by the five
//! rules of the [`grading`](super) module doc — anchor means shrunk toward a line through the
//! grades, unanchored grades on the line through their anchored neighbours, pooled adjacent
//! violators, midpoint boundaries, and the pooled within-grade spread τ floored at
//! [`MIN_SPREAD`] — plus the boundary uncertainty that the anchors' own standard errors
//! give the boundaries.

use super::{AnchorPoint, Calibration, CalibrationError, BELOW_LOWEST_SPREADS, MIN_SPREAD};
use crate::stats::anchor_shrinkage::{
    prior_positions, shrink_toward_line, GradeMean, ShrunkCentre,
};
use crate::stats::grade_scale::GradeScale;

/// Lays `scale` onto the BT axis using the anchors (see the [`grading`](super) module doc for the rules).
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
