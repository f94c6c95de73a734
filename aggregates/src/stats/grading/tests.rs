//! Tests of calibration and projection: the reference case, interpolation and pooling of
//! grade centres, the spread, refusals, each scale's published grades and modifiers,
//! confidence, the normal model, and properties over random anchor sets.

use super::projection::standard_normal_cdf;
use super::*;
use proptest::prelude::*;

fn anchors_by_grade(scale: GradeScale, groups: &[(&str, &[f64])]) -> Vec<AnchorPoint> {
    groups
        .iter()
        .flat_map(|(grade, scores)| {
            let grade_index = scale.index_of(grade).expect("grade on scale");
            scores
                .iter()
                .map(move |&score| AnchorPoint::new(score, grade_index))
        })
        .collect()
}

fn reference_calibration() -> Calibration {
    let anchors = anchors_by_grade(
        GradeScale::Swedish8Anchor,
        &[
            ("A", &[0.95, 0.9, 0.85]),
            ("B", &[0.8, 0.8, 0.8]),
            ("C", &[0.6, 0.6, 0.6]),
            ("D", &[0.4, 0.4, 0.4]),
        ],
    );
    calibrate(GradeScale::Swedish8Anchor, &anchors).expect("calibrates")
}

fn assert_close(actual: &[f64], expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() < 1e-9, "{actual:?} vs {expected:?}");
    }
}

#[test]
fn reference_case_publishes_b_minus_low_in_the_interval_and_plain_b_in_the_middle() {
    let calibration = reference_calibration();
    let low = calibration.project(0.76, 0.01);
    assert_eq!(low.grade, "B-");
    assert_eq!(low.base_grade, "B");
    let middle = calibration.project(0.80, 0.01);
    assert_eq!(middle.grade, "B");
    assert_eq!(middle.base_grade, "B");
}

#[test]
fn unanchored_grades_are_interpolated_between_and_extrapolated_beyond_anchored_ones() {
    let calibration = reference_calibration();
    // F and E extrapolate the D–C line (0.1 per grade); D+ and C+ sit halfway.
    assert_close(
        &calibration.centres,
        &[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    );
    assert_close(
        &calibration.boundaries,
        &[0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85],
    );
    assert_eq!(calibration.anchor_count, 12);
    assert_eq!(calibration.anchored_grades, 4);
}

#[test]
fn grades_above_the_highest_anchor_extrapolate_its_two_nearest_anchored_grades() {
    let scale = GradeScale::Eng5NpNational9Step;
    let anchors = anchors_by_grade(scale, &[("1", &[-3.0]), ("2", &[-2.5]), ("4", &[-1.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    // "3" interpolates 1 and 4; "5".."9" follow the "2"–"4" line (0.75 per grade).
    assert_close(
        &calibration.centres,
        &[-3.0, -2.5, -1.75, -1.0, -0.25, 0.5, 1.25, 2.0, 2.75],
    );
}

#[test]
fn two_anchored_grades_extend_the_line_through_them_both_ways() {
    let scale = GradeScale::Swedish8Anchor;
    let anchors = anchors_by_grade(scale, &[("D", &[-1.0]), ("C", &[1.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert_close(
        &calibration.centres,
        &[-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0],
    );
}

#[test]
fn isotonic_regression_pools_an_inverted_anchor_pair_by_anchor_weight() {
    let scale = GradeScale::Swedish8Anchor;
    let anchors = anchors_by_grade(
        scale,
        &[
            ("F", &[0.0]),
            ("E", &[1.0]),
            ("D", &[2.0]),
            ("D+", &[4.0, 4.0, 4.0]),
            ("C", &[3.0]),
            ("C+", &[5.0]),
            ("B", &[6.0]),
            ("A", &[7.0]),
        ],
    );
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    // D+ (three anchors at 4) and C (one at 3) pool to (12 + 3) / 4.
    assert_close(
        &calibration.centres,
        &[0.0, 1.0, 2.0, 3.75, 3.75, 5.0, 6.0, 7.0],
    );
    // The pooled pair share a boundary of zero width: C+ is reached straight from D+.
    assert_eq!(calibration.boundaries[3], 3.75);
    assert_eq!(calibration.interval_of(3.8).map(|i| i.grade), Some("C"));
    assert_eq!(calibration.interval_of(3.7).map(|i| i.grade), Some("D+"));
}

#[test]
fn unanchored_grades_weigh_one_anchor_when_pooled() {
    let scale = GradeScale::Swedish8Anchor;
    // E at 1 and C+ at 0 (inverted): the line through them falls 0.25 per grade, so
    // every centre F..A decreases (1.25 down to −0.5) and all eight pool to their
    // mean with weight 1 each: 3 / 8.
    let anchors = anchors_by_grade(scale, &[("E", &[1.0]), ("C+", &[0.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert_close(&calibration.centres, &[0.375; 8]);
    // Three anchors at C+ outweigh the one at E: the pool moves towards C+.
    let anchors = anchors_by_grade(scale, &[("E", &[1.0]), ("C+", &[0.0, 0.0, 0.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert_close(&calibration.centres, &[3.0 / 10.0; 8]);
}

#[test]
fn spread_is_the_pooled_within_grade_standard_deviation() {
    let scale = GradeScale::Swedish8Anchor;
    // Squares 1+1 in each grade: sqrt(4 / (4 − 2)).
    let anchors = anchors_by_grade(scale, &[("E", &[0.0, 2.0]), ("C", &[10.0, 12.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert!((calibration.spread - 2f64.sqrt()).abs() < 1e-12);
}

#[test]
fn spread_is_floored_when_anchors_agree() {
    // Reference case: pooled SD is sqrt(0.005 / 8) = 0.025, under the floor.
    assert_eq!(reference_calibration().spread, MIN_SPREAD);
}

#[test]
fn spread_is_the_floor_when_no_grade_has_two_anchors() {
    let scale = GradeScale::Swedish8Anchor;
    let anchors = anchors_by_grade(scale, &[("E", &[0.0]), ("C", &[1.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert_eq!(calibration.spread, MIN_SPREAD);
}

#[test]
fn fewer_than_two_anchored_grades_cannot_calibrate() {
    let scale = GradeScale::Swedish8Anchor;
    assert_eq!(
        calibrate(scale, &[]),
        Err(CalibrationError::TooFewAnchorGrades { distinct: 0 })
    );
    let one_grade = anchors_by_grade(scale, &[("C", &[0.1, 0.5, -0.2])]);
    assert_eq!(
        calibrate(scale, &one_grade),
        Err(CalibrationError::TooFewAnchorGrades { distinct: 1 })
    );
}

#[test]
fn anchors_off_the_scale_or_not_finite_are_rejected() {
    let scale = GradeScale::Swedish8Anchor;
    let valid = AnchorPoint::new(0.0, 1);
    let off_scale = AnchorPoint::new(1.0, 8);
    assert_eq!(
        calibrate(scale, &[valid, off_scale]),
        Err(CalibrationError::GradeOutOfScale {
            grade_index: 8,
            scale
        })
    );
    for score in [f64::NAN, f64::INFINITY] {
        let bad = AnchorPoint::new(score, 2);
        assert_eq!(
            calibrate(scale, &[valid, bad]),
            Err(CalibrationError::NonFiniteScore)
        );
    }
    let overflowing = AnchorPoint::new(f64::MAX, 2);
    assert_eq!(
        calibrate(scale, &[valid, overflowing, overflowing]),
        Err(CalibrationError::NonFiniteScore)
    );
}

#[test]
fn eng5_national_gives_grade_zero_below_the_cutoff_and_numeric_grades_above() {
    let scale = GradeScale::Eng5NpNational9Step;
    let anchors = anchors_by_grade(
        scale,
        &[("1", &[-2.0, -2.2]), ("5", &[0.0, 0.2]), ("9", &[2.0, 2.2])],
    );
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    let cutoff = calibration.centres[0] - 2.0 * calibration.spread;
    assert_eq!(calibration.below_lowest_cutoff, Some(cutoff));

    let far_below = calibration.project(cutoff - 0.01, 0.1);
    assert_eq!(far_below.grade, "0");
    assert_eq!(far_below.base_grade, "0");
    let just_above = calibration.project(cutoff + 0.01, 0.1);
    assert_eq!(just_above.grade, "1");
    let top = calibration.project(2.1, 0.1);
    assert_eq!(top.grade, "9");

    let keys: Vec<&str> = far_below.probabilities.keys().map(String::as_str).collect();
    assert_eq!(keys, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert!(far_below.probabilities["0"] > 0.5);
    let mid = calibration.project(0.1, 0.1);
    assert_eq!(mid.grade, "5");
    assert_eq!(calibration.published_grades().len(), 10);
}

#[test]
fn eng5_legacy_gives_f_below_the_cutoff_and_no_derived_modifiers() {
    let scale = GradeScale::Eng5NpLegacy9Step;
    let anchors = anchors_by_grade(scale, &[("F+", &[-2.0]), ("B", &[1.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    assert_eq!(calibration.project(-3.0, 0.2).grade, "F");
    let lowest = calibration.project(-2.0, 0.2);
    assert_eq!(lowest.grade, "F+");
    assert!(lowest.probabilities.contains_key("F"));
    // Low in the B interval, yet legacy grades never take derived modifiers.
    let low_b = calibration.interval_of(1.0).expect("interval");
    let projection = calibration.project(low_b.lower + 0.01, 0.0);
    assert_eq!(projection.grade, "B");
}

#[test]
fn swedish_plus_applies_to_e_and_b_only_and_open_intervals_stay_plain() {
    let calibration = reference_calibration();
    // Boundaries 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85.
    assert_eq!(calibration.project(0.34, 0.01).grade, "E+");
    assert_eq!(calibration.project(0.26, 0.01).grade, "E-");
    assert_eq!(calibration.project(0.84, 0.01).grade, "B+");
    assert_eq!(calibration.project(0.44, 0.01).grade, "D");
    assert_eq!(calibration.project(0.36, 0.01).grade, "D-");
    assert_eq!(calibration.project(0.46, 0.01).grade, "D+");
    assert_eq!(calibration.project(0.54, 0.01).grade, "D+");
    assert_eq!(calibration.project(0.66, 0.01).grade, "C+");
    assert_eq!(calibration.project(0.56, 0.01).grade, "C-");
    // F and A are open-ended: plain however far out.
    assert_eq!(calibration.project(0.86, 0.01).grade, "A");
    assert_eq!(calibration.project(0.10, 0.01).grade, "F");
    assert_eq!(calibration.project(0.24, 0.01).grade, "F");
}

#[test]
fn confidence_labels_switch_at_their_thresholds() {
    assert_eq!(ConfidenceLabel::from_confidence(0.7), ConfidenceLabel::High);
    assert_eq!(
        ConfidenceLabel::from_confidence(0.6999),
        ConfidenceLabel::Mid
    );
    assert_eq!(ConfidenceLabel::from_confidence(0.4), ConfidenceLabel::Mid);
    assert_eq!(
        ConfidenceLabel::from_confidence(0.3999),
        ConfidenceLabel::Low
    );
    assert_eq!(
        ConfidenceLabel::from_confidence(f64::NAN),
        ConfidenceLabel::Low
    );
    let json = serde_json::to_string(&[
        ConfidenceLabel::High,
        ConfidenceLabel::Mid,
        ConfidenceLabel::Low,
    ])
    .expect("serialises");
    assert_eq!(json, r#"["HIGH","MID","LOW"]"#);
}

#[test]
fn confidence_is_the_probability_of_the_primary_grade_and_falls_with_the_error() {
    let scale = GradeScale::Swedish8Anchor;
    let anchors = anchors_by_grade(scale, &[("D", &[-1.0]), ("C", &[1.0])]);
    let calibration = calibrate(scale, &anchors).expect("calibrates");
    // D+ is [−0.5, 0.5): half a logit either side of the score.
    let sure = calibration.project(0.0, 0.1);
    assert_eq!(sure.base_grade, "D+");
    assert_eq!(sure.confidence, sure.probabilities["D+"]);
    assert_eq!(sure.label, ConfidenceLabel::High);
    let unsure = calibration.project(0.0, 0.5);
    assert_eq!(unsure.base_grade, "D+");
    assert!(unsure.confidence < sure.confidence);
    assert_eq!(unsure.label, ConfidenceLabel::Mid);
    let lost = calibration.project(0.0, 2.0);
    assert_eq!(lost.base_grade, "D+");
    assert_eq!(lost.label, ConfidenceLabel::Low);
}

#[test]
fn probabilities_follow_the_normal_model() {
    let calibration = reference_calibration();
    // s = sqrt(0.03² + 0.05²); B is [0.75, 0.85) around 0.80.
    let s = 0.03f64.hypot(0.05);
    let expected = standard_normal_cdf(0.05 / s) - standard_normal_cdf(-0.05 / s);
    let projection = calibration.project(0.80, 0.03);
    assert!((projection.probabilities["B"] - expected).abs() < 1e-12);
    // statrs' erfc is good to about 1e-11 here, ample for grade probabilities.
    assert!((standard_normal_cdf(1.0) - 0.841_344_746_068_543).abs() < 1e-10);
    assert!((standard_normal_cdf(-1.959_963_984_540_054) - 0.025).abs() < 1e-10);
}

#[test]
fn unknown_standard_error_spreads_the_probabilities() {
    let calibration = reference_calibration();
    for standard_error in [f64::NAN, f64::INFINITY, -1.0] {
        let projection = calibration.project(0.80, standard_error);
        assert_eq!(projection.base_grade, "B");
        assert_eq!(projection.label, ConfidenceLabel::Low);
        assert_eq!(
            projection,
            calibration.project(0.80, UNKNOWN_STANDARD_ERROR)
        );
    }
    let unknown_score = calibration.project(f64::NAN, 0.01);
    assert_eq!(
        unknown_score,
        calibration.project(0.0, UNKNOWN_STANDARD_ERROR)
    );
    assert_eq!(calibration.interval_of(f64::NAN), None);
    assert_eq!(calibration.project(f64::INFINITY, 0.1).grade, "A");
    assert_eq!(calibration.project(f64::NEG_INFINITY, 0.1).confidence, 1.0);
}

#[test]
fn distance_to_nearest_boundary_counts_the_below_lowest_cutoff() {
    let calibration = reference_calibration();
    assert!((calibration.distance_to_nearest_boundary(0.76) - 0.01).abs() < 1e-12);
    assert!((calibration.distance_to_nearest_boundary(0.0) - 0.25).abs() < 1e-12);
    assert_eq!(
        calibration.distance_to_nearest_boundary(f64::NAN),
        f64::INFINITY
    );

    let scale = GradeScale::Eng5NpNational9Step;
    let anchors = anchors_by_grade(scale, &[("1", &[0.0]), ("2", &[1.0])]);
    let eng5 = calibrate(scale, &anchors).expect("calibrates");
    // Cutoff at 0 − 2 × 0.05 = −0.1.
    assert!((eng5.distance_to_nearest_boundary(-0.15) - 0.05).abs() < 1e-12);
}

#[test]
fn a_hand_built_calibration_with_missing_or_disordered_edges_does_not_panic() {
    let mut calibration = reference_calibration();
    calibration.boundaries = vec![0.5, f64::NAN, 0.1];
    calibration.spread = f64::NAN;
    let projection = calibration.project(0.3, 0.1);
    let total: f64 = projection.probabilities.values().sum();
    assert!((total - 1.0).abs() < 1e-12);
    assert!(projection
        .probabilities
        .values()
        .all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(calibration.intervals().len(), 8);
}

#[test]
fn with_a_cohort_the_probabilities_are_regressed_and_the_primary_grade_stays_at_the_score() {
    // Given D at −1 and C at 1 on the Swedish scale (D+ [−0.5, 0.5), C [0.5, 1.5), C+ from
    // 1.5) and a cohort whose scores spread twice as wide as its students (reliability .5),
    let scale = GradeScale::Swedish8Anchor;
    let calibration = calibrate(
        scale,
        &anchors_by_grade(scale, &[("D", &[-1.0]), ("C", &[1.0])]),
    )
    .expect("calibrates")
    .with_cohort(CohortPrior::estimate(
        &[-2.0, 0.0, 2.0],
        &[2.0f64.sqrt(); 3],
    ));
    // when a student scored 1.6 ± 1.41 is projected,
    let projection = calibration.project(1.6, 2.0f64.sqrt());
    // then its grade is where the score lies, while the probabilities are centred where the
    // student most likely lies (0.8, in C): C is likelier than the grade it is given.
    assert_eq!(projection.base_grade, "C+");
    assert!(
        projection.probabilities["C"] > projection.probabilities["C+"],
        "{projection:?}"
    );
    assert_eq!(projection.confidence, projection.probabilities["C+"]);
}

#[test]
fn calibration_round_trips_through_json() {
    let calibration = reference_calibration();
    let json = serde_json::to_string(&calibration).expect("serialises");
    let back: Calibration = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back.scale, calibration.scale);
    assert_eq!(back.anchor_count, calibration.anchor_count);
    // serde_json may parse a float one unit in the last place off.
    assert_close(&back.centres, &calibration.centres);
    assert_close(&back.boundaries, &calibration.boundaries);
    assert_eq!(back.project(0.76, 0.01).grade, "B-");
    let projection = calibration.project(0.76, 0.01);
    let json = serde_json::to_value(&projection).expect("serialises");
    assert_eq!(json["grade"], "B-");
    assert_eq!(json["label"], "MID");
}

fn scales() -> impl Strategy<Value = GradeScale> {
    prop::sample::select(GradeScale::ALL.to_vec())
}

/// Anchors on the lowest eight grades, which every scale has.
fn anchor_sets() -> impl Strategy<Value = Vec<AnchorPoint>> {
    prop::collection::vec((0usize..8, -4.0f64..4.0), 2..30).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(grade_index, score)| AnchorPoint::new(score, grade_index))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn probabilities_are_real_and_sum_to_one(
        scale in scales(),
        anchors in anchor_sets(),
        score in -6.0f64..6.0,
        standard_error in 0.0f64..3.0,
    ) {
        let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
        let projection = calibration.project(score, standard_error);
        let total: f64 = projection.probabilities.values().sum();
        prop_assert!((total - 1.0).abs() < 1e-9, "sum {total}");
        prop_assert!(projection.probabilities.values().all(|p| (0.0..=1.0).contains(p)));
        prop_assert_eq!(projection.probabilities.len(), calibration.published_grades().len());
        prop_assert_eq!(projection.confidence, projection.probabilities[&projection.base_grade]);
    }

    #[test]
    fn centres_and_boundaries_never_decrease(scale in scales(), anchors in anchor_sets()) {
        let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
        prop_assert_eq!(calibration.centres.len(), scale.grades().len());
        prop_assert_eq!(calibration.boundaries.len(), scale.grades().len() - 1);
        prop_assert!(calibration.centres.windows(2).all(|pair| pair[0] <= pair[1]));
        prop_assert!(calibration.boundaries.windows(2).all(|pair| pair[0] <= pair[1]));
        prop_assert!(calibration.spread >= MIN_SPREAD);
        if let Some(cutoff) = calibration.below_lowest_cutoff {
            prop_assert!(cutoff < calibration.boundaries[0]);
        }
    }

    #[test]
    fn primary_grade_is_the_interval_containing_the_score_whatever_the_error(
        scale in scales(),
        anchors in anchor_sets(),
        score in -6.0f64..6.0,
        small_error in 0.0f64..0.2,
        large_error in 0.2f64..5.0,
    ) {
        let Ok(calibration) = calibrate(scale, &anchors) else { return Ok(()) };
        let interval = calibration.interval_of(score).expect("finite score has an interval");
        prop_assert!(interval.lower <= score && score < interval.upper);
        let precise = calibration.project(score, small_error);
        let vague = calibration.project(score, large_error);
        prop_assert_eq!(precise.base_grade.as_str(), interval.grade);
        prop_assert_eq!(vague.base_grade.as_str(), interval.grade);
        prop_assert_eq!(precise.grade, vague.grade);
    }

    #[test]
    fn any_inputs_project_without_panicking(
        anchors in anchor_sets(),
        score in any::<f64>(),
        standard_error in any::<f64>(),
    ) {
        let Ok(calibration) = calibrate(GradeScale::Eng5NpNational9Step, &anchors) else { return Ok(()) };
        let projection = calibration.project(score, standard_error);
        let total: f64 = projection.probabilities.values().sum();
        prop_assert!((total - 1.0).abs() < 1e-9);
        prop_assert!(projection.confidence.is_finite());
        let _ = calibration.distance_to_nearest_boundary(score);
    }
}
