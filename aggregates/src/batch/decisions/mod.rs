//! What a batch decides once its state changed: the first wave, the next wave (with the
//! retries of failed comparisons), finalization with scores and grade projections, or
//! failure. Each decision writes its events into the command's `Draft`.
//!
//! # Layout
//!
//! - here — the decisions themselves: start comparing, wait, plan, finalize or fail.
//! - `readings` — what the batch reads off its own state: settings, progress, verdicts as
//!   comparisons, and the fits by its estimator.
//! - `waves` — writing the next wave: new pairs from the planner and retries of failed
//!   comparisons, sized toward the reliability target.
//! - `finalization` — scores, reliability report and the events that complete the batch.
//! - `grading` — grade boundaries and projections from what `BatchScored` records, so a
//!   decided `BatchScored` can be graded again with the assignment's scale without scoring
//!   the batch again.

mod finalization;
mod grading;
mod readings;
mod waves;

#[cfg(test)]
mod tests;

use super::handlers::Draft;
use crate::batch::completion::{self, ComparisonProgress, Decision, Stability};
use crate::batch::events::{BatchFailed, CjBatchEvent, CompletionTrigger, FailureReason};
use crate::batch::status::{BatchState, UploadStatus};
use serde_json::{json, Map, Value};

impl Draft {
    /// Intake is closed: plan the first wave, or end a batch with too few essays at once.
    /// What must number two is the essays the batch is for: its students, or — in a
    /// calibration round, which has none — its anchors.
    pub(super) fn start_comparisons(&mut self) {
        if self.batch.is_calibration_round() {
            if self.batch.essays.len() >= 2 {
                self.plan_or_close();
            } else {
                self.finalize(CompletionTrigger::InsufficientEssays);
            }
            return;
        }
        let students = self.batch.student_count();
        if students >= 2 {
            self.plan_or_close();
            return;
        }
        let failed_at_intake = self
            .batch
            .registration
            .as_ref()
            .map_or(0, |r| r.failed_essays.len());
        if students == 0 && failed_at_intake > 0 {
            let mut details = Map::new();
            details.insert("failed_essays".into(), json!(failed_at_intake));
            self.fail(
                UploadStatus::ErrorEssayProcessing,
                FailureReason::NoEssayContent,
                details,
            );
        } else {
            self.finalize(CompletionTrigger::InsufficientEssays);
        }
    }

    /// After new verdicts: wait, plan, finalize or fail, as the completion policy says.
    pub(super) fn decide_next_step(&mut self) {
        let progress = self.batch.progress();
        let stability = self.assess_stability(&progress);
        match completion::decide(self.batch.settings(), &progress, stability) {
            Decision::Wait => {}
            Decision::PlanNextWave => self.plan_or_close(),
            Decision::Finalize(trigger) => self.finalize(trigger),
            Decision::FailLowSuccessRate(details) => self.fail(
                UploadStatus::ErrorProcessing,
                FailureReason::LowSuccessRate,
                details,
            ),
        }
    }

    fn assess_stability(&self, progress: &ComparisonProgress) -> Option<Stability> {
        let settings = self.batch.settings();
        if !settings.stop_when_stable {
            return None;
        }
        let reference = self.batch.reference_fit.as_ref()?;
        let since = progress
            .successful
            .saturating_sub(reference.successful_comparisons);
        let per_essay = self.batch.successful_per_essay();
        let wave_answered = progress.outstanding() == 0;
        if !completion::stability_can_be_judged(settings, &per_essay, since, wave_answered) {
            return None;
        }
        // The snapshot was taken of the planning fit: compare like with like.
        let fit = self.batch.planning_fit();
        Some(Stability {
            max_score_change: completion::max_score_change(&fit.scores, &reference.scores),
            ssr: fit.ssr,
        })
    }

    /// Plans the next wave; when nothing can be planned, the batch ends now rather than
    /// waiting for a sweep.
    fn plan_or_close(&mut self) {
        if self.plan_next_wave() {
            return;
        }
        let progress = self.batch.progress();
        match completion::at_cap(
            self.batch.settings(),
            &progress,
            CompletionTrigger::NoPairLeft,
        ) {
            Decision::FailLowSuccessRate(details) => self.fail(
                UploadStatus::ErrorProcessing,
                FailureReason::LowSuccessRate,
                details,
            ),
            Decision::Finalize(trigger) => self.finalize(trigger),
            Decision::Wait | Decision::PlanNextWave => {
                unreachable!("at_cap decides only between finalizing and failing")
            }
        }
    }

    pub(super) fn fail(
        &mut self,
        status: UploadStatus,
        reason: FailureReason,
        details: Map<String, Value>,
    ) {
        self.emit(CjBatchEvent::BatchFailed(BatchFailed {
            status,
            reason,
            details,
        }));
    }

    pub(super) fn fail_stuck(
        &mut self,
        state: BatchState,
        share: f64,
        threshold: f64,
        idle_seconds: u64,
    ) {
        let progress = self.batch.progress();
        let details = json!({
            "progress": share,
            "progress_threshold": threshold,
            "state": state,
            "comparisons_planned": progress.planned,
            "completed_comparisons": progress.successful,
            "failed_comparisons": progress.failed,
            "idle_seconds": idle_seconds,
        });
        let Value::Object(details) = details else {
            unreachable!("json! of an object literal is an object")
        };
        self.fail(
            UploadStatus::ErrorProcessing,
            FailureReason::StuckTimeoutInsufficientProgress,
            details,
        );
    }
}
