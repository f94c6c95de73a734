//! Times Bradley–Terry fits of a CJ-sized batch (200 essays × 4,000 comparisons) without
//! criterion: `cargo bench -p cj-aggregates --bench bradley_terry`.

use cj_aggregates::bradley_terry::{fit, win_probability, Outcome, DEFAULT_ALPHA};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::Instant;

const ESSAYS: usize = 200;
const COMPARISONS: usize = 4_000;
const TIMED_FITS: usize = 20;
/// Fixed so every run times the same graph.
const SEED: u64 = 20_240_601;

/// Random pairs with outcomes drawn from the Bradley–Terry model on abilities spread over
/// about ±3 logits, like a real batch.
fn simulated_batch(rng: &mut ChaCha8Rng) -> Vec<Outcome> {
    let abilities: Vec<f64> = (0..ESSAYS).map(|_| rng.gen_range(-3.0..3.0)).collect();
    (0..COMPARISONS)
        .map(|_| {
            let a = rng.gen_range(0..ESSAYS);
            let b = (a + rng.gen_range(1..ESSAYS)) % ESSAYS;
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

fn main() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let outcomes = simulated_batch(&mut rng);
    let mut iterations = 0;
    let mut milliseconds: Vec<f64> = (0..TIMED_FITS)
        .map(|_| {
            let started = Instant::now();
            let fitted = fit(black_box(ESSAYS), black_box(&outcomes), DEFAULT_ALPHA)
                .expect("a simulated batch is always fittable");
            iterations = fitted.iterations;
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    milliseconds.sort_by(f64::total_cmp);
    println!(
        "bradley_terry fit {ESSAYS} essays x {COMPARISONS} comparisons ({iterations} iterations), \
         {TIMED_FITS} runs: median {:.2} ms, min {:.2} ms",
        milliseconds[TIMED_FITS / 2],
        milliseconds[0]
    );
}
