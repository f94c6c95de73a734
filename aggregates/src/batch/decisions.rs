//! What a batch decides once its state changed: the first wave, the next wave (with the
//! retries of failed comparisons), finalization with scores and grade projections, or
//! failure. Each decision writes its events into the command's `Draft`.

use super::handlers::Draft;
use super::{CjBatch, ComparisonResult};
use crate::batch::completion::{self, ComparisonProgress, Decision, Stability};
use crate::batch::events::{
    BatchCompleted, BatchFailed, BatchScored, CjBatchEvent, ComparisonPurpose, ComparisonRetried,
    CompletionTrigger, EssayScore, FailureReason, FitSnapshot, JudgeReliability, OrderEffectFigure,
    PlannedComparison, ReliabilityReport, ScoringStarted, SplitHalfFigure, WavePlanned,
};
use crate::batch::settings::{BatchSettings, PairingStrategy};
use crate::batch::status::{BatchState, UploadStatus};
use crate::stats::audit::{audit, AuditInput};
use crate::stats::bradley_terry;
use crate::stats::grade_scale::GradeScale;
use crate::stats::grading::{self, AnchorPoint, Calibration, CalibrationError, CohortPrior};
use crate::stats::pairing::{self, PairPurpose, PairRecord, PairStatus, PairingRequest};
use crate::stats::random_pairing;
use crate::stats::scale::{self, Estimator, ScaleFit};
use crate::stats::split_half::{DEFAULT_SEED as SPLIT_SEED, DEFAULT_SPLITS};
use crate::stats::{finite, Comparison};
use serde_json::{json, Map, Value};

/// Why a scored batch has no grade projections. Its Display is the text
/// `BatchScored.calibration_unavailable` records.
#[derive(Debug, thiserror::Error)]
enum CalibrationUnavailable {
    /// Too few student essays were compared to place any of them.
    #[error("fewer than two student essays were compared")]
    InsufficientEssays,
    /// The anchors cannot calibrate the scale.
    #[error(transparent)]
    Anchors(CalibrationError),
}

impl CjBatch {
    pub fn settings(&self) -> &BatchSettings {
        &self
            .registration
            .as_ref()
            .expect("decisions run only on registered batches")
            .settings
    }

    pub fn grade_scale(&self) -> GradeScale {
        self.registration
            .as_ref()
            .map(|r| r.grade_scale)
            .unwrap_or_default()
    }

    pub fn progress(&self) -> ComparisonProgress {
        let mut progress = ComparisonProgress {
            budget: self
                .registration
                .as_ref()
                .map_or(0, |r| r.settings.budget.get()),
            planned: self.comparisons.len() as u32,
            ..ComparisonProgress::default()
        };
        for comparison in &self.comparisons {
            match comparison.result {
                ComparisonResult::Won(_) => progress.successful += 1,
                ComparisonResult::Failed => progress.failed += 1,
                ComparisonResult::Pending => {}
            }
        }
        progress
    }

    /// Comparisons the judge was actually asked (accepted by the provider or answered):
    /// what the batch cost, as the completion and resource events report it.
    pub fn comparisons_made(&self) -> u32 {
        self.comparisons
            .iter()
            .filter(|c| c.submitted || c.result != ComparisonResult::Pending)
            .count() as u32
    }

    /// Every verdict as the statistics read it: the essay shown first (A), whether it won,
    /// and the judge (an index into [`CjBatch::judges`]).
    fn scale_comparisons(&self) -> Vec<Comparison> {
        self.fitted_outcomes()
            .map(|(c, first_won)| Comparison {
                first: c.essay_a,
                second: c.essay_b,
                first_won,
                judge: c.judge,
            })
            .collect()
    }

    /// Every essay on the batch's scale, fitted by its estimator on the verdicts so far.
    pub fn fit(&self) -> ScaleFit {
        self.fit_with(self.settings().estimator, &self.scale_comparisons())
    }

    /// The fit the planner chooses pairs by (and stability is judged on): the batch's,
    /// except that a batch scored with the reference estimator is planned on the
    /// regularised one — pairing on unshrunk scores chases noise (docs/quality.md).
    fn planning_fit(&self) -> ScaleFit {
        let estimator = match self.settings().estimator {
            Estimator::Sirt => Estimator::Regularised,
            other => other,
        };
        self.fit_with(estimator, &self.scale_comparisons())
    }

    fn fit_with(&self, estimator: Estimator, comparisons: &[Comparison]) -> ScaleFit {
        scale::fit(
            estimator,
            self.settings().bt_alpha,
            self.essays.len(),
            comparisons,
        )
    }

    fn successful_per_essay(&self) -> Vec<u32> {
        let mut counts = vec![0; self.essays.len()];
        for (winner, loser) in self.comparisons.iter().filter_map(|c| c.verdict()) {
            counts[winner] += 1;
            counts[loser] += 1;
        }
        counts
    }

    fn calibration(&self, fit: &ScaleFit) -> Result<Calibration, CalibrationError> {
        let scale = self.grade_scale();
        let anchors: Vec<AnchorPoint> = self
            .essays
            .iter()
            .zip(fit.scores.iter().zip(&fit.standard_errors))
            .filter(|(essay, _)| essay.is_anchor)
            .filter_map(|(essay, (&score, &standard_error))| {
                let grade_index = scale.index_of(essay.known_grade.as_deref()?)?;
                Some(AnchorPoint {
                    score,
                    grade_index,
                    standard_error,
                })
            })
            .collect();
        let (student_scores, student_ses): (Vec<f64>, Vec<f64>) = self
            .essays
            .iter()
            .zip(fit.scores.iter().zip(&fit.standard_errors))
            .filter(|(essay, _)| !essay.is_anchor)
            .map(|(_, (&score, &se))| (score, se))
            .unzip();
        grading::calibrate(scale, &anchors)
            .map(|c| c.with_cohort(CohortPrior::estimate(&student_scores, &student_ses)))
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

    fn student_count(&self) -> usize {
        self.essays.iter().filter(|e| !e.is_anchor).count()
    }
}

impl Draft {
    /// Intake is closed: plan the first wave, or end a batch with too few essays at once.
    pub(super) fn start_comparisons(&mut self) {
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

    /// Writes the next wave (new pairs, then retries of failed comparisons). False when the
    /// budget is spent or no pair is left.
    fn plan_next_wave(&mut self) -> bool {
        let batch = &self.batch;
        let settings = batch.settings().clone();
        let progress = batch.progress();
        let fit = (progress.successful > 0).then(|| batch.planning_fit());
        let capacity = settings
            .effective_wave_size()
            .min(progress.budget_left())
            .min(wave_toward_target(
                &settings,
                &progress,
                fit.as_ref(),
                batch.essays.len(),
            )) as usize;
        if capacity == 0 {
            return false;
        }
        let wave = batch.wave + 1;
        let batch_id = batch
            .registration
            .as_ref()
            .map(|r| r.batch_id)
            .expect("registered");
        let mut next_number = batch.comparisons.len();
        let mut number = || {
            next_number += 1;
            batch_id.comparison_correlation_id(next_number - 1)
        };

        let retry_sources: Vec<usize> = batch
            .comparisons
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.result == ComparisonResult::Failed
                    && !c.retried
                    && c.attempt <= settings.max_retries
            })
            .map(|(i, _)| i)
            .take(capacity)
            .collect();

        let mut history: Vec<PairRecord> = batch.comparisons.iter().map(pair_record).collect();
        history.extend(retry_sources.iter().map(|&i| PairRecord {
            essay_a: batch.comparisons[i].essay_b,
            essay_b: batch.comparisons[i].essay_a,
            status: PairStatus::Pending,
        }));
        let room = capacity - retry_sources.len();
        let pairs = if room == 0 {
            Vec::new()
        } else {
            self.choose_pairs(&settings, &history, fit.as_ref(), room, wave)
        };
        if pairs.is_empty() && retry_sources.is_empty() {
            return false;
        }

        let batch = &self.batch;
        let essay = |i: usize| batch.essays[i].essay_id.clone();
        let comparisons: Vec<PlannedComparison> = pairs
            .iter()
            .map(|&(a, b, purpose)| PlannedComparison {
                correlation_id: number(),
                essay_a: essay(a),
                essay_b: essay(b),
                purpose,
                attempt: 1,
            })
            .collect();
        let retries: Vec<ComparisonRetried> = retry_sources
            .iter()
            .map(|&i| {
                let original = &batch.comparisons[i];
                ComparisonRetried {
                    wave,
                    retry_of: original.correlation_id,
                    comparison: PlannedComparison {
                        correlation_id: number(),
                        // The judge may prefer a position: ask again the other way round.
                        essay_a: essay(original.essay_b),
                        essay_b: essay(original.essay_a),
                        purpose: ComparisonPurpose::Retry,
                        attempt: original.attempt + 1,
                    },
                }
            })
            .collect();
        let snapshot = fit.map(|fit| FitSnapshot {
            ssr: fit.ssr,
            scores: fit.scores,
            successful_comparisons: batch.progress().successful,
        });
        self.emit(CjBatchEvent::WavePlanned(WavePlanned {
            wave,
            comparisons,
            fit: snapshot,
        }));
        for retry in retries {
            self.emit(CjBatchEvent::ComparisonRetried(retry));
        }
        true
    }

    fn choose_pairs(
        &self,
        settings: &BatchSettings,
        history: &[PairRecord],
        fit: Option<&ScaleFit>,
        max_pairs: usize,
        wave: u32,
    ) -> Vec<(usize, usize, ComparisonPurpose)> {
        let n = self.batch.essays.len();
        match settings.pairing {
            PairingStrategy::Random => {
                random_pairing::plan_random_wave(n, max_pairs, settings.seed, wave)
                    .into_iter()
                    .map(|(a, b)| (a, b, ComparisonPurpose::Random))
                    .collect()
            }
            PairingStrategy::Adaptive => {
                let zeros = vec![0.0; n];
                let unknown = vec![bradley_terry::UNIDENTIFIED_STANDARD_ERROR; n];
                let scores = fit.map_or(&zeros, |f| &f.scores);
                let standard_errors = fit.map_or(&unknown, |f| &f.standard_errors);
                let calibration = fit.and_then(|f| self.batch.calibration(f).ok());
                let boundary_distance: Vec<Option<f64>> = self
                    .batch
                    .essays
                    .iter()
                    .zip(scores)
                    .map(|(essay, &score)| match &calibration {
                        Some(c) if essay.is_anchor => Some(c.distance_to_nearest_boundary(score)),
                        _ => None,
                    })
                    .collect();
                let request = PairingRequest {
                    essay_count: n,
                    history,
                    scores,
                    standard_errors,
                    boundary_distance: &boundary_distance,
                    coverage_target: settings.min_comparisons_per_essay as usize,
                    max_pairs,
                    seed: settings.seed,
                    wave,
                };
                pairing::plan_wave(&request)
                    .into_iter()
                    .map(|p| {
                        let purpose = match p.purpose {
                            PairPurpose::Coverage => ComparisonPurpose::Coverage,
                            PairPurpose::Informative => ComparisonPurpose::Informative,
                        };
                        (p.essay_a, p.essay_b, purpose)
                    })
                    .collect()
            }
        }
    }

    /// Scores every essay, projects grades and completes the batch — one command, so the
    /// status can never be COMPLETE_* while the state is not COMPLETED.
    pub(super) fn finalize(&mut self, trigger: CompletionTrigger) {
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
                .calibration(&fit)
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
                    (Ok(c), false) => Some(c.project(fit.scores[i], fit.standard_errors[i])),
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
        let scored = BatchScored {
            ssr: fit.ssr,
            grade_scale: batch.grade_scale(),
            calibration_unavailable: calibration.as_ref().err().map(ToString::to_string),
            calibration: calibration.ok(),
            essays,
            successful_comparisons: progress.successful,
            reliability: Some(reliability),
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

/// The size of a wave that should bring the batch to its SSR target (see
/// [`completion::verdicts_to_reach_target`]), never below one matching (half the essays), so
/// a wave still reaches every part of the scale (unless the budget left is smaller);
/// unbounded when it cannot be estimated.
fn wave_toward_target(
    settings: &BatchSettings,
    progress: &ComparisonProgress,
    fit: Option<&ScaleFit>,
    essays: usize,
) -> u32 {
    let one_matching = u32::try_from(essays / 2).unwrap_or(u32::MAX).max(1);
    fit.and_then(|fit| completion::verdicts_to_reach_target(settings, progress.successful, fit.ssr))
        .map_or(u32::MAX, |needed| needed.max(one_matching))
}

fn pair_record(comparison: &super::BatchComparison) -> PairRecord {
    PairRecord {
        essay_a: comparison.essay_a,
        essay_b: comparison.essay_b,
        status: match comparison.result {
            ComparisonResult::Pending => PairStatus::Pending,
            ComparisonResult::Won(_) => PairStatus::Succeeded,
            ComparisonResult::Failed => PairStatus::Failed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_unavailable_reads_as_the_event_always_recorded() {
        assert_eq!(
            CalibrationUnavailable::InsufficientEssays.to_string(),
            "fewer than two student essays were compared"
        );
        let anchors = CalibrationError::TooFewAnchorGrades { distinct: 1 };
        assert_eq!(
            CalibrationUnavailable::Anchors(anchors.clone()).to_string(),
            anchors.to_string()
        );
    }
}
