//! Verdicts that carry the judge's probability P(A wins): recorded with it, refused when it
//! is not a probability, and — in a batch whose settings read graded outcomes — read by the
//! fit once the judge's probabilities agree with its verdicts (otherwise, and when a batch's
//! settings turn graded outcomes off, the hard verdicts count, as before).

mod support;

use cj_aggregates::batch::commands::{CallbackOutcome, CallbackReport, Position};
use cj_aggregates::batch::events::ComparisonRecorded;
use cj_aggregates::batch::inputs::DecisionInputs;
use cj_aggregates::batch::settings::BatchSettings;
use cj_aggregates::ids::CorrelationId;
use cj_aggregates::judge::JudgeId;
use cj_aggregates::stats::graded::MIN_GRADED_VERDICTS;
use cj_aggregates::{CjBatch, CjBatchError, CjBatchEvent};
use cqrs_es::test::TestFramework;
use support::*;

fn graded_verdict(id: CorrelationId, winner: Position, p_a_wins: f64) -> CallbackReport {
    let mut callback = verdict(id, winner);
    if let CallbackOutcome::Verdict { p_a_wins: p, .. } = &mut callback.outcome {
        *p = Some(p_a_wins);
    }
    callback
}

/// Settings of a batch whose fits read graded outcomes (a new batch's default).
fn graded_settings(budget: u32) -> BatchSettings {
    let settings = settings(budget);
    assert!(settings.graded_outcomes, "graded outcomes are the default");
    settings
}

/// Settings of a batch that reads hard verdicts only (a batch stored before the setting).
fn hard_settings(budget: u32) -> BatchSettings {
    let mut settings = settings(budget);
    settings.graded_outcomes = false;
    settings
}

/// Answers pending comparisons until `wanted` verdicts are recorded: A wins when its index
/// is lower, with the probability `p_of(a_won)`.
fn answer_with(history: &mut History, wanted: usize, p_of: impl Fn(bool) -> f64) {
    while history.batch.verdicts().count() < wanted && !history.batch.is_terminal() {
        let callbacks: Vec<CallbackReport> = history
            .pending()
            .into_iter()
            .map(|id| {
                let c = history.batch.comparison(&id).unwrap();
                let a_won = c.essay_a < c.essay_b;
                let winner = if a_won { Position::A } else { Position::B };
                graded_verdict(id, winner, p_of(a_won))
            })
            .collect();
        history.run(record(callbacks)).unwrap();
    }
}

#[test]
fn a_verdict_is_recorded_with_its_probability() {
    let history = History::started(4, settings(10), &[]);
    let id = history.pending()[0];
    let events = TestFramework::<CjBatch>::with(DecisionInputs::default())
        .given(history.events.clone())
        .when(record(vec![graded_verdict(id, Position::A, 0.8)]))
        .inspect_result()
        .unwrap();
    let CjBatchEvent::ComparisonRecorded(recorded) = &events[0] else {
        panic!("expected ComparisonRecorded, got {events:?}")
    };
    assert_eq!(recorded.p_a_wins, Some(0.8));
}

#[test]
fn a_probability_that_is_not_one_refuses_the_whole_command() {
    let history = History::started(4, settings(10), &[]);
    let ids = history.pending();
    for bad in [1.2, -0.1, f64::NAN, f64::INFINITY] {
        let result = TestFramework::<CjBatch>::with(DecisionInputs::default())
            .given(history.events.clone())
            .when(record(vec![
                verdict(ids[0], Position::A),
                graded_verdict(ids[1], Position::B, bad),
            ]))
            .inspect_result();
        match result {
            Err(CjBatchError::InvalidProbability {
                correlation_id,
                p_a_wins,
            }) => {
                assert_eq!(correlation_id, ids[1]);
                assert!(p_a_wins.to_bits() == bad.to_bits(), "{p_a_wins} vs {bad}");
            }
            other => panic!("{bad}: expected InvalidProbability, got {other:?}"),
        }
    }
}

/// A batch of 12 with `settings`, answered by a judge whose probabilities agree with its
/// verdicts (0.8 when A won, 0.3 when B did) until enough verdicts carry one; the outcomes
/// the fit reads.
fn answered_by_an_agreeing_judge(settings: BatchSettings) -> (History, Vec<f64>) {
    let mut history = History::started(12, settings, &[]);
    answer_with(&mut history, MIN_GRADED_VERDICTS + 5, |a_won| {
        if a_won {
            0.8
        } else {
            0.3
        }
    });
    let outcomes: Vec<f64> = history.batch.verdicts().map(|v| v.first_won).collect();
    assert!(outcomes.len() >= MIN_GRADED_VERDICTS);
    (history, outcomes)
}

#[test]
fn probabilities_that_agree_with_the_verdicts_are_what_the_fit_reads() {
    let (_, outcomes) = answered_by_an_agreeing_judge(graded_settings(120));
    assert!(
        outcomes.iter().all(|&y| y == 0.8 || y == 0.3),
        "{outcomes:?}"
    );
}

#[test]
fn with_graded_outcomes_off_probabilities_are_recorded_but_the_fit_reads_the_hard_verdicts() {
    let (history, outcomes) = answered_by_an_agreeing_judge(hard_settings(120));
    assert!(
        outcomes.iter().all(|&y| y == 1.0 || y == 0.0),
        "{outcomes:?}"
    );
    let recorded = history
        .events
        .iter()
        .filter(
            |event| matches!(event, CjBatchEvent::ComparisonRecorded(r) if r.p_a_wins.is_some()),
        )
        .count();
    assert!(
        recorded >= MIN_GRADED_VERDICTS,
        "{recorded} verdicts kept their probability"
    );
}

#[test]
fn too_few_graded_verdicts_count_as_hard_ones() {
    // One short of the minimum, and in perfect agreement with the verdicts: only the
    // minimum keeps the fit from reading them.
    let mut history = History::started(12, graded_settings(120), &[]);
    while history.batch.verdicts().count() < MIN_GRADED_VERDICTS - 1 {
        let id = history.pending()[0];
        let c = history.batch.comparison(&id).unwrap();
        let a_won = c.essay_a < c.essay_b;
        let (winner, p) = if a_won {
            (Position::A, 0.9)
        } else {
            (Position::B, 0.1)
        };
        history
            .run(record(vec![graded_verdict(id, winner, p)]))
            .unwrap();
    }
    let outcomes: Vec<f64> = history.batch.verdicts().map(|v| v.first_won).collect();
    assert_eq!(outcomes.len(), MIN_GRADED_VERDICTS - 1);
    assert!(
        outcomes.contains(&1.0) && outcomes.contains(&0.0),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|&y| y == 1.0 || y == 0.0),
        "{outcomes:?}"
    );
}

#[test]
fn probabilities_unrelated_to_the_verdicts_are_ignored() {
    let mut history = History::started(12, graded_settings(120), &[]);
    answer_with(&mut history, MIN_GRADED_VERDICTS + 5, |_| 0.7);
    let outcomes: Vec<f64> = history.batch.verdicts().map(|v| v.first_won).collect();
    assert!(outcomes.len() >= MIN_GRADED_VERDICTS);
    assert!(
        outcomes.iter().all(|&y| y == 1.0 || y == 0.0),
        "{outcomes:?}"
    );
}

#[test]
fn a_verdict_without_a_probability_is_written_and_read_as_before() {
    let recorded = ComparisonRecorded {
        correlation_id: CorrelationId(uuid::Uuid::from_u128(7)),
        winner: essay_id("s1"),
        winner_position: Position::B,
        confidence: Some(4.0),
        justification: None,
        judge: JudgeId::unknown(),
        cost_estimate: None,
        total_tokens: None,
        p_a_wins: None,
    };
    let json = serde_json::to_value(&recorded).unwrap();
    assert!(json.get("p_a_wins").is_none(), "{json}");
    let read: ComparisonRecorded = serde_json::from_value(json).unwrap();
    assert_eq!(read, recorded);
    let graded = ComparisonRecorded {
        p_a_wins: Some(0.25),
        ..recorded
    };
    let json = serde_json::to_value(&graded).unwrap();
    assert_eq!(json["p_a_wins"], 0.25);

    let outcome = verdict(graded.correlation_id, Position::A).outcome;
    let json = serde_json::to_string(&outcome).unwrap();
    assert!(!json.contains("p_a_wins"), "{json}");
}
