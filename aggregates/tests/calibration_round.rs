//! A calibration round (ADR 0012): a batch of an assignment's anchors only, registered with
//! purpose `calibration_round` and no students. It plans anchor-vs-anchor waves and is
//! scored like any batch, so its `BatchScored` can be folded into the assignment's scale.

mod support;

use cj_aggregates::batch::commands::RegisterBatch;
use cj_aggregates::batch::events::{BatchPurpose, BatchScored};
use cj_aggregates::batch::status::UploadStatus;
use cj_aggregates::{CjBatchCommand, CjBatchError, CjBatchEvent};
use support::*;

const ANCHOR_GRADES: [&str; 4] = ["A", "B", "C", "E"];

/// A registration of `students` essays for `assign-1` with `purpose`.
fn register_with(students: usize, purpose: BatchPurpose, budget: u32) -> CjBatchCommand {
    let CjBatchCommand::RegisterBatch(register) = register(students, settings(budget)) else {
        unreachable!("support::register registers")
    };
    CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        purpose,
        ..*register
    }))
}

fn round(budget: u32) -> History {
    let mut history = History::default();
    history
        .run(register_with(0, BatchPurpose::CalibrationRound, budget))
        .expect("a round of anchors only registers");
    history.run(anchors(&ANCHOR_GRADES)).expect("intake closes");
    history
}

#[test]
fn a_round_of_anchors_only_registers_and_records_its_purpose() {
    let history = round(16);
    let CjBatchEvent::BatchRegistered(registered) = &history.events[0] else {
        panic!("first event is the registration");
    };
    assert_eq!(registered.purpose, BatchPurpose::CalibrationRound);
    assert!(registered.essays.is_empty());
    assert!(history.batch.is_calibration_round());
}

#[test]
fn a_round_plans_anchor_against_anchor_waves_instead_of_ending_for_lack_of_students() {
    let history = round(16);
    assert_eq!(
        names(&history.events),
        ["BatchRegistered", "AnchorsRegistered", "WavePlanned"]
    );
    let batch = &history.batch;
    let planned = batch.comparisons();
    assert!(!planned.is_empty());
    assert!(planned
        .iter()
        .all(|c| batch.essays()[c.essay_a].is_anchor && batch.essays()[c.essay_b].is_anchor));
}

#[test]
fn a_round_spends_its_budget_and_scores_every_anchor_without_grading_anyone() {
    let mut history = round(12);
    let events = history.answer_until_terminal();
    let scored: &BatchScored = events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::BatchScored(s) => Some(s),
            _ => None,
        })
        .expect("the round is scored");
    assert_eq!(history.batch.status(), UploadStatus::CompleteMaxComparisons);
    assert_eq!(scored.successful_comparisons, 12);
    assert_eq!(scored.anchor_observations().len(), ANCHOR_GRADES.len());
    assert!(scored
        .essays
        .iter()
        .all(|e| e.is_anchor && e.projection.is_none()));
    assert!(
        scored.calibration.is_some(),
        "the anchors still calibrate a scale"
    );
}

#[test]
fn a_round_with_students_or_without_an_assignment_is_refused() {
    let mut with_students = History::default();
    assert_eq!(
        with_students.run(register_with(3, BatchPurpose::CalibrationRound, 10)),
        Err(CjBatchError::InvalidCalibrationRound)
    );
    let CjBatchCommand::RegisterBatch(register) =
        register_with(0, BatchPurpose::CalibrationRound, 10)
    else {
        unreachable!()
    };
    let no_assignment = CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
        assignment_id: None,
        ..*register
    }));
    assert_eq!(
        History::default().run(no_assignment),
        Err(CjBatchError::InvalidCalibrationRound)
    );
}

#[test]
fn an_assessment_without_students_still_ends_at_once_as_insufficient() {
    let mut history = History::default();
    history
        .run(register_with(0, BatchPurpose::Assessment, 10))
        .unwrap();
    history.run(anchors(&ANCHOR_GRADES)).unwrap();
    assert_eq!(
        history.batch.status(),
        UploadStatus::CompleteInsufficientEssays
    );
}
