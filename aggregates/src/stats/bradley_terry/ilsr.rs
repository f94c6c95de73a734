//! The I-LSR iteration (Maystre & Grossglauser 2015, as choix runs it): each step builds the
//! LSR Markov chain from the current weights and the pair tallies, solves its stationary
//! distribution by Gaussian elimination, and takes its centred logs as the new scores.

use super::tally::PairTally;
use super::{BtError, MAX_ITERATIONS};

/// Convergence threshold per essay on the L1 change of centred scores between iterations
/// (choix's default `tol`; the total change must be at most this times the essay count).
const CONVERGENCE_TOLERANCE_PER_ESSAY: f64 = 1e-8;

pub(super) struct IlsrEstimate {
    pub scores: Vec<f64>,
    pub iterations: u32,
    pub converged: bool,
}

/// Mirrors choix's `_ilsr` with `NormOfDifferenceTest(order=1)`: the first iterate only primes
/// the test, every later one is compared with its predecessor.
pub(super) fn run_ilsr(
    essay_count: usize,
    pairs: &[PairTally],
    alpha: f64,
) -> Result<IlsrEstimate, BtError> {
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
