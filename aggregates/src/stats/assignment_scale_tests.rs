use super::*;
use proptest::prelude::*;
use rand::distributions::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::Normal;

const TRUE_POSITIONS: [f64; 4] = [-2.0, -0.5, 0.7, 2.1];

fn observations(offset: f64, noise: &[f64], standard_error: f64) -> Vec<AnchorObservation> {
    TRUE_POSITIONS
        .iter()
        .zip(noise)
        .enumerate()
        .map(|(i, (&truth, &error))| AnchorObservation {
            essay_id: format!("anchor-{i}"),
            grade_index: 2 * i,
            score: truth + offset + error,
            standard_error,
        })
        .collect()
}

#[test]
fn the_first_batch_defines_the_axis_centred_on_its_anchors() {
    let scale = AssignmentScale::default().fold(&observations(1.3, &[0.0; 4], 0.5));
    assert_eq!(scale.version, 1);
    let positions: Vec<f64> = scale.anchors.values().map(|a| a.position).collect();
    let centre = TRUE_POSITIONS.iter().sum::<f64>() / 4.0;
    for (position, truth) in positions.iter().zip(TRUE_POSITIONS) {
        assert!((position - (truth - centre)).abs() < 1e-12);
    }
    assert!(scale
        .anchors
        .values()
        .all(|a| (a.variance - 0.25).abs() < 1e-12));
}

#[test]
fn linking_recovers_the_offset_of_a_batch_axis() {
    let scale = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.5));
    let linking = scale.link(&observations(-0.8, &[0.0; 4], 0.5)).unwrap();
    // The scale's axis is centred on the anchors' mean, so the shift adds it back.
    let centre = TRUE_POSITIONS.iter().sum::<f64>() / 4.0;
    assert!(
        (linking.shift - (centre - 0.8)).abs() < 1e-12,
        "{linking:?}"
    );
    assert_eq!(linking.common_anchors, 4);
}

#[test]
fn an_empty_scale_calibrates_from_the_batch_anchors_alone() {
    let batch = observations(0.4, &[0.3, -0.2, 0.1, 0.0], 0.7);
    let own: Vec<AnchorPoint> = batch.iter().map(own_point).collect();
    assert_eq!(AssignmentScale::default().anchor_points(&batch), own);
    assert_eq!(
        AssignmentScale::default().calibrate(GradeScale::Swedish8Anchor, &batch),
        grading::calibrate(GradeScale::Swedish8Anchor, &own)
    );
}

#[test]
fn an_anchor_the_batch_did_not_judge_is_placed_by_the_linking() {
    let scale = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.5));
    let mut batch = observations(2.0, &[0.0; 4], 0.5);
    batch.pop();
    let points = scale.anchor_points(&batch);
    assert_eq!(points.len(), 4);
    let last = points.last().unwrap();
    assert_eq!(last.grade_index, 6);
    assert!(
        (last.score - (TRUE_POSITIONS[3] + 2.0)).abs() < 1e-9,
        "{last:?}"
    );
}

#[test]
fn a_batch_sharing_no_anchor_counts_but_moves_nothing() {
    let scale = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.5));
    let mut stranger = observations(0.0, &[0.0; 4], 0.5);
    stranger
        .iter_mut()
        .for_each(|o| o.essay_id.push_str("-other"));
    let folded = scale.fold(&stranger);
    assert_eq!(folded.version, 2);
    assert_eq!(folded.anchors, scale.anchors);
}

#[test]
fn noisy_batches_converge_on_the_true_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let noise = Normal::new(0.0, 0.75).unwrap();
    let mut scale = AssignmentScale::default();
    let error_after = |scale: &AssignmentScale| {
        let positions: Vec<f64> = scale.anchors.values().map(|a| a.position).collect();
        let spread = positions[3] - positions[0];
        (spread - (TRUE_POSITIONS[3] - TRUE_POSITIONS[0])).abs()
    };
    let mut errors = Vec::new();
    for batch in 0..40 {
        let draws: Vec<f64> = (0..4).map(|_| noise.sample(&mut rng)).collect();
        scale = scale.fold(&observations(batch as f64 * 0.1 - 2.0, &draws, 0.75));
        errors.push(error_after(&scale));
    }
    assert!(errors[39] < 0.35, "{errors:?}");
    let variance = scale.anchors.values().next().unwrap().variance;
    assert!(variance < 0.75 * 0.75 / 10.0, "{variance}");
}

/// The anchors as a calibration round places them: the true positions in a unit `unit`
/// times a batch's (a round's compressed axis), with standard errors in that unit.
fn round_observations(unit: f64, standard_error: f64) -> Vec<AnchorObservation> {
    observations(0.0, &[0.0; 4], standard_error)
        .into_iter()
        .map(|obs| AnchorObservation {
            score: obs.score * unit,
            ..obs
        })
        .collect()
}

fn spread(scale: &AssignmentScale) -> f64 {
    let positions: Vec<f64> = scale.anchors.values().map(|a| a.position).collect();
    positions[3] - positions[0]
}

#[test]
fn a_round_alone_keeps_its_own_unit_and_says_so() {
    let round = AssignmentScale::default().fold_round(&round_observations(0.6, 0.2));
    assert_eq!(round.unit(), ScaleUnit::CalibrationRound);
    let two_rounds = round.fold_round(&round_observations(0.6, 0.2));
    assert_eq!(two_rounds.unit(), ScaleUnit::CalibrationRound);
    assert!((spread(&two_rounds) - 0.6 * 4.1).abs() < 1e-9);
    // Batches only: the batches' unit, as before rounds existed.
    let batches = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.5));
    assert_eq!(batches.unit(), ScaleUnit::Batch);
}

#[test]
fn a_batch_is_linked_to_a_rounds_scale_with_the_slope_between_their_units() {
    let round = AssignmentScale::default().fold_round(&round_observations(0.6, 0.05));
    let batch = observations(1.5, &[0.0; 4], 0.05);
    let linking = round.link(&batch).unwrap();
    assert!((linking.slope - 1.0 / 0.6).abs() < 0.02, "{linking:?}");
    // The anchor points land where the batch itself placed its anchors.
    for (point, obs) in round.anchor_points(&batch).iter().zip(&batch) {
        assert!((point.score - obs.score).abs() < 0.05, "{point:?} {obs:?}");
    }
}

#[test]
fn the_first_batch_folded_into_a_rounds_scale_sets_the_unit_for_good() {
    let round = AssignmentScale::default().fold_round(&round_observations(0.6, 0.05));
    let folded = round.fold(&observations(1.5, &[0.0; 4], 0.05));
    assert_eq!(folded.unit(), ScaleUnit::Batch);
    assert!(folded.anchors.values().all(|a| !a.in_round_unit));
    assert!((spread(&folded) - 4.1).abs() < 0.05, "{folded:?}");
    // From then on a batch with the same differences links by a shift alone.
    let next = folded.link(&observations(-0.7, &[0.0; 4], 0.5)).unwrap();
    assert_eq!(next.slope, 1.0);
}

#[test]
fn batches_with_different_spreads_still_share_one_unit() {
    // The control: between batches no slope is estimated, however the spreads differ.
    let scale = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.3));
    let wider = round_observations(1.3, 0.3);
    assert_eq!(scale.link(&wider).unwrap().slope, 1.0);
}

#[test]
fn a_round_folded_into_a_batches_scale_is_rescaled_to_their_unit() {
    let scale = AssignmentScale::default().fold(&observations(0.0, &[0.0; 4], 0.05));
    let folded = scale.fold_round(&round_observations(0.6, 0.03));
    assert_eq!(folded.unit(), ScaleUnit::Batch);
    for (before, after) in scale.anchors.values().zip(folded.anchors.values()) {
        assert!(
            (after.position - before.position).abs() < 0.05,
            "{before:?} {after:?}"
        );
    }
}

#[test]
fn a_scale_stored_before_units_reads_as_the_batches_unit() {
    let stored = r#"{"grade_index":2,"position":0.5,"variance":0.2,"weight":5.0}"#;
    let anchor: AnchorPosition = serde_json::from_str(stored).unwrap();
    assert!(!anchor.in_round_unit);
    let written = serde_json::to_value(anchor).unwrap();
    assert!(written.get("in_round_unit").is_none(), "{written}");
}

proptest! {
    #[test]
    fn folding_never_widens_an_anchor(
        offsets in proptest::collection::vec(-3.0f64..3.0, 1..8),
        noise in proptest::collection::vec(-1.0f64..1.0, 4),
        standard_error in 0.1f64..2.0,
    ) {
        let mut scale = AssignmentScale::default();
        for offset in offsets {
            let before = scale.clone();
            scale = scale.fold(&observations(offset, &noise, standard_error));
            for (id, known) in &before.anchors {
                prop_assert!(scale.anchors[id].variance <= known.variance + 1e-12);
            }
            let points = scale.anchor_points(&observations(offset, &noise, standard_error));
            prop_assert!(points.iter().all(|p| p.score.is_finite() && p.standard_error > 0.0));
        }
    }

    #[test]
    fn linked_points_follow_a_batch_shift_exactly(shift in -5.0f64..5.0) {
        let scale = AssignmentScale::default().fold(&observations(0.0, &[0.2, -0.1, 0.0, 0.1], 0.6));
        let here = scale.anchor_points(&observations(0.0, &[0.0; 4], 0.6));
        let there = scale.anchor_points(&observations(shift, &[0.0; 4], 0.6));
        for (a, b) in here.iter().zip(&there) {
            prop_assert!((b.score - a.score - shift).abs() < 1e-9);
        }
    }
}
