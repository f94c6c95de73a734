//! The statistics of comparative judgement as the field reports them: the reference
//! Bradley–Terry estimator (R's `sirt::btm`, which the 2025 meta-analysis of CJ reliability
//! used), its reliability figures, split-half reliability, misfit of essays and judges, and
//! the order (position) effect. Everything here is pure and deterministic.
//!
//! # Layout
//!
//! - [`reference`](mod@reference) — the ε-adjusted Bradley–Terry fit exactly as `sirt::btm` computes it
//!   (θ, SE, infit, outfit, counts), never refusing data.
//! - [`reliability`] — SSR (`mle.rel`), separation G, Pearson correlation, median,
//!   Spearman–Brown.
//! - [`split_half`] — median split-half reliability over seeded random splits of the judges
//!   (or of the comparisons), with [`r_rng`] reproducing R's random numbers.
//! - [`misfit`] — infit/outfit per judge and the mean + 2 SD flag.
//! - [`order_effect`] — maximum-likelihood position effect η with its standard error.
//! - [`components`] — connected components of the comparison graph.
//! - [`dispersion`] — standard errors for graded verdicts (quasi-binomial φ).
//! - [`graded`] — when a judge's probabilities (P(A wins)) may stand in for its hard
//!   verdicts in the fit.
//! - [`audit`] — all of the above for one fitted set of verdicts, as batches and `fit`
//!   report them.
//!
//! The one input type is [`Comparison`]: batch scoring, `fit` and the tests all speak it.

pub mod anchor_shrinkage;
pub mod assignment_scale;
pub mod audit;
pub mod bradley_terry;
pub mod components;
pub mod dispersion;
pub mod grade_scale;
pub mod graded;
pub mod grading;
pub mod matching;
pub mod misfit;
pub mod order_effect;
pub mod pairing;
pub mod r_rng;
pub mod random_pairing;
pub mod reference;
pub mod reliability;
pub mod scale;
pub mod split_half;
pub mod synthetic_outcomes;

use serde::{Deserialize, Serialize};

/// A figure for JSON: `None` for NaN or ∞ (JSON has no such numbers, and serde_json writes
/// them as null, which does not read back into an `f64`).
pub fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// One judged comparison between the item shown (or listed) first and the second one.
///
/// `first_won` is the observed outcome from the first item's point of view, in [0, 1]: 1 when
/// the first won, 0 when the second won, and anything between for a graded verdict (an LLM's
/// probability that the first-listed wins, ½ for a tie). Hard verdicts are exactly 1 or 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub first: usize,
    pub second: usize,
    pub first_won: f64,
    /// Who judged it (an index into the caller's judge list), when known.
    pub judge: Option<u32>,
}

impl Comparison {
    /// A hard verdict listed winner first, as the reference data are.
    pub fn decided(winner: usize, loser: usize) -> Self {
        Comparison {
            first: winner,
            second: loser,
            first_won: 1.0,
            judge: None,
        }
    }

    /// The same comparison attributed to `judge`.
    pub fn by(self, judge: u32) -> Self {
        Comparison {
            judge: Some(judge),
            ..self
        }
    }

    /// The outcome clamped into [0, 1] (NaN counts as a tie), so no input can break a fit.
    pub(crate) fn outcome(&self) -> f64 {
        if self.first_won.is_nan() {
            0.5
        } else {
            self.first_won.clamp(0.0, 1.0)
        }
    }
}
