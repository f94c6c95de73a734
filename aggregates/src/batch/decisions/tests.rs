//! Tests of what the decisions record in words (the behaviour of the decisions themselves is
//! specified by the given/when/then tests in `aggregates/tests/batch_rules.rs`).

use super::grading::CalibrationUnavailable;
use crate::stats::grading::CalibrationError;

#[test]
fn calibration_unavailable_reads_as_the_event_always_recorded() {
    assert_eq!(
        CalibrationUnavailable::InsufficientEssays.to_string(),
        "fewer than two student essays were compared"
    );
    let anchors = CalibrationError::TooFewAnchorGrades { distinct: 1 };
    assert_eq!(
        CalibrationUnavailable::Anchors(anchors.clone()).to_string(),
        anchors.to_string()
    );
}
