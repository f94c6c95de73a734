//! Balanced positions: a repeated pair is shown the other way round, and the essay owed
//! position A gets it.

use super::*;

#[test]
fn a_repeated_pair_is_shown_the_other_way_round() {
    let mut batch = Batch::new(2);
    batch.compared(0, 1);
    let wave = batch.plan(3, 1, 1);
    assert_eq!(
        wave,
        vec![PlannedPair {
            essay_a: 1,
            essay_b: 0,
            purpose: PairPurpose::Informative
        }]
    );
    batch.feed(&wave, PairStatus::Succeeded);
    batch.compared(1, 0);
    let wave = batch.plan(1, 1, 2);
    assert_eq!((wave[0].essay_a, wave[0].essay_b), (0, 1));
}

#[test]
fn the_essay_owed_position_a_gets_it() {
    let mut batch = Batch::new(4);
    // Essay 2 has been B twice, essay 3 A twice.
    batch.compared(0, 2);
    batch.compared(1, 2);
    batch.compared(3, 0);
    batch.compared(3, 1);
    // The open pairs are (0, 1) and (2, 3); both are planned.
    let wave = batch.plan(2, 8, 0);
    let oriented: Vec<(usize, usize)> = wave.iter().map(|p| (p.essay_a, p.essay_b)).collect();
    assert!(oriented.contains(&(2, 3)), "{oriented:?}");
}
