//! Steadier grade centres from noisy anchors. An anchor's BT score is an estimate with its
//! own standard error — often as large as the distance between two grades when each grade
//! has one anchor — so a grade centre taken as the plain mean of its anchors puts boundaries
//! wherever the noise fell. Here each anchored grade's mean is shrunk toward a straight
//! calibration line through all anchors (score against the grade's position under the
//! scale's population prior), in proportion to how uncertain it is: an exact anchor keeps
//! its mean, a noisy one borrows strength from the others (empirical Bayes).

use crate::stats::grade_scale::GradeScale;
use statrs::distribution::{ContinuousCDF, Normal};

/// Iterations of the line fit and the between-grade variance: it settles in a few.
const FIT_ITERATIONS: usize = 25;

/// One anchored grade: the mean of its anchors' scores and that mean's sampling variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradeMean {
    pub grade_index: usize,
    pub mean: f64,
    pub variance: f64,
}

/// A grade centre after shrinkage, with its remaining variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShrunkCentre {
    pub grade_index: usize,
    pub centre: f64,
    pub variance: f64,
}

/// Position of each grade on a standard normal quality axis: the middle of its band under
/// the scale's population prior.
pub fn prior_positions(scale: GradeScale) -> Vec<f64> {
    let standard = Normal::new(0.0, 1.0).expect("the standard normal exists");
    let mut below = 0.0;
    scale
        .prior()
        .into_iter()
        .map(|share| {
            let middle = below + share / 2.0;
            below += share;
            standard.inverse_cdf(middle)
        })
        .collect()
}

/// Shrinks anchored grade means toward the weighted line `mean ≈ a + b·position`. Returned
/// unchanged when the line cannot be trusted: fewer than three anchored grades, an exact
/// (zero-variance) anchor mean, or a line that does not rise with the grade.
pub fn shrink_toward_line(positions: &[f64], grades: &[GradeMean]) -> Vec<ShrunkCentre> {
    let unchanged = || {
        grades
            .iter()
            .map(|g| ShrunkCentre {
                grade_index: g.grade_index,
                centre: g.mean,
                variance: g.variance.max(0.0),
            })
            .collect()
    };
    let usable = grades.len() >= 3
        && grades.iter().all(|g| {
            g.mean.is_finite()
                && g.variance.is_finite()
                && g.variance > 0.0
                && g.grade_index < positions.len()
        });
    if !usable {
        return unchanged();
    }
    let x: Vec<f64> = grades.iter().map(|g| positions[g.grade_index]).collect();
    let mut between = 0.0;
    let mut line = None;
    for _ in 0..FIT_ITERATIONS {
        let weights: Vec<f64> = grades
            .iter()
            .map(|g| 1.0 / (g.variance + between))
            .collect();
        let Some(fit) = WeightedLine::fit(&x, grades, &weights) else {
            return unchanged();
        };
        let excess: f64 = grades
            .iter()
            .zip(&x)
            .map(|(g, &xi)| (g.mean - fit.at(xi)).powi(2) - g.variance)
            .sum();
        between = (excess / (grades.len() - 2) as f64).max(0.0);
        line = Some(fit);
    }
    let Some(line) = line.filter(|l| l.slope > 0.0) else {
        return unchanged();
    };
    grades
        .iter()
        .zip(&x)
        .map(|(g, &xi)| {
            let prior_variance = between + line.variance_at(xi);
            let precision = 1.0 / g.variance + 1.0 / prior_variance;
            ShrunkCentre {
                grade_index: g.grade_index,
                centre: (g.mean / g.variance + line.at(xi) / prior_variance) / precision,
                variance: 1.0 / precision,
            }
        })
        .collect()
}

/// A weighted least-squares line with the covariance of its two coefficients.
struct WeightedLine {
    intercept: f64,
    slope: f64,
    /// Inverse of XᵀWX: [[c00, c01], [c01, c11]].
    c00: f64,
    c01: f64,
    c11: f64,
}

impl WeightedLine {
    fn fit(x: &[f64], grades: &[GradeMean], weights: &[f64]) -> Option<Self> {
        let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for ((&xi, g), &w) in x.iter().zip(grades).zip(weights) {
            s0 += w;
            s1 += w * xi;
            s2 += w * xi * xi;
            t0 += w * g.mean;
            t1 += w * xi * g.mean;
        }
        let determinant = s0 * s2 - s1 * s1;
        if !(determinant.is_finite() && determinant > 0.0) {
            return None;
        }
        Some(WeightedLine {
            intercept: (s2 * t0 - s1 * t1) / determinant,
            slope: (s0 * t1 - s1 * t0) / determinant,
            c00: s2 / determinant,
            c01: -s1 / determinant,
            c11: s0 / determinant,
        })
    }

    fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// Variance of the fitted value at x.
    fn variance_at(&self, x: f64) -> f64 {
        self.c00 + 2.0 * self.c01 * x + self.c11 * x * x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(grade_index: usize, mean: f64, variance: f64) -> GradeMean {
        GradeMean {
            grade_index,
            mean,
            variance,
        }
    }

    #[test]
    fn exact_anchors_keep_their_means() {
        let positions = [0.0, 1.0, 2.0, 3.0];
        let grades = [grade(0, 0.0, 0.0), grade(1, 1.5, 0.0), grade(2, 1.8, 0.0)];
        let shrunk = shrink_toward_line(&positions, &grades);
        assert_eq!(
            shrunk.iter().map(|c| c.centre).collect::<Vec<_>>(),
            [0.0, 1.5, 1.8]
        );
    }

    #[test]
    fn a_noisy_outlier_is_pulled_toward_the_line_through_the_others() {
        let positions: Vec<f64> = (0..6).map(f64::from).collect();
        let mut grades: Vec<GradeMean> = (0..6).map(|i| grade(i, i as f64, 0.25)).collect();
        grades[3].mean = 1.5; // inverted against grade 2 by noise
        let shrunk = shrink_toward_line(&positions, &grades);
        assert!(
            shrunk[3].centre > 1.5 && shrunk[3].centre < 3.0,
            "{shrunk:?}"
        );
        assert!(
            shrunk[3].centre > shrunk[2].centre,
            "the inversion is repaired"
        );
        assert!(shrunk.iter().all(|c| c.variance < 0.25));
    }

    #[test]
    fn points_on_a_line_stay_on_it() {
        let positions: Vec<f64> = (0..5).map(|i| f64::from(i) * 0.7 - 1.0).collect();
        let grades: Vec<GradeMean> = (0..5)
            .map(|i| grade(i, 0.3 + 1.2 * positions[i], 0.5))
            .collect();
        for (c, g) in shrink_toward_line(&positions, &grades).iter().zip(&grades) {
            assert!((c.centre - g.mean).abs() < 1e-9);
        }
    }

    #[test]
    fn two_anchored_grades_or_a_falling_line_leave_the_means_alone() {
        let positions = [0.0, 1.0, 2.0];
        let two = [grade(0, 0.0, 0.3), grade(2, 1.0, 0.3)];
        assert_eq!(shrink_toward_line(&positions, &two)[1].centre, 1.0);
        let falling = [grade(0, 2.0, 0.3), grade(1, 1.0, 0.3), grade(2, 0.0, 0.3)];
        assert_eq!(shrink_toward_line(&positions, &falling)[0].centre, 2.0);
    }

    #[test]
    fn prior_positions_rise_and_mirror_a_symmetric_prior() {
        let swedish = prior_positions(GradeScale::Swedish8Anchor);
        assert!(swedish.windows(2).all(|w| w[0] < w[1]));
        let uniform = prior_positions(GradeScale::Eng5NpNational9Step);
        assert!((uniform[0] + uniform[8]).abs() < 1e-9);
        assert!(uniform[4].abs() < 1e-9);
    }
}
