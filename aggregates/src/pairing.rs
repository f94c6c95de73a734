//! STUB — replaced by the real planner.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairStatus {
    Pending,
    Succeeded,
    Failed,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairRecord {
    pub essay_a: usize,
    pub essay_b: usize,
    pub status: PairStatus,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairPurpose {
    Coverage,
    Informative,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPair {
    pub essay_a: usize,
    pub essay_b: usize,
    pub purpose: PairPurpose,
}
pub struct PairingRequest<'a> {
    pub essay_count: usize,
    pub history: &'a [PairRecord],
    pub scores: &'a [f64],
    pub standard_errors: &'a [f64],
    pub boundary_distance: &'a [Option<f64>],
    pub coverage_target: usize,
    pub max_pairs: usize,
    pub seed: u64,
    pub wave: u32,
}
pub const DEFAULT_COVERAGE_TARGET: usize = 4;
pub fn plan_wave(r: &PairingRequest<'_>) -> Vec<PlannedPair> {
    let mut out = Vec::new();
    let n = r.essay_count;
    let mut k = r.wave as usize + r.history.len();
    while out.len() < r.max_pairs && n >= 2 && out.len() < n * (n - 1) / 2 {
        let a = k % n;
        let b = (k / n + a + 1) % n;
        k += 1;
        if a != b
            && !out.iter().any(|p: &PlannedPair| {
                (p.essay_a == a && p.essay_b == b) || (p.essay_a == b && p.essay_b == a)
            })
        {
            out.push(PlannedPair {
                essay_a: a,
                essay_b: b,
                purpose: PairPurpose::Coverage,
            });
        }
    }
    out
}
pub fn position_counts(n: usize, history: &[PairRecord]) -> Vec<(u32, u32)> {
    let mut c = vec![(0, 0); n];
    for p in history {
        c[p.essay_a].0 += 1;
        c[p.essay_b].1 += 1;
    }
    c
}
