//! Split-half reliability: split the judges (at least [`MIN_JUDGES_TO_SPLIT`] of them) or else
//! the comparisons into two random halves, fit each half with the reference estimator, and
//! correlate (Pearson) the two halves' θ over the items present in both; report the median
//! over many splits, raw and Spearman–Brown corrected.
//!
//! The splits are drawn exactly as the meta-analysis drew them, so its `median_split_corr`
//! comes out to the last digit: judges in order of first appearance, split i = 1..N seeded
//! with R's `set.seed(seed + i)` (seed 123 there), half one = `sample.int(n, ⌊n/2⌋)`, each half
//! keeping its rows in the original order. Comparisons without a judge count as one more
//! judge ("unknown"). Splitting comparisons uses the same draw over comparison rows.

use super::r_rng::RRandom;
use super::reference::{Iteration, ReferenceOptions};
use super::reliability::{median, pearson, spearman_brown};
use super::Comparison;
use serde::{Deserialize, Serialize};

/// Random splits per estimate (the meta-analysis's 100).
pub const DEFAULT_SPLITS: usize = 100;
/// The meta-analysis's base seed: split i uses `set.seed(123 + i)`.
pub const DEFAULT_SEED: i32 = 123;
/// At most this many threads share a split-half estimate's splits: a batch's completing
/// command is one of the few CPU-heavy steps on the completion path, and two cores already
/// halve it; more threads only contend with the service's other work.
pub const MAX_SPLIT_THREADS: usize = 2;
/// Fewer judges than this cannot be split into halves that each judge a fair share, so the
/// comparisons are split instead.
pub const MIN_JUDGES_TO_SPLIT: usize = 4;

/// What was split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    Judges,
    Comparisons,
}

/// The split-half estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitHalf {
    /// Median correlation of the halves' θ (no Spearman–Brown), `None` if no split gave one.
    pub median: Option<f64>,
    /// The median stepped up to full length, 2r/(1 + r).
    pub spearman_brown: Option<f64>,
    /// Splits that gave a correlation.
    pub splits: usize,
    pub by: SplitBy,
    /// Every split's correlation, in split order (skipped splits left out).
    #[serde(skip)]
    pub correlations: Vec<f64>,
}

/// Median split-half reliability over `splits` splits seeded from `seed` (see module doc).
pub fn split_half(
    items: usize,
    comparisons: &[Comparison],
    splits: usize,
    seed: i32,
    options: &ReferenceOptions,
) -> SplitHalf {
    let mut judges: Vec<Option<u32>> = Vec::new();
    for comparison in comparisons {
        if !judges.contains(&comparison.judge) {
            judges.push(comparison.judge);
        }
    }
    let by = if judges.len() >= MIN_JUDGES_TO_SPLIT {
        SplitBy::Judges
    } else {
        SplitBy::Comparisons
    };
    let units = match by {
        SplitBy::Judges => judges.len(),
        SplitBy::Comparisons => comparisons.len(),
    };
    let judge_slot = |judge: Option<u32>| judges.iter().position(|j| *j == judge).unwrap_or(0);
    let unit_of: Vec<usize> = match by {
        SplitBy::Judges => comparisons.iter().map(|c| judge_slot(c.judge)).collect(),
        SplitBy::Comparisons => (0..comparisons.len()).collect(),
    };
    // The splits are independent: contiguous runs of them on up to [`MAX_SPLIT_THREADS`]
    // threads, each with one working memory for its 2 × run fits, joined in split order —
    // the same correlations, in the same order, as one thread would give.
    let run_of_splits = |splits: std::ops::RangeInclusive<usize>| -> Vec<Option<f64>> {
        let mut halves = Halves::default();
        let mut in_first = vec![false; units];
        splits
            .map(|i| {
                let split_seed = seed.wrapping_add(i32::try_from(i).unwrap_or(i32::MAX));
                in_first.fill(false);
                for drawn in RRandom::seeded(split_seed).sample_int(units, units / 2) {
                    in_first[drawn - 1] = true;
                }
                halves.correlation(items, comparisons, &unit_of, &in_first, options)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_SPLIT_THREADS)
        .min(splits.max(1));
    let correlations: Vec<f64> = if threads == 1 {
        run_of_splits(1..=splits)
    } else {
        let per_thread = splits.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| (t * per_thread + 1)..=((t + 1) * per_thread).min(splits))
                .map(|run| scope.spawn(|| run_of_splits(run)))
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| match handle.join() {
                    Ok(run) => run,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }
    .into_iter()
    .flatten()
    .collect();
    let median = median(&correlations);
    SplitHalf {
        median,
        spearman_brown: median.map(spearman_brown),
        splits: correlations.len(),
        by,
        correlations,
    }
}

/// The two halves of one split and their fits, kept from split to split so the splits
/// allocate nothing.
#[derive(Default)]
struct Halves {
    first: Vec<Comparison>,
    second: Vec<Comparison>,
    first_fit: Iteration,
    second_fit: Iteration,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl Halves {
    /// Pearson correlation of the two halves' θ over the items both halves fitted, the
    /// comparisons of the units `in_first` (`unit_of` each comparison) forming the first
    /// half, each half keeping the original order.
    fn correlation(
        &mut self,
        items: usize,
        comparisons: &[Comparison],
        unit_of: &[usize],
        in_first: &[bool],
        options: &ReferenceOptions,
    ) -> Option<f64> {
        self.first.clear();
        self.second.clear();
        for (comparison, &unit) in comparisons.iter().zip(unit_of) {
            if in_first[unit] {
                self.first.push(*comparison);
            } else {
                self.second.push(*comparison);
            }
        }
        self.first_fit.run(items, &self.first, options);
        self.second_fit.run(items, &self.second, options);
        let (first, second) = (&self.first_fit, &self.second_fit);
        self.xs.clear();
        self.ys.clear();
        for (((&x, &y), &n_first), &n_second) in first
            .thetas()
            .iter()
            .zip(second.thetas())
            .zip(first.counts())
            .zip(second.counts())
        {
            if n_first > 0 && n_second > 0 {
                self.xs.push(x);
                self.ys.push(y);
            }
        }
        pearson(&self.xs, &self.ys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strict order 0 > 1 > … > 9 judged by `judges` judges, each pair several times, with
    /// one upset per judge so no item is perfectly separated.
    fn ordered_session(judges: u32) -> Vec<Comparison> {
        let mut comparisons = Vec::new();
        for judge in 0..judges {
            for a in 0..10 {
                for b in (a + 1)..10 {
                    let upset = (a + b + judge as usize) % 7 == 0;
                    let (w, l) = if upset { (b, a) } else { (a, b) };
                    comparisons.push(Comparison::decided(w, l).by(judge));
                }
            }
        }
        comparisons
    }

    #[test]
    fn consistent_judges_give_halves_that_agree() {
        let comparisons = ordered_session(6);
        let result = split_half(
            10,
            &comparisons,
            20,
            DEFAULT_SEED,
            &ReferenceOptions::default(),
        );
        assert_eq!(result.by, SplitBy::Judges);
        assert_eq!(result.splits, 20);
        assert!(result.median.unwrap() > 0.9, "{result:?}");
        assert!(result.spearman_brown.unwrap() >= result.median.unwrap());
    }

    #[test]
    fn the_splits_come_out_in_split_order_whatever_threads_share_them() {
        // Split i of a run seeded `seed` is split 1 of a run seeded `seed + i − 1`: each
        // split estimated alone, against all of them at once (7: runs of unequal length).
        let comparisons = ordered_session(6);
        let options = ReferenceOptions::default();
        let together = split_half(10, &comparisons, 7, DEFAULT_SEED, &options);
        let alone: Vec<f64> = (0..7)
            .flat_map(|i| split_half(10, &comparisons, 1, DEFAULT_SEED + i, &options).correlations)
            .collect();
        assert_eq!(together.correlations.len(), 7);
        assert_eq!(together.correlations, alone);
        assert!(
            alone.windows(2).any(|pair| pair[0] != pair[1]),
            "splits differ: the test shows order"
        );
    }

    #[test]
    fn fewer_than_four_judges_split_the_comparisons_reproducibly() {
        let comparisons = ordered_session(2);
        let options = ReferenceOptions::default();
        let once = split_half(10, &comparisons, 10, 7, &options);
        let again = split_half(10, &comparisons, 10, 7, &options);
        assert_eq!(once.by, SplitBy::Comparisons);
        assert_eq!(once, again);
        assert_eq!(once.correlations, again.correlations);
        let other_seed = split_half(10, &comparisons, 10, 8, &options);
        assert_ne!(once.correlations, other_seed.correlations);
    }
}
