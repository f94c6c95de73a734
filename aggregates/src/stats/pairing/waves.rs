//! How a wave's pairs are drawn: one maximum-weight matching at a time (each essay at most
//! once per matching, see [`crate::stats::matching`]) over the candidate pairs, most pairs
//! first and then most weight. With an odd number of available essays the one with the
//! most comparisons sits that matching out. The only randomness of the planner lives here:
//! a ChaCha8 stream seeded from the batch seed and the wave number, used for tiny weight
//! jitter and tie-breaks, so a wave is the same on every replay.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Ledger, PairingError};
use crate::stats::matching::{maximum_weight_matching, WeightedEdge};

/// Relative size of the random weight jitter: well above the matcher's resolution (about
/// 1e-10 of a weight here, see [`crate::stats::matching::WEIGHT_RESOLUTION_BITS`]), so exact ties
/// are broken by the seed, and far below any real difference between two pairs.
const WEIGHT_JITTER: f64 = 1e-6;

/// One stream per (seed, wave): waves of one batch differ, replays of one wave agree.
pub(super) fn wave_rng(seed: u64, wave: u32) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..12].copy_from_slice(&wave.to_le_bytes());
    key[12..20].copy_from_slice(b"cj-pairs");
    ChaCha8Rng::from_seed(key)
}

/// One matching over the candidates, heaviest pairs first. With an odd number of essays
/// available, the one with the most comparisons sits out (seeded choice among ties), unless
/// that leaves nothing to match.
pub(super) fn choose_matching(
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
