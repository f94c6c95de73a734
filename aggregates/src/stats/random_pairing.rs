//! The baseline planner: uniformly random pairs with random orientation. Used by
//! `simulate --baseline` to show what the adaptive planner gains; never by default.

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

/// Up to `max_pairs` distinct random pairs of `essay_count` essays, seeded by `seed` and
/// `wave`. Pairs may repeat across waves, as they would under random assignment.
pub fn plan_random_wave(
    essay_count: usize,
    max_pairs: usize,
    seed: u64,
    wave: u32,
) -> Vec<(usize, usize)> {
    if essay_count < 2 {
        return Vec::new();
    }
    let all_pairs = essay_count * (essay_count - 1) / 2;
    let wanted = max_pairs.min(all_pairs);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(wave) << 32));
    let mut chosen = HashSet::new();
    let mut pairs = Vec::with_capacity(wanted);
    while pairs.len() < wanted {
        let picked = sample(&mut rng, essay_count, 2);
        let (a, b) = (picked.index(0), picked.index(1));
        if chosen.insert((a.min(b), a.max(b))) {
            pairs.push((a, b));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_waves_are_distinct_pairs_and_reproducible() {
        let wave = plan_random_wave(10, 20, 7, 1);
        assert_eq!(wave.len(), 20);
        let unique: HashSet<_> = wave.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect();
        assert_eq!(unique.len(), 20);
        assert!(wave.iter().all(|&(a, b)| a != b && a < 10 && b < 10));
        assert_eq!(wave, plan_random_wave(10, 20, 7, 1));
    }

    #[test]
    fn a_wave_never_asks_for_more_pairs_than_exist() {
        assert_eq!(plan_random_wave(3, 50, 1, 1).len(), 3);
        assert!(plan_random_wave(1, 5, 1, 1).is_empty());
    }
}
