//! The row change of `cj_assignment_scales`: each scored batch of an assignment is one more
//! version, folded from the anchors its `BatchScored` recorded.

use super::*;
use cj_aggregates::batch::events::EssayScore;
use cj_aggregates::ids::EssayId;
use cj_aggregates::stats::assignment_scale::ScaleUnit;
use cj_aggregates::stats::grade_scale::GradeScale;

fn essay(id: &str, grade: Option<&str>, score: f64) -> EssayScore {
    EssayScore {
        essay_id: EssayId::parse(id).unwrap(),
        is_anchor: grade.is_some(),
        known_grade: grade.map(str::to_string),
        bt_score: score,
        standard_error: 0.5,
        rank: 1,
        comparisons: 10,
        projection: None,
        infit: None,
        outfit: None,
        misfit: false,
    }
}

/// A scored batch with anchors E, C and A at `anchor_scores` and two students.
fn scored(anchor_scores: [f64; 3]) -> BatchScored {
    let [e, c, a] = anchor_scores;
    BatchScored {
        essays: vec![
            essay("s-1", None, 0.3),
            essay("ANCHOR_1_aa", Some("E"), e),
            essay("ANCHOR_2_bb", Some("C"), c),
            essay("ANCHOR_3_cc", Some("A"), a),
            essay("s-2", None, -0.4),
        ],
        ssr: Some(0.8),
        grade_scale: GradeScale::Swedish8Anchor,
        calibration: None,
        calibration_unavailable: None,
        successful_comparisons: 40,
        reliability: None,
        assignment_scale_version: None,
    }
}

/// Version 1 of an assignment: batch 1 with anchors E, C, A at -1, 0.5 and 2 logits.
fn first_version() -> ScaleVersion {
    next_version(
        &AssignmentScale::default(),
        Uuid::from_u128(1),
        BatchPurpose::Assessment,
        &scored([-1.0, 0.5, 2.0]),
    )
    .expect("anchors to contribute")
}

#[test]
fn the_first_scored_batch_of_an_assignment_is_version_1_centred_on_its_anchors() {
    let first = first_version();
    assert_eq!(first.batch_id, Uuid::from_u128(1));
    assert_eq!(first.scale.version, 1);
    assert_eq!(first.contributed.len(), 3, "the anchors, not the students");
    let positions: Vec<f64> = first.scale.anchors.values().map(|a| a.position).collect();
    assert!(
        positions.iter().sum::<f64>().abs() < 1e-9,
        "centred: {positions:?}"
    );
    let e = &first.scale.anchors["ANCHOR_1_aa"];
    assert_eq!(
        e.grade_index,
        GradeScale::Swedish8Anchor.index_of("E").unwrap()
    );
    assert!((e.position - (-1.0 - 0.5)).abs() < 1e-9);
}

#[test]
fn each_later_batch_is_one_more_version_and_narrows_the_anchors() {
    let first = first_version();
    // The second batch's axis is shifted by 3 logits: linking takes the shift out.
    let second = next_version(
        &first.scale,
        Uuid::from_u128(2),
        BatchPurpose::Assessment,
        &scored([2.0, 3.5, 5.0]),
    )
    .unwrap();
    assert_eq!(second.scale.version, 2);
    for (id, after) in &second.scale.anchors {
        let before = &first.scale.anchors[id];
        assert!(
            (after.position - before.position).abs() < 1e-9,
            "{id} stays put"
        );
        assert!(after.variance < before.variance, "{id} is known better");
    }
}

#[test]
fn a_batch_without_anchors_folds_nothing() {
    let mut no_anchors = scored([0.0, 0.0, 0.0]);
    no_anchors.essays.retain(|e| !e.is_anchor);
    assert_eq!(
        next_version(
            &AssignmentScale::default(),
            Uuid::nil(),
            BatchPurpose::Assessment,
            &no_anchors
        ),
        None
    );
    let unscored = scored([f64::NAN, f64::NAN, f64::NAN]);
    assert_eq!(
        next_version(
            &AssignmentScale::default(),
            Uuid::nil(),
            BatchPurpose::Assessment,
            &unscored
        ),
        None
    );
}

#[test]
fn a_stored_version_reads_back_as_the_scale_it_was_written_from() {
    let first = first_version();
    let stored = serde_json::to_value(&first.scale.anchors).unwrap();
    let read = scale_from_row((1, stored)).unwrap();
    assert_eq!(read, first.scale);
    assert!(scale_from_row((-1, Value::Object(Default::default()))).is_err());
}

#[test]
fn a_calibration_round_folds_in_its_own_unit() {
    let round = next_version(
        &AssignmentScale::default(),
        Uuid::from_u128(1),
        BatchPurpose::CalibrationRound,
        &scored([-0.6, 0.3, 1.2]),
    )
    .expect("anchors to contribute");
    assert_eq!(round.scale.unit(), ScaleUnit::CalibrationRound);
    // The control: the same anchors from an assessment are in the batches' unit.
    assert_eq!(first_version().scale.unit(), ScaleUnit::Batch);
}
