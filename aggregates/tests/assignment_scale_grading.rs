//! Grading a batch from its assignment's scale (ADR 0012), one given/when/then test each:
//! the scale the service hands in decides the grade boundaries and is named in
//! `BatchScored`; without one a batch grades from its own anchors, as it always did.

mod support;

use cj_aggregates::batch::commands::{CloseIntake, Finalize, SubmitPairs};
use cj_aggregates::batch::events::BatchScored;
use cj_aggregates::batch::inputs::DecisionInputs;
use cj_aggregates::stats::assignment_scale::AssignmentScale;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::grading::Calibration;
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchEvent};
use cqrs_es::test::TestFramework;
use support::*;

/// Anchors of grades A, C and E, registered in that order: answered by index, A beats C
/// beats E and every student beats every anchor.
const ANCHOR_GRADES: [&str; 3] = ["A", "C", "E"];

/// A batch of the assignment `assign-1` with one wave answered, not yet finished.
fn answered_batch() -> History {
    let mut history = History::started(6, settings(400), &ANCHOR_GRADES);
    history.answer_all_by_index();
    assert!(!history.batch.is_terminal(), "the budget outlasts a wave");
    history
}

/// The anchors' essay ids as the batch knows them (see `support::anchors`).
fn anchor_id(grade: &str) -> String {
    let i = ANCHOR_GRADES.iter().position(|g| *g == grade).unwrap();
    format!("anchor-{grade}-{i}")
}

fn grade_index(grade: &str) -> usize {
    GradeScale::default().index_of(grade).unwrap()
}

/// A scale learned over two batches that places the anchors six logits apart, E lowest.
fn wide_scale() -> AssignmentScale {
    AssignmentScale::known(
        2,
        [("E", -3.0), ("C", 0.0), ("A", 3.0)]
            .map(|(grade, position)| (anchor_id(grade), grade_index(grade), position)),
    )
}

fn finalize() -> CjBatchCommand {
    CjBatchCommand::Finalize(Finalize {
        requested_by: "operator".into(),
    })
}

/// The `BatchScored` that `command` decides on `history` with `inputs`.
fn scored_with(history: &History, inputs: DecisionInputs, command: CjBatchCommand) -> BatchScored {
    let events = TestFramework::<CjBatch>::with(inputs)
        .given(history.events.clone())
        .when(command)
        .inspect_result()
        .expect("the command is accepted");
    events
        .into_iter()
        .find_map(|event| match event {
            CjBatchEvent::BatchScored(scored) => Some(scored),
            _ => None,
        })
        .expect("the command scores the batch")
}

/// Centre of grade A less centre of grade E: how far apart the calibration lays them.
fn a_to_e(calibration: &Calibration) -> f64 {
    calibration.centres[grade_index("A")] - calibration.centres[grade_index("E")]
}

#[test]
fn a_batch_scored_with_its_assignment_scale_records_the_version_and_grades_from_it() {
    // Given a batch whose own anchors lie close together at the bottom of its axis
    let history = answered_batch();
    let alone = scored_with(&history, DecisionInputs::default(), finalize());
    // When it is finalized with the assignment's scale, which knows them six logits apart
    let inputs = DecisionInputs::with_assignment_scale(wide_scale());
    let scored = scored_with(&history, inputs, finalize());
    // Then its scores name the scale's version
    assert_eq!(scored.assignment_scale_version, Some(2));
    assert_eq!(alone.assignment_scale_version, None);
    // And its boundaries spread toward the scale's spacing, away from the batch's own
    let (with_scale, own) = (
        scored.calibration.as_ref().expect("calibrated"),
        alone.calibration.as_ref().expect("calibrated"),
    );
    assert!(
        a_to_e(with_scale) > a_to_e(own) + 1.0,
        "A to E: {} with the scale, {} alone",
        a_to_e(with_scale),
        a_to_e(own)
    );
    assert!(
        (6.0 - a_to_e(with_scale)).abs() < (6.0 - a_to_e(own)).abs(),
        "closer to the scale's six logits"
    );
    assert_ne!(with_scale.boundaries, own.boundaries);
    // And the essays' scores are the batch's own either way: only the grades move
    let scores = |s: &BatchScored| s.essays.iter().map(|e| e.bt_score).collect::<Vec<_>>();
    assert_eq!(scores(&scored), scores(&alone));
}

#[test]
fn the_first_batch_of_an_assignment_grades_from_its_own_anchors_as_before() {
    // Given a batch of an assignment that has no scale yet (nothing folded in)
    let history = answered_batch();
    // When it is finalized with the empty scale the service reads
    let inputs = DecisionInputs::with_assignment_scale(AssignmentScale::default());
    let first = TestFramework::<CjBatch>::with(inputs)
        .given(history.events.clone())
        .when(finalize())
        .inspect_result()
        .unwrap();
    // Then it decides exactly what a batch decided before assignment scales existed
    let before = history.batch.decide(finalize()).unwrap();
    assert_eq!(first, before);
    let scored = scored_with(&history, DecisionInputs::default(), finalize());
    assert_eq!(scored.assignment_scale_version, None);
}

#[test]
fn a_scale_sharing_no_anchor_with_the_batch_is_not_used() {
    // Given an assignment scale learned on other anchors
    let elsewhere = AssignmentScale::known(
        3,
        [
            ("other-E", grade_index("E"), -3.0),
            ("other-A", grade_index("A"), 3.0),
        ]
        .map(|(id, grade, position)| (id.to_string(), grade, position)),
    );
    let history = answered_batch();
    // When the batch is finalized with it
    let scored = scored_with(
        &history,
        DecisionInputs::with_assignment_scale(elsewhere),
        finalize(),
    );
    // Then nothing links the two axes: the batch's own anchors grade it
    let alone = scored_with(&history, DecisionInputs::default(), finalize());
    assert_eq!(scored.assignment_scale_version, None);
    assert_eq!(scored.calibration, alone.calibration);
}

#[test]
fn the_deciding_verdicts_carry_the_scale_into_the_scores() {
    // Given a batch whose outstanding verdicts will end it
    let mut history = History::started(4, settings(16), &ANCHOR_GRADES);
    let mut deciding = None;
    for _ in 0..100 {
        let command = history.verdicts_by_index();
        let events = history.batch.decide(command.clone()).unwrap();
        if events
            .iter()
            .any(|e| matches!(e, CjBatchEvent::BatchScored(_)))
        {
            deciding = Some(command);
            break;
        }
        history.run(command).unwrap();
    }
    let deciding = deciding.expect("the batch ends");
    // When they arrive with the assignment's scale
    let inputs = DecisionInputs::with_assignment_scale(wide_scale());
    let scored = scored_with(&history, inputs, deciding);
    // Then the scores they decide were graded from the scale
    assert_eq!(scored.assignment_scale_version, Some(2));
}

#[test]
fn the_service_reads_a_scale_only_for_commands_that_can_score_an_assignment_batch() {
    let history = answered_batch();
    let batch = &history.batch;
    // A batch of an assignment wants its scale for verdicts and finalizing
    assert_eq!(batch.assignment_scale_wanted(&finalize()), Some("assign-1"));
    assert_eq!(
        batch.assignment_scale_wanted(&record(Vec::new())),
        Some("assign-1")
    );
    // Not for a submission, which never scores
    let submit = CjBatchCommand::SubmitPairs(SubmitPairs {
        correlation_ids: Vec::new(),
        prompt_hash: PROMPT_HASH.into(),
    });
    assert_eq!(batch.assignment_scale_wanted(&submit), None);
    // Nor once the batch is over
    let mut finished = answered_batch();
    finished.run(finalize()).unwrap();
    assert_eq!(finished.batch.assignment_scale_wanted(&finalize()), None);
    // Nor for a batch without an assignment
    let mut unassigned = History::default();
    let CjBatchCommand::RegisterBatch(mut registration) = register(4, settings(30)) else {
        unreachable!("register builds a registration")
    };
    registration.assignment_id = None;
    unassigned
        .run(CjBatchCommand::RegisterBatch(registration))
        .unwrap();
    let close = CjBatchCommand::CloseIntake(CloseIntake {
        anchors: Vec::new(),
    });
    assert_eq!(unassigned.batch.assignment_scale_wanted(&close), None);
}

/// Comparisons of `history` between two anchors.
fn anchor_pairs(history: &History) -> usize {
    let essays = history.batch.essays();
    history
        .batch
        .comparisons()
        .iter()
        .filter(|c| essays[c.essay_a].is_anchor && essays[c.essay_b].is_anchor)
        .count()
}

/// A batch of six students run up to four waves deep (or to its end), every decision with
/// `inputs`.
fn four_waves_with(inputs: &DecisionInputs) -> History {
    let mut history = History::default();
    history.run(register(6, settings(400))).unwrap();
    history.run_with(anchors(&ANCHOR_GRADES), inputs).unwrap();
    for _ in 0..4 {
        if history.batch.is_terminal() || history.pending().is_empty() {
            break;
        }
        let verdicts = history.verdicts_by_index();
        history.run_with(verdicts, inputs).unwrap();
    }
    history
}

#[test]
fn once_the_scale_is_settled_a_batch_compares_no_two_anchors() {
    // Given an assignment whose scale knows its anchors' positions (settled)
    let settled = DecisionInputs::with_assignment_scale(wide_scale());
    assert!(settled.assignment_scale.is_settled());
    // When a batch of it is paired wave after wave with that scale
    let with_scale = four_waves_with(&settled);
    // Then no comparison sets two anchors against each other: each one links a student
    assert!(with_scale.batch.comparisons().len() > 20);
    assert_eq!(anchor_pairs(&with_scale), 0);
    // While the same batch without the scale spends comparisons between anchors
    assert!(anchor_pairs(&four_waves_with(&DecisionInputs::default())) > 0);
}

#[test]
fn a_scale_still_learning_its_anchors_leaves_the_pairing_as_it_was() {
    // Given an assignment scale of one batch, its anchors placed no better than a batch does
    let mut unsettled = wide_scale();
    for anchor in unsettled.anchors.values_mut() {
        anchor.variance = 0.75 * 0.75;
    }
    let inputs = DecisionInputs::with_assignment_scale(unsettled);
    assert!(!inputs.assignment_scale.is_settled());
    // When a batch is paired with it
    let with_scale = four_waves_with(&inputs);
    // Then its anchors meet each other as without a scale
    assert!(anchor_pairs(&with_scale) > 0);
}

#[test]
fn grading_a_decision_again_with_the_scale_is_deciding_with_the_scale() {
    // Given a batch of the assignment, and the scale the service reads for it
    let history = answered_batch();
    let inputs = DecisionInputs::with_assignment_scale(wide_scale());
    // When its finalization, decided without the scale, is graded again with it
    let alone = history.batch.decide(finalize()).unwrap();
    let mut regraded = alone.clone();
    inputs.regrade(&mut regraded);
    // Then every event is the one deciding with the scale gives (the grades moved)
    let decided = history
        .batch
        .decide_with(finalize(), &inputs)
        .expect("the command is accepted");
    assert_eq!(regraded, decided);
    assert_ne!(regraded, alone);
}
