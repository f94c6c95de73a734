//! Tests of the pair planner, through `try_plan_wave` on a small in-memory batch: the
//! properties every wave keeps (here and in `properties`), then one file per policy.

mod coverage;
mod informative;
mod orientation;
mod properties;
mod requests;
mod settled_anchors;

use super::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

struct Batch {
    essay_count: usize,
    history: Vec<PairRecord>,
    scores: Vec<f64>,
    standard_errors: Vec<f64>,
    boundary_distance: Vec<Option<f64>>,
    settled_anchors: Option<Vec<bool>>,
    coverage_target: usize,
}

impl Batch {
    fn new(essay_count: usize) -> Self {
        Batch {
            essay_count,
            history: Vec::new(),
            scores: vec![0.0; essay_count],
            standard_errors: vec![1.0; essay_count],
            boundary_distance: vec![None; essay_count],
            settled_anchors: None,
            coverage_target: DEFAULT_COVERAGE_TARGET,
        }
    }

    fn request(&self, max_pairs: usize, seed: u64, wave: u32) -> PairingRequest<'_> {
        PairingRequest {
            essay_count: self.essay_count,
            history: &self.history,
            scores: &self.scores,
            standard_errors: &self.standard_errors,
            boundary_distance: &self.boundary_distance,
            settled_anchors: self.settled_anchors.as_deref(),
            coverage_target: self.coverage_target,
            max_pairs,
            seed,
            wave,
        }
    }

    fn plan(&self, max_pairs: usize, seed: u64, wave: u32) -> Vec<PlannedPair> {
        try_plan_wave(&self.request(max_pairs, seed, wave)).unwrap()
    }

    fn feed(&mut self, wave: &[PlannedPair], status: PairStatus) {
        self.history.extend(wave.iter().map(|p| PairRecord {
            essay_a: p.essay_a,
            essay_b: p.essay_b,
            status,
        }));
    }

    /// Adds a succeeded comparison that showed `essay_a` first.
    fn compared(&mut self, essay_a: usize, essay_b: usize) {
        self.history.push(PairRecord {
            essay_a,
            essay_b,
            status: PairStatus::Succeeded,
        });
    }

    fn compare_all_pairs_once(&mut self) {
        for i in 0..self.essay_count {
            for j in i + 1..self.essay_count {
                self.compared(i, j);
            }
        }
    }
}

fn unordered(pair: &PlannedPair) -> (usize, usize) {
    (
        pair.essay_a.min(pair.essay_b),
        pair.essay_a.max(pair.essay_b),
    )
}

fn assert_wave_well_formed(wave: &[PlannedPair], essay_count: usize, max_pairs: usize) {
    assert!(
        wave.len() <= max_pairs,
        "{} pairs for max {max_pairs}",
        wave.len()
    );
    let mut seen = HashSet::new();
    for pair in wave {
        assert_ne!(pair.essay_a, pair.essay_b, "essay paired with itself");
        assert!(pair.essay_a < essay_count && pair.essay_b < essay_count);
        assert!(
            seen.insert(unordered(pair)),
            "pair {pair:?} twice in one wave"
        );
    }
}

fn random_history(essay_count: usize, records: usize, rng: &mut ChaCha8Rng) -> Vec<PairRecord> {
    (0..records)
        .map(|_| {
            let a = rng.gen_range(0..essay_count);
            let b = (a + rng.gen_range(1..essay_count)) % essay_count;
            let status = match rng.gen_range(0..3) {
                0 => PairStatus::Pending,
                1 => PairStatus::Succeeded,
                _ => PairStatus::Failed,
            };
            PairRecord {
                essay_a: a,
                essay_b: b,
                status,
            }
        })
        .collect()
}
