//! Then information: informative pairs start after coverage and prefer close essays,
//! uncertain essays, anchors near a boundary and pairs compared fewer times.

use super::*;

#[test]
fn informative_pairs_start_once_every_essay_reached_the_target() {
    let mut batch = Batch::new(8);
    batch.coverage_target = 2;
    // A cycle 0-1-…-7-0: two comparisons each, most pairs still unmet.
    for essay in 0..8 {
        batch.compared(essay, (essay + 1) % 8);
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
    batch.compared(0, 1);
    batch.compared(2, 3);
    let wave = batch.plan(2, 6, 2);
    let pairs: HashSet<(usize, usize)> = wave.iter().map(unordered).collect();
    assert!(
        !pairs.contains(&(0, 1)) && !pairs.contains(&(2, 3)),
        "{pairs:?}"
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
