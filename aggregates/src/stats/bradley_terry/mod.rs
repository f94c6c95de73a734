//! Bradley–Terry scores for comparative judgement: fits one ability (in logits) per essay from
//! pairwise outcomes, with a standard error per essay and the scale separation reliability.
//!
//! The estimator is iterative Luce Spectral Ranking (I-LSR, Maystre & Grossglauser 2015) with
//! the regularisation convention of the `choix` Python library: `fit(n, outcomes, alpha)`
//! reproduces `choix.ilsr_pairwise(n, data, alpha)` to 1e-6 (see `scripts/crosscheck_choix.py`).
//! Each iteration builds the LSR Markov chain from the current weights, solves its stationary
//! distribution with a dense linear solve, and takes centred logs of it as the new scores.
//!
//! Graded outcomes (Liusie et al. 2024, "Efficient LLM comparative assessment: a product of
//! experts framework"): [`fit_graded`] takes each comparison's outcome y ∈ [0, 1] from the
//! first essay's side (an LLM's probability that it wins) and counts it as y of a win for the
//! first and 1 − y for the second. The LSR chain and the likelihood are linear in those counts,
//! so this is the soft Bradley–Terry fit; hard outcomes (exactly 0 or 1) tally exactly as
//! [`fit`] tallies them, so their scores are bit-identical. The Fisher information of a
//! comparison does not depend on its outcome, so standard errors count every comparison once.
//!
//! Input contract: the caller passes only decided comparisons. Comparisons that errored or are
//! still pending must be left out; repeated pairs are legitimate and count every time.
//!
//! # Layout
//!
//! - here: the types, the entry points, SSR and the logistic;
//! - `tally`: validation and the per-pair tallies both entry points reduce to;
//! - `ilsr`: the I-LSR iteration and its linear solve;
//! - `standard_errors`: SEs from the Fisher information at the fit.

mod ilsr;
mod standard_errors;
mod tally;

use crate::stats::Comparison;
use serde::{Deserialize, Serialize};
use tally::{loss_graph_is_strongly_connected, GradedOutcome, PairTally};

/// Regularisation rate added between every pair of essays in the LSR chain (choix's `alpha`).
///
/// It keeps every score finite when an essay wins or loses all of its comparisons and ties
/// disconnected groups of essays to one scale. 0.01 is choix's customary small value and the one
/// the cross-check pins. Its pull towards the centre grows with the number of essays: the fixed
/// point satisfies `wins_i − expected_wins_i = alpha · n · (w_i − 1)` with weights `w = e^θ`
/// scaled to sum to n, so at n = 200 it shrinks the scale noticeably.
pub const DEFAULT_ALPHA: f64 = 0.01;

/// Standard error (in logits) reported for an essay whose score the data does not inform:
/// one that was never compared, or whose comparisons carry no numerical information.
///
/// 10 logits is "we know nothing": practical comparative-judgement scales span about ±5 logits,
/// so an interval of ±1 SE already covers every plausible position. It dominates any real SE
/// (typically 0.3–1.5 logits), so anything that targets uncertain essays picks them first and
/// the scale separation reliability counts them against the scale, yet it stays finite so that
/// downstream arithmetic (SE², 1/SE² weights, intervals) never meets 0, infinity or NaN.
pub const UNIDENTIFIED_STANDARD_ERROR: f64 = 10.0;

/// Most I-LSR iterations before giving up; typical fits converge in well under 100.
pub const MAX_ITERATIONS: u32 = 1_000;

/// One decided comparison: `winner` was judged better than `loser` (indices into the essays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub winner: usize,
    pub loser: usize,
}

/// A fitted Bradley–Terry scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BtFit {
    /// Ability of each essay in logits, centred to mean 0.
    pub scores: Vec<f64>,
    /// Standard error of each score in logits; always finite and positive
    /// ([`UNIDENTIFIED_STANDARD_ERROR`] for essays the data does not inform).
    pub standard_errors: Vec<f64>,
    /// Number of comparisons each essay took part in.
    pub comparison_counts: Vec<u32>,
    /// I-LSR iterations performed (choix's count: convergence is first testable at the 2nd).
    pub iterations: u32,
    /// False when [`MAX_ITERATIONS`] passed without meeting the tolerance; scores are then the
    /// last iterate.
    pub converged: bool,
}

impl BtFit {
    /// Scale separation reliability of this fit (see [`scale_separation_reliability`]).
    pub fn ssr(&self) -> Option<f64> {
        scale_separation_reliability(&self.scores, &self.standard_errors)
    }

    /// Rank of each essay: 1 for the highest score; equal scores rank by lower index first.
    pub fn ranks(&self) -> Vec<u32> {
        crate::stats::scale::ranks(&self.scores)
    }
}

/// Why a fit was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BtError {
    #[error(
        "outcome {outcome_index} names essay {essay}, but there are only {essay_count} essays"
    )]
    EssayOutOfRange {
        outcome_index: usize,
        essay: usize,
        essay_count: usize,
    },
    #[error("outcome {outcome_index} compares essay {essay} with itself")]
    SelfComparison { outcome_index: usize, essay: usize },
    #[error("alpha must be finite and non-negative, got {alpha}")]
    InvalidAlpha { alpha: f64 },
    /// The data does not determine finite scores: with `alpha = 0` the "lost to" graph is not
    /// strongly connected, or the chain's stationary distribution is singular or underflows
    /// (a vanishingly small alpha with perfectly separated essays).
    #[error("the comparisons do not determine finite scores (graph not strongly connected or chain singular)")]
    NotIdentifiable,
}

/// Fits Bradley–Terry scores to `outcomes` among `essay_count` essays with regularisation `alpha`
/// (use [`DEFAULT_ALPHA`]). Every outcome counts, including repeats of the same pair.
pub fn fit(essay_count: usize, outcomes: &[Outcome], alpha: f64) -> Result<BtFit, BtError> {
    let graded: Vec<GradedOutcome> = outcomes.iter().map(|&o| o.into()).collect();
    fit_outcomes(essay_count, &graded, alpha)
}

/// Fits Bradley–Terry scores to `comparisons`, each counting as `first_won` of a win for the
/// first essay and the rest for the second (see the module's doc). A comparison with an
/// outcome of exactly 1 or 0 counts as [`fit`] counts the [`Outcome`] it stands for.
pub fn fit_graded(
    essay_count: usize,
    comparisons: &[Comparison],
    alpha: f64,
) -> Result<BtFit, BtError> {
    let graded: Vec<GradedOutcome> = comparisons.iter().map(GradedOutcome::from).collect();
    fit_outcomes(essay_count, &graded, alpha)
}

fn fit_outcomes(
    essay_count: usize,
    outcomes: &[GradedOutcome],
    alpha: f64,
) -> Result<BtFit, BtError> {
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(BtError::InvalidAlpha { alpha });
    }
    tally::validate(essay_count, outcomes)?;
    let comparison_counts = tally::count_comparisons(essay_count, outcomes);
    if essay_count < 2 {
        // Nothing to estimate: zero or one essay sits at the centre by definition.
        return Ok(BtFit {
            scores: vec![0.0; essay_count],
            standard_errors: vec![UNIDENTIFIED_STANDARD_ERROR; essay_count],
            comparison_counts,
            iterations: 0,
            converged: true,
        });
    }
    let pairs: Vec<PairTally> = tally::tally_pairs(essay_count, outcomes);
    if alpha == 0.0 && !loss_graph_is_strongly_connected(essay_count, &pairs) {
        return Err(BtError::NotIdentifiable);
    }
    let estimate = ilsr::run_ilsr(essay_count, &pairs, alpha)?;
    if !estimate.converged {
        tracing::warn!(
            essay_count,
            comparisons = outcomes.len(),
            alpha,
            "Bradley–Terry I-LSR did not converge in {MAX_ITERATIONS} iterations"
        );
    }
    let standard_errors =
        standard_errors::standard_errors(&estimate.scores, &pairs, &comparison_counts);
    Ok(BtFit {
        scores: estimate.scores,
        standard_errors,
        comparison_counts,
        iterations: estimate.iterations,
        converged: estimate.converged,
    })
}

/// Scale separation reliability `(var(θ) − mean(SE²)) / var(θ)`, with the population variance
/// over all essays: the share of observed score variance that is not measurement error.
/// `None` for fewer than 2 essays, mismatched lengths, or no (finite) score variance.
pub fn scale_separation_reliability(scores: &[f64], standard_errors: &[f64]) -> Option<f64> {
    if scores.len() < 2 || scores.len() != standard_errors.len() {
        return None;
    }
    let count = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / count;
    let variance = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / count;
    if !(variance.is_finite() && variance > 0.0) {
        return None;
    }
    let mean_error_variance = standard_errors.iter().map(|se| se * se).sum::<f64>() / count;
    Some((variance - mean_error_variance) / variance)
}

/// Probability that an essay of ability `theta_a` beats one of ability `theta_b`.
pub fn win_probability(theta_a: f64, theta_b: f64) -> f64 {
    logistic(theta_a - theta_b)
}

/// The logistic function σ(x) = 1 / (1 + e^−x): the probability a logit difference `x`
/// gives. Never overflows into NaN: a large negative argument gives 1/∞ = 0.
pub fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod graded_tests;
