//! Anchors settled by an assignment scale: two of them are never paired, in coverage or
//! after it, and a wave still fills when the only pairs an anchor has not met are with
//! other anchors.

use super::*;

/// Essays 0..anchors are anchors, the rest students.
fn with_settled_anchors(essay_count: usize, anchors: usize) -> Batch {
    let mut batch = Batch::new(essay_count);
    batch.settled_anchors = Some((0..essay_count).map(|essay| essay < anchors).collect());
    batch
}

fn anchor_pairs(batch: &Batch, wave: &[PlannedPair]) -> Vec<(usize, usize)> {
    let anchors = batch.settled_anchors.as_deref().unwrap_or(&[]);
    wave.iter()
        .filter(|p| anchors[p.essay_a] && anchors[p.essay_b])
        .map(unordered)
        .collect()
}

#[test]
fn settled_anchors_are_never_compared_with_each_other() {
    let mut batch = with_settled_anchors(14, 6);
    batch.scores = (0..14)
        .map(|essay| f64::from(essay as u32) * 0.3 - 2.0)
        .collect();
    for wave_number in 0..12 {
        let wave = batch.plan(7, 5, wave_number);
        assert_wave_well_formed(&wave, 14, 7);
        assert_eq!(anchor_pairs(&batch, &wave), vec![], "wave {wave_number}");
        batch.feed(&wave, PairStatus::Succeeded);
    }
    assert!(
        batch.history.len() >= 70,
        "waves kept filling: {} comparisons",
        batch.history.len()
    );
}

#[test]
fn without_a_settled_scale_anchors_meet_each_other_like_any_essays() {
    let mut batch = Batch::new(14);
    batch.scores = (0..14)
        .map(|essay| f64::from(essay as u32) * 0.3 - 2.0)
        .collect();
    for wave_number in 0..12 {
        let wave = batch.plan(7, 5, wave_number);
        batch.feed(&wave, PairStatus::Succeeded);
    }
    assert!(
        batch.history.iter().any(|r| r.essay_a < 6 && r.essay_b < 6),
        "the same batch without settled anchors never paired two of its first six essays"
    );
}

#[test]
fn an_anchor_short_of_coverage_with_only_anchors_left_to_meet_does_not_stall_the_wave() {
    // Three anchors and two students; each anchor has met both students and the students
    // each other, so all an anchor has not met are the other anchors, and its coverage
    // target (4) cannot be reached without them.
    let mut batch = with_settled_anchors(5, 3);
    for anchor in 0..3 {
        for student in 3..5 {
            batch.compared(anchor, student);
        }
    }
    batch.compared(3, 4);
    let wave = batch.plan(2, 1, 3);
    assert!(!wave.is_empty(), "the wave stalled");
    assert_eq!(anchor_pairs(&batch, &wave), vec![]);
    assert!(wave.iter().all(|p| p.purpose == PairPurpose::Informative));
}

#[test]
fn a_settled_anchor_list_of_the_wrong_length_is_refused() {
    let mut batch = Batch::new(4);
    batch.settled_anchors = Some(vec![true, false]);
    assert_eq!(
        try_plan_wave(&batch.request(2, 0, 0)),
        Err(PairingError::LengthMismatch {
            field: "settled_anchors",
            expected: 4,
            actual: 2
        })
    );
}
