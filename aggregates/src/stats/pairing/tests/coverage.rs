//! Coverage first: essays with few comparisons are paired first, close ones together,
//! odd batches sit out the most compared essay, failed records still mark a pair met.

use super::*;

#[test]
fn coverage_prefers_essays_with_fewer_comparisons() {
    let mut batch = Batch::new(6);
    // Essays 0..=3 have two comparisons each; 4 and 5 none.
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3)] {
        batch.compared(a, b);
    }
    let wave = batch.plan(1, 9, 0);
    let pair = unordered(&wave[0]);
    assert!(
        pair.0 >= 4 || pair.1 >= 4,
        "first pair {pair:?} skips the uncompared essays"
    );
}

#[test]
fn coverage_pairs_essays_close_on_the_scale_when_need_is_equal() {
    let mut batch = Batch::new(6);
    batch.scores = vec![-3.0, 0.1, 3.0, -2.9, 3.2, 0.0];
    let wave = batch.plan(3, 5, 0);
    let pairs: HashSet<(usize, usize)> = wave.iter().map(unordered).collect();
    assert_eq!(pairs, HashSet::from([(0, 3), (1, 5), (2, 4)]));
}

#[test]
fn odd_batches_sit_out_the_essay_with_most_comparisons() {
    let mut batch = Batch::new(5);
    batch.compared(0, 1);
    batch.compared(2, 1);
    let wave = batch.plan(2, 4, 0);
    assert_eq!(wave.len(), 2);
    assert!(
        wave.iter().all(|p| p.essay_a != 1 && p.essay_b != 1),
        "{wave:?}"
    );
}

#[test]
fn failed_records_mark_a_pair_met_but_count_no_position() {
    let history = [
        PairRecord {
            essay_a: 0,
            essay_b: 1,
            status: PairStatus::Failed,
        },
        PairRecord {
            essay_a: 0,
            essay_b: 1,
            status: PairStatus::Pending,
        },
        PairRecord {
            essay_a: 2,
            essay_b: 0,
            status: PairStatus::Succeeded,
        },
        PairRecord {
            essay_a: 9,
            essay_b: 0,
            status: PairStatus::Succeeded,
        },
    ];
    assert_eq!(position_counts(3, &history), vec![(1, 1), (0, 1), (1, 0)]);
    let mut batch = Batch::new(3);
    batch.history.push(history[0]);
    batch.coverage_target = 1;
    let wave = batch.plan(1, 0, 0);
    assert_ne!(
        unordered(&wave[0]),
        (0, 1),
        "a failed pair is not a coverage candidate"
    );
}
