//! Finalization: the last fit by the batch's estimator and the reference (`sirt`) fit for
//! the field's reliability figures, the grade calibration (from the batch's anchors, or the
//! assignment's scale linked through them when the service handed one in: ADR 0012) and
//! every student's grade projection, then `ScoringStarted`, `BatchScored` and
//! `BatchCompleted` in one command, so a batch is never reported complete without its
//! scores.

use super::Draft;
use crate::batch::events::{
    BatchCompleted, BatchScored, CjBatchEvent, CompletionTrigger, EssayScore, JudgeReliability,
    OrderEffectFigure, ReliabilityReport, ScoringStarted, SplitHalfFigure,
};
use crate::batch::status::UploadStatus;
use crate::batch::CjBatch;
use crate::stats::audit::{audit, AuditInput};
use crate::stats::scale::{Estimator, ScaleFit};
use crate::stats::split_half::{DEFAULT_SEED as SPLIT_SEED, DEFAULT_SPLITS};
use crate::stats::{finite, Comparison};

impl CjBatch {
    /// The reliability report (the reference estimator's SSR and G, split halves, order
    /// effect, judge misfit, components) and which essays misfit. Whatever estimator placed
    /// the essays, these are the field's figures, comparable with published CJ studies.
    fn reliability(
        &self,
        fit: &ScaleFit,
        reference: &ScaleFit,
        comparisons: &[Comparison],
    ) -> (ReliabilityReport, Vec<bool>) {
        let audit = audit(&AuditInput {
            items: self.essays.len(),
            comparisons,
            first_win_probabilities: &reference.first_win_probabilities,
            infits: &reference.infits,
            thetas: &reference.scores,
            splits: DEFAULT_SPLITS,
            seed: SPLIT_SEED,
            shown_order_known: true,
        });
        let report = ReliabilityReport {
            estimator: fit.estimator,
            iterations: fit.iterations,
            converged: fit.converged,
            reference_ssr: reference.ssr,
            sep_g: reference.separation,
            split_half: audit.split_half.map(|split| SplitHalfFigure {
                median: split.median.and_then(finite),
                spearman_brown: split.spearman_brown.and_then(finite),
                splits: u32::try_from(split.splits).unwrap_or(u32::MAX),
                by: split.by,
            }),
            order_effect: audit
                .order_effect
                .filter(|effect| effect.estimate.is_finite())
                .map(|effect| OrderEffectFigure {
                    estimate: effect.estimate,
                    se: finite(effect.se),
                    flagged: effect.flagged(),
                }),
            judges: audit
                .judges
                .iter()
                .map(|(judge, flagged)| JudgeReliability {
                    judge: self.judges[judge.judge as usize].clone(),
                    comparisons: judge.comparisons,
                    infit: finite(judge.infit),
                    outfit: finite(judge.outfit),
                    flagged: *flagged,
                })
                .collect(),
            components: u32::try_from(audit.components.len()).unwrap_or(u32::MAX),
        };
        (report, audit.misfitting_items)
    }
}

impl Draft {
    /// Scores every essay, projects grades and completes the batch — one command, so the
    /// status can never be COMPLETE_* while the state is not COMPLETED.
    pub(in crate::batch) fn finalize(&mut self, trigger: CompletionTrigger) {
        let batch = &self.batch;
        let comparisons = batch.scale_comparisons();
        // Read once for both fits: with a graded verdict it is a fit of its own.
        let graded = batch.graded_verdicts(&comparisons);
        let fit = batch.fit_graded(batch.settings().estimator, &comparisons, graded.as_ref());
        let ranks = fit.ranks();
        let reference = match fit.estimator {
            Estimator::Sirt => fit.clone(),
            _ => batch.fit_graded(Estimator::Sirt, &comparisons, graded.as_ref()),
        };
        let (reliability, misfitting) = batch.reliability(&fit, &reference, &comparisons);
        let essays = batch
            .essays
            .iter()
            .enumerate()
            .map(|(i, essay)| EssayScore {
                essay_id: essay.essay_id.clone(),
                is_anchor: essay.is_anchor,
                known_grade: essay.known_grade.clone(),
                bt_score: fit.scores[i],
                standard_error: fit.standard_errors[i],
                rank: ranks[i],
                comparisons: fit.comparison_counts[i],
                projection: None,
                infit: finite(reference.infits[i]),
                outfit: finite(reference.outfits[i]),
                misfit: misfitting[i],
            })
            .collect();
        let progress = batch.progress();
        let status = match trigger {
            CompletionTrigger::Stable => UploadStatus::CompleteStable,
            CompletionTrigger::BudgetSpent | CompletionTrigger::NoPairLeft => {
                UploadStatus::CompleteMaxComparisons
            }
            CompletionTrigger::ForcedRecovery | CompletionTrigger::OperatorFinalize => {
                UploadStatus::CompleteForcedRecovery
            }
            CompletionTrigger::InsufficientEssays => UploadStatus::CompleteInsufficientEssays,
        };
        let mut scored = BatchScored {
            ssr: fit.ssr,
            grade_scale: batch.grade_scale(),
            calibration: None,
            calibration_unavailable: None,
            essays,
            successful_comparisons: progress.successful,
            reliability: Some(reliability),
            assignment_scale_version: None,
        };
        scored.grade(trigger, &self.inputs.assignment_scale);
        let completed = BatchCompleted {
            status,
            comparisons_made: batch.comparisons_made(),
            successful_comparisons: progress.successful,
            failed_comparisons: progress.failed,
            waves: batch.wave,
        };
        self.emit(CjBatchEvent::ScoringStarted(ScoringStarted { trigger }));
        self.emit(CjBatchEvent::BatchScored(scored));
        self.emit(CjBatchEvent::BatchCompleted(completed));
    }
}
