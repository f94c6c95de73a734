//! Pair planning for comparative judgement: which essays the LLM judge compares in the next
//! wave, and which of the two it is shown as "Essay A".
//!
//! This module owns three policies and nothing else (no retries, no budget — the caller
//! bounds `max_pairs` and has already put retried comparisons into `history` as pending):
//!
//! * **Coverage first.** While some essay has fewer than `coverage_target` comparisons
//!   (pending + succeeded) and still has a partner it has never met, matchings are drawn
//!   from never-compared pairs touching such an essay, favouring essays with few
//!   comparisons and essays close on the current scale.
//! * **Then information.** Afterwards any pair not yet in this wave may be drawn (repeats
//!   included), weighted by the Fisher information of one comparison, p(1−p) at the current
//!   scores, raised for essays with large standard errors and for anchors near a grade
//!   boundary, and lowered for pairs already compared often.
//! * **Balanced positions.** Each planned pair puts in position A the essay with the larger
//!   (B − A) surplus over the batch; a repeated pair is first oriented against its own
//!   earlier orientations (so a judge's position bias cancels on that pair). Both choices
//!   are subject to one guard: a balanced completion of all never-compared pairs must stay
//!   possible, so a complete round robin always ends with |A − B| ≤ 1 for every essay.
//!
//! # Layout
//!
//! - here — what the planner reads and returns (history records, planned pairs) and its
//!   entry points: [`plan_wave`] / [`try_plan_wave`] and [`position_counts`].
//! - `request` — what one wave is asked with, and why a request can be refused.
//! - `ledger` — counts per essay and per pair over the history and the wave so far.
//! - `candidates` — the coverage and informative weights of the pairs a matching may take.
//! - `waves` — successive seeded maximum-weight matchings over those candidates.
//! - `orientation` — who is shown as "Essay A", guarded by `balanced_completion`, the
//!   witness that every essay can still end within one of balanced.
//!
//! Everything is deterministic for a given `seed` and `wave`: the only randomness is a
//! ChaCha8 stream seeded from both (in `waves`), used for tiny weight jitter and tie-breaks.

mod balanced_completion;
mod candidates;
mod ledger;
mod orientation;
mod request;
mod waves;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use candidates::{candidate_pairs, informative_essay_factors};
use ledger::Ledger;
use orientation::PositionBalancer;
use request::validate;
use waves::{choose_matching, wave_rng};

pub use request::{PairingError, PairingRequest};

/// Four comparisons per essay before scores steer the pairing: every essay is then tied into
/// the comparison graph several times over (a usable first Bradley–Terry fit) for 2n judge
/// calls.
pub const DEFAULT_COVERAGE_TARGET: usize = 4;

/// Pair tables are dense (n²) and each matching is O(n³); 2,000 essays keep the tables near
/// 50 MB. Comparative-judgement batches are far smaller (tens to a few hundred essays).
pub const MAX_ESSAYS: usize = 2_000;

/// Outcome state of one comparison in the batch history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PairStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One comparison of the batch history, oriented as it was (or will be) shown to the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PairRecord {
    pub essay_a: usize,
    pub essay_b: usize,
    pub status: PairStatus,
}

/// Why a pair was planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PairPurpose {
    Coverage,
    Informative,
}

/// One comparison to run: `essay_a` is shown as "Essay A", `essay_b` as "Essay B".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlannedPair {
    pub essay_a: usize,
    pub essay_b: usize,
    pub purpose: PairPurpose,
}

/// Plans the next wave: at most `max_pairs` pairs, no pair twice, no essay with itself, in
/// the order they should be sent (most valuable first within each matching). Fewer pairs
/// only when fewer distinct pairs exist. An inconsistent request plans nothing (and is
/// logged); [`try_plan_wave`] says why instead.
pub fn plan_wave(request: &PairingRequest<'_>) -> Vec<PlannedPair> {
    try_plan_wave(request).unwrap_or_else(|error| {
        tracing::warn!(%error, "pairing request rejected; planning no pairs");
        Vec::new()
    })
}

/// [`plan_wave`] with the reason when the request is inconsistent.
pub fn try_plan_wave(request: &PairingRequest<'_>) -> Result<Vec<PlannedPair>, PairingError> {
    validate(request)?;
    let mut wave = Vec::new();
    if request.max_pairs == 0 {
        return Ok(wave);
    }
    let mut rng = wave_rng(request.seed, request.wave);
    let mut ledger = Ledger::from_history(request.essay_count, request.history);
    let essay_factors = informative_essay_factors(request);
    let mut balancer = PositionBalancer::new(&ledger, &mut rng);
    while wave.len() < request.max_pairs {
        let (purpose, candidates) = candidate_pairs(request, &ledger, &essay_factors);
        if candidates.is_empty() {
            break;
        }
        let matched = choose_matching(request.essay_count, &candidates, &ledger, &mut rng)?;
        if matched.is_empty() {
            break;
        }
        for (first, second) in matched.into_iter().take(request.max_pairs - wave.len()) {
            let (essay_a, essay_b) = balancer.orient(first, second, &ledger, &mut rng);
            ledger.record(essay_a, essay_b);
            wave.push(PlannedPair {
                essay_a,
                essay_b,
                purpose,
            });
        }
    }
    Ok(wave)
}

/// Position counts per essay, `(a_count, b_count)`, over the pending and succeeded records
/// of `history` (a failed comparison showed nothing to the judge; its retry is pending).
/// Records naming essays outside `0..essay_count` are skipped.
pub fn position_counts(essay_count: usize, history: &[PairRecord]) -> Vec<(u32, u32)> {
    let mut counts = vec![(0, 0); essay_count];
    for record in history.iter().filter(|r| counts_as_comparison(r.status)) {
        if record.essay_a < essay_count && record.essay_b < essay_count {
            counts[record.essay_a].0 += 1;
            counts[record.essay_b].1 += 1;
        }
    }
    counts
}

/// Pending and succeeded records are comparisons done or on their way; failed ones are not
/// (the caller re-queues them as pending), though they still mark the pair as met.
fn counts_as_comparison(status: PairStatus) -> bool {
    matches!(status, PairStatus::Pending | PairStatus::Succeeded)
}
