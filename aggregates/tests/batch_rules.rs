//! The business rules of the `CjBatch` aggregate, one given/when/then test each.

mod support;

use cj_aggregates::batch::commands::{Finalize, ForceRecovery, Position};
use cj_aggregates::batch::events::*;
use cj_aggregates::batch::inputs::DecisionInputs;
use cj_aggregates::batch::status::{BatchState, UploadStatus};
use cj_aggregates::judge::{JudgeId, Verdict};
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchError, CjBatchEvent};
use cqrs_es::test::TestFramework;
use support::*;

type BatchTest = TestFramework<CjBatch>;

fn given(history: &History) -> cqrs_es::test::AggregateTestExecutor<CjBatch> {
    BatchTest::with(DecisionInputs::default()).given(history.events.clone())
}

fn completed(events: &[CjBatchEvent]) -> Option<&BatchCompleted> {
    events.iter().find_map(|e| match e {
        CjBatchEvent::BatchCompleted(c) => Some(c),
        _ => None,
    })
}

fn failed(events: &[CjBatchEvent]) -> Option<&BatchFailed> {
    events.iter().find_map(|e| match e {
        CjBatchEvent::BatchFailed(f) => Some(f),
        _ => None,
    })
}

#[test]
fn registering_a_request_records_it_without_essay_text() {
    let events = BatchTest::with(DecisionInputs::default())
        .given_no_previous_events()
        .when(register(3, settings(10)))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&events), ["BatchRegistered"]);
    let json = serde_json::to_string(&events).unwrap();
    assert!(json.contains("sid-0") && json.contains("content_sha256"));
}

#[test]
fn a_redelivered_request_changes_nothing() {
    let mut history = History::default();
    history.run(register(3, settings(10))).unwrap();
    given(&history)
        .when(register(3, settings(10)))
        .then_expect_events(vec![]);
}

#[test]
fn commands_before_registration_are_refused() {
    BatchTest::with(DecisionInputs::default())
        .given_no_previous_events()
        .when(anchors(&["C", "B"]))
        .then_expect_error(CjBatchError::NotRegistered);
}

#[test]
fn closing_intake_plans_a_first_wave_covering_every_essay() {
    let mut history = History::default();
    history.run(register(6, settings(30))).unwrap();
    let events = given(&history)
        .when(anchors(&["E", "C", "A"]))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&events), ["AnchorsRegistered", "WavePlanned"]);
    let CjBatchEvent::WavePlanned(wave) = &events[1] else {
        unreachable!()
    };
    assert_eq!(wave.wave, 1);
    assert!(wave.fit.is_none(), "nothing to snapshot before any verdict");
    let mut covered: Vec<_> = wave
        .comparisons
        .iter()
        .flat_map(|c| [c.essay_a.clone(), c.essay_b.clone()])
        .collect();
    covered.sort();
    covered.dedup();
    assert_eq!(
        covered.len(),
        9,
        "all 6 students and 3 anchors are compared"
    );
}

#[test]
fn an_anchor_grade_off_the_scale_is_refused() {
    let mut history = History::default();
    history.run(register(3, settings(10))).unwrap();
    let refused = given(&history).when(anchors(&["C", "Z"])).inspect_result();
    assert!(matches!(
        refused,
        Err(CjBatchError::AnchorGradeNotOnScale { grade, .. }) if grade == "Z"
    ));
}

#[test]
fn anchors_cannot_be_registered_twice() {
    let history = History::started(3, settings(10), &["C", "B"]);
    given(&history)
        .when(anchors(&["A"]))
        .then_expect_error(CjBatchError::IntakeClosed);
}

#[test]
fn one_student_essay_completes_at_once_as_insufficient() {
    let mut history = History::default();
    history.run(register(1, settings(10))).unwrap();
    let events = given(&history)
        .when(anchors(&["C", "B"]))
        .inspect_result()
        .unwrap();
    assert_eq!(
        names(&events),
        [
            "AnchorsRegistered",
            "ScoringStarted",
            "BatchScored",
            "BatchCompleted"
        ]
    );
    assert_eq!(
        completed(&events).unwrap().status,
        UploadStatus::CompleteInsufficientEssays
    );
}

#[test]
fn submitting_pairs_records_acceptance_once() {
    let history = History::started(4, settings(10), &[]);
    let ids = history.pending();
    let first = given(&history)
        .when(submit(ids.clone()))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&first), ["PairsSubmitted"]);
    let mut after = History::started(4, settings(10), &[]);
    after.run(submit(ids.clone())).unwrap();
    given(&after).when(submit(ids)).then_expect_events(vec![]);
}

#[test]
fn a_callback_is_recorded_with_the_winning_essay() {
    let history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    let comparison = history.batch.comparison(&id).unwrap().clone();
    let events = given(&history)
        .when(record(vec![verdict(id, Position::B)]))
        .inspect_result()
        .unwrap();
    let CjBatchEvent::ComparisonRecorded(recorded) = &events[0] else {
        panic!("expected ComparisonRecorded, got {events:?}")
    };
    assert_eq!(
        recorded.winner,
        history.batch.essays()[comparison.essay_b].essay_id
    );
    assert_eq!(recorded.winner_position, Position::B);
}

#[test]
fn a_callback_arriving_before_its_202_is_recorded() {
    let history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    assert!(!history.batch.comparison(&id).unwrap().submitted);
    let events = given(&history)
        .when(record(vec![verdict(id, Position::A)]))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&events)[0], "ComparisonRecorded");
}

#[test]
fn a_verdict_records_the_callbacks_provider_and_model_with_the_submitted_prompt_hash() {
    let mut history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    history.run(submit(vec![id])).unwrap();
    let events = given(&history)
        .when(record(vec![verdict(id, Position::A)]))
        .inspect_result()
        .unwrap();
    let CjBatchEvent::ComparisonRecorded(recorded) = &events[0] else {
        panic!("expected ComparisonRecorded, got {events:?}")
    };
    assert_eq!(
        recorded.judge,
        JudgeId::new("openai", "gpt-5.1", PROMPT_HASH)
    );
    assert_eq!(
        recorded.judge.to_string(),
        "openai/gpt-5.1/ab12cd34ef567890"
    );
}

#[test]
fn the_submitted_prompt_hash_wins_over_the_one_the_provider_echoes() {
    let mut history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    history.run(submit(vec![id])).unwrap();
    let mut callback = verdict(id, Position::A);
    callback.prompt_hash = Some("echoed0000000000".into());
    let events = given(&history)
        .when(record(vec![callback]))
        .inspect_result()
        .unwrap();
    let CjBatchEvent::ComparisonRecorded(recorded) = &events[0] else {
        panic!("expected ComparisonRecorded, got {events:?}")
    };
    assert_eq!(recorded.judge.prompt_hash(), PROMPT_HASH);
}

#[test]
fn a_verdict_that_overtakes_its_submission_takes_the_echoed_prompt_hash_or_unknown() {
    let history = History::started(4, settings(10), &[]);
    let ids = history.pending();
    let mut echoed = verdict(ids[0], Position::A);
    echoed.prompt_hash = Some("echoed0000000000".into());
    let mut bare = verdict(ids[1], Position::B);
    bare.provider = None;
    let events = given(&history)
        .when(record(vec![echoed, bare]))
        .inspect_result()
        .unwrap();
    let judges: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            CjBatchEvent::ComparisonRecorded(r) => Some(r.judge.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        judges,
        ["openai/gpt-5.1/echoed0000000000", "unknown/gpt-5.1/unknown"]
    );
}

#[test]
fn the_batch_lists_its_verdicts_with_the_essay_shown_first_and_the_judge() {
    let mut history = History::started(8, settings(20), &[]);
    let ids = history.pending();
    history.run(submit(ids.clone())).unwrap();
    history
        .run(record(vec![
            verdict(ids[0], Position::A),
            verdict(ids[1], Position::B),
            error(ids[2]),
        ]))
        .unwrap();
    let essay = |index: usize| history.batch.essays()[index].essay_id.clone();
    let expected: Vec<Verdict> = [(ids[0], 1.0), (ids[1], 0.0)]
        .into_iter()
        .map(|(id, first_won)| {
            let comparison = history.batch.comparison(&id).unwrap();
            Verdict {
                first: essay(comparison.essay_a),
                second: essay(comparison.essay_b),
                first_won,
                judge: JudgeId::new("openai", "gpt-5.1", PROMPT_HASH),
            }
        })
        .collect();
    let verdicts: Vec<Verdict> = history.batch.verdicts().collect();
    assert_eq!(verdicts, expected);
}

#[test]
fn a_duplicate_callback_changes_nothing() {
    let mut history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    history.run(record(vec![verdict(id, Position::A)])).unwrap();
    given(&history)
        .when(record(vec![verdict(id, Position::B)]))
        .then_expect_events(vec![]);
}

#[test]
fn duplicates_inside_one_poll_are_recorded_once() {
    let history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    let events = given(&history)
        .when(record(vec![
            verdict(id, Position::A),
            verdict(id, Position::A),
        ]))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&events), ["ComparisonRecorded"]);
}

#[test]
fn a_callback_for_an_unknown_comparison_is_refused_with_its_id() {
    let history = History::started(4, settings(10), &[]);
    let stranger = cj_aggregates::ids::CorrelationId(uuid::Uuid::from_u128(42));
    given(&history)
        .when(record(vec![verdict(stranger, Position::A)]))
        .then_expect_error(CjBatchError::UnknownComparisons {
            correlation_ids: vec![stranger],
        });
}

#[test]
fn the_final_callback_of_the_budget_scores_and_completes_in_the_same_command() {
    // 4 essays, budget 6 = one full round robin in one wave.
    let mut settings = settings(6);
    settings.wave_size = Some(6);
    let mut history = History::started(4, settings, &[]);
    let mut pending = history.pending();
    assert_eq!(pending.len(), 6);
    let last = pending.pop().unwrap();
    let all_but_last = pending.iter().map(|&id| verdict(id, Position::A)).collect();
    history.run(record(all_but_last)).unwrap();
    let events = given(&history)
        .when(record(vec![verdict(last, Position::A)]))
        .inspect_result()
        .unwrap();
    assert_eq!(
        names(&events),
        [
            "ComparisonRecorded",
            "ScoringStarted",
            "BatchScored",
            "BatchCompleted"
        ]
    );
    let done = completed(&events).unwrap();
    assert_eq!(done.status, UploadStatus::CompleteMaxComparisons);
    assert_eq!(done.comparisons_made, 6);
}

#[test]
fn a_complete_wave_with_budget_left_plans_the_next_with_a_fit_snapshot() {
    let mut settings = settings(40);
    settings.wave_size = Some(4);
    let mut history = History::started(8, settings, &[]);
    let events = history.answer_all_by_index();
    let wave = events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::WavePlanned(w) => Some(w),
            _ => None,
        })
        .expect("second wave planned");
    assert_eq!(wave.wave, 2);
    let snapshot = wave.fit.as_ref().expect("fit at the end of wave 1");
    assert_eq!(snapshot.scores.len(), 8);
    assert_eq!(snapshot.successful_comparisons, 4);
    assert_eq!(history.batch.state(), BatchState::WaitingCallbacks);
}

#[test]
fn a_failed_comparison_is_asked_again_reversed_with_the_next_wave() {
    let mut settings = settings(40);
    settings.wave_size = Some(2);
    let mut history = History::started(4, settings, &[]);
    let pending = history.pending();
    let failed_id = pending[0];
    let original = history.batch.comparison(&failed_id).unwrap().clone();
    let events = history
        .run(record(vec![
            error(failed_id),
            verdict(pending[1], Position::A),
        ]))
        .unwrap();
    let retried = events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::ComparisonRetried(r) => Some(r),
            _ => None,
        })
        .expect("retry planned with the next wave");
    assert_eq!(retried.retry_of, failed_id);
    assert_eq!(retried.comparison.attempt, 2);
    let essays = history.batch.essays();
    assert_eq!(
        retried.comparison.essay_a,
        essays[original.essay_b].essay_id
    );
    assert_eq!(
        retried.comparison.essay_b,
        essays[original.essay_a].essay_id
    );
}

#[test]
fn a_comparison_is_retried_at_most_three_times() {
    let mut settings = settings(40);
    settings.wave_size = Some(1);
    let mut history = History::started(3, settings, &[]);
    let mut retries = 0;
    for _ in 0..4 {
        let id = history.pending()[0];
        let events = history.run(record(vec![error(id)])).unwrap();
        retries += events
            .iter()
            .filter(|e| matches!(e, CjBatchEvent::ComparisonRetried(_)))
            .count();
    }
    assert_eq!(retries, 3);
    let attempts: Vec<u32> = history
        .batch
        .comparisons()
        .iter()
        .map(|c| c.attempt)
        .collect();
    assert_eq!(&attempts[..4], [1, 2, 3, 4]);
    assert_eq!(attempts[4], 1, "after three retries the planner moves on");
}

#[test]
fn a_low_success_rate_at_the_cap_fails_the_batch() {
    let mut settings = settings(6);
    settings.wave_size = Some(6);
    settings.max_retries = 0;
    let mut history = History::started(4, settings, &[]);
    let pending = history.pending();
    let callbacks = pending
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            if i < 2 {
                verdict(id, Position::A)
            } else {
                error(id)
            }
        })
        .collect();
    let events = history.run(record(callbacks)).unwrap();
    let failure = failed(&events).expect("batch failed");
    assert_eq!(failure.reason, FailureReason::LowSuccessRate);
    assert_eq!(failure.details["completed_comparisons"], 2);
    assert_eq!(failure.details["failed_comparisons"], 4);
    assert_eq!(history.batch.state(), BatchState::Failed);
    assert_eq!(history.batch.status(), UploadStatus::ErrorProcessing);
}

fn stuck_at(resolved: usize, planned: usize) -> History {
    let mut settings = settings(planned as u32);
    settings.wave_size = Some(planned as u32);
    let mut history = History::started(8, settings, &[]);
    let pending = history.pending();
    assert_eq!(pending.len(), planned);
    let callbacks = pending[..resolved]
        .iter()
        .map(|&id| verdict(id, Position::A))
        .collect();
    history.run(record(callbacks)).unwrap();
    history
}

fn force(observed_progress: f64) -> CjBatchCommand {
    CjBatchCommand::ForceRecovery(ForceRecovery {
        observed_progress,
        idle_seconds: 4 * 3600,
    })
}

#[test]
fn forced_recovery_at_85_percent_completes_as_forced_recovery() {
    let history = stuck_at(17, 20);
    let mut after = History {
        batch: history.batch.clone(),
        events: history.events.clone(),
    };
    let events = after.run(force(0.85)).unwrap();
    assert_eq!(
        names(&events),
        [
            "RecoveryForced",
            "ScoringStarted",
            "BatchScored",
            "BatchCompleted"
        ]
    );
    assert_eq!(
        completed(&events).unwrap().status,
        UploadStatus::CompleteForcedRecovery
    );
    assert_eq!(after.batch.state(), BatchState::Completed);
}

#[test]
fn forced_recovery_at_60_percent_fails_the_batch() {
    let history = stuck_at(12, 20);
    let events = given(&history).when(force(0.6)).inspect_result().unwrap();
    assert_eq!(names(&events), ["RecoveryForced", "BatchFailed"]);
    let failure = failed(&events).unwrap();
    assert_eq!(
        failure.reason,
        FailureReason::StuckTimeoutInsufficientProgress
    );
    assert_eq!(failure.details["progress"], 0.6);
    assert_eq!(failure.details["state"], "WAITING_CALLBACKS");
}

#[test]
fn a_terminal_batch_refuses_recovery_and_finalize() {
    let mut history = stuck_at(17, 20);
    history.run(force(0.85)).unwrap();
    let status = UploadStatus::CompleteForcedRecovery;
    given(&history)
        .when(force(0.9))
        .then_expect_error(CjBatchError::BatchTerminal { status });
    given(&history)
        .when(CjBatchCommand::Finalize(Finalize {
            requested_by: "operator".into(),
        }))
        .then_expect_error(CjBatchError::BatchTerminal { status });
}

#[test]
fn a_late_callback_is_kept_for_audit_and_never_reopens_the_batch() {
    let mut history = stuck_at(17, 20);
    history.run(force(0.85)).unwrap();
    let late = history.pending()[0];
    let events = given(&history)
        .when(record(vec![verdict(late, Position::A)]))
        .inspect_result()
        .unwrap();
    assert_eq!(names(&events), ["LateCallbackRecorded"]);
    history
        .run(record(vec![verdict(late, Position::A)]))
        .unwrap();
    assert_eq!(history.batch.status(), UploadStatus::CompleteForcedRecovery);
    assert_eq!(history.batch.state(), BatchState::Completed);
    given(&history)
        .when(record(vec![verdict(late, Position::A)]))
        .then_expect_events(vec![]);
}

#[test]
fn an_operator_finalize_of_a_running_batch_is_a_forced_completion() {
    let history = stuck_at(10, 20);
    let events = given(&history)
        .when(CjBatchCommand::Finalize(Finalize {
            requested_by: "operator".into(),
        }))
        .inspect_result()
        .unwrap();
    assert_eq!(
        completed(&events).unwrap().status,
        UploadStatus::CompleteForcedRecovery
    );
}

/// Two students and anchors C and B, one wave of 20, answered to the end: its scores.
fn scored_batch_with_two_anchors() -> BatchScored {
    let mut settings = settings(20);
    settings.wave_size = Some(20);
    let mut history = History::started(4, settings, &["C", "B"]);
    let events = history.answer_until_terminal();
    events
        .into_iter()
        .find_map(|e| match e {
            CjBatchEvent::BatchScored(s) => Some(s),
            _ => None,
        })
        .expect("batch scored")
}

#[test]
fn anchors_keep_their_known_grade_in_the_scores() {
    let scored = scored_batch_with_two_anchors();
    for essay in &scored.essays {
        assert_eq!(essay.is_anchor, essay.known_grade.is_some());
        assert_eq!(essay.is_anchor, essay.projection.is_none());
    }
}

#[test]
fn a_scored_batch_reports_its_reliability_with_the_reference_estimator() {
    // Given a batch on the default (regularised) estimator, answered to its end
    let scored = scored_batch_with_two_anchors();
    // Then its scores name their estimator and carry the field's audit figures
    let reliability = scored.reliability.as_ref().expect("a reliability report");
    assert_eq!(
        reliability.estimator,
        cj_aggregates::stats::scale::Estimator::Regularised
    );
    let split = reliability.split_half.as_ref().expect("split halves");
    assert_eq!(
        split.by,
        cj_aggregates::stats::split_half::SplitBy::Comparisons
    );
    assert!(reliability.order_effect.is_some(), "positions are known");
    assert_eq!(reliability.components, 1);
    assert!(!reliability.judges.is_empty(), "every verdict has a judge");
    let verdicts: u32 = reliability.judges.iter().map(|j| j.comparisons).sum();
    assert_eq!(verdicts, scored.successful_comparisons);
    assert!(scored
        .essays
        .iter()
        .all(|e| e.comparisons == 0 || e.infit.is_some()));
    // And the report survives the log: what is stored decodes to what was decided
    let stored = serde_json::to_value(CjBatchEvent::BatchScored(scored.clone())).unwrap();
    let decoded = cj_aggregates::batch::upcasting::decode_event(
        "BatchScored",
        cj_aggregates::batch::events::ASSIGNMENT_SCALE_EVENT_VERSION,
        &stored,
    )
    .unwrap();
    assert_eq!(decoded, CjBatchEvent::BatchScored(scored.clone()));
}
