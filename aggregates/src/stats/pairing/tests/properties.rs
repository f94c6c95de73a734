//! Properties of every wave, over random batches and histories: well formed, covering,
//! no repeats during coverage, balanced round robins, deterministic per (seed, wave).

use super::*;
use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest, ProptestConfig};
use rand::SeedableRng;

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
