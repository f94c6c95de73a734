//! The log is the truth: state rebuilt from a batch's full history (also after a JSON round
//! trip, as the event store keeps it) equals the state its commands decided with, and no
//! sequence of commands can reach a contradictory state.

mod support;

use cj_aggregates::batch::commands::{Finalize, ForceRecovery, Position};
use cj_aggregates::batch::status::{BatchState, UploadStatus};
use cj_aggregates::batch::ComparisonResult;
use cj_aggregates::{CjBatch, CjBatchCommand, CjBatchEvent};
use cqrs_es::Aggregate;
use proptest::prelude::*;
use std::collections::HashMap;
use support::*;

fn rebuild(events: &[CjBatchEvent]) -> CjBatch {
    let mut batch = CjBatch::default();
    for event in events {
        let stored = serde_json::to_string(event).unwrap();
        batch.apply(serde_json::from_str(&stored).unwrap());
    }
    batch
}

#[test]
fn state_rebuilt_from_the_full_history_equals_the_state_decided_with() {
    let mut settings = settings(60);
    settings.wave_size = Some(12);
    let mut history = History::started(10, settings, &["E", "C", "B"]);
    history.answer_until_terminal();
    assert!(history.batch.status().is_complete());
    assert_eq!(rebuild(&history.events), history.batch);
}

#[test]
fn a_consistent_judge_with_a_large_budget_ends_stable() {
    let mut settings = settings(2000);
    settings.wave_size = Some(40);
    settings.stability_threshold = 0.25;
    settings.ssr_target = 0.7;
    let mut history = History::started(12, settings, &[]);
    history.answer_until_terminal();
    assert_eq!(history.batch.status(), UploadStatus::CompleteStable);
    let made = history.batch.progress().planned;
    assert!(
        made < 2000,
        "stability ended the batch before the budget: {made}"
    );
}

/// One step of a randomly driven batch.
#[derive(Debug, Clone)]
enum Step {
    /// Answer up to `count` pending comparisons; `errors` of them fail; duplicates resent.
    Answer {
        count: usize,
        errors: usize,
        duplicate: bool,
    },
    Submit,
    ForceRecovery,
    Finalize,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (1usize..12, 0usize..4, any::<bool>())
            .prop_map(|(count, errors, duplicate)| Step::Answer { count, errors, duplicate }),
        2 => Just(Step::Submit),
        1 => Just(Step::ForceRecovery),
        1 => Just(Step::Finalize),
    ]
}

fn command_for(history: &History, step: &Step) -> Option<CjBatchCommand> {
    let pending = history.pending();
    match step {
        Step::Answer {
            count,
            errors,
            duplicate,
        } => {
            let mut callbacks: Vec<_> = pending
                .iter()
                .take(*count)
                .enumerate()
                .map(|(i, &id)| {
                    if i < *errors {
                        error(id)
                    } else {
                        verdict(id, if i % 3 == 0 { Position::B } else { Position::A })
                    }
                })
                .collect();
            if *duplicate {
                if let Some(done) = history
                    .batch
                    .comparisons()
                    .iter()
                    .find(|c| c.result != ComparisonResult::Pending)
                {
                    callbacks.push(verdict(done.correlation_id, Position::A));
                }
            }
            (!callbacks.is_empty()).then(|| record(callbacks))
        }
        Step::Submit => Some(submit(pending)),
        Step::ForceRecovery => Some(CjBatchCommand::ForceRecovery(ForceRecovery {
            observed_progress: history.batch.progress().completion_share(),
            idle_seconds: 14_400,
        })),
        Step::Finalize => Some(CjBatchCommand::Finalize(Finalize {
            requested_by: "proptest".into(),
        })),
    }
}

fn assert_consistent(batch: &CjBatch) {
    let (status, state) = (batch.status(), batch.state());
    if status.is_complete() {
        assert_eq!(state, BatchState::Completed, "{status} with {state}");
    }
    if status.is_error() {
        assert_eq!(state, BatchState::Failed, "{status} with {state}");
    }
    if state.is_terminal() {
        assert!(status.is_terminal(), "{state} with {status}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_command_sequence_reaches_a_contradictory_state(
        students in 0usize..8,
        budget in 1u32..40,
        wave in 1u32..10,
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let mut settings = settings(budget);
        settings.wave_size = Some(wave);
        let mut history = History::started(students, settings, &["D", "B"]);
        let mut terminal_status = None;
        for step in &steps {
            let Some(command) = command_for(&history, step) else { continue };
            let _ = history.run(command);
            assert_consistent(&history.batch);
            if let Some(status) = terminal_status {
                prop_assert_eq!(history.batch.status(), status, "a terminal batch changed");
            }
            if history.batch.is_terminal() {
                terminal_status = Some(history.batch.status());
            }
        }
        let mut recorded: HashMap<_, usize> = HashMap::new();
        for event in &history.events {
            match event {
                CjBatchEvent::ComparisonRecorded(r) => *recorded.entry(r.correlation_id).or_default() += 1,
                CjBatchEvent::ComparisonFailed(f) => *recorded.entry(f.correlation_id).or_default() += 1,
                _ => {}
            }
        }
        prop_assert!(recorded.values().all(|&n| n == 1), "a callback was recorded twice");
        let planned = history.batch.progress().planned;
        prop_assert!(planned <= budget, "planned {} over budget {}", planned, budget);
        prop_assert_eq!(rebuild(&history.events), history.batch);
    }
}
