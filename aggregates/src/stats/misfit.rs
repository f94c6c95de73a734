//! Misfit: how far an essay's or a judge's verdicts stray from the fitted scale. Infit and
//! outfit are the reference's (sirt's) mean squared standardised residuals — per comparison
//! z² = (y − p)²/V with V = p(1 − p) at the fit's probabilities — averaged plainly (outfit) or
//! weighted by V (infit). Items get them from [`super::reference`]; judges get the same
//! averages over the comparisons they judged.
//!
//! The flag is the convention of the CJ platforms: infit above mean + 2 SD (sample SD) of
//! its kind — essays among essays, judges among judges.

use super::reference::residual;
use super::reliability::standard_deviation;
use super::Comparison;
use serde::{Deserialize, Serialize};

/// How many standard deviations above the mean infit counts as misfit (the platforms' 2).
pub const MISFIT_STANDARD_DEVIATIONS: f64 = 2.0;

/// One judge's fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JudgeFit {
    pub judge: u32,
    pub comparisons: u32,
    pub infit: f64,
    pub outfit: f64,
}

/// Fit per judge (judges in order of first appearance; unjudged comparisons skipped), from
/// the probability that the first item wins each comparison (the fit's
/// `first_win_probabilities`).
pub fn judge_fits(comparisons: &[Comparison], first_win_probabilities: &[f64]) -> Vec<JudgeFit> {
    struct Sums {
        judge: u32,
        comparisons: u32,
        squared: f64,
        weighted: f64,
        variance: f64,
    }
    let mut sums: Vec<Sums> = Vec::new();
    for (comparison, &p) in comparisons.iter().zip(first_win_probabilities) {
        let Some(judge) = comparison.judge else {
            continue;
        };
        let slot = match sums.iter().position(|s| s.judge == judge) {
            Some(slot) => slot,
            None => {
                sums.push(Sums {
                    judge,
                    comparisons: 0,
                    squared: 0.0,
                    weighted: 0.0,
                    variance: 0.0,
                });
                sums.len() - 1
            }
        };
        let (z2, v) = residual(comparison, p);
        let entry = &mut sums[slot];
        entry.comparisons += 1;
        entry.squared += z2;
        entry.weighted += v * z2;
        entry.variance += v;
    }
    sums.into_iter()
        .map(|s| JudgeFit {
            judge: s.judge,
            comparisons: s.comparisons,
            infit: s.weighted / s.variance,
            outfit: s.squared / f64::from(s.comparisons),
        })
        .collect()
}

/// Which of `infits` exceed mean + 2 SD of the finite ones (never flags with fewer than 3,
/// where an SD says nothing; NaN is never flagged).
pub fn flag_misfits(infits: &[f64]) -> Vec<bool> {
    let finite: Vec<f64> = infits.iter().copied().filter(|v| v.is_finite()).collect();
    let threshold = if finite.len() < 3 {
        f64::INFINITY
    } else {
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        mean + MISFIT_STANDARD_DEVIATIONS * standard_deviation(&finite).unwrap_or(0.0)
    };
    infits.iter().map(|&v| v > threshold).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::reference::{fit, ReferenceOptions};

    #[test]
    fn a_judge_who_contradicts_the_others_misfits_and_is_flagged() {
        // Items 0 > 1 > … > 5; judges 0..=5 agree, judge 6 reverses every verdict.
        let mut comparisons = Vec::new();
        for judge in 0..7_u32 {
            for a in 0..6 {
                for b in (a + 1)..6 {
                    let c = if judge == 6 || (a + b + judge as usize) % 5 == 0 {
                        Comparison::decided(b, a)
                    } else {
                        Comparison::decided(a, b)
                    };
                    comparisons.push(c.by(judge));
                }
            }
        }
        let fitted = fit(6, &comparisons, &ReferenceOptions::default());
        let judges = judge_fits(&comparisons, &fitted.first_win_probabilities);
        assert_eq!(judges.len(), 7);
        assert!(judges.iter().all(|j| j.comparisons == 15));
        let infits: Vec<f64> = judges.iter().map(|j| j.infit).collect();
        let flags = flag_misfits(&infits);
        assert_eq!(flags, vec![false, false, false, false, false, false, true]);
        assert!(judges[6].outfit > judges[0].outfit);
    }

    #[test]
    fn too_few_or_undefined_values_are_never_flagged() {
        assert_eq!(flag_misfits(&[1.0, 9.0]), vec![false, false]);
        assert!(!flag_misfits(&[1.0, 1.0, 1.0, f64::NAN])[3]);
    }
}
