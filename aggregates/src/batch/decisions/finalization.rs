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
use crate::stats::assignment_scale::{AnchorObservation, AssignmentScale};
use crate::stats::audit::{audit, AuditInput};
use crate::stats::grading::{Calibration, CalibrationError, CohortPrior};
use crate::stats::scale::{Estimator, ScaleFit};
use crate::stats::split_half::{DEFAULT_SEED as SPLIT_SEED, DEFAULT_SPLITS};
use crate::stats::{finite, Comparison};

/// Why a scored batch has no grade projections. Its Display is the text
/// `BatchScored.calibration_unavailable` records.
#[derive(Debug, thiserror::Error)]
pub(super) enum CalibrationUnavailable {
    /// Too few student essays were compared to place any of them.
    #[error("fewer than two student essays were compared")]
    InsufficientEssays,
    /// The anchors cannot calibrate the scale.
    #[error(transparent)]
    Anchors(CalibrationError),
}

/// A batch's grade calibration and the version of the assignment scale it rests on
/// (`None`: the batch's own anchors alone).
pub(super) struct GradeCalibration {
    pub calibration: Calibration,
    pub assignment_scale_version: Option<u32>,
}

impl CjBatch {
    /// The anchors as `fit` placed them, with the index of their known grade.
    fn anchor_observations(&self, fit: &ScaleFit) -> Vec<AnchorObservation> {
        let scale = self.grade_scale();
        self.essays
            .iter()
            .zip(fit.scores.iter().zip(&fit.standard_errors))
            .filter(|(essay, _)| essay.is_anchor)
            .filter_map(|(essay, (&score, &standard_error))| {
                Some(AnchorObservation {
                    essay_id: essay.essay_id.to_string(),
                    grade_index: scale.index_of(essay.known_grade.as_deref()?)?,
                    score,
                    standard_error,
                })
            })
            .collect()
    }

    /// The grade boundaries for `fit`: from `assignment` linked to the batch's axis through
    /// its anchors when they share one (ADR 0012), else from the batch's anchors alone —
    /// with an empty `assignment` exactly the calibration before assignment scales.
    pub(super) fn calibration(
        &self,
        fit: &ScaleFit,
        assignment: &AssignmentScale,
    ) -> Result<GradeCalibration, CalibrationError> {
        let anchors = self.anchor_observations(fit);
        let assignment_scale_version = assignment.link(&anchors).map(|_| assignment.version);
        let (student_scores, student_ses): (Vec<f64>, Vec<f64>) = self
            .essays
            .iter()
            .zip(fit.scores.iter().zip(&fit.standard_errors))
            .filter(|(essay, _)| !essay.is_anchor)
            .map(|(_, (&score, &se))| (score, se))
            .unzip();
        let calibration = assignment
            .calibrate(self.grade_scale(), &anchors)?
            .with_cohort(CohortPrior::estimate(&student_scores, &student_ses));
        Ok(GradeCalibration {
            calibration,
            assignment_scale_version,
        })
    }

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
        let fit = batch.fit_with(batch.settings().estimator, &comparisons);
        let ranks = fit.ranks();
        let reference = match fit.estimator {
            Estimator::Sirt => fit.clone(),
            _ => batch.fit_with(Estimator::Sirt, &comparisons),
        };
        let (reliability, misfitting) = batch.reliability(&fit, &reference, &comparisons);
        let calibration = match trigger {
            CompletionTrigger::InsufficientEssays => {
                Err(CalibrationUnavailable::InsufficientEssays)
            }
            _ => batch
                .calibration(&fit, &self.inputs.assignment_scale)
                .map_err(CalibrationUnavailable::Anchors),
        };
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
                projection: match (&calibration, essay.is_anchor) {
                    (Ok(graded), false) => Some(
                        graded
                            .calibration
                            .project(fit.scores[i], fit.standard_errors[i]),
                    ),
                    _ => None,
                },
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
        let (calibration, calibration_unavailable, assignment_scale_version) = match calibration {
            Ok(graded) => (
                Some(graded.calibration),
                None,
                graded.assignment_scale_version,
            ),
            Err(why) => (None, Some(why.to_string()), None),
        };
        let scored = BatchScored {
            ssr: fit.ssr,
            grade_scale: batch.grade_scale(),
            calibration,
            calibration_unavailable,
            essays,
            successful_comparisons: progress.successful,
            reliability: Some(reliability),
            assignment_scale_version,
        };
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
