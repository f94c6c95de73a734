//! The planner's ledger: per essay its comparisons, A/B positions and never-met partners,
//! and per pair a tally, over the history plus the pairs planned so far in this wave. Every
//! other part of the planner reads counts from here; the tables are dense (n² pair tallies,
//! which is why [`MAX_ESSAYS`](super::MAX_ESSAYS) bounds n).

use super::{counts_as_comparison, PairRecord};

/// What the history, plus the pairs planned so far in this wave, says about one pair.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PairTally {
    /// Appears anywhere in the history (any status) or in this wave.
    pub(super) met: bool,
    pub(super) in_wave: bool,
    /// Pending + succeeded comparisons, this wave included.
    pub(super) times: u32,
    /// Times the lower-numbered essay was A minus times the higher-numbered one was.
    pub(super) lower_first_surplus: i32,
}

/// Counts per essay and per pair over the history and the wave being planned.
pub(super) struct Ledger {
    pub(super) essay_count: usize,
    pub(super) comparisons: Vec<u32>,
    positions: Vec<(u32, u32)>,
    unmet_partners: Vec<usize>,
    pairs: Vec<PairTally>,
}

impl Ledger {
    pub(super) fn from_history(essay_count: usize, history: &[PairRecord]) -> Self {
        let mut ledger = Ledger {
            essay_count,
            comparisons: vec![0; essay_count],
            positions: vec![(0, 0); essay_count],
            unmet_partners: vec![essay_count - 1; essay_count],
            pairs: vec![PairTally::default(); essay_count * essay_count],
        };
        for record in history {
            ledger.mark_met(record.essay_a, record.essay_b);
            if counts_as_comparison(record.status) {
                ledger.count_comparison(record.essay_a, record.essay_b);
            }
        }
        ledger
    }

    fn slot(&self, i: usize, j: usize) -> usize {
        i.min(j) * self.essay_count + i.max(j)
    }

    pub(super) fn tally(&self, i: usize, j: usize) -> PairTally {
        self.pairs[self.slot(i, j)]
    }

    fn mark_met(&mut self, i: usize, j: usize) {
        let slot = self.slot(i, j);
        if !self.pairs[slot].met {
            self.pairs[slot].met = true;
            self.unmet_partners[i] -= 1;
            self.unmet_partners[j] -= 1;
        }
    }

    fn count_comparison(&mut self, essay_a: usize, essay_b: usize) {
        self.comparisons[essay_a] += 1;
        self.comparisons[essay_b] += 1;
        self.positions[essay_a].0 += 1;
        self.positions[essay_b].1 += 1;
        let slot = self.slot(essay_a, essay_b);
        let tally = &mut self.pairs[slot];
        tally.times += 1;
        tally.lower_first_surplus += if essay_a < essay_b { 1 } else { -1 };
    }

    /// Adds a pair planned in this wave.
    pub(super) fn record(&mut self, essay_a: usize, essay_b: usize) {
        self.mark_met(essay_a, essay_b);
        self.count_comparison(essay_a, essay_b);
        let slot = self.slot(essay_a, essay_b);
        self.pairs[slot].in_wave = true;
    }

    /// B count − A count: how much an essay is owed position A.
    pub(super) fn a_position_owed(&self, essay: usize) -> i64 {
        let (a, b) = self.positions[essay];
        i64::from(b) - i64::from(a)
    }

    pub(super) fn needs_coverage(&self, essay: usize, coverage_target: usize) -> bool {
        (self.comparisons[essay] as usize) < coverage_target && self.unmet_partners[essay] > 0
    }
}
