//! Bradley–Terry scores for comparative judgement: fits one ability (in logits) per essay from
//! pairwise outcomes, with a standard error per essay and the scale separation reliability.
//!
//! The estimator is iterative Luce Spectral Ranking (I-LSR, Maystre & Grossglauser 2015) with
//! the regularisation convention of the `choix` Python library: `fit(n, outcomes, alpha)`
//! reproduces `choix.ilsr_pairwise(n, data, alpha)` to 1e-6 (see `scripts/crosscheck_choix.py`).
//! Each iteration builds the LSR Markov chain from the current weights, solves its stationary
//! distribution with a dense linear solve, and takes centred logs of it as the new scores.
//!
//! Input contract: the caller passes only decided comparisons. Comparisons that errored or are
//! still pending must be left out; repeated pairs are legitimate and count every time.

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

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

/// Convergence threshold per essay on the L1 change of centred scores between iterations
/// (choix's default `tol`; the total change must be at most this times the essay count).
const CONVERGENCE_TOLERANCE_PER_ESSAY: f64 = 1e-8;

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
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(BtError::InvalidAlpha { alpha });
    }
    validate_outcomes(essay_count, outcomes)?;
    let comparison_counts = count_comparisons(essay_count, outcomes);
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
    let pairs = tally_pairs(essay_count, outcomes);
    if alpha == 0.0 && !loss_graph_is_strongly_connected(essay_count, &pairs) {
        return Err(BtError::NotIdentifiable);
    }
    let estimate = run_ilsr(essay_count, &pairs, alpha)?;
    if !estimate.converged {
        tracing::warn!(
            essay_count,
            comparisons = outcomes.len(),
            alpha,
            "Bradley–Terry I-LSR did not converge in {MAX_ITERATIONS} iterations"
        );
    }
    let standard_errors = standard_errors(&estimate.scores, &pairs, &comparison_counts);
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

/// Never overflows into NaN: a large negative argument gives 1/∞ = 0.
fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn validate_outcomes(essay_count: usize, outcomes: &[Outcome]) -> Result<(), BtError> {
    for (outcome_index, outcome) in outcomes.iter().enumerate() {
        for essay in [outcome.winner, outcome.loser] {
            if essay >= essay_count {
                return Err(BtError::EssayOutOfRange {
                    outcome_index,
                    essay,
                    essay_count,
                });
            }
        }
        if outcome.winner == outcome.loser {
            return Err(BtError::SelfComparison {
                outcome_index,
                essay: outcome.winner,
            });
        }
    }
    Ok(())
}

fn count_comparisons(essay_count: usize, outcomes: &[Outcome]) -> Vec<u32> {
    let mut counts = vec![0_u32; essay_count];
    for outcome in outcomes {
        counts[outcome.winner] = counts[outcome.winner].saturating_add(1);
        counts[outcome.loser] = counts[outcome.loser].saturating_add(1);
    }
    counts
}

/// How often `winner` beat `loser`; repeats are folded so each iteration touches every
/// distinct ordered pair once.
#[derive(Debug, Clone, Copy)]
struct PairTally {
    winner: usize,
    loser: usize,
    wins: f64,
}

fn tally_pairs(essay_count: usize, outcomes: &[Outcome]) -> Vec<PairTally> {
    let mut keys: Vec<(usize, usize)> = outcomes.iter().map(|o| (o.winner, o.loser)).collect();
    keys.sort_unstable();
    let mut pairs: Vec<PairTally> = Vec::with_capacity(keys.len().min(essay_count * essay_count));
    for (winner, loser) in keys {
        match pairs.last_mut() {
            Some(last) if last.winner == winner && last.loser == loser => last.wins += 1.0,
            _ => pairs.push(PairTally {
                winner,
                loser,
                wins: 1.0,
            }),
        }
    }
    pairs
}

/// Without regularisation the chain moves only from loser to winner; it has a unique, fully
/// supported stationary distribution exactly when that graph is strongly connected.
fn loss_graph_is_strongly_connected(essay_count: usize, pairs: &[PairTally]) -> bool {
    let forward: Vec<(usize, usize)> = pairs.iter().map(|p| (p.loser, p.winner)).collect();
    let backward: Vec<(usize, usize)> = pairs.iter().map(|p| (p.winner, p.loser)).collect();
    reaches_everyone(essay_count, &forward) && reaches_everyone(essay_count, &backward)
}

fn reaches_everyone(essay_count: usize, edges: &[(usize, usize)]) -> bool {
    let mut neighbours = vec![Vec::new(); essay_count];
    for &(from, to) in edges {
        neighbours[from].push(to);
    }
    let mut seen = vec![false; essay_count];
    let mut stack = vec![0];
    seen[0] = true;
    while let Some(essay) = stack.pop() {
        for &next in &neighbours[essay] {
            if !seen[next] {
                seen[next] = true;
                stack.push(next);
            }
        }
    }
    seen.into_iter().all(|reached| reached)
}

struct IlsrEstimate {
    scores: Vec<f64>,
    iterations: u32,
    converged: bool,
}

/// Mirrors choix's `_ilsr` with `NormOfDifferenceTest(order=1)`: the first iterate only primes
/// the test, every later one is compared with its predecessor.
fn run_ilsr(essay_count: usize, pairs: &[PairTally], alpha: f64) -> Result<IlsrEstimate, BtError> {
    let mut chain = LsrChain::new(essay_count);
    let mut scores = vec![0.0; essay_count];
    let mut previous = vec![0.0; essay_count];
    let tolerance = CONVERGENCE_TOLERANCE_PER_ESSAY * essay_count as f64;
    for iteration in 1..=MAX_ITERATIONS {
        chain.estimate(pairs, alpha, &mut scores)?;
        if iteration > 1 {
            let change: f64 = scores
                .iter()
                .zip(&previous)
                .map(|(a, b)| (a - b).abs())
                .sum();
            if change <= tolerance {
                return Ok(IlsrEstimate {
                    scores,
                    iterations: iteration,
                    converged: true,
                });
            }
        }
        chain.adopt_weights(&scores);
        previous.copy_from_slice(&scores);
    }
    Ok(IlsrEstimate {
        scores,
        iterations: MAX_ITERATIONS,
        converged: false,
    })
}

/// Buffers for one LSR step, allocated once per fit.
///
/// The stationary distribution π of the chain (rate matrix Q) solves Qᵀπ = 0. Those n equations
/// are dependent (Q's rows sum to 0), so the last is dropped and π_last fixed at 1: the rest is
/// an (n−1)-square system `A x = b` with A = Qᵀ minus its last row and column, b = −(last column).
/// A is column diagonally dominant (strictly so when alpha > 0) and a nonsingular M-matrix when
/// alpha = 0 on a strongly connected graph, so elimination needs no pivoting to be stable.
struct LsrChain {
    essay_count: usize,
    weights: Vec<f64>,
    /// Row-major (n−1)² matrix A.
    system: Vec<f64>,
    /// b on entry to the solve, x after it.
    solution: Vec<f64>,
}

impl LsrChain {
    fn new(essay_count: usize) -> Self {
        let reduced = essay_count.saturating_sub(1);
        Self {
            essay_count,
            weights: vec![1.0; essay_count],
            system: vec![0.0; reduced * reduced],
            solution: vec![0.0; reduced],
        }
    }

    /// One LSR step: writes the centred log stationary distribution into `scores`.
    fn estimate(
        &mut self,
        pairs: &[PairTally],
        alpha: f64,
        scores: &mut [f64],
    ) -> Result<(), BtError> {
        self.build_system(pairs, alpha);
        solve_without_pivoting(self.essay_count - 1, &mut self.system, &mut self.solution)?;
        let masses = self.solution.iter().chain(std::iter::once(&1.0));
        for (score, &mass) in scores.iter_mut().zip(masses) {
            if !(mass.is_finite() && mass > 0.0) {
                return Err(BtError::NotIdentifiable);
            }
            *score = mass.ln();
        }
        centre(scores);
        Ok(())
    }

    /// Fills A and b from Q: `alpha` between every pair of essays, plus 1/(w_winner + w_loser)
    /// from loser to winner per comparison, each diagonal making its row of Q sum to zero.
    fn build_system(&mut self, pairs: &[PairTally], alpha: f64) {
        let last = self.essay_count - 1;
        self.system.fill(alpha);
        let self_rate = -alpha * last as f64;
        for essay in 0..last {
            self.system[essay * last + essay] = self_rate;
        }
        self.solution.fill(-alpha);
        for pair in pairs {
            let rate = pair.wins / (self.weights[pair.winner] + self.weights[pair.loser]);
            // Q[loser][winner] += rate is A[winner][loser] (or −b[winner] when the loser is the
            // fixed essay); Q[loser][loser] -= rate is A[loser][loser]. Entries in the dropped
            // row (winner = last) or column of A (loser = last, diagonal) are not needed.
            if pair.winner < last {
                if pair.loser < last {
                    self.system[pair.winner * last + pair.loser] += rate;
                } else {
                    self.solution[pair.winner] -= rate;
                }
            }
            if pair.loser < last {
                self.system[pair.loser * last + pair.loser] -= rate;
            }
        }
    }

    /// choix's `exp_transform`: weights exp(θ − mean θ), rescaled to sum to the essay count.
    /// The scale matters because `alpha` does not scale with the weights.
    fn adopt_weights(&mut self, scores: &[f64]) {
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        for (weight, &score) in self.weights.iter_mut().zip(scores) {
            *weight = (score - mean).exp();
        }
        let scale = self.essay_count as f64 / self.weights.iter().sum::<f64>();
        for weight in &mut self.weights {
            *weight *= scale;
        }
    }
}

fn centre(values: &mut [f64]) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    for value in values {
        *value -= mean;
    }
}

/// Pivot rows eliminated together: each pass over a lower row applies this many of them, which
/// cuts the loads and stores of the O(n³) update roughly fourfold.
const ELIMINATION_BLOCK: usize = 4;

/// Gaussian elimination without pivoting on a row-major `size × size` matrix (see [`LsrChain`]
/// for why that is stable here); `rhs` becomes the solution. In place and allocation-free
/// because it runs once per iteration.
fn solve_without_pivoting(size: usize, matrix: &mut [f64], rhs: &mut [f64]) -> Result<(), BtError> {
    let mut block_start = 0;
    while block_start < size {
        let block_end = (block_start + ELIMINATION_BLOCK).min(size);
        eliminate_within_block(size, block_start, block_end, matrix, rhs)?;
        let (through_block, below_block) = matrix.split_at_mut(block_end * size);
        let pivot_rows = &through_block[block_start * size..];
        let (pivot_rhs, rhs_below) = rhs.split_at_mut(block_end);
        let pivot_rhs = &pivot_rhs[block_start..];
        for (row, row_rhs) in below_block.chunks_exact_mut(size).zip(rhs_below.iter_mut()) {
            let mut factors = [0.0; ELIMINATION_BLOCK];
            for (t, column) in (block_start..block_end).enumerate() {
                let eliminated: f64 = (0..t)
                    .map(|u| factors[u] * pivot_rows[u * size + column])
                    .sum();
                factors[t] = (row[column] - eliminated) / pivot_rows[t * size + column];
                *row_rhs -= factors[t] * pivot_rhs[t];
            }
            subtract_pivot_rows(&mut row[block_end..], pivot_rows, size, block_end, &factors);
        }
        block_start = block_end;
    }
    for row in (0..size).rev() {
        let coefficients = &matrix[row * size + row + 1..(row + 1) * size];
        let known: f64 = coefficients
            .iter()
            .zip(&rhs[row + 1..])
            .map(|(a, x)| a * x)
            .sum();
        rhs[row] = (rhs[row] - known) / matrix[row * size + row];
    }
    Ok(())
}

/// Turns the block's own rows into rows of U (zero below the block's diagonal in its columns).
fn eliminate_within_block(
    size: usize,
    block_start: usize,
    block_end: usize,
    matrix: &mut [f64],
    rhs: &mut [f64],
) -> Result<(), BtError> {
    for column in block_start..block_end {
        let pivot = matrix[column * size + column];
        if !(pivot.is_finite() && pivot != 0.0) {
            return Err(BtError::NotIdentifiable);
        }
        let (through_pivot, after_pivot) = matrix.split_at_mut((column + 1) * size);
        let pivot_tail = &through_pivot[column * size + column + 1..];
        for (offset, row) in after_pivot[..(block_end - column - 1) * size]
            .chunks_exact_mut(size)
            .enumerate()
        {
            let factor = row[column] / pivot;
            for (entry, &above) in row[column + 1..].iter_mut().zip(pivot_tail) {
                *entry -= factor * above;
            }
            rhs[column + 1 + offset] -= factor * rhs[column];
        }
    }
    Ok(())
}

/// `target −= Σ factors[t] · pivot_row_t`, over the columns right of the block. Rows lie below
/// a block only when it is a full one (a narrower block ends the matrix), so all four apply.
fn subtract_pivot_rows(
    target: &mut [f64],
    pivot_rows: &[f64],
    size: usize,
    block_end: usize,
    factors: &[f64; ELIMINATION_BLOCK],
) {
    let width = target.len();
    let row = |t: usize| &pivot_rows[t * size + block_end..][..width];
    let [f0, f1, f2, f3] = *factors;
    let lanes = target
        .iter_mut()
        .zip(row(0))
        .zip(row(1))
        .zip(row(2))
        .zip(row(3));
    for ((((entry, &a), &b), &c), &d) in lanes {
        *entry -= f0 * a + f1 * b + f2 * c + f3 * d;
    }
}

/// SE of every score from the Fisher information at the fit, identified by sum-to-zero through
/// the Moore–Penrose pseudo-inverse.
///
/// The information matrix is block-diagonal over groups of essays joined by informative
/// comparisons, and the pseudo-inverse of a block matrix is the block matrix of pseudo-inverses,
/// so each group is inverted on its own. Within a connected group of size k the kernel is exactly
/// the constant vector, so pinv(I) = (I + J/k)⁻¹ − J/k (J all ones) — exact, with no eigenvalue
/// cut-off to tune. Essays alone in their group (never compared, or only against opponents so far
/// away that the information underflows) get [`UNIDENTIFIED_STANDARD_ERROR`].
fn standard_errors(scores: &[f64], pairs: &[PairTally], comparison_counts: &[u32]) -> Vec<f64> {
    let mut standard_errors = vec![UNIDENTIFIED_STANDARD_ERROR; scores.len()];
    let links: Vec<InformationLink> = pairs
        .iter()
        .map(|pair| {
            let win = win_probability(scores[pair.winner], scores[pair.loser]);
            InformationLink {
                a: pair.winner,
                b: pair.loser,
                information: pair.wins * win * (1.0 - win),
            }
        })
        .filter(|link| link.information > 0.0)
        .collect();
    for group in information_groups(scores.len(), &links) {
        if group.members.len() < 2 {
            continue;
        }
        match group_variances(&group) {
            Some(variances) => {
                for (&essay, variance) in group.members.iter().zip(variances) {
                    if variance.is_finite() && variance > 0.0 && comparison_counts[essay] > 0 {
                        standard_errors[essay] = variance.sqrt();
                    }
                }
            }
            None => tracing::warn!(
                size = group.members.len(),
                "Bradley–Terry information block is numerically singular; using the unidentified SE"
            ),
        }
    }
    standard_errors
}

/// Fisher information one distinct pair contributes: wins · p · (1 − p).
#[derive(Debug, Clone, Copy)]
struct InformationLink {
    a: usize,
    b: usize,
    information: f64,
}

/// Essays joined (directly or not) by informative links, with those links re-indexed to
/// positions within the group.
struct InformationGroup {
    members: Vec<usize>,
    links: Vec<InformationLink>,
}

fn information_groups(essay_count: usize, links: &[InformationLink]) -> Vec<InformationGroup> {
    let mut neighbours = vec![Vec::new(); essay_count];
    for link in links {
        neighbours[link.a].push(link.b);
        neighbours[link.b].push(link.a);
    }
    const UNASSIGNED: usize = usize::MAX;
    let mut group_of = vec![UNASSIGNED; essay_count];
    let mut position_of = vec![0_usize; essay_count];
    let mut groups: Vec<InformationGroup> = Vec::new();
    for start in 0..essay_count {
        if group_of[start] != UNASSIGNED {
            continue;
        }
        let group_index = groups.len();
        let mut members = vec![start];
        group_of[start] = group_index;
        let mut next_to_visit = 0;
        while let Some(&essay) = members.get(next_to_visit) {
            next_to_visit += 1;
            for &neighbour in &neighbours[essay] {
                if group_of[neighbour] == UNASSIGNED {
                    group_of[neighbour] = group_index;
                    members.push(neighbour);
                }
            }
        }
        for (position, &essay) in members.iter().enumerate() {
            position_of[essay] = position;
        }
        groups.push(InformationGroup {
            members,
            links: Vec::new(),
        });
    }
    for link in links {
        groups[group_of[link.a]].links.push(InformationLink {
            a: position_of[link.a],
            b: position_of[link.b],
            information: link.information,
        });
    }
    groups
}

/// Diagonal of the pseudo-inverse of one connected group's information matrix, or `None` when
/// the block is too ill-conditioned to factorise.
fn group_variances(group: &InformationGroup) -> Option<Vec<f64>> {
    let size = group.members.len();
    let kernel_weight = 1.0 / size as f64;
    // Adding J/k fills the kernel (the constant vector) with eigenvalue 1, making the block
    // positive definite; subtracting J/k afterwards removes it again.
    let mut information = DMatrix::from_element(size, size, kernel_weight);
    for link in &group.links {
        information[(link.a, link.a)] += link.information;
        information[(link.b, link.b)] += link.information;
        information[(link.a, link.b)] -= link.information;
        information[(link.b, link.a)] -= link.information;
    }
    let diagonal = inverse_diagonal(information)?;
    Some(diagonal.into_iter().map(|d| d - kernel_weight).collect())
}

/// Diagonal of the inverse of a symmetric positive definite matrix, or `None` if Cholesky fails.
/// With M = LLᵀ, (M⁻¹)_ii = ‖L⁻¹ e_i‖², and L⁻¹ e_i is zero above row i, so this costs n³/6
/// instead of the n³ of a full inverse.
fn inverse_diagonal(matrix: DMatrix<f64>) -> Option<Vec<f64>> {
    let size = matrix.nrows();
    let lower = matrix.cholesky()?.unpack();
    let lower = lower.as_slice(); // column-major: column j is lower[j * size..(j + 1) * size]
    let mut solution = vec![0.0; size];
    let diagonal = (0..size)
        .map(|i| {
            solution[i..].fill(0.0);
            solution[i] = 1.0;
            for j in i..size {
                let value = solution[j] / lower[j * size + j];
                solution[j] = value;
                let column_below = &lower[j * size + j + 1..(j + 1) * size];
                for (entry, &l) in solution[j + 1..].iter_mut().zip(column_below) {
                    *entry -= value * l;
                }
            }
            solution[i..].iter().map(|y| y * y).sum()
        })
        .collect();
    Some(diagonal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference values agree with choix to this many logits.
    const CHOIX_TOLERANCE: f64 = 1e-6;

    fn outcomes(pairs: &[(usize, usize)]) -> Vec<Outcome> {
        pairs
            .iter()
            .map(|&(winner, loser)| Outcome { winner, loser })
            .collect()
    }

    fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
        assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() <= tolerance, "{actual:?} vs {expected:?}");
        }
    }

    fn fitted(essay_count: usize, pairs: &[(usize, usize)]) -> BtFit {
        fit(essay_count, &outcomes(pairs), DEFAULT_ALPHA).expect("valid input fits")
    }

    #[test]
    fn two_essays_three_wins_of_four_match_choix() {
        let fit = fitted(2, &[(0, 1), (0, 1), (0, 1), (1, 0)]);
        assert_close(&fit.scores, &[0.542727, -0.542727], CHOIX_TOLERANCE);
        assert!(fit.converged);
    }

    #[test]
    fn round_robin_where_higher_index_always_wins_matches_choix() {
        let pairs: Vec<(usize, usize)> = (0..4)
            .flat_map(|low| (low + 1..4).map(move |high| (high, low)))
            .collect();
        let fit = fitted(4, &pairs);
        assert_close(
            &fit.scores,
            &[-4.316787, -1.054058, 1.562342, 3.808503],
            CHOIX_TOLERANCE,
        );
    }

    #[test]
    fn cycle_with_one_repeat_matches_choix() {
        let fit = fitted(3, &[(0, 1), (1, 2), (2, 0), (0, 1)]);
        assert_close(
            &fit.scores,
            &[0.407573, -0.409713, 0.002141],
            CHOIX_TOLERANCE,
        );
    }

    #[test]
    fn iteration_count_follows_choix_first_iterate_only_primes_the_test() {
        // Two essays: the weights always sum to 2, so every iterate equals the first and
        // choix stops at the second.
        assert_eq!(fitted(2, &[(0, 1)]).iterations, 2);
    }

    #[test]
    fn repeated_pairs_count_every_time() {
        let once = fitted(2, &[(0, 1), (1, 0)]);
        let repeated = fitted(2, &[(0, 1), (0, 1), (0, 1), (1, 0)]);
        assert_close(&once.scores, &[0.0, 0.0], 1e-12);
        assert!(repeated.scores[0] > 0.5);
        assert_eq!(repeated.comparison_counts, vec![4, 4]);
    }

    #[test]
    fn no_essays_give_an_empty_fit() {
        let fit = fitted(0, &[]);
        assert!(fit.scores.is_empty() && fit.standard_errors.is_empty());
        assert_eq!(fit.ssr(), None);
    }

    #[test]
    fn one_essay_sits_at_zero_with_the_unidentified_se() {
        let fit = fitted(1, &[]);
        assert_eq!(fit.scores, vec![0.0]);
        assert_eq!(fit.standard_errors, vec![UNIDENTIFIED_STANDARD_ERROR]);
        assert_eq!(fit.ranks(), vec![1]);
    }

    #[test]
    fn uncompared_essay_gets_the_unidentified_se_and_others_do_not() {
        let fit = fitted(3, &[(0, 1), (1, 0), (0, 1)]);
        assert_eq!(fit.standard_errors[2], UNIDENTIFIED_STANDARD_ERROR);
        assert_eq!(fit.comparison_counts, vec![3, 3, 0]);
        for se in &fit.standard_errors[..2] {
            assert!(se.is_finite() && *se > 0.0 && *se < UNIDENTIFIED_STANDARD_ERROR);
        }
    }

    #[test]
    fn out_of_range_essay_is_rejected() {
        let error = fit(2, &outcomes(&[(0, 1), (2, 0)]), DEFAULT_ALPHA).unwrap_err();
        assert_eq!(
            error,
            BtError::EssayOutOfRange {
                outcome_index: 1,
                essay: 2,
                essay_count: 2
            }
        );
    }

    #[test]
    fn self_comparison_is_rejected() {
        let error = fit(2, &outcomes(&[(1, 1)]), DEFAULT_ALPHA).unwrap_err();
        assert_eq!(
            error,
            BtError::SelfComparison {
                outcome_index: 0,
                essay: 1
            }
        );
    }

    #[test]
    fn alpha_must_be_finite_and_non_negative() {
        for alpha in [-0.1, f64::NAN, f64::INFINITY] {
            let error = fit(2, &outcomes(&[(0, 1)]), alpha).unwrap_err();
            assert!(matches!(error, BtError::InvalidAlpha { .. }), "{alpha}");
        }
    }

    #[test]
    fn zero_alpha_refuses_a_graph_that_is_not_strongly_connected() {
        let one_way = outcomes(&[(0, 1), (1, 2)]);
        assert_eq!(fit(3, &one_way, 0.0), Err(BtError::NotIdentifiable));
        let with_stranger = outcomes(&[(0, 1), (1, 0)]);
        assert_eq!(fit(3, &with_stranger, 0.0), Err(BtError::NotIdentifiable));
    }

    #[test]
    fn zero_alpha_fits_the_maximum_likelihood_on_a_strongly_connected_graph() {
        // Unregularised ML for two essays: θ0 − θ1 = ln(wins ratio) = ln 3.
        let fit = fit(2, &outcomes(&[(0, 1), (0, 1), (0, 1), (1, 0)]), 0.0).unwrap();
        assert_close(&fit.scores, &[3f64.ln() / 2.0, -(3f64.ln()) / 2.0], 1e-9);
    }

    #[test]
    fn perfect_separation_still_gives_finite_scores_and_errors() {
        let champion_beats_all: Vec<(usize, usize)> =
            (1..6).flat_map(|loser| [(0, loser), (0, loser)]).collect();
        let fit = fitted(6, &champion_beats_all);
        assert!(fit.scores[0] > fit.scores[1]);
        for (score, se) in fit.scores.iter().zip(&fit.standard_errors) {
            assert!(score.is_finite() && se.is_finite() && *se > 0.0);
        }
    }

    #[test]
    fn vanishing_alpha_with_perfect_separation_errs_or_stays_finite() {
        match fit(3, &outcomes(&[(0, 1), (1, 2), (0, 2)]), 1e-300) {
            Err(error) => assert_eq!(error, BtError::NotIdentifiable),
            Ok(fit) => assert!(fit
                .scores
                .iter()
                .chain(&fit.standard_errors)
                .all(|v| v.is_finite())),
        }
    }

    #[test]
    fn standard_errors_equal_the_pseudo_inverse_of_the_fisher_information() {
        // Two components ({0,1,2} and {3,4}) plus an essay never compared (5).
        let pairs = [(0, 1), (1, 2), (2, 0), (0, 2), (3, 4), (4, 3), (3, 4)];
        let fit = fitted(6, &pairs);
        let compared = 5;
        let mut information = DMatrix::<f64>::zeros(compared, compared);
        for &(winner, loser) in &pairs {
            let p = win_probability(fit.scores[winner], fit.scores[loser]);
            let q = p * (1.0 - p);
            information[(winner, winner)] += q;
            information[(loser, loser)] += q;
            information[(winner, loser)] -= q;
            information[(loser, winner)] -= q;
        }
        let pseudo_inverse = information.pseudo_inverse(1e-12).unwrap();
        let expected: Vec<f64> = (0..compared)
            .map(|i| pseudo_inverse[(i, i)].sqrt())
            .collect();
        assert_close(&fit.standard_errors[..compared], &expected, 1e-10);
        assert_eq!(fit.standard_errors[5], UNIDENTIFIED_STANDARD_ERROR);
    }

    #[test]
    fn scale_separation_reliability_is_true_variance_share() {
        // var = 1, mean SE² = 0.25.
        let ssr = scale_separation_reliability(&[-1.0, 1.0], &[0.5, 0.5]).unwrap();
        assert!((ssr - 0.75).abs() < 1e-12);
    }

    #[test]
    fn scale_separation_reliability_needs_two_essays_and_spread() {
        assert_eq!(scale_separation_reliability(&[0.3], &[0.1]), None);
        assert_eq!(scale_separation_reliability(&[0.3, 0.3], &[0.1, 0.1]), None);
        assert_eq!(scale_separation_reliability(&[0.3, 0.1], &[0.1]), None);
    }

    #[test]
    fn ranks_put_the_best_first_and_break_ties_by_index() {
        let fit = BtFit {
            scores: vec![0.5, 1.0, 0.5, -2.0],
            standard_errors: vec![1.0; 4],
            comparison_counts: vec![1; 4],
            iterations: 1,
            converged: true,
        };
        assert_eq!(fit.ranks(), vec![2, 1, 3, 4]);
    }

    #[test]
    fn win_probability_is_logistic_and_saturates_without_nan() {
        assert!((win_probability(1.0, 1.0) - 0.5).abs() < 1e-15);
        assert!((win_probability(1.0, 0.0) - 1.0 / (1.0 + (-1f64).exp())).abs() < 1e-15);
        assert_eq!(win_probability(-1e6, 1e6), 0.0);
        assert_eq!(win_probability(1e6, -1e6), 1.0);
    }

    /// An essay count with comparisons between distinct essays among them.
    fn comparison_graph() -> impl Strategy<Value = (usize, Vec<Outcome>)> {
        (2_usize..10).prop_flat_map(|essay_count| {
            let outcome =
                (0..essay_count, 1..essay_count).prop_map(move |(winner, offset)| Outcome {
                    winner,
                    loser: (winner + offset) % essay_count,
                });
            (Just(essay_count), prop::collection::vec(outcome, 0..40))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn relabelling_essays_relabels_their_scores(
            (essay_count, graph, relabel) in comparison_graph().prop_flat_map(|(essay_count, graph)| {
                let relabel = Just((0..essay_count).collect::<Vec<usize>>()).prop_shuffle();
                (Just(essay_count), Just(graph), relabel)
            }),
        ) {
            let relabelled: Vec<Outcome> = graph
                .iter()
                .map(|o| Outcome { winner: relabel[o.winner], loser: relabel[o.loser] })
                .collect();
            let original = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
            let moved = fit(essay_count, &relabelled, DEFAULT_ALPHA).unwrap();
            for (essay, &new_label) in relabel.iter().enumerate() {
                prop_assert!((original.scores[essay] - moved.scores[new_label]).abs() < 1e-6);
                let se_change = original.standard_errors[essay] - moved.standard_errors[new_label];
                prop_assert!(se_change.abs() < 1e-5);
            }
        }

        #[test]
        fn scores_are_centred((essay_count, graph) in comparison_graph()) {
            let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
            let mean = fit.scores.iter().sum::<f64>() / essay_count as f64;
            prop_assert!(mean.abs() < 1e-12);
        }

        #[test]
        fn adding_a_win_never_lowers_the_winner(
            (essay_count, graph) in comparison_graph(),
            winner_pick in any::<prop::sample::Index>(),
            offset_pick in any::<prop::sample::Index>(),
        ) {
            let winner = winner_pick.index(essay_count);
            let loser = (winner + 1 + offset_pick.index(essay_count - 1)) % essay_count;
            let before = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
            let mut more = graph.clone();
            more.push(Outcome { winner, loser });
            let after = fit(essay_count, &more, DEFAULT_ALPHA).unwrap();
            prop_assert!(after.scores[winner] >= before.scores[winner] - 1e-7);
        }

        #[test]
        fn every_standard_error_is_positive_and_finite((essay_count, graph) in comparison_graph()) {
            let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
            prop_assert!(fit.standard_errors.iter().all(|se| se.is_finite() && *se > 0.0));
        }

        #[test]
        fn scale_separation_reliability_never_exceeds_one((essay_count, graph) in comparison_graph()) {
            let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
            if let Some(ssr) = fit.ssr() {
                prop_assert!(ssr <= 1.0);
            }
        }
    }
}
