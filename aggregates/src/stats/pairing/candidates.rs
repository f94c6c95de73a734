//! The pairs a matching may draw from, and their weights: never-met pairs touching an essay
//! below its coverage target (weighted by need, then closeness on the scale) while any
//! such essay remains, otherwise every pair not yet in this wave (weighted by the Fisher
//! information of one comparison, p(1−p) at the current scores in logits, scaled by the
//! essays' standard errors and anchors' nearness to a grade boundary, and lowered for pairs
//! already compared often). Two anchors whose distance an assignment scale has settled are
//! never a candidate: each comparison an anchor takes then links a student to the scale.

use super::{Ledger, PairPurpose, PairingRequest};

/// An anchor sitting exactly on a grade boundary counts double (1 + 1.0): where it lands
/// decides where the boundary falls, so its comparisons are worth more than an ordinary
/// essay's.
const BOUNDARY_BOOST: f64 = 1.0;

/// The boundary boost decays by a factor e per half logit of distance: an anchor a full
/// logit away (a clear grade step) keeps about 14% of the boost.
const BOUNDARY_DECAY_LOGITS: f64 = 0.5;

/// Per-essay multiplier of informative weights: standard error relative to the batch mean
/// (1 + SE/mean SE, so an average essay counts 2 and a settled one 1) times the boundary
/// boost for the essays the request gives a boundary distance (anchors).
pub(super) fn informative_essay_factors(request: &PairingRequest<'_>) -> Vec<f64> {
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
pub(super) fn candidate_pairs(
    request: &PairingRequest<'_>,
    ledger: &Ledger,
    factors: &[f64],
) -> (PairPurpose, Vec<(usize, usize, f64)>) {
    let n = request.essay_count;
    let needy: Vec<bool> = (0..n)
        .map(|essay| ledger.needs_coverage(essay, request.coverage_target))
        .collect();
    let pairs = || (0..n).flat_map(move |i| (i + 1..n).map(move |j| (i, j)));
    let allowed = |&(i, j): &(usize, usize)| !both_settled_anchors(request, i, j);
    if needy.iter().any(|&needs| needs) {
        let coverage: Vec<_> = pairs()
            .filter(allowed)
            .filter(|&(i, j)| (needy[i] || needy[j]) && !ledger.tally(i, j).met)
            .map(|(i, j)| (i, j, coverage_weight(request, ledger, i, j)))
            .collect();
        // Only settled anchor pairs left unmet: coverage is as complete as it may get.
        if !coverage.is_empty() {
            return (PairPurpose::Coverage, coverage);
        }
    }
    let informative = pairs()
        .filter(allowed)
        .filter(|&(i, j)| !ledger.tally(i, j).in_wave)
        .map(|(i, j)| (i, j, informative_weight(request, ledger, factors, i, j)))
        .collect();
    (PairPurpose::Informative, informative)
}

/// Whether `i` and `j` are both anchors of a settled assignment scale.
fn both_settled_anchors(request: &PairingRequest<'_>, i: usize, j: usize) -> bool {
    request
        .settled_anchors
        .is_some_and(|anchors| anchors[i] && anchors[j])
}
