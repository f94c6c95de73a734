//! Synthetic comparison data of a known shape: random pairs of essays with outcomes drawn
//! from the Bradley–Terry model on abilities spread over about ±3 logits, like a real
//! batch. Fixed by a seed, so every run of a benchmark fits the same graph.

use crate::stats::bradley_terry::{win_probability, Outcome};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `comparisons` outcomes among `essays` essays (at least 2), drawn with `seed`.
pub fn simulated_outcomes(essays: usize, comparisons: usize, seed: u64) -> Vec<Outcome> {
    let essays = essays.max(2);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let abilities: Vec<f64> = (0..essays).map(|_| rng.gen_range(-3.0..3.0)).collect();
    (0..comparisons)
        .map(|_| {
            let a = rng.gen_range(0..essays);
            let b = (a + rng.gen_range(1..essays)) % essays;
            if rng.gen::<f64>() < win_probability(abilities[a], abilities[b]) {
                Outcome {
                    winner: a,
                    loser: b,
                }
            } else {
                Outcome {
                    winner: b,
                    loser: a,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_the_graph_and_no_essay_meets_itself() {
        let first = simulated_outcomes(20, 500, 7);
        assert_eq!(first, simulated_outcomes(20, 500, 7));
        assert_ne!(first, simulated_outcomes(20, 500, 8));
        assert!(first
            .iter()
            .all(|o| o.winner != o.loser && o.winner < 20 && o.loser < 20));
    }
}
