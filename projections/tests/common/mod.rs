//! Shared helpers of the projections tests: the contract fixtures and a JSON shape comparison
//! against them (the contracts crate's own, included by path), and batch histories built by the real aggregate (through the aggregate
//! crate's own test builders, included by path rather than copied).
#![allow(dead_code)]

#[path = "../../../aggregates/tests/support/mod.rs"]
pub mod aggregate;
#[path = "../../../contracts/tests/common/mod.rs"]
mod contract_samples;
pub use contract_samples::*;

use aggregate::History;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cj_aggregates::batch::commands::RegisterBatch;
use cj_aggregates::batch::settings::BatchSettings;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::CjBatchCommand;
use cj_projections::outbox::RecordedEvent;

/// The instant the test batch was registered; every later event is one second later.
pub fn registered_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

/// The events of a history as the log holds them, one second apart.
pub fn recorded(history: &History) -> Vec<RecordedEvent> {
    history
        .events
        .iter()
        .enumerate()
        .map(|(i, event)| RecordedEvent {
            sequence: i as u64 + 1,
            recorded_at: registered_at() + Duration::seconds(i as i64),
            event: event.clone(),
        })
        .collect()
}

/// A registration command adjusted by `change` (scale, failed essays, LLM settings …).
pub fn register_with(
    students: usize,
    settings: BatchSettings,
    change: impl FnOnce(&mut RegisterBatch),
) -> CjBatchCommand {
    let mut command = aggregate::register(students, settings);
    if let CjBatchCommand::RegisterBatch(register) = &mut command {
        change(register);
    }
    command
}

/// A batch registered with `change`, its anchors attached, answered until it ends.
pub fn finished_batch(
    students: usize,
    budget: u32,
    anchor_grades: &[&str],
    change: impl FnOnce(&mut RegisterBatch),
) -> History {
    let mut settings = aggregate::settings(budget);
    settings.wave_size = Some(budget);
    let mut history = History::default();
    history
        .run(register_with(students, settings, change))
        .expect("registers");
    history
        .run(aggregate::anchors(anchor_grades))
        .expect("anchors attach");
    history.answer_until_terminal();
    history
}

/// The numeric ENG5 scale for `change`.
pub fn national_scale(register: &mut RegisterBatch) {
    register.grade_scale = GradeScale::Eng5NpNational9Step;
}
