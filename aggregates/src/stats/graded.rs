//! When a judge's probabilities may stand in for its hard verdicts. A provider's token
//! log-probabilities give P(A wins) for a verdict; the fit counts that as a fractional win
//! (Liusie et al. 2024), which reaches a ranking with fewer comparisons when the
//! probabilities mean something. When they do not (a constant, or noise that does not even
//! follow the verdicts drawn with them), a fractional fit would throw away what the hard
//! verdicts know, so the batch reads its probabilities only once they visibly agree with
//! its verdicts: their correlation with the hard outcomes must be positive beyond chance.
//! Measured in `simulate --probabilities` (docs/quality.md).

use crate::stats::reliability::pearson;

/// Verdicts with a probability needed before the probabilities are read at all: below
/// this the correlation test has too little power to tell a judge from noise.
pub const MIN_GRADED_VERDICTS: usize = 20;

/// One-sided z (Fisher's z of the correlation × √(n − 3)) the agreement must exceed: a
/// judge whose probabilities are independent of its verdicts passes about once in 740
/// batches (P(Z > 3) ≈ 0.13 %).
pub const AGREEMENT_Z: f64 = 3.0;

/// Whether probabilities `(p_a_wins, a_won)` — a judge's P(A wins) next to its hard verdict
/// (1 when A won, 0 when B did) — agree with the verdicts beyond chance, so that the fit may
/// count the probabilities instead of the verdicts.
pub fn probabilities_agree_with_verdicts(pairs: &[(f64, f64)]) -> bool {
    let n = pairs.len();
    if n < MIN_GRADED_VERDICTS {
        return false;
    }
    let (probabilities, verdicts): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    match pearson(&probabilities, &verdicts) {
        Some(r) if r.is_finite() => {
            let fisher_z = r.clamp(-0.999_999, 0.999_999).atanh();
            fisher_z * ((n - 3) as f64).sqrt() > AGREEMENT_Z
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts_with(
        probability: impl Fn(usize) -> f64,
        a_won: impl Fn(usize) -> bool,
    ) -> Vec<(f64, f64)> {
        (0..200)
            .map(|i| (probability(i), if a_won(i) { 1.0 } else { 0.0 }))
            .collect()
    }

    #[test]
    fn probabilities_that_follow_the_verdicts_are_read() {
        let pairs = verdicts_with(|i| if i % 3 == 0 { 0.3 } else { 0.8 }, |i| i % 3 != 0);
        assert!(probabilities_agree_with_verdicts(&pairs));
    }

    #[test]
    fn a_constant_probability_is_not_read() {
        let pairs = verdicts_with(|_| 0.7, |i| i % 2 == 0);
        assert!(!probabilities_agree_with_verdicts(&pairs));
    }

    #[test]
    fn probabilities_unrelated_to_the_verdicts_are_not_read() {
        // p cycles with period 7, the verdicts with period 2: no agreement.
        let pairs = verdicts_with(|i| 0.4 + 0.03 * (i % 7) as f64, |i| i % 2 == 0);
        assert!(!probabilities_agree_with_verdicts(&pairs));
    }

    #[test]
    fn too_few_verdicts_are_not_read_however_well_they_agree() {
        let pairs: Vec<(f64, f64)> = (0..MIN_GRADED_VERDICTS - 1)
            .map(|i| if i % 2 == 0 { (0.9, 1.0) } else { (0.1, 0.0) })
            .collect();
        assert!(!probabilities_agree_with_verdicts(&pairs));
    }
}
