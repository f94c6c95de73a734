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
//! A wave is built from successive maximum-weight matchings (each essay at most once per
//! matching, see [`crate::stats::matching`]) over pairs not yet in the wave, until `max_pairs` is
//! reached or no candidate is left. With an odd number of available essays the one with the
//! most comparisons sits that matching out. Everything is deterministic for a given `seed`
//! and `wave`: the only randomness is a ChaCha8 stream seeded from both, used for tiny
//! weight jitter and tie-breaks.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::stats::matching::{maximum_weight_matching, MatchingError, WeightedEdge};

/// Four comparisons per essay before scores steer the pairing: every essay is then tied into
/// the comparison graph several times over (a usable first Bradley–Terry fit) for 2n judge
/// calls.
pub const DEFAULT_COVERAGE_TARGET: usize = 4;

/// Pair tables are dense (n²) and each matching is O(n³); 2,000 essays keep the tables near
/// 50 MB. Comparative-judgement batches are far smaller (tens to a few hundred essays).
pub const MAX_ESSAYS: usize = 2_000;

/// Relative size of the random weight jitter: well above the matcher's resolution (about
/// 1e-10 of a weight here, see [`crate::stats::matching::WEIGHT_RESOLUTION_BITS`]), so exact ties
/// are broken by the seed, and far below any real difference between two pairs.
const WEIGHT_JITTER: f64 = 1e-6;

/// An anchor sitting exactly on a grade boundary counts double (1 + 1.0): where it lands
/// decides where the boundary falls, so its comparisons are worth more than an ordinary
/// essay's.
const BOUNDARY_BOOST: f64 = 1.0;

/// The boundary boost decays by a factor e per half logit of distance: an anchor a full
/// logit away (a clear grade step) keeps about 14% of the boost.
const BOUNDARY_DECAY_LOGITS: f64 = 0.5;

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

/// Everything the planner needs for one wave.
#[derive(Debug, Clone, Copy)]
pub struct PairingRequest<'a> {
    pub essay_count: usize,
    /// Every comparison so far, in the order it was planned.
    pub history: &'a [PairRecord],
    /// Current Bradley–Terry scores (logits, mean 0); zeros before any fit.
    pub scores: &'a [f64],
    /// Standard errors of the scores (logits).
    pub standard_errors: &'a [f64],
    /// For anchors when a calibration exists: distance (logits) of the anchor's score to the
    /// nearest grade boundary. None for ordinary essays.
    pub boundary_distance: &'a [Option<f64>],
    /// Comparisons (pending + succeeded) each essay should reach before informative pairs.
    pub coverage_target: usize,
    pub max_pairs: usize,
    pub seed: u64,
    pub wave: u32,
}

/// A request the planner cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PairingError {
    #[error("a wave needs at least two essays, the batch has {0}")]
    TooFewEssays(usize),
    #[error("the batch has {0} essays, more than the planner's limit of {MAX_ESSAYS}")]
    TooManyEssays(usize),
    #[error("{field} has {actual} entries for {expected} essays")]
    LengthMismatch {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("history record {record} names essay {essay}, but the batch has {essay_count} essays")]
    EssayOutOfRange {
        record: usize,
        essay: usize,
        essay_count: usize,
    },
    #[error("history record {record} compares essay {essay} with itself")]
    SelfComparison { record: usize, essay: usize },
    #[error("{field} of essay {essay} is not a finite number")]
    NonFinite { field: &'static str, essay: usize },
    #[error("standard error of essay {essay} is negative")]
    NegativeStandardError { essay: usize },
    #[error("boundary distance of essay {essay} is NaN")]
    BoundaryDistanceNaN { essay: usize },
    #[error("pair matching failed: {0}")]
    Matching(#[from] MatchingError),
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

fn validate(request: &PairingRequest<'_>) -> Result<(), PairingError> {
    let n = request.essay_count;
    if n < 2 {
        return Err(PairingError::TooFewEssays(n));
    }
    if n > MAX_ESSAYS {
        return Err(PairingError::TooManyEssays(n));
    }
    for (field, actual) in [
        ("scores", request.scores.len()),
        ("standard_errors", request.standard_errors.len()),
        ("boundary_distance", request.boundary_distance.len()),
    ] {
        if actual != n {
            return Err(PairingError::LengthMismatch {
                field,
                expected: n,
                actual,
            });
        }
    }
    for (record_index, record) in request.history.iter().enumerate() {
        for essay in [record.essay_a, record.essay_b] {
            if essay >= n {
                return Err(PairingError::EssayOutOfRange {
                    record: record_index,
                    essay,
                    essay_count: n,
                });
            }
        }
        if record.essay_a == record.essay_b {
            return Err(PairingError::SelfComparison {
                record: record_index,
                essay: record.essay_a,
            });
        }
    }
    for essay in 0..n {
        for (field, value) in [
            ("score", request.scores[essay]),
            ("standard error", request.standard_errors[essay]),
        ] {
            if !value.is_finite() {
                return Err(PairingError::NonFinite { field, essay });
            }
        }
        if request.standard_errors[essay] < 0.0 {
            return Err(PairingError::NegativeStandardError { essay });
        }
        // An infinite distance is meaningful (no finite boundary exists): it earns no boost.
        if request.boundary_distance[essay].is_some_and(f64::is_nan) {
            return Err(PairingError::BoundaryDistanceNaN { essay });
        }
    }
    Ok(())
}

/// One stream per (seed, wave): waves of one batch differ, replays of one wave agree.
fn wave_rng(seed: u64, wave: u32) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..12].copy_from_slice(&wave.to_le_bytes());
    key[12..20].copy_from_slice(b"cj-pairs");
    ChaCha8Rng::from_seed(key)
}

/// What the history, plus the pairs planned so far in this wave, says about one pair.
#[derive(Debug, Clone, Copy, Default)]
struct PairTally {
    /// Appears anywhere in the history (any status) or in this wave.
    met: bool,
    in_wave: bool,
    /// Pending + succeeded comparisons, this wave included.
    times: u32,
    /// Times the lower-numbered essay was A minus times the higher-numbered one was.
    lower_first_surplus: i32,
}

/// Counts per essay and per pair over the history and the wave being planned.
struct Ledger {
    essay_count: usize,
    comparisons: Vec<u32>,
    positions: Vec<(u32, u32)>,
    unmet_partners: Vec<usize>,
    pairs: Vec<PairTally>,
}

impl Ledger {
    fn from_history(essay_count: usize, history: &[PairRecord]) -> Self {
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

    fn tally(&self, i: usize, j: usize) -> PairTally {
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
    fn record(&mut self, essay_a: usize, essay_b: usize) {
        self.mark_met(essay_a, essay_b);
        self.count_comparison(essay_a, essay_b);
        let slot = self.slot(essay_a, essay_b);
        self.pairs[slot].in_wave = true;
    }

    /// B count − A count: how much an essay is owed position A.
    fn a_position_owed(&self, essay: usize) -> i64 {
        let (a, b) = self.positions[essay];
        i64::from(b) - i64::from(a)
    }

    fn needs_coverage(&self, essay: usize, coverage_target: usize) -> bool {
        (self.comparisons[essay] as usize) < coverage_target && self.unmet_partners[essay] > 0
    }
}

/// Per-essay multiplier of informative weights: standard error relative to the batch mean
/// (1 + SE/mean SE, so an average essay counts 2 and a settled one 1) times the boundary
/// boost for anchors.
fn informative_essay_factors(request: &PairingRequest<'_>) -> Vec<f64> {
    let mean_se = request.standard_errors.iter().sum::<f64>() / request.essay_count as f64;
    (0..request.essay_count)
        .map(|essay| {
            let se_factor = if mean_se > 0.0 {
                1.0 + request.standard_errors[essay] / mean_se
            } else {
                1.0
            };
            let boundary_factor = request.boundary_distance[essay].map_or(1.0, |distance| {
                1.0 + BOUNDARY_BOOST * (-distance.abs() / BOUNDARY_DECAY_LOGITS).exp()
            });
            se_factor * boundary_factor
        })
        .collect()
}

/// Fisher information of one comparison, p(1−p) with p = logistic(θi − θj); at most 1/4.
/// Written with e^−|Δ| so it never overflows.
fn comparison_information(theta_i: f64, theta_j: f64) -> f64 {
    let e = (-(theta_i - theta_j).abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

/// Coverage weight: 1/(1+c) per essay rewards essays with few comparisons; the closeness
/// term (4·p(1−p) ∈ (0, 1]) can at most double it, so closeness orders pairs among essays
/// equally in need without overriding need itself. All zero scores (no fit yet) make every
/// pair equally close.
fn coverage_weight(request: &PairingRequest<'_>, ledger: &Ledger, i: usize, j: usize) -> f64 {
    let need = |essay: usize| 1.0 / (1.0 + f64::from(ledger.comparisons[essay]));
    let closeness = 4.0 * comparison_information(request.scores[i], request.scores[j]);
    (need(i) + need(j)) * (1.0 + closeness)
}

/// Informative weight: information × essay factors, divided by (1 + times compared) so that
/// a pair already seen twice needs three times the information of a fresh one.
fn informative_weight(
    request: &PairingRequest<'_>,
    ledger: &Ledger,
    factors: &[f64],
    i: usize,
    j: usize,
) -> f64 {
    let information = comparison_information(request.scores[i], request.scores[j]);
    let repeats = f64::from(ledger.tally(i, j).times);
    information * factors[i] * factors[j] / (1.0 + repeats)
}

/// The candidate pairs for the next matching and their weights.
fn candidate_pairs(
    request: &PairingRequest<'_>,
    ledger: &Ledger,
    factors: &[f64],
) -> (PairPurpose, Vec<(usize, usize, f64)>) {
    let n = request.essay_count;
    let needy: Vec<bool> = (0..n)
        .map(|essay| ledger.needs_coverage(essay, request.coverage_target))
        .collect();
    let mut candidates = Vec::new();
    if needy.iter().any(|&needs| needs) {
        for i in 0..n {
            for j in i + 1..n {
                if (needy[i] || needy[j]) && !ledger.tally(i, j).met {
                    candidates.push((i, j, coverage_weight(request, ledger, i, j)));
                }
            }
        }
        return (PairPurpose::Coverage, candidates);
    }
    for i in 0..n {
        for j in i + 1..n {
            if !ledger.tally(i, j).in_wave {
                candidates.push((i, j, informative_weight(request, ledger, factors, i, j)));
            }
        }
    }
    (PairPurpose::Informative, candidates)
}

/// One matching over the candidates, heaviest pairs first. With an odd number of essays
/// available, the one with the most comparisons sits out (seeded choice among ties), unless
/// that leaves nothing to match.
fn choose_matching(
    essay_count: usize,
    candidates: &[(usize, usize, f64)],
    ledger: &Ledger,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<(usize, usize)>, PairingError> {
    let jittered: Vec<(usize, usize, f64)> = candidates
        .iter()
        .map(|&(i, j, weight)| (i, j, weight * (1.0 + WEIGHT_JITTER * rng.gen::<f64>())))
        .collect();
    let mut available = vec![false; essay_count];
    for &(i, j, _) in &jittered {
        available[i] = true;
        available[j] = true;
    }
    let available: Vec<usize> = (0..essay_count).filter(|&e| available[e]).collect();
    let sitting_out = if available.len() % 2 == 1 {
        most_compared(&available, ledger, rng)
    } else {
        None
    };
    let matched = match_heaviest(essay_count, &jittered, sitting_out)?;
    if matched.is_empty() && sitting_out.is_some() {
        return match_heaviest(essay_count, &jittered, None);
    }
    Ok(matched)
}

fn most_compared(available: &[usize], ledger: &Ledger, rng: &mut ChaCha8Rng) -> Option<usize> {
    let most = available.iter().map(|&e| ledger.comparisons[e]).max()?;
    let tied: Vec<usize> = available
        .iter()
        .copied()
        .filter(|&e| ledger.comparisons[e] == most)
        .collect();
    tied.choose(rng).copied()
}

/// Maximum-weight matching that first maximises the number of pairs: every weight gets
/// the same offset, larger than (n/2)·(heaviest weight), so a matching with one more pair
/// always outweighs one with fewer. Returns the pairs heaviest first.
fn match_heaviest(
    essay_count: usize,
    candidates: &[(usize, usize, f64)],
    sitting_out: Option<usize>,
) -> Result<Vec<(usize, usize)>, PairingError> {
    let usable: Vec<(usize, usize, f64)> = candidates
        .iter()
        .copied()
        .filter(|&(i, j, _)| Some(i) != sitting_out && Some(j) != sitting_out)
        .collect();
    // Scores hundreds of logits apart give p(1−p) = 0; the floor keeps such pairs matchable.
    let heaviest = usable
        .iter()
        .map(|&(_, _, w)| w)
        .fold(f64::MIN_POSITIVE, f64::max);
    let cardinality_offset = heaviest * (essay_count / 2 + 1) as f64;
    let edges: Vec<WeightedEdge> = usable
        .iter()
        .map(|&(u, v, weight)| WeightedEdge {
            u,
            v,
            weight: weight + cardinality_offset,
        })
        .collect();
    let mates = maximum_weight_matching(essay_count, &edges)?;
    let mut matched: Vec<(usize, usize, f64)> = usable
        .into_iter()
        .filter(|&(i, j, _)| mates[i] == Some(j))
        .collect();
    matched.sort_by(|x, y| y.2.total_cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
    Ok(matched.into_iter().map(|(i, j, _)| (i, j)).collect())
}

/// Marks a pair without an open edge in [`CompletionPlan::pair_edge`].
const NO_EDGE: usize = usize::MAX;

/// Chooses who is shown as "Essay A".
struct PositionBalancer {
    /// None once the history is too unbalanced for any balanced completion; the surplus
    /// rule then acts alone.
    plan: Option<CompletionPlan>,
}

impl PositionBalancer {
    fn new(ledger: &Ledger, rng: &mut ChaCha8Rng) -> Self {
        PositionBalancer {
            plan: CompletionPlan::build(ledger, rng),
        }
    }

    /// Orients one pair and records it in the plan. Preference: a repeated pair goes against
    /// its own earlier orientations; otherwise the essay owed more A positions goes first,
    /// ties following the plan (seeded). The other orientation is taken only when the
    /// preferred one would make a balanced completion of the never-compared pairs impossible.
    fn orient(
        &mut self,
        i: usize,
        j: usize,
        ledger: &Ledger,
        rng: &mut ChaCha8Rng,
    ) -> (usize, usize) {
        let (lower, higher) = (i.min(j), i.max(j));
        let pair_surplus = ledger.tally(i, j).lower_first_surplus;
        let (preferred, binding) = if pair_surplus != 0 {
            let first = if pair_surplus > 0 { higher } else { lower };
            (first, true)
        } else {
            let (owed_i, owed_j) = (ledger.a_position_owed(i), ledger.a_position_owed(j));
            let first = if owed_i != owed_j {
                if owed_i > owed_j {
                    i
                } else {
                    j
                }
            } else {
                match self.plan.as_ref().and_then(|p| p.planned_first(i, j)) {
                    Some(planned) => planned,
                    None if rng.gen::<bool>() => i,
                    None => j,
                }
            };
            (first, false)
        };
        let other = if preferred == i { j } else { i };
        let Some(plan) = self.plan.as_mut() else {
            return (preferred, other);
        };
        if plan.try_commit(preferred, other) {
            return (preferred, other);
        }
        if !binding && plan.try_commit(other, preferred) {
            return (other, preferred);
        }
        // The history already rules out a balanced completion; keep the preference.
        self.plan = None;
        (preferred, other)
    }
}

/// A witness that every essay can still finish with |A − B| ≤ 1 once all never-compared
/// pairs are compared: a planned orientation of those pairs that meets, for each essay,
/// bounds on how many of its open pairs put it in position A.
///
/// With open degree r and current surplus d = A − B, an essay ends at d + 2·o − r after
/// taking A in o of its open pairs, so |end| ≤ 1 means o ∈ [⌊(r−d)/2⌋, ⌊(r−d+1)/2⌋] (clamped
/// to [0, r]). When a committed orientation breaks a bound, the plan is repaired by flipping
/// a directed path of planned pairs to an essay with room (one BFS); when no such path
/// exists the reachable set proves no orientation fits the bounds (Hakimi's condition), and
/// the commit is refused. An agreeing commit never breaks a bound, so one of the two
/// orientations of every open pair is always accepted.
struct CompletionPlan {
    ends: Vec<(usize, usize)>,
    planned_a: Vec<usize>,
    open: Vec<bool>,
    incident: Vec<Vec<usize>>,
    /// Edge id per unordered pair (slot lower·n + higher), [`NO_EDGE`] for met pairs.
    pair_edge: Vec<usize>,
    essay_count: usize,
    planned_a_count: Vec<i64>,
    open_degree: Vec<i64>,
    a_surplus: Vec<i64>,
}

impl CompletionPlan {
    fn build(ledger: &Ledger, rng: &mut ChaCha8Rng) -> Option<Self> {
        let n = ledger.essay_count;
        let mut ends = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                if !ledger.tally(i, j).met {
                    ends.push((i, j));
                }
            }
        }
        ends.shuffle(rng);
        let mut incident = vec![Vec::new(); n];
        let mut open_degree = vec![0i64; n];
        let mut pair_edge = vec![NO_EDGE; n * n];
        for (edge, &(i, j)) in ends.iter().enumerate() {
            incident[i].push(edge);
            incident[j].push(edge);
            open_degree[i] += 1;
            open_degree[j] += 1;
            pair_edge[i * n + j] = edge;
        }
        let a_surplus: Vec<i64> = (0..n).map(|e| -ledger.a_position_owed(e)).collect();
        // Greedy start: each pair goes to the end with more A positions still wanted.
        let mut planned_a = Vec::with_capacity(ends.len());
        let mut planned_a_count = vec![0i64; n];
        for &(i, j) in &ends {
            let wanted = |e: usize| open_degree[e] - a_surplus[e] - 2 * planned_a_count[e];
            let first = if wanted(i) >= wanted(j) { i } else { j };
            planned_a.push(first);
            planned_a_count[first] += 1;
        }
        let mut plan = CompletionPlan {
            open: vec![true; ends.len()],
            ends,
            planned_a,
            incident,
            pair_edge,
            essay_count: n,
            planned_a_count,
            open_degree,
            a_surplus,
        };
        let mut flips = Vec::new();
        plan.repair(&mut flips).then_some(plan)
    }

    fn open_edge(&self, i: usize, j: usize) -> Option<usize> {
        let edge = self.pair_edge[i.min(j) * self.essay_count + i.max(j)];
        (edge != NO_EDGE && self.open[edge]).then_some(edge)
    }

    fn planned_first(&self, i: usize, j: usize) -> Option<usize> {
        self.open_edge(i, j).map(|edge| self.planned_a[edge])
    }

    fn bounds(&self, essay: usize) -> (i64, i64) {
        let degree = self.open_degree[essay];
        let room = degree - self.a_surplus[essay];
        let low = room.div_euclid(2).clamp(0, degree);
        let high = (room + 1).div_euclid(2).clamp(0, degree);
        (low, high)
    }

    fn other_end(&self, edge: usize, essay: usize) -> usize {
        let (i, j) = self.ends[edge];
        if i == essay {
            j
        } else {
            i
        }
    }

    fn flip(&mut self, edge: usize) {
        let old = self.planned_a[edge];
        let new = self.other_end(edge, old);
        self.planned_a[edge] = new;
        self.planned_a_count[old] -= 1;
        self.planned_a_count[new] += 1;
    }

    /// Commits `essay_a` before `essay_b` if the plan can absorb it; otherwise leaves the
    /// plan untouched and returns false.
    fn try_commit(&mut self, essay_a: usize, essay_b: usize) -> bool {
        let edge = self.open_edge(essay_a, essay_b);
        if let Some(edge) = edge {
            self.set_open(edge, false);
        }
        self.a_surplus[essay_a] += 1;
        self.a_surplus[essay_b] -= 1;
        let mut flips = Vec::new();
        if self.repair(&mut flips) {
            return true;
        }
        for edge in flips.into_iter().rev() {
            self.flip(edge);
        }
        self.a_surplus[essay_a] -= 1;
        self.a_surplus[essay_b] += 1;
        if let Some(edge) = edge {
            self.set_open(edge, true);
        }
        false
    }

    fn set_open(&mut self, edge: usize, open: bool) {
        let change = if open { 1 } else { -1 };
        let (i, j) = self.ends[edge];
        self.open[edge] = open;
        self.open_degree[i] += change;
        self.open_degree[j] += change;
        self.planned_a_count[self.planned_a[edge]] += change;
    }

    /// Brings every essay within its bounds, recording the flipped edges. False when the
    /// bounds cannot all be met.
    fn repair(&mut self, flips: &mut Vec<usize>) -> bool {
        let n = self.open_degree.len();
        for essay in 0..n {
            while self.planned_a_count[essay] > self.bounds(essay).1 {
                let Some(path) = self.path_to_room(essay, true) else {
                    return false;
                };
                for edge in path {
                    self.flip(edge);
                    flips.push(edge);
                }
            }
        }
        for essay in 0..n {
            while self.planned_a_count[essay] < self.bounds(essay).0 {
                let Some(path) = self.path_to_room(essay, false) else {
                    return false;
                };
                for edge in path {
                    self.flip(edge);
                    flips.push(edge);
                }
            }
        }
        true
    }

    /// Breadth-first search from `start` along open edges. Giving (shedding an A position):
    /// follow edges `start` plans as A, ending at an essay below its upper bound. Taking:
    /// follow edges planned the other way, ending at an essay above its lower bound.
    /// Flipping the returned edges moves one A position along the path.
    fn path_to_room(&self, start: usize, giving: bool) -> Option<Vec<usize>> {
        let n = self.open_degree.len();
        let mut arrived_by: Vec<Option<usize>> = vec![None; n];
        let mut visited = vec![false; n];
        visited[start] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(essay) = queue.pop_front() {
            for &edge in &self.incident[essay] {
                if !self.open[edge] {
                    continue;
                }
                let next = self.other_end(edge, essay);
                let a_end = if giving { essay } else { next };
                if self.planned_a[edge] != a_end || visited[next] {
                    continue;
                }
                visited[next] = true;
                arrived_by[next] = Some(edge);
                let (low, high) = self.bounds(next);
                let has_room = if giving {
                    self.planned_a_count[next] < high
                } else {
                    self.planned_a_count[next] > low
                };
                if has_room {
                    return Some(self.trace_back(next, start, &arrived_by));
                }
                queue.push_back(next);
            }
        }
        None
    }

    fn trace_back(&self, end: usize, start: usize, arrived_by: &[Option<usize>]) -> Vec<usize> {
        let mut path = Vec::new();
        let mut essay = end;
        while essay != start {
            let Some(edge) = arrived_by[essay] else {
                break;
            };
            path.push(edge);
            essay = self.other_end(edge, essay);
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest, ProptestConfig};
    use std::collections::HashSet;

    struct Batch {
        essay_count: usize,
        history: Vec<PairRecord>,
        scores: Vec<f64>,
        standard_errors: Vec<f64>,
        boundary_distance: Vec<Option<f64>>,
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

        fn compare_all_pairs_once(&mut self) {
            for i in 0..self.essay_count {
                for j in i + 1..self.essay_count {
                    self.history.push(PairRecord {
                        essay_a: i,
                        essay_b: j,
                        status: PairStatus::Succeeded,
                    });
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn first_wave_of_one_matching_covers_every_essay_but_one_when_odd(
            essay_count in 2usize..60,
            seed in any::<u64>(),
        ) {
            let batch = Batch::new(essay_count);
            let wave = batch.plan(essay_count / 2, seed, 0);
            let covered: HashSet<usize> =
                wave.iter().flat_map(|p| [p.essay_a, p.essay_b]).collect();
            prop_assert_eq!(wave.len(), essay_count / 2);
            prop_assert_eq!(covered.len(), essay_count - essay_count % 2);
            prop_assert!(wave.iter().all(|p| p.purpose == PairPurpose::Coverage));
        }

        #[test]
        fn waves_are_well_formed_on_any_history(
            essay_count in 2usize..25,
            records in 0usize..80,
            max_pairs in 0usize..40,
            coverage_target in 0usize..8,
            seed in any::<u64>(),
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut batch = Batch::new(essay_count);
            batch.history = random_history(essay_count, records, &mut rng);
            batch.scores = (0..essay_count).map(|_| rng.gen_range(-3.0..3.0)).collect();
            batch.standard_errors = (0..essay_count).map(|_| rng.gen_range(0.0..2.0)).collect();
            batch.boundary_distance = (0..essay_count)
                .map(|_| rng.gen::<bool>().then(|| rng.gen_range(-1.0..1.0)))
                .collect();
            batch.coverage_target = coverage_target;
            let wave = batch.plan(max_pairs, seed, 3);
            assert_wave_well_formed(&wave, essay_count, max_pairs);
            let all_pairs = essay_count * (essay_count - 1) / 2;
            // Repeats are allowed after coverage, so only the wave limit and the number of
            // distinct pairs cap a wave.
            prop_assert_eq!(wave.len(), max_pairs.min(all_pairs));
        }

        #[test]
        fn no_pair_repeats_while_an_essay_still_needs_coverage(
            essay_count in 2usize..16,
            wave_size in 1usize..20,
            coverage_target in 1usize..8,
            seed in any::<u64>(),
        ) {
            let mut batch = Batch::new(essay_count);
            batch.coverage_target = coverage_target;
            for wave_number in 0..6 {
                let wave = batch.plan(wave_size, seed, wave_number);
                let mut ledger = Ledger::from_history(essay_count, &batch.history);
                for pair in &wave {
                    let repeat = ledger.tally(pair.essay_a, pair.essay_b).met;
                    if pair.purpose == PairPurpose::Coverage {
                        prop_assert!(!repeat, "coverage pair {:?} repeats", pair);
                    }
                    if repeat {
                        let still_needy = (0..essay_count)
                            .any(|e| ledger.needs_coverage(e, coverage_target));
                        prop_assert!(!still_needy, "repeat {:?} before coverage ended", pair);
                    }
                    ledger.record(pair.essay_a, pair.essay_b);
                }
                batch.feed(&wave, PairStatus::Succeeded);
            }
        }

        #[test]
        fn a_complete_round_robin_ends_with_positions_balanced_within_one(
            essay_count in 2usize..18,
            wave_size in 1usize..30,
            extra_target in 0usize..3,
            seed in any::<u64>(),
            spread in 0.0f64..4.0,
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
            let mut batch = Batch::new(essay_count);
            batch.coverage_target = essay_count - 1 + extra_target;
            batch.scores = (0..essay_count).map(|_| rng.gen_range(-spread..=spread)).collect();
            let all_pairs = essay_count * (essay_count - 1) / 2;
            let mut wave_number = 0;
            while batch.history.len() < all_pairs {
                let budget = all_pairs - batch.history.len();
                let wave = batch.plan(wave_size.min(budget), seed, wave_number);
                prop_assert!(!wave.is_empty(), "planner stalled before the round robin ended");
                prop_assert!(wave.iter().all(|p| p.purpose == PairPurpose::Coverage));
                let status = if rng.gen::<bool>() { PairStatus::Pending } else { PairStatus::Succeeded };
                batch.feed(&wave, status);
                wave_number += 1;
            }
            let distinct: HashSet<(usize, usize)> = batch
                .history
                .iter()
                .map(|r| (r.essay_a.min(r.essay_b), r.essay_a.max(r.essay_b)))
                .collect();
            prop_assert_eq!(distinct.len(), all_pairs);
            for (essay, (a, b)) in position_counts(essay_count, &batch.history).into_iter().enumerate() {
                prop_assert!(a.abs_diff(b) <= 1, "essay {} has A={} B={}", essay, a, b);
            }
        }

        #[test]
        fn the_same_request_always_gives_the_same_wave(
            essay_count in 2usize..30,
            records in 0usize..60,
            seed in any::<u64>(),
        ) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut batch = Batch::new(essay_count);
            batch.history = random_history(essay_count, records, &mut rng);
            batch.scores = (0..essay_count).map(|_| rng.gen_range(-2.0..2.0)).collect();
            prop_assert_eq!(batch.plan(25, seed, 1), batch.plan(25, seed, 1));
        }
    }

    #[test]
    fn different_seeds_may_give_different_waves() {
        let batch = Batch::new(12);
        let waves: HashSet<Vec<PlannedPair>> = (0..10).map(|seed| batch.plan(6, seed, 0)).collect();
        assert!(
            waves.len() > 1,
            "all seeds planned the same wave on a tie-only batch"
        );
        let by_wave: HashSet<Vec<PlannedPair>> =
            (0..10).map(|wave| batch.plan(6, 1, wave)).collect();
        assert!(
            by_wave.len() > 1,
            "the wave number does not reach the random stream"
        );
    }

    #[test]
    fn max_pairs_caps_the_wave_and_zero_plans_nothing() {
        let batch = Batch::new(30);
        assert_eq!(batch.plan(7, 1, 0).len(), 7);
        assert_eq!(batch.plan(40, 1, 0).len(), 40);
        assert!(batch.plan(0, 1, 0).is_empty());
    }

    #[test]
    fn coverage_prefers_essays_with_fewer_comparisons() {
        let mut batch = Batch::new(6);
        // Essays 0..=3 have two comparisons each; 4 and 5 none.
        for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3)] {
            batch.history.push(PairRecord {
                essay_a: a,
                essay_b: b,
                status: PairStatus::Succeeded,
            });
        }
        let wave = batch.plan(1, 9, 0);
        let pair = unordered(&wave[0]);
        assert!(
            pair.0 >= 4 || pair.1 >= 4,
            "first pair {pair:?} skips the uncompared essays"
        );
    }

    #[test]
    fn coverage_pairs_essays_close_on_the_scale_when_need_is_equal() {
        let mut batch = Batch::new(6);
        batch.scores = vec![-3.0, 0.1, 3.0, -2.9, 3.2, 0.0];
        let wave = batch.plan(3, 5, 0);
        let pairs: HashSet<(usize, usize)> = wave.iter().map(unordered).collect();
        assert_eq!(pairs, HashSet::from([(0, 3), (1, 5), (2, 4)]));
    }

    #[test]
    fn informative_pairs_start_once_every_essay_reached_the_target() {
        let mut batch = Batch::new(8);
        batch.coverage_target = 2;
        // A cycle 0-1-…-7-0: two comparisons each, most pairs still unmet.
        for essay in 0..8 {
            batch.history.push(PairRecord {
                essay_a: essay,
                essay_b: (essay + 1) % 8,
                status: PairStatus::Succeeded,
            });
        }
        let wave = batch.plan(4, 1, 2);
        assert_eq!(wave.len(), 4);
        assert!(
            wave.iter().all(|p| p.purpose == PairPurpose::Informative),
            "{wave:?}"
        );
        batch.coverage_target = 3;
        let wave = batch.plan(4, 1, 2);
        assert!(
            wave.iter().all(|p| p.purpose == PairPurpose::Coverage),
            "{wave:?}"
        );
    }

    #[test]
    fn odd_batches_sit_out_the_essay_with_most_comparisons() {
        let mut batch = Batch::new(5);
        batch.history.push(PairRecord {
            essay_a: 0,
            essay_b: 1,
            status: PairStatus::Succeeded,
        });
        batch.history.push(PairRecord {
            essay_a: 2,
            essay_b: 1,
            status: PairStatus::Succeeded,
        });
        let wave = batch.plan(2, 4, 0);
        assert_eq!(wave.len(), 2);
        assert!(
            wave.iter().all(|p| p.essay_a != 1 && p.essay_b != 1),
            "{wave:?}"
        );
    }

    #[test]
    fn informative_phase_pairs_close_essays_before_distant_ones() {
        let mut batch = Batch::new(8);
        batch.scores = vec![-6.0, -5.9, -2.0, -1.85, 1.0, 1.2, 5.0, 5.3];
        batch.compare_all_pairs_once();
        let wave = batch.plan(4, 2, 5);
        let pairs: Vec<(usize, usize)> = wave.iter().map(unordered).collect();
        assert_eq!(pairs, vec![(0, 1), (2, 3), (4, 5), (6, 7)]);
        assert!(wave.iter().all(|p| p.purpose == PairPurpose::Informative));
        let first_only = batch.plan(1, 2, 5);
        assert_eq!(
            unordered(&first_only[0]),
            (0, 1),
            "the closest pair comes first"
        );
    }

    #[test]
    fn informative_phase_favours_uncertain_essays_and_anchors_near_boundaries() {
        let mut batch = Batch::new(4);
        batch.scores = vec![0.0, 1.0, 2.0, 3.0];
        batch.compare_all_pairs_once();
        // Neighbours are equally informative; only the essay factors can separate them.
        let first_pair = |batch: &Batch| unordered(&batch.plan(1, 3, 1)[0]);
        batch.standard_errors[3] = 4.0;
        assert_eq!(
            first_pair(&batch),
            (2, 3),
            "a large SE on essay 3 pulls the first pair to it"
        );
        batch.standard_errors[3] = 1.0;
        batch.boundary_distance[0] = Some(0.1);
        assert_eq!(
            first_pair(&batch),
            (0, 1),
            "an anchor near a boundary pulls the first pair"
        );
        batch.boundary_distance[0] = None;
        batch.boundary_distance[3] = Some(0.05);
        assert_eq!(first_pair(&batch), (2, 3));
    }

    #[test]
    fn an_infinite_boundary_distance_counts_as_no_boundary() {
        let mut batch = Batch::new(6);
        batch.scores = vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5];
        batch.compare_all_pairs_once();
        let without = batch.plan(3, 4, 1);
        batch.boundary_distance = vec![Some(f64::INFINITY); 6];
        assert_eq!(batch.plan(3, 4, 1), without);
    }

    #[test]
    fn informative_phase_prefers_pairs_compared_fewer_times() {
        let mut batch = Batch::new(4);
        batch.compare_all_pairs_once();
        batch.history.push(PairRecord {
            essay_a: 0,
            essay_b: 1,
            status: PairStatus::Succeeded,
        });
        batch.history.push(PairRecord {
            essay_a: 2,
            essay_b: 3,
            status: PairStatus::Succeeded,
        });
        let wave = batch.plan(2, 6, 2);
        let pairs: HashSet<(usize, usize)> = wave.iter().map(unordered).collect();
        assert!(
            !pairs.contains(&(0, 1)) && !pairs.contains(&(2, 3)),
            "{pairs:?}"
        );
    }

    #[test]
    fn a_repeated_pair_is_shown_the_other_way_round() {
        let mut batch = Batch::new(2);
        batch.history.push(PairRecord {
            essay_a: 0,
            essay_b: 1,
            status: PairStatus::Succeeded,
        });
        let wave = batch.plan(3, 1, 1);
        assert_eq!(
            wave,
            vec![PlannedPair {
                essay_a: 1,
                essay_b: 0,
                purpose: PairPurpose::Informative
            }]
        );
        batch.feed(&wave, PairStatus::Succeeded);
        batch.history.push(PairRecord {
            essay_a: 1,
            essay_b: 0,
            status: PairStatus::Succeeded,
        });
        let wave = batch.plan(1, 1, 2);
        assert_eq!((wave[0].essay_a, wave[0].essay_b), (0, 1));
    }

    #[test]
    fn the_essay_owed_position_a_gets_it() {
        let mut batch = Batch::new(4);
        // Essay 2 has been B twice, essay 3 A twice.
        batch.history.push(PairRecord {
            essay_a: 0,
            essay_b: 2,
            status: PairStatus::Succeeded,
        });
        batch.history.push(PairRecord {
            essay_a: 1,
            essay_b: 2,
            status: PairStatus::Succeeded,
        });
        batch.history.push(PairRecord {
            essay_a: 3,
            essay_b: 0,
            status: PairStatus::Succeeded,
        });
        batch.history.push(PairRecord {
            essay_a: 3,
            essay_b: 1,
            status: PairStatus::Succeeded,
        });
        // The open pairs are (0, 1) and (2, 3); both are planned.
        let wave = batch.plan(2, 8, 0);
        let oriented: Vec<(usize, usize)> = wave.iter().map(|p| (p.essay_a, p.essay_b)).collect();
        assert!(oriented.contains(&(2, 3)), "{oriented:?}");
    }

    #[test]
    fn failed_records_mark_a_pair_met_but_count_no_position() {
        let history = [
            PairRecord {
                essay_a: 0,
                essay_b: 1,
                status: PairStatus::Failed,
            },
            PairRecord {
                essay_a: 0,
                essay_b: 1,
                status: PairStatus::Pending,
            },
            PairRecord {
                essay_a: 2,
                essay_b: 0,
                status: PairStatus::Succeeded,
            },
            PairRecord {
                essay_a: 9,
                essay_b: 0,
                status: PairStatus::Succeeded,
            },
        ];
        assert_eq!(position_counts(3, &history), vec![(1, 1), (0, 1), (1, 0)]);
        let mut batch = Batch::new(3);
        batch.history.push(history[0]);
        batch.coverage_target = 1;
        let wave = batch.plan(1, 0, 0);
        assert_ne!(
            unordered(&wave[0]),
            (0, 1),
            "a failed pair is not a coverage candidate"
        );
    }

    #[test]
    fn essays_too_far_apart_to_inform_are_still_paired_when_asked() {
        let mut batch = Batch::new(4);
        batch.scores = vec![-1e300, -1e3, 1e3, 1e300];
        batch.compare_all_pairs_once();
        let wave = batch.plan(6, 0, 1);
        assert_wave_well_formed(&wave, 4, 6);
        assert_eq!(wave.len(), 6);
    }

    #[test]
    fn inconsistent_requests_are_rejected_with_a_reason() {
        let batch = Batch::new(3);
        let mut request = batch.request(2, 0, 0);
        request.essay_count = 1;
        assert_eq!(try_plan_wave(&request), Err(PairingError::TooFewEssays(1)));
        let mut request = batch.request(2, 0, 0);
        request.essay_count = 4;
        assert!(matches!(
            try_plan_wave(&request),
            Err(PairingError::LengthMismatch {
                field: "scores",
                ..
            })
        ));
        let bad_history = [PairRecord {
            essay_a: 0,
            essay_b: 3,
            status: PairStatus::Pending,
        }];
        let mut request = batch.request(2, 0, 0);
        request.history = &bad_history;
        assert_eq!(
            try_plan_wave(&request),
            Err(PairingError::EssayOutOfRange {
                record: 0,
                essay: 3,
                essay_count: 3
            })
        );
        let self_pair = [PairRecord {
            essay_a: 1,
            essay_b: 1,
            status: PairStatus::Pending,
        }];
        request.history = &self_pair;
        assert_eq!(
            try_plan_wave(&request),
            Err(PairingError::SelfComparison {
                record: 0,
                essay: 1
            })
        );
        let scores = [0.0, f64::NAN, 0.0];
        let mut request = batch.request(2, 0, 0);
        request.scores = &scores;
        assert_eq!(
            try_plan_wave(&request),
            Err(PairingError::NonFinite {
                field: "score",
                essay: 1
            })
        );
        let errors = [1.0, 1.0, -0.5];
        let mut request = batch.request(2, 0, 0);
        request.standard_errors = &errors;
        assert_eq!(
            try_plan_wave(&request),
            Err(PairingError::NegativeStandardError { essay: 2 })
        );
        let distances = [None, Some(f64::NAN), None];
        let mut request = batch.request(2, 0, 0);
        request.boundary_distance = &distances;
        assert_eq!(
            try_plan_wave(&request),
            Err(PairingError::BoundaryDistanceNaN { essay: 1 })
        );
        assert!(
            plan_wave(&request).is_empty(),
            "the infallible form plans nothing"
        );
    }

    #[test]
    fn speed_of_a_200_essay_wave_of_400_pairs() {
        let mut batch = Batch::new(200);
        let started = std::time::Instant::now();
        let first = batch.plan(400, 11, 0);
        let coverage_time = started.elapsed();
        assert_eq!(first.len(), 400);
        batch.feed(&first, PairStatus::Succeeded);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        batch.scores = (0..200).map(|_| rng.gen_range(-3.0..3.0)).collect();
        batch.standard_errors = (0..200).map(|_| rng.gen_range(0.3..1.2)).collect();
        let started = std::time::Instant::now();
        let second = batch.plan(400, 11, 1);
        let informative_time = started.elapsed();
        assert_eq!(second.len(), 400);
        assert!(second.iter().all(|p| p.purpose == PairPurpose::Informative));
        println!(
            "200 essays, 400 pairs: coverage wave {coverage_time:?}, informative wave {informative_time:?}"
        );
    }
}
