//! What a fit reads from its input: each comparison checked (essays in range, two different
//! essays), counted for its essays, and folded into per-ordered-pair win tallies — hard and
//! graded outcomes alike, so the two entry points of the fit share one path.

use super::{BtError, Outcome};
use crate::stats::Comparison;

/// One comparison as the fit reads it: `first` earned `first_won` of a win against `second`
/// (in [0, 1]), and `second` the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct GradedOutcome {
    first: usize,
    second: usize,
    first_won: f64,
}

impl From<Outcome> for GradedOutcome {
    fn from(outcome: Outcome) -> Self {
        GradedOutcome {
            first: outcome.winner,
            second: outcome.loser,
            first_won: 1.0,
        }
    }
}

impl From<&Comparison> for GradedOutcome {
    fn from(comparison: &Comparison) -> Self {
        GradedOutcome {
            first: comparison.first,
            second: comparison.second,
            first_won: comparison.outcome(),
        }
    }
}

pub(super) fn validate(essay_count: usize, outcomes: &[GradedOutcome]) -> Result<(), BtError> {
    for (outcome_index, outcome) in outcomes.iter().enumerate() {
        for essay in [outcome.first, outcome.second] {
            if essay >= essay_count {
                return Err(BtError::EssayOutOfRange {
                    outcome_index,
                    essay,
                    essay_count,
                });
            }
        }
        if outcome.first == outcome.second {
            return Err(BtError::SelfComparison {
                outcome_index,
                essay: outcome.first,
            });
        }
    }
    Ok(())
}

/// Comparisons each essay took part in, whatever their outcome.
pub(super) fn count_comparisons(essay_count: usize, outcomes: &[GradedOutcome]) -> Vec<u32> {
    let mut counts = vec![0_u32; essay_count];
    for outcome in outcomes {
        counts[outcome.first] = counts[outcome.first].saturating_add(1);
        counts[outcome.second] = counts[outcome.second].saturating_add(1);
    }
    counts
}

/// How much `winner` beat `loser` (a count of wins; fractional with graded outcomes);
/// repeats are folded so each iteration touches every distinct ordered pair once.
#[derive(Debug, Clone, Copy)]
pub(super) struct PairTally {
    pub winner: usize,
    pub loser: usize,
    pub wins: f64,
}

/// Each outcome adds `first_won` to (first beat second) and `1 − first_won` to (second beat
/// first); a share of exactly 0 adds no pair at all, so a hard outcome adds one pair with one
/// win, as it always has, and the tallies of hard data are bit-identical to counting wins.
pub(super) fn tally_pairs(essay_count: usize, outcomes: &[GradedOutcome]) -> Vec<PairTally> {
    let mut shares: Vec<(usize, usize, f64)> = outcomes
        .iter()
        .flat_map(|o| {
            [
                (o.first, o.second, o.first_won),
                (o.second, o.first, 1.0 - o.first_won),
            ]
        })
        .filter(|&(_, _, share)| share > 0.0)
        .collect();
    shares.sort_by_key(|&(winner, loser, _)| (winner, loser));
    let mut pairs: Vec<PairTally> = Vec::with_capacity(shares.len().min(essay_count * essay_count));
    for (winner, loser, share) in shares {
        match pairs.last_mut() {
            Some(last) if last.winner == winner && last.loser == loser => last.wins += share,
            _ => pairs.push(PairTally {
                winner,
                loser,
                wins: share,
            }),
        }
    }
    pairs
}

/// Without regularisation the chain moves only from loser to winner; it has a unique, fully
/// supported stationary distribution exactly when that graph is strongly connected.
pub(super) fn loss_graph_is_strongly_connected(essay_count: usize, pairs: &[PairTally]) -> bool {
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
