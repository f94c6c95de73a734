//! What a batch reads off its own state to decide: its settings and grade scale, comparison
//! progress against the budget, its verdicts as the statistics speak them ([`Comparison`]),
//! and the fits of those verdicts — by the batch's estimator, or the regularised one the
//! planner steers by.

use crate::batch::completion::ComparisonProgress;
use crate::batch::settings::BatchSettings;
use crate::batch::{CjBatch, ComparisonResult};
use crate::stats::grade_scale::GradeScale;
use crate::stats::scale::{self, Estimator, GradedVerdicts, ScaleFit};
use crate::stats::Comparison;

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
    pub(super) fn scale_comparisons(&self) -> Vec<Comparison> {
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
    pub(super) fn planning_fit(&self) -> ScaleFit {
        let estimator = match self.settings().estimator {
            Estimator::Sirt => Estimator::Regularised,
            other => other,
        };
        self.fit_with(estimator, &self.scale_comparisons())
    }

    /// A fit of `comparisons` by `estimator`; graded verdicts (read only when the batch's
    /// settings say so) get quasi-binomial standard errors ([`ScaleFit::with_graded_errors`]).
    fn fit_with(&self, estimator: Estimator, comparisons: &[Comparison]) -> ScaleFit {
        let graded = self.graded_verdicts(comparisons);
        self.fit_graded(estimator, comparisons, graded.as_ref())
    }

    /// `comparisons` (the batch's verdicts) read once for graded errors, for every fit of
    /// them ([`GradedVerdicts`]; `None`: hard verdicts only).
    pub(super) fn graded_verdicts(&self, comparisons: &[Comparison]) -> Option<GradedVerdicts> {
        GradedVerdicts::of(self.essays.len(), comparisons)
    }

    /// A fit of `comparisons` by `estimator`, with the errors of `graded` (what
    /// [`CjBatch::graded_verdicts`] read of the same comparisons).
    pub(super) fn fit_graded(
        &self,
        estimator: Estimator,
        comparisons: &[Comparison],
        graded: Option<&GradedVerdicts>,
    ) -> ScaleFit {
        let fit = scale::fit(
            estimator,
            self.settings().bt_alpha,
            self.essays.len(),
            comparisons,
        );
        match graded {
            Some(graded) => fit.with_errors_of(graded),
            None => fit,
        }
    }

    pub(super) fn successful_per_essay(&self) -> Vec<u32> {
        let mut counts = vec![0; self.essays.len()];
        for (winner, loser) in self.comparisons.iter().filter_map(|c| c.verdict()) {
            counts[winner] += 1;
            counts[loser] += 1;
        }
        counts
    }

    pub(super) fn student_count(&self) -> usize {
        self.essays.iter().filter(|e| !e.is_anchor).count()
    }
}
