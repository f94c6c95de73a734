//! The completion policy: after every recorded callback, should the batch wait, plan its
//! next wave, finalize (and why), or fail? Pure decisions over counts and fits; the
//! aggregate gathers the evidence and carries the decision out in the same command.

use crate::events::CompletionTrigger;
use crate::settings::BatchSettings;
use serde_json::{json, Map, Value};

/// Where a batch's comparisons stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComparisonProgress {
    pub budget: u32,
    /// Comparisons planned so far (first asks and retries).
    pub planned: u32,
    pub successful: u32,
    pub failed: u32,
}

impl ComparisonProgress {
    pub fn resolved(&self) -> u32 {
        self.successful + self.failed
    }

    pub fn outstanding(&self) -> u32 {
        self.planned.saturating_sub(self.resolved())
    }

    pub fn budget_left(&self) -> u32 {
        self.budget.saturating_sub(self.planned)
    }

    /// Share of resolved comparisons that succeeded; 1 before any is resolved.
    pub fn success_rate(&self) -> f64 {
        match self.resolved() {
            0 => 1.0,
            resolved => self.successful as f64 / resolved as f64,
        }
    }

    /// Resolved share of what was planned: what the batch monitor judges a stuck batch by.
    pub fn completion_share(&self) -> f64 {
        match self.planned {
            0 => 0.0,
            planned => self.resolved() as f64 / planned as f64,
        }
    }
}

/// What the batch does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Callbacks are outstanding and nothing says stop.
    Wait,
    /// The wave is complete and budget is left.
    PlanNextWave,
    Finalize(CompletionTrigger),
    /// Too many comparisons failed: the `error_info.details` of the failure.
    FailLowSuccessRate(Map<String, Value>),
}

/// Evidence for stability, gathered by the aggregate only when `stability_can_be_judged`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stability {
    /// Largest |θ_now − θ_reference| over all essays.
    pub max_score_change: f64,
    pub ssr: Option<f64>,
}

/// The decision after a callback (or a batch of them) was recorded.
pub fn decide(
    settings: &BatchSettings,
    progress: &ComparisonProgress,
    stability: Option<Stability>,
) -> Decision {
    if settings.stop_when_stable && stability.is_some_and(|s| is_stable(settings, s)) {
        return Decision::Finalize(CompletionTrigger::Stable);
    }
    if progress.outstanding() > 0 {
        return Decision::Wait;
    }
    if progress.budget_left() == 0 {
        return at_cap(settings, progress, CompletionTrigger::BudgetSpent);
    }
    Decision::PlanNextWave
}

/// The decision once nothing more will be asked (budget spent, or no pair left to plan):
/// finalize, unless too few comparisons succeeded.
pub fn at_cap(
    settings: &BatchSettings,
    progress: &ComparisonProgress,
    trigger: CompletionTrigger,
) -> Decision {
    let rate = progress.success_rate();
    if rate < settings.success_rate_threshold || progress.successful == 0 {
        let details = json!({
            "callbacks_received": progress.resolved(),
            "completed_comparisons": progress.successful,
            "failed_comparisons": progress.failed,
            "success_rate": rate,
            "success_rate_threshold": settings.success_rate_threshold,
            "callbacks_reached_cap": progress.outstanding() == 0,
            "budget_exhausted": progress.budget_left() == 0,
        });
        let Value::Object(details) = details else {
            unreachable!("json! of an object literal is an object")
        };
        return Decision::FailLowSuccessRate(details);
    }
    Decision::Finalize(trigger)
}

/// Whether enough has happened since the reference fit for a comparison of fits to mean
/// anything: every essay has its minimum of successful comparisons, and at least one
/// matching's worth of new verdicts arrived (fits one callback apart always look stable).
pub fn stability_can_be_judged(
    settings: &BatchSettings,
    successful_per_essay: &[u32],
    verdicts_since_reference: u32,
) -> bool {
    let min_gap = (successful_per_essay.len() as u32 / 2).max(2);
    verdicts_since_reference >= min_gap
        && successful_per_essay
            .iter()
            .all(|&n| n >= settings.min_comparisons_per_essay)
}

fn is_stable(settings: &BatchSettings, stability: Stability) -> bool {
    stability.max_score_change <= settings.stability_threshold
        && stability.ssr.is_some_and(|ssr| ssr >= settings.ssr_target)
}

/// Largest absolute change between two fits of the same essays.
pub fn max_score_change(current: &[f64], reference: &[f64]) -> f64 {
    current
        .iter()
        .zip(reference)
        .map(|(now, then)| (now - then).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::ComparisonBudget;

    fn settings() -> BatchSettings {
        BatchSettings::with_budget(ComparisonBudget::new(100).unwrap())
    }

    fn progress(planned: u32, successful: u32, failed: u32) -> ComparisonProgress {
        ComparisonProgress {
            budget: 100,
            planned,
            successful,
            failed,
        }
    }

    #[test]
    fn outstanding_callbacks_mean_wait() {
        assert_eq!(
            decide(&settings(), &progress(40, 30, 0), None),
            Decision::Wait
        );
    }

    #[test]
    fn a_complete_wave_with_budget_left_plans_the_next() {
        assert_eq!(
            decide(&settings(), &progress(40, 40, 0), None),
            Decision::PlanNextWave
        );
    }

    #[test]
    fn the_last_callback_of_the_budget_finalizes() {
        assert_eq!(
            decide(&settings(), &progress(100, 95, 5), None),
            Decision::Finalize(CompletionTrigger::BudgetSpent)
        );
    }

    #[test]
    fn a_low_success_rate_at_the_cap_fails_with_the_figures() {
        let Decision::FailLowSuccessRate(details) =
            decide(&settings(), &progress(100, 20, 80), None)
        else {
            panic!("expected failure");
        };
        assert_eq!(details["completed_comparisons"], 20);
        assert_eq!(details["failed_comparisons"], 80);
        assert_eq!(details["success_rate"], 0.2);
        assert_eq!(details["budget_exhausted"], true);
    }

    #[test]
    fn stability_finalizes_even_with_callbacks_outstanding() {
        let stable = Stability {
            max_score_change: 0.01,
            ssr: Some(0.9),
        };
        assert_eq!(
            decide(&settings(), &progress(60, 50, 0), Some(stable)),
            Decision::Finalize(CompletionTrigger::Stable)
        );
    }

    #[test]
    fn stability_needs_both_small_change_and_reliability() {
        let moving = Stability {
            max_score_change: 1.5,
            ssr: Some(0.95),
        };
        let unreliable = Stability {
            max_score_change: 0.01,
            ssr: Some(0.5),
        };
        for evidence in [moving, unreliable] {
            assert_eq!(
                decide(&settings(), &progress(60, 50, 0), Some(evidence)),
                Decision::Wait
            );
        }
    }

    #[test]
    fn stability_is_ignored_when_early_stopping_is_off() {
        let mut settings = settings();
        settings.stop_when_stable = false;
        let stable = Stability {
            max_score_change: 0.0,
            ssr: Some(1.0),
        };
        assert_eq!(
            decide(&settings, &progress(60, 50, 0), Some(stable)),
            Decision::Wait
        );
    }

    #[test]
    fn fits_one_verdict_apart_are_never_compared() {
        let counts = vec![10; 20];
        assert!(!stability_can_be_judged(&settings(), &counts, 1));
        assert!(stability_can_be_judged(&settings(), &counts, 10));
    }

    #[test]
    fn stability_waits_for_every_essay_to_reach_its_minimum() {
        let mut counts = vec![10; 20];
        counts[3] = 3;
        assert!(!stability_can_be_judged(&settings(), &counts, 50));
    }
}
