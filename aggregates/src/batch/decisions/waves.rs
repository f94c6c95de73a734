//! Writing the next wave: retries of failed comparisons first (the other way round), then new
//! pairs from the planner (adaptive or random, as the batch was registered), the whole
//! sized by the wave size, the budget left and the comparisons the SSR target still needs.

use super::Draft;
use crate::batch::completion::{self, ComparisonProgress};
use crate::batch::events::{
    CjBatchEvent, ComparisonPurpose, ComparisonRetried, FitSnapshot, PlannedComparison, WavePlanned,
};
use crate::batch::settings::{BatchSettings, PairingStrategy};
use crate::batch::{BatchComparison, ComparisonResult};
use crate::stats::bradley_terry;
use crate::stats::pairing::{self, PairPurpose, PairRecord, PairStatus, PairingRequest};
use crate::stats::random_pairing;
use crate::stats::scale::ScaleFit;

impl Draft {
    /// Writes the next wave (new pairs, then retries of failed comparisons). False when the
    /// budget is spent or no pair is left.
    pub(super) fn plan_next_wave(&mut self) -> bool {
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
                // The boundaries are the ones the batch would be graded by now: from the
                // assignment scale when the service read one (ADR 0012), else its own anchors.
                let assignment = &self.inputs.assignment_scale;
                let calibration = fit
                    .and_then(|f| self.batch.calibration(f, assignment).ok())
                    .map(|graded| graded.calibration);
                let anchors: Vec<bool> = self.batch.essays.iter().map(|e| e.is_anchor).collect();
                let settled = assignment.is_settled() && !self.batch.is_calibration_round();
                let boundary_distance: Vec<Option<f64>> = anchors
                    .iter()
                    .zip(scores)
                    .map(|(&is_anchor, &score)| match &calibration {
                        Some(c) if is_anchor => Some(c.distance_to_nearest_boundary(score)),
                        _ => None,
                    })
                    .collect();
                let request = PairingRequest {
                    essay_count: n,
                    history,
                    scores,
                    standard_errors,
                    boundary_distance: &boundary_distance,
                    settled_anchors: settled.then_some(anchors.as_slice()),
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

fn pair_record(comparison: &BatchComparison) -> PairRecord {
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
