//! The request itself: seeds and wave numbers reach the random stream, `max_pairs` caps a
//! wave, inconsistent requests are refused with a reason, and the speed of a large wave.

use super::*;
use rand::SeedableRng;

#[test]
fn different_seeds_may_give_different_waves() {
    let batch = Batch::new(12);
    let waves: HashSet<Vec<PlannedPair>> = (0..10).map(|seed| batch.plan(6, seed, 0)).collect();
    assert!(
        waves.len() > 1,
        "all seeds planned the same wave on a tie-only batch"
    );
    let by_wave: HashSet<Vec<PlannedPair>> = (0..10).map(|wave| batch.plan(6, 1, wave)).collect();
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
