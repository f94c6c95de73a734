//! Standard errors for graded verdicts. The fit's standard errors come from the Fisher
//! information of a coin flip: a comparison of essays whose win probability is p carries
//! p(1 − p) of information, because a hard verdict (0 or 1) varies that much around p. A
//! judge's probability (P(A wins) from its log-probabilities) varies far less: a calibrated
//! judge that says 0.73 when the fit expects 0.70 is off by 0.03, not by 0.3 or 0.7. Counted
//! as a coin flip, such verdicts leave every SE as wide as hard verdicts would, and the
//! reliability and grade probabilities read a batch as less certain than it is (measured in
//! `simulate --probabilities`: calibration error .53, SSR below 0).
//!
//! Quasi-likelihood (Wedderburn 1974; McCullagh & Nelder, *Generalized Linear Models* §9.2)
//! keeps the Bradley–Terry mean, E\[y\] = σ(θ_A − θ_B), and lets the variance be
//! φ · p(1 − p) with one dispersion φ for the batch, estimated by Pearson's χ² over its
//! residual degrees of freedom. The scores are unchanged; every SE is multiplied by √φ.
//! Hard verdicts give φ ≈ 1 on average, so a batch whose judge reports nothing keeps its
//! SEs (the batch applies this only when some outcome is graded). One φ per batch rather
//! than a per-essay sandwich: at 10 comparisons per essay a per-essay variance rests on 10
//! residuals and swings with them; the batch's one judge model is shared by all its essays.
//! φ is read at the maximum-likelihood fit ([`unpenalised_expectations`]), as quasi-likelihood
//! defines it, whatever estimator placed the scores.

use crate::stats::{bradley_terry, Comparison};

/// P(first wins) of every comparison under the unpenalised (maximum-likelihood) Bradley–Terry
/// fit of `comparisons` among the essays they compare, or `None` when that fit does not exist
/// or did not converge. φ is defined at the maximum-likelihood fit: a batch's own fit is
/// regularised (a prior of pseudo-comparisons pulls every score towards the centre), and at 5
/// comparisons per essay that pull moves the expected probabilities further from a calibrated
/// judge's than its own noise does (measured: φ .149 against the regularised fit, .039
/// against the reference fit, one batch of `simulate --probabilities calibrated`), which
/// would read as dispersion and leave grade probabilities underconfident. Graded outcomes
/// give every compared pair wins both ways, so the fit without regularisation exists
/// whenever the compared essays are connected.
pub fn unpenalised_expectations(
    essay_count: usize,
    comparisons: &[Comparison],
) -> Option<Vec<f64>> {
    let mut compact = vec![usize::MAX; essay_count];
    let mut compared = 0;
    for comparison in comparisons {
        for essay in [comparison.first, comparison.second] {
            let slot = compact.get_mut(essay)?;
            if *slot == usize::MAX {
                *slot = compared;
                compared += 1;
            }
        }
    }
    let renumbered: Vec<Comparison> = comparisons
        .iter()
        .map(|c| Comparison {
            first: compact[c.first],
            second: compact[c.second],
            ..*c
        })
        .collect();
    let fitted = bradley_terry::fit_graded(compared, &renumbered, 0.0)
        .ok()
        .filter(|fit| fit.converged)?;
    Some(
        renumbered
            .iter()
            .map(|c| {
                bradley_terry::win_probability(fitted.scores[c.first], fitted.scores[c.second])
            })
            .collect(),
    )
}

/// Smallest dispersion used: a judge whose probabilities match the fit exactly would give
/// φ = 0 and SEs of 0, which no downstream arithmetic (1/SE² weights, z-scores) can take.
/// 10⁻⁴ keeps an SE at least 1 % of a coin flip's.
pub const MIN_DISPERSION: f64 = 1e-4;

/// Smallest variance p(1 − p) a residual is divided by, so a fit that puts p at 0 or 1 (a
/// fully separated essay) does not turn one residual into infinity.
const MIN_VARIANCE: f64 = 1e-9;

/// The dispersion φ of `outcomes` (y ∈ [0, 1], from the first essay's side) around the fit's
/// `expected` P(first wins), with `estimated` scores among them: Pearson's χ² over the
/// residual degrees of freedom, at least [`MIN_DISPERSION`]. `None` when there are no more
/// outcomes than scores (nothing left to estimate it from) or the lengths differ.
pub fn quasi_binomial_dispersion(
    outcomes: &[f64],
    expected: &[f64],
    estimated: usize,
) -> Option<f64> {
    if outcomes.len() != expected.len() {
        return None;
    }
    let degrees_of_freedom = outcomes.len().checked_sub(estimated).filter(|&d| d > 0)?;
    let pearson_chi_square: f64 = outcomes
        .iter()
        .zip(expected)
        .map(|(&y, &p)| {
            let variance = (p * (1.0 - p)).max(MIN_VARIANCE);
            (y - p).powi(2) / variance
        })
        .sum();
    let dispersion = pearson_chi_square / degrees_of_freedom as f64;
    dispersion
        .is_finite()
        .then(|| dispersion.max(MIN_DISPERSION))
}

/// Whether any outcome is graded (strictly between 0 and 1): only then does a batch read its
/// errors as quasi-binomial.
pub fn any_graded(outcomes: impl IntoIterator<Item = f64>) -> bool {
    outcomes.into_iter().any(|y| y > 0.0 && y < 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_exactly_at_the_fit_give_the_smallest_dispersion() {
        let expected = [0.7, 0.4, 0.55, 0.62];
        assert_eq!(
            quasi_binomial_dispersion(&expected, &expected, 2),
            Some(MIN_DISPERSION)
        );
    }

    #[test]
    fn hard_verdicts_drawn_from_the_fit_give_a_dispersion_near_one() {
        // p = 0.8 for every comparison, 80 % of them won: χ² = n, so φ = n / (n − k).
        let expected = vec![0.8; 1_000];
        let outcomes: Vec<f64> = (0..1_000)
            .map(|i| if i % 5 == 0 { 0.0 } else { 1.0 })
            .collect();
        let dispersion = quasi_binomial_dispersion(&outcomes, &expected, 10).unwrap();
        assert!(
            (dispersion - 1_000.0 / 990.0).abs() < 1e-9,
            "φ = {dispersion}"
        );
    }

    #[test]
    fn probabilities_off_by_a_little_give_a_small_dispersion() {
        // Residuals of ±0.05 around p = 0.5: χ² per outcome = 0.0025 / 0.25 = 0.01.
        let expected = vec![0.5; 100];
        let outcomes: Vec<f64> = (0..100)
            .map(|i| if i % 2 == 0 { 0.55 } else { 0.45 })
            .collect();
        let dispersion = quasi_binomial_dispersion(&outcomes, &expected, 0).unwrap();
        assert!((dispersion - 0.01).abs() < 1e-12, "φ = {dispersion}");
    }

    #[test]
    fn no_dispersion_without_residual_degrees_of_freedom() {
        assert_eq!(quasi_binomial_dispersion(&[0.6, 0.3], &[0.5, 0.5], 2), None);
        assert_eq!(quasi_binomial_dispersion(&[0.6], &[0.5, 0.5], 0), None);
    }

    #[test]
    fn only_outcomes_strictly_inside_zero_and_one_are_graded() {
        assert!(!any_graded([0.0, 1.0, 1.0]));
        assert!(any_graded([0.0, 0.97]));
    }
}
