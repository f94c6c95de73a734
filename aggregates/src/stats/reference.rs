//! The reference Bradley–Terry estimator of comparative judgement: R's `sirt::btm` with the
//! options the 2025 meta-analysis of CJ reliability used (`maxiter = 400`, no order effect, no
//! ties estimated), copied loop for loop from `../shared/design/reliability-estimator.md` so that
//! θ, SE, infit, outfit, SSR and G equal the published outputs to floating-point rounding.
//!
//! It is not a maximum-likelihood fit. Each item's win count is shrunk towards half its
//! comparisons by ε = 0.3 (`s = ε + (n − 2ε)·wins/n`), which keeps every score finite — items
//! that won or lost everything included — and the iteration is a per-item ("Jacobi") Newton
//! step, clipped to ±0.98ᵗ at pass t, followed by re-centring to mean 0. It stops when no item
//! moved more than 1e-4 or after 400 passes. θ is the final pass's updated value; SE and the
//! probabilities behind infit/outfit are those evaluated at the pass's *start* value, exactly
//! as sirt reports them (getting that timing wrong moves outfit by up to 0.08).
//!
//! Generalisation: the outcome of a comparison may be any y ∈ [0, 1] (a graded verdict); wins
//! are then Σ y, and the squared residual is (y − p)²/(p(1 − p)). For y ∈ {0, 1} it is sirt.
//! Items that appear in no comparison are left out of the fit (θ = 0, SE = ∞, fit NaN) and of
//! the centring, as sirt never sees them. Disconnected graphs are fitted anyway (the relative
//! offsets of the components are then arbitrary); [`super::components`] names them.

use super::Comparison;
use serde::{Deserialize, Serialize};

/// sirt's default ε: shrinks win counts by 0.3 of a comparison towards a draw.
pub const EPSILON: f64 = 0.3;
/// sirt's default convergence criterion on the largest change of θ in one pass.
pub const CONVERGENCE: f64 = 1e-4;
/// The meta-analysis's `maxit = 400` (sirt's own default is 100).
pub const MAX_ITERATIONS: usize = 400;
/// The step bound shrinks by this factor every pass (sirt's trim: 0.98ᵗ from t = 1); it is
/// what keeps near-bipartite designs (Vatavu2020) from oscillating to NaN.
const TRIM_DECAY: f64 = 0.98;
/// Added to every item's information so a step is never a division by zero (sirt's 1e-20).
const INFORMATION_FLOOR: f64 = 1e-20;

/// The estimator's tuning; [`Default`] is the reference setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceOptions {
    pub epsilon: f64,
    pub convergence: f64,
    pub max_iterations: usize,
}

impl Default for ReferenceOptions {
    fn default() -> Self {
        ReferenceOptions {
            epsilon: EPSILON,
            convergence: CONVERGENCE,
            max_iterations: MAX_ITERATIONS,
        }
    }
}

/// One item's fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ItemFit {
    /// Ability in logits; the mean over fitted items is 0.
    pub theta: f64,
    /// Standard error 1/√information (∞ for an item with no comparisons).
    pub se: f64,
    /// Information-weighted mean squared standardised residual.
    pub infit: f64,
    /// Unweighted mean squared standardised residual.
    pub outfit: f64,
    /// Comparisons the item took part in (sirt's `Ntot`).
    pub comparisons: u32,
    /// Observed wins, Σ y from the item's side (sirt's `raw`).
    pub wins: f64,
}

/// The whole fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceFit {
    /// Per item, in the caller's index order.
    pub items: Vec<ItemFit>,
    /// Passes performed.
    pub iterations: usize,
    /// False when `max_iterations` passed with a change still above `convergence`.
    pub converged: bool,
    /// P(first wins) per comparison, at the final pass's start value (what fit statistics use).
    pub first_win_probabilities: Vec<f64>,
}

impl ReferenceFit {
    /// θ of every item (index order).
    pub fn thetas(&self) -> Vec<f64> {
        self.items.iter().map(|item| item.theta).collect()
    }

    /// The items that took part in at least one comparison.
    pub fn fitted(&self) -> impl Iterator<Item = &ItemFit> {
        self.items.iter().filter(|item| item.comparisons > 0)
    }

    /// Scale separation reliability (sirt's `mle.rel`) over the fitted items.
    pub fn ssr(&self) -> Option<f64> {
        let (thetas, ses) = self.fitted_thetas_and_ses();
        super::reliability::ssr(&thetas, &ses)
    }

    /// Separation G (sirt's `sepG`) over the fitted items.
    pub fn separation(&self) -> Option<f64> {
        let (thetas, ses) = self.fitted_thetas_and_ses();
        super::reliability::separation(&thetas, &ses)
    }

    fn fitted_thetas_and_ses(&self) -> (Vec<f64>, Vec<f64>) {
        self.fitted().map(|item| (item.theta, item.se)).unzip()
    }
}

/// Fits the reference estimator to `comparisons` among `items` items (indices beyond `items`
/// extend it). Never fails: every item with a comparison gets a finite θ and SE.
pub fn fit(items: usize, comparisons: &[Comparison], options: &ReferenceOptions) -> ReferenceFit {
    let mut iteration = Iteration::default();
    iteration.run(items, comparisons, options);
    iteration.into_fit(comparisons)
}

/// The estimator's iteration with its working memory, so a caller fitting many sets of
/// verdicts (split halves: 200 fits per estimate) allocates once: [`Iteration::run`] leaves
/// θ, the counts and the final pass in it, and [`fit`] turns them into a [`ReferenceFit`].
#[derive(Debug, Default)]
pub(crate) struct Iteration {
    /// Comparisons per item (sirt's `Ntot`).
    counts: Vec<u32>,
    /// Observed wins per item, Σ y (sirt's `raw`).
    wins: Vec<f64>,
    /// Wins shrunk by ε towards half the item's comparisons (see the module doc).
    adjusted_wins: Vec<f64>,
    /// The items with at least one comparison, in index order.
    present: Vec<usize>,
    theta: Vec<f64>,
    previous: Vec<f64>,
    pass: Pass,
    iterations: usize,
    converged: bool,
}

impl Iteration {
    /// Runs the estimator on `comparisons` among `items` items (see [`fit`]).
    pub(crate) fn run(
        &mut self,
        items: usize,
        comparisons: &[Comparison],
        options: &ReferenceOptions,
    ) {
        let items = comparisons
            .iter()
            .map(|c| c.first.max(c.second) + 1)
            .fold(items, usize::max);
        refill(&mut self.counts, items, 0);
        refill(&mut self.wins, items, 0.0);
        for comparison in comparisons {
            let y = comparison.outcome();
            self.counts[comparison.first] += 1;
            self.counts[comparison.second] += 1;
            self.wins[comparison.first] += y;
            self.wins[comparison.second] += 1.0 - y;
        }
        let counts = &self.counts;
        self.present.clear();
        self.present.extend((0..items).filter(|&i| counts[i] > 0));
        let epsilon = options.epsilon;
        self.adjusted_wins.clear();
        self.adjusted_wins
            .extend(counts.iter().zip(&self.wins).map(|(&count, &wins)| {
                let n = f64::from(count);
                if count == 0 {
                    0.0
                } else {
                    epsilon + (n - 2.0 * epsilon) * wins / n
                }
            }));
        refill(&mut self.theta, items, 0.0);
        for &i in &self.present {
            let proportion = self.adjusted_wins[i] / f64::from(counts[i]);
            let start = (proportion + 0.1) / 1.2;
            self.theta[i] = (start / (1.0 - start)).ln();
        }
        centre(&mut self.theta, &self.present);

        self.pass.reset(items, comparisons.len());
        refill(&mut self.previous, items, 0.0);
        self.iterations = 0;
        self.converged = self.present.is_empty();
        while !self.present.is_empty() {
            self.iterations += 1;
            self.pass.evaluate(&self.theta, comparisons);
            let bound = TRIM_DECAY.powi(i32::try_from(self.iterations).unwrap_or(i32::MAX));
            self.previous.copy_from_slice(&self.theta);
            for &i in &self.present {
                let step =
                    (self.adjusted_wins[i] - self.pass.expected[i]) / self.pass.information[i];
                self.theta[i] += step.clamp(-bound, bound);
            }
            centre(&mut self.theta, &self.present);
            let change = self
                .present
                .iter()
                .map(|&i| (self.theta[i] - self.previous[i]).abs())
                .fold(0.0, f64::max);
            // sirt continues while the change exceeds conv; a NaN change (a diverged run)
            // stops without converging.
            let still_moving = change > options.convergence;
            if !still_moving {
                self.converged = !change.is_nan();
                break;
            }
            if self.iterations >= options.max_iterations {
                break;
            }
        }
    }

    /// θ per item after the last [`Iteration::run`] (0 for items without comparisons).
    pub(crate) fn thetas(&self) -> &[f64] {
        &self.theta
    }

    /// Comparisons per item in the last [`Iteration::run`].
    pub(crate) fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// The fit of the last [`Iteration::run`], which was given `comparisons`.
    fn into_fit(self, comparisons: &[Comparison]) -> ReferenceFit {
        let items = self.theta.len();
        let residuals = squared_residuals(items, comparisons, &self.pass.first_wins);
        let fits = (0..items)
            .map(|i| {
                let count = self.counts[i];
                ItemFit {
                    theta: self.theta[i],
                    se: if count > 0 {
                        1.0 / self.pass.information[i].sqrt()
                    } else {
                        f64::INFINITY
                    },
                    infit: residuals.infit(i),
                    outfit: residuals.outfit(i, count),
                    comparisons: count,
                    wins: self.wins[i],
                }
            })
            .collect();
        ReferenceFit {
            items: fits,
            iterations: self.iterations,
            converged: self.converged,
            first_win_probabilities: self.pass.first_wins,
        }
    }
}

/// `values` as `len` copies of `value`, keeping its allocation.
fn refill<T: Copy>(values: &mut Vec<T>, len: usize, value: T) {
    values.clear();
    values.resize(len, value);
}

/// Subtracts the mean over `present` from those items.
fn centre(theta: &mut [f64], present: &[usize]) {
    if present.is_empty() {
        return;
    }
    let mean = present.iter().map(|&i| theta[i]).sum::<f64>() / present.len() as f64;
    for &i in present {
        theta[i] -= mean;
    }
}

/// What one pass evaluates at its start value: per comparison P(first wins), per item the
/// expected wins and the information.
#[derive(Debug, Default)]
struct Pass {
    first_wins: Vec<f64>,
    expected: Vec<f64>,
    information: Vec<f64>,
}

impl Pass {
    /// Sized for `items` items and `comparisons` comparisons (the values are overwritten by
    /// the first [`Pass::evaluate`]).
    fn reset(&mut self, items: usize, comparisons: usize) {
        refill(&mut self.first_wins, comparisons, 0.0);
        refill(&mut self.expected, items, 0.0);
        refill(&mut self.information, items, INFORMATION_FLOOR);
    }

    fn evaluate(&mut self, theta: &[f64], comparisons: &[Comparison]) {
        self.expected.fill(0.0);
        self.information.fill(INFORMATION_FLOOR);
        for (r, comparison) in comparisons.iter().enumerate() {
            let (a, b) = (comparison.first, comparison.second);
            let (first, second) = win_probabilities(theta[a], theta[b]);
            self.first_wins[r] = first;
            self.expected[a] += first;
            self.expected[b] += second;
            let information = first * second;
            self.information[a] += information;
            self.information[b] += information;
        }
    }
}

/// P(a wins) and P(b wins) of abilities `a` and `b`, from one exponential: with
/// w = e^(b − a), P(a wins) = 1/(1 + w) and P(b wins) = w/(1 + w), each to full relative
/// precision (1 − P(a wins) would lose it where P(b wins) is tiny). P(a wins) is bit for bit
/// [`crate::stats::bradley_terry::win_probability`]'s; the exponential is a third of a
/// fit's instructions, and a second one per comparison only rounded P(b wins) differently.
fn win_probabilities(a: f64, b: f64) -> (f64, f64) {
    let odds_against = (b - a).exp();
    let first = 1.0 / (1.0 + odds_against);
    let second = if odds_against == f64::INFINITY {
        1.0
    } else {
        odds_against * first
    };
    (first, second)
}

/// Per-comparison squared standardised residuals and variances, summed per item.
pub(crate) struct Residuals {
    /// Σ z² per item.
    squared: Vec<f64>,
    /// Σ V·z² per item.
    weighted: Vec<f64>,
    /// Σ V per item.
    variance: Vec<f64>,
}

impl Residuals {
    fn infit(&self, item: usize) -> f64 {
        self.weighted[item] / self.variance[item]
    }

    fn outfit(&self, item: usize, comparisons: u32) -> f64 {
        self.squared[item] / f64::from(comparisons)
    }
}

/// The standardised residual of one comparison: (z², V) with V = p(1 − p) and
/// z² = (y − p)²/V, shared by both items of the comparison (as sirt does).
pub(crate) fn residual(comparison: &Comparison, first_wins: f64) -> (f64, f64) {
    let variance = first_wins * (1.0 - first_wins);
    let deviation = comparison.outcome() - first_wins;
    (deviation * deviation / variance, variance)
}

fn squared_residuals(items: usize, comparisons: &[Comparison], first_wins: &[f64]) -> Residuals {
    let mut residuals = Residuals {
        squared: vec![0.0; items],
        weighted: vec![0.0; items],
        variance: vec![0.0; items],
    };
    for (comparison, &p) in comparisons.iter().zip(first_wins) {
        let (z2, v) = residual(comparison, p);
        for item in [comparison.first, comparison.second] {
            residuals.squared[item] += z2;
            residuals.weighted[item] += v * z2;
            residuals.variance[item] += v;
        }
    }
    residuals
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
