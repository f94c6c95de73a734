//! Folding a chunk of the log into few statements. The events a busy batch writes most —
//! verdicts, failures, submissions — change a projection in ways that commute within a run
//! of such events (counters add up, each comparison's row is touched by one of them), so a
//! run becomes one set-based statement; every other event keeps its own, in log order. A
//! projector then spends a few statements per chunk on callbacks instead of one per event.

use crate::log::LoggedEvent;
use cj_aggregates::CjBatchEvent;

/// A chunk cut into the pieces a projection applies in order.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// An event applied on its own.
    One(&'a LoggedEvent),
    /// Consecutive foldable events, applied together.
    Run(&'a [LoggedEvent]),
}

/// Cuts `events` into runs of events `foldable` accepts and single other events, keeping
/// their order.
pub fn steps(events: &[LoggedEvent], foldable: fn(&CjBatchEvent) -> bool) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut run_start = None;
    for (index, event) in events.iter().enumerate() {
        if foldable(&event.event) {
            run_start.get_or_insert(index);
            continue;
        }
        if let Some(start) = run_start.take() {
            steps.push(Step::Run(&events[start..index]));
        }
        steps.push(Step::One(event));
    }
    if let Some(start) = run_start {
        steps.push(Step::Run(&events[start..]));
    }
    steps
}

/// Whether the event reports callbacks or submissions (the events of a run).
pub fn is_callback_or_submission(event: &CjBatchEvent) -> bool {
    matches!(
        event,
        CjBatchEvent::ComparisonRecorded(_)
            | CjBatchEvent::ComparisonFailed(_)
            | CjBatchEvent::PairsSubmitted(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogPosition;
    use cj_aggregates::batch::events::{PairsSubmitted, ScoringStarted};
    use uuid::Uuid;

    fn logged(event: CjBatchEvent, seq: i64) -> LoggedEvent {
        LoggedEvent {
            position: LogPosition {
                tx: 1,
                global_seq: seq,
            },
            event_id: Uuid::nil(),
            batch_id: Uuid::nil(),
            sequence: seq,
            event_type: String::new(),
            event_version: String::new(),
            recorded_at: chrono::Utc::now(),
            metadata: serde_json::Value::Null,
            stored_payload: serde_json::Value::Null,
            event,
        }
    }

    fn submitted(seq: i64) -> LoggedEvent {
        logged(
            CjBatchEvent::PairsSubmitted(PairsSubmitted {
                correlation_ids: vec![],
                prompt_hash: "h".into(),
            }),
            seq,
        )
    }

    fn other(seq: i64) -> LoggedEvent {
        logged(
            CjBatchEvent::ScoringStarted(ScoringStarted {
                trigger: cj_aggregates::batch::events::CompletionTrigger::BudgetSpent,
            }),
            seq,
        )
    }

    #[test]
    fn runs_keep_their_place_between_single_events() {
        let events = vec![
            submitted(1),
            submitted(2),
            other(3),
            submitted(4),
            other(5),
            other(6),
            submitted(7),
        ];
        let shape: Vec<(char, Vec<i64>)> = steps(&events, is_callback_or_submission)
            .into_iter()
            .map(|step| match step {
                Step::One(e) => ('1', vec![e.sequence]),
                Step::Run(run) => ('r', run.iter().map(|e| e.sequence).collect()),
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ('r', vec![1, 2]),
                ('1', vec![3]),
                ('r', vec![4]),
                ('1', vec![5]),
                ('1', vec![6]),
                ('r', vec![7])
            ]
        );
    }
}
