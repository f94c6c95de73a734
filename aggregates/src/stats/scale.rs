//! A batch's scale: its verdicts fitted by the chosen Bradley–Terry estimator, in the one shape
//! the planner, the completion policy, grading and `BatchScored` read.
//!
//! Three estimators, one output:
//!
//! - [`Estimator::Regularised`] (a batch's default): I-LSR with a prior of
//!   [`PRIOR_COMPARISONS_PER_ESSAY`] pseudo-comparisons per essay, spread over the other
//!   essays, whatever the batch's size. Adaptive pairing needs this shrinkage towards the
//!   field: it pairs essays of similar score, and an unshrunk estimator reads "won half of
//!   its comparisons against similar essays" as "sits near them", so the scale spreads and
//!   SEs understate the error. Measured in `simulate` (38 and 308 essays, `docs/quality.md`):
//!   with the reference estimator the planner's SSR overstates the true reliability by
//!   +.15 to +.23 and grade probabilities are overconfident (calibration error .23–.36);
//!   with this one the SSR is within .03 of the truth from 10 comparisons per essay and the
//!   calibration error is .04 at 38 essays, .09 at 308.
//! - [`Estimator::Sirt`]: the field's reference, R's `sirt::btm` (ε-adjusted, see
//!   [`crate::stats::reference`]); it never refuses data and its SSR means what CJ research
//!   means by SSR. `fit`'s default, and the estimator of every batch's reliability report.
//! - [`Estimator::Ilsr`]: choix's I-LSR with a fixed α (the batch's `bt_alpha`), what every
//!   batch registered before the setting existed was scored with (their settings read it
//!   back). Its prior grows with the number of essays (α per pair), which is what squeezed
//!   large real sessions until their SSR went negative.
//!
//! Units: scores in logits, mean 0 over the essays with a verdict; an essay with none has
//! score 0 and SE [`UNIDENTIFIED_STANDARD_ERROR`] (10 logits, wider than any grade scale).

use crate::stats::bradley_terry::{self, UNIDENTIFIED_STANDARD_ERROR};
use crate::stats::reference::{self, ReferenceOptions};
use crate::stats::Comparison;
use crate::stats::{dispersion, reliability};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which estimator places essays on the scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// I-LSR with a per-essay prior independent of the batch's size.
    #[default]
    Regularised,
    /// The reference of CJ research: R's `sirt::btm` (ε = 0.3), never refuses data.
    Sirt,
    /// choix's regularised I-LSR (α = the batch's `bt_alpha`).
    Ilsr,
}

impl Estimator {
    /// The estimator of settings stored before the setting existed: every such batch was
    /// scored with I-LSR, so it keeps it (a batch in flight across the upgrade keeps its scale; its stopping follows the new rule).
    pub fn before_the_setting() -> Self {
        Estimator::Ilsr
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Estimator::Regularised => "regularised",
            Estimator::Sirt => "sirt",
            Estimator::Ilsr => "ilsr",
        }
    }
}

impl fmt::Display for Estimator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Estimator {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "sirt" | "reference" => Ok(Estimator::Sirt),
            "ilsr" => Ok(Estimator::Ilsr),
            "regularised" | "regularized" => Ok(Estimator::Regularised),
            other => Err(format!(
                "unknown estimator {other:?} (expected regularised, sirt or ilsr)"
            )),
        }
    }
}

/// Pseudo-comparisons of prior per essay for [`Estimator::Regularised`]: what choix's
/// α = 0.01 gives an essay in a batch of 38 (0.01 × 37), the setting whose grades and SSR
/// `docs/quality.md` measured, now held constant as batches grow.
pub const PRIOR_COMPARISONS_PER_ESSAY: f64 = 0.37;

/// I-LSR's α for [`Estimator::Regularised`] in a batch of `essay_count` essays.
pub fn regularised_alpha(essay_count: usize) -> f64 {
    PRIOR_COMPARISONS_PER_ESSAY / (essay_count.max(2) - 1) as f64
}

/// Every essay's place on the scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleFit {
    pub estimator: Estimator,
    /// Logits, mean 0 over the essays with a verdict.
    pub scores: Vec<f64>,
    /// Finite and positive; [`UNIDENTIFIED_STANDARD_ERROR`] for essays without a verdict.
    pub standard_errors: Vec<f64>,
    /// Verdicts each essay took part in.
    pub comparison_counts: Vec<u32>,
    /// Information-weighted mean squared residual per essay; NaN where the estimator gives
    /// none (I-LSR, or an essay without verdicts).
    pub infits: Vec<f64>,
    /// Unweighted mean squared residual per essay; NaN as for `infits`.
    pub outfits: Vec<f64>,
    /// P(first-shown wins) per comparison, as the fit statistics use it.
    pub first_win_probabilities: Vec<f64>,
    pub iterations: u32,
    pub converged: bool,
    /// Scale separation reliability as the estimator's convention defines it.
    pub ssr: Option<f64>,
    /// Separation G (the reference's `sepG`); `None` for I-LSR.
    pub separation: Option<f64>,
}

impl ScaleFit {
    /// Rank of each essay: 1 for the highest score; equal scores rank by lower index first.
    pub fn ranks(&self) -> Vec<u32> {
        ranks(&self.scores)
    }

    /// This fit with quasi-binomial standard errors when any of its `comparisons` (the ones it
    /// was fitted on) is graded: every identified SE times √φ ([`dispersion`]), and the SSR
    /// and separation recomputed from them by the estimator's own convention. The scores do
    /// not move. Hard verdicts only, or too few to estimate φ: the fit as it is.
    pub fn with_graded_errors(self, comparisons: &[Comparison]) -> ScaleFit {
        match GradedVerdicts::of(self.scores.len(), comparisons) {
            Some(graded) => self.with_errors_of(&graded),
            None => self,
        }
    }

    /// [`ScaleFit::with_graded_errors`] for verdicts read once ([`GradedVerdicts::of`] of
    /// the comparisons this fit was fitted on), so several fits of them share its fit.
    pub fn with_errors_of(mut self, graded: &GradedVerdicts) -> ScaleFit {
        let estimated = self.comparison_counts.iter().filter(|&&n| n > 0).count();
        // φ is the noise around the maximum-likelihood fit; this fit's prior pulls its
        // probabilities towards ½, which would count as noise (see `dispersion`).
        let expected = graded
            .unpenalised
            .as_deref()
            .unwrap_or(&self.first_win_probabilities);
        let Some(phi) = dispersion::quasi_binomial_dispersion(
            &graded.outcomes,
            expected,
            estimated.saturating_sub(1),
        ) else {
            return self;
        };
        let factor = phi.sqrt();
        for (se, &count) in self.standard_errors.iter_mut().zip(&self.comparison_counts) {
            if count > 0 && *se < UNIDENTIFIED_STANDARD_ERROR {
                *se = (*se * factor).min(UNIDENTIFIED_STANDARD_ERROR);
            }
        }
        match self.estimator {
            Estimator::Sirt => {
                let (thetas, ses): (Vec<f64>, Vec<f64>) = self
                    .scores
                    .iter()
                    .zip(&self.standard_errors)
                    .zip(&self.comparison_counts)
                    .filter(|(_, &count)| count > 0)
                    .map(|((&theta, &se), _)| (theta, se))
                    .unzip();
                self.ssr = reliability::ssr(&thetas, &ses);
                self.separation = reliability::separation(&thetas, &ses);
            }
            Estimator::Regularised | Estimator::Ilsr => {
                self.ssr = bradley_terry::scale_separation_reliability(
                    &self.scores,
                    &self.standard_errors,
                );
            }
        }
        self
    }
}

/// What quasi-binomial standard errors need of one set of verdicts that has a graded one,
/// whichever fit they go with: the outcomes, and P(first wins) of each under the
/// maximum-likelihood fit — itself a fit ([`dispersion::unpenalised_expectations`]), which
/// a batch's fit and its reference fit of the same verdicts share when it is read once.
#[derive(Debug, Clone, PartialEq)]
pub struct GradedVerdicts {
    outcomes: Vec<f64>,
    /// `None` when the maximum-likelihood fit does not exist or did not converge: each fit
    /// then measures φ against its own probabilities.
    unpenalised: Option<Vec<f64>>,
}

impl GradedVerdicts {
    /// `comparisons` among `essay_count` essays read for graded errors; `None` when every
    /// verdict is hard (fits keep their own errors).
    pub fn of(essay_count: usize, comparisons: &[Comparison]) -> Option<GradedVerdicts> {
        let outcomes: Vec<f64> = comparisons.iter().map(Comparison::outcome).collect();
        dispersion::any_graded(outcomes.iter().copied()).then(|| GradedVerdicts {
            unpenalised: dispersion::unpenalised_expectations(essay_count, comparisons),
            outcomes,
        })
    }
}

/// Rank of each score: 1 for the highest; equal scores rank by lower index first.
pub fn ranks(scores: &[f64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then_with(|| a.cmp(&b)));
    let mut ranks = vec![0_u32; scores.len()];
    for (position, &essay) in order.iter().enumerate() {
        ranks[essay] = u32::try_from(position + 1).unwrap_or(u32::MAX);
    }
    ranks
}

/// Fits `comparisons` among `essay_count` essays with `estimator` (`alpha` is
/// [`Estimator::Ilsr`]'s regularisation). Never fails: I-LSR refusing the data (it cannot with α > 0) falls back
/// to the reference estimator, which takes any data.
pub fn fit(
    estimator: Estimator,
    alpha: f64,
    essay_count: usize,
    comparisons: &[Comparison],
) -> ScaleFit {
    let alpha = match estimator {
        Estimator::Sirt => return fit_reference(essay_count, comparisons),
        Estimator::Ilsr => alpha,
        Estimator::Regularised => regularised_alpha(essay_count),
    };
    fit_ilsr(estimator, alpha, essay_count, comparisons).unwrap_or_else(|error| {
        tracing::error!(%error, "I-LSR refused the verdicts; using the reference estimator");
        fit_reference(essay_count, comparisons)
    })
}

fn fit_reference(essay_count: usize, comparisons: &[Comparison]) -> ScaleFit {
    let fitted = reference::fit(essay_count, comparisons, &ReferenceOptions::default());
    let ssr = fitted.ssr();
    let separation = fitted.separation();
    let items = &fitted.items[..essay_count.min(fitted.items.len())];
    ScaleFit {
        estimator: Estimator::Sirt,
        scores: items.iter().map(|i| i.theta).collect(),
        standard_errors: items
            .iter()
            .map(|i| {
                if i.se.is_finite() {
                    i.se
                } else {
                    UNIDENTIFIED_STANDARD_ERROR
                }
            })
            .collect(),
        comparison_counts: items.iter().map(|i| i.comparisons).collect(),
        infits: items.iter().map(|i| i.infit).collect(),
        outfits: items.iter().map(|i| i.outfit).collect(),
        first_win_probabilities: fitted.first_win_probabilities,
        iterations: u32::try_from(fitted.iterations).unwrap_or(u32::MAX),
        converged: fitted.converged,
        ssr,
        separation,
    }
}

fn fit_ilsr(
    estimator: Estimator,
    alpha: f64,
    essay_count: usize,
    comparisons: &[Comparison],
) -> Result<ScaleFit, bradley_terry::BtError> {
    // A graded verdict (the judge's probability) counts as that share of a win; hard verdicts
    // fit exactly as they did before verdicts could be graded.
    let fitted = bradley_terry::fit_graded(essay_count, comparisons, alpha)?;
    let first_win_probabilities = comparisons
        .iter()
        .map(|c| bradley_terry::win_probability(fitted.scores[c.first], fitted.scores[c.second]))
        .collect();
    Ok(ScaleFit {
        estimator,
        ssr: fitted.ssr(),
        separation: None,
        infits: vec![f64::NAN; essay_count],
        outfits: vec![f64::NAN; essay_count],
        first_win_probabilities,
        iterations: fitted.iterations,
        converged: fitted.converged,
        scores: fitted.scores,
        standard_errors: fitted.standard_errors,
        comparison_counts: fitted.comparison_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Vec<Comparison> {
        // 0 beats 1 beats 2, once each way round for 0–2: connected, not strongly.
        vec![
            Comparison::decided(0, 1),
            Comparison::decided(1, 2),
            Comparison::decided(0, 2),
        ]
    }

    #[test]
    fn the_reference_scores_an_essay_that_won_everything() {
        let fit = fit(Estimator::Sirt, 0.0, 3, &chain());
        assert!(fit.scores[0] > fit.scores[1] && fit.scores[1] > fit.scores[2]);
        assert!(fit
            .standard_errors
            .iter()
            .all(|se| se.is_finite() && *se > 0.0));
        assert_eq!(fit.ranks(), vec![1, 2, 3]);
    }

    #[test]
    fn an_essay_without_verdicts_gets_the_unidentified_error_not_infinity() {
        let fit = fit(Estimator::Sirt, 0.0, 4, &chain());
        assert_eq!(fit.scores[3], 0.0);
        assert_eq!(fit.standard_errors[3], UNIDENTIFIED_STANDARD_ERROR);
        assert_eq!(fit.comparison_counts, vec![2, 2, 2, 0]);
    }

    #[test]
    fn ilsr_refusing_the_data_falls_back_to_the_reference() {
        // α = 0 on a graph that is not strongly connected: I-LSR has no finite answer.
        let fit = fit(Estimator::Ilsr, 0.0, 3, &chain());
        assert_eq!(fit.estimator, Estimator::Sirt);
        let regularised = super::fit(Estimator::Ilsr, 0.01, 3, &chain());
        assert_eq!(regularised.estimator, Estimator::Ilsr);
        assert!(regularised.infits.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn the_regularised_prior_per_essay_does_not_grow_with_the_batch() {
        // α per pair × (n − 1) other essays = the same 0.37 pseudo-comparisons per essay.
        for n in [2, 38, 308, 2_000] {
            let per_essay = regularised_alpha(n) * (n - 1) as f64;
            assert!(
                (per_essay - PRIOR_COMPARISONS_PER_ESSAY).abs() < 1e-12,
                "{n}"
            );
        }
        // At 38 essays it is choix's α = 0.01, the setting the quality figures were made with.
        assert!((regularised_alpha(38) - 0.01).abs() < 1e-15);
        let regularised = fit(Estimator::Regularised, 123.0, 3, &chain());
        let ilsr = fit(Estimator::Ilsr, regularised_alpha(3), 3, &chain());
        assert_eq!(regularised.scores, ilsr.scores);
    }

    #[test]
    fn estimator_names_round_trip() {
        for estimator in [Estimator::Regularised, Estimator::Sirt, Estimator::Ilsr] {
            assert_eq!(estimator.as_str().parse::<Estimator>(), Ok(estimator));
            let json = serde_json::to_string(&estimator).unwrap();
            assert_eq!(json, format!("\"{estimator}\""));
        }
        assert!("choix".parse::<Estimator>().is_err());
    }

    /// Eight essays one logit apart, every pair compared twice (both orders), each outcome
    /// the true P(first wins) nudged by `nudge` (alternating sign), or the hard verdict of
    /// the better essay when `nudge` is `None`.
    fn ladder(nudge: Option<f64>) -> Vec<Comparison> {
        let mut comparisons = Vec::new();
        for a in 0..8_usize {
            for b in 0..8_usize {
                if a == b {
                    continue;
                }
                let p = bradley_terry::logistic(b as f64 - a as f64);
                let first_won = match nudge {
                    Some(n) => (p + if (a + b) % 2 == 0 { n } else { -n }).clamp(0.0, 1.0),
                    None => f64::from(u8::from(a < b)),
                };
                comparisons.push(Comparison {
                    first: a,
                    second: b,
                    first_won,
                    judge: None,
                });
            }
        }
        comparisons
    }

    #[test]
    fn graded_verdicts_close_to_the_fit_narrow_the_errors_and_leave_the_scores() {
        for estimator in [Estimator::Regularised, Estimator::Sirt, Estimator::Ilsr] {
            let comparisons = ladder(Some(0.03));
            let as_coin_flips = fit(estimator, 0.01, 8, &comparisons);
            let graded = as_coin_flips.clone().with_graded_errors(&comparisons);
            assert_eq!(graded.scores, as_coin_flips.scores, "{estimator}");
            for (narrow, wide) in graded
                .standard_errors
                .iter()
                .zip(&as_coin_flips.standard_errors)
            {
                assert!(
                    *narrow > 0.0 && narrow < &(wide * 0.5),
                    "{estimator}: {narrow} vs {wide}"
                );
            }
            let (ssr, coin_ssr) = (graded.ssr.unwrap(), as_coin_flips.ssr.unwrap());
            assert!(
                ssr > coin_ssr && ssr <= 1.0,
                "{estimator}: SSR {ssr} vs {coin_ssr}"
            );
        }
    }

    #[test]
    fn hard_verdicts_keep_the_errors_of_the_fit() {
        let comparisons = ladder(None);
        let fitted = fit(Estimator::Regularised, 0.01, 8, &comparisons);
        let kept = fitted.clone().with_graded_errors(&comparisons);
        assert_eq!(kept.standard_errors, fitted.standard_errors);
        assert_eq!(kept.ssr, fitted.ssr);
    }
}
