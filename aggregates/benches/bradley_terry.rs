//! Times Bradley–Terry fits of a CJ-sized batch (200 essays × 4,000 comparisons) without
//! criterion: `cargo bench -p cj-aggregates --bench bradley_terry`. `cj-assessment bench
//! bt-fit` times the same fit next to choix in one run.

use cj_aggregates::stats::bradley_terry::{fit, DEFAULT_ALPHA};
use cj_aggregates::stats::synthetic_outcomes::simulated_outcomes;
use std::hint::black_box;
use std::time::Instant;

const ESSAYS: usize = 200;
const COMPARISONS: usize = 4_000;
const TIMED_FITS: usize = 20;
/// Fixed so every run times the same graph.
const SEED: u64 = 20_240_601;

fn main() {
    let outcomes = simulated_outcomes(ESSAYS, COMPARISONS, SEED);
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
