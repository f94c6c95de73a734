//! The completion policy: after every recorded callback, should the batch wait, plan its
//! next wave, finalize (and why), or fail? Pure decisions over counts and fits; the
//! aggregate gathers the evidence and carries the decision out in the same command.

use crate::batch::events::CompletionTrigger;
use crate::batch::settings::BatchSettings;
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
    if progress.outstanding() > 0 {
        // Comparisons in flight are paid for: a batch does not stop before their verdicts
        // are in (the planner sizes the last wave so that it ends near the target).
        return Decision::Wait;
    }
    if settings.stop_when_stable && stability.is_some_and(|s| is_stable(settings, s)) {
        return Decision::Finalize(CompletionTrigger::Stable);
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
/// matching's worth of new verdicts arrived (fits one callback apart always look stable) —
/// or the whole wave planned with the reference fit is answered (a small last wave, or one
/// with failures, is still a wave apart).
pub fn stability_can_be_judged(
    settings: &BatchSettings,
    successful_per_essay: &[u32],
    verdicts_since_reference: u32,
    wave_answered: bool,
) -> bool {
    let min_gap = (successful_per_essay.len() as u32 / 2).max(2);
    (verdicts_since_reference >= min_gap || (wave_answered && verdicts_since_reference > 0))
        && successful_per_essay
            .iter()
            .all(|&n| n >= settings.min_comparisons_per_essay)
}

fn is_stable(settings: &BatchSettings, stability: Stability) -> bool {
    stability.max_score_change <= settings.stability_threshold
        && stability.ssr.is_some_and(|ssr| ssr >= settings.ssr_target)
}

/// How many more successful verdicts a batch needs for its SSR to reach `ssr_target`, when
/// early stopping is on: the error variance of a score shrinks as 1/verdicts while the
/// spread of true scores stays, so (1 − R) scales as 1/m and m* = m·(1 − R)/(1 − R*). The
/// planner sizes the next wave by it, so a batch reaches its target at the end of a wave
/// instead of stopping in the middle of one with comparisons already paid for and
/// unanswered. `None` when it cannot be estimated (no SSR yet, or one ≤ 0: the scale has
/// no spread to speak of).
pub fn verdicts_to_reach_target(
    settings: &BatchSettings,
    successful: u32,
    ssr: Option<f64>,
) -> Option<u32> {
    let ssr = ssr.filter(|r| *r > 0.0 && r.is_finite())?;
    let target_reachable = (0.0..1.0).contains(&settings.ssr_target) && settings.ssr_target > 0.0;
    if !(settings.stop_when_stable && target_reachable) {
        return None;
    }
    if ssr >= settings.ssr_target {
        return Some(0);
    }
    let verdicts = f64::from(successful);
    let needed = verdicts * (1.0 - ssr) / (1.0 - settings.ssr_target) - verdicts;
    // Less a rounding error, so an exact answer is not rounded up to one more verdict.
    Some((needed - 1e-9).ceil().clamp(0.0, f64::from(u32::MAX)) as u32)
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
    use crate::batch::settings::ComparisonBudget;

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
    fn a_stable_batch_finalizes_once_its_wave_is_answered() {
        let stable = Stability {
            max_score_change: 0.01,
            ssr: Some(0.9),
        };
        assert_eq!(
            decide(&settings(), &progress(60, 50, 0), Some(stable)),
            Decision::Wait,
            "ten comparisons in flight are paid for: their verdicts count"
        );
        assert_eq!(
            decide(&settings(), &progress(60, 58, 2), Some(stable)),
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
                decide(&settings(), &progress(60, 60, 0), Some(evidence)),
                Decision::PlanNextWave
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
            decide(&settings, &progress(60, 60, 0), Some(stable)),
            Decision::PlanNextWave
        );
    }

    #[test]
    fn the_verdicts_still_needed_follow_the_error_variance() {
        // R = .6 after 100 verdicts, target .8: error must halve, so 200 verdicts in all.
        assert_eq!(
            verdicts_to_reach_target(&settings(), 100, Some(0.6)),
            Some(100)
        );
        assert_eq!(
            verdicts_to_reach_target(&settings(), 100, Some(0.85)),
            Some(0)
        );
        assert_eq!(verdicts_to_reach_target(&settings(), 100, Some(-0.4)), None);
        assert_eq!(verdicts_to_reach_target(&settings(), 100, None), None);
        let mut to_budget = settings();
        to_budget.stop_when_stable = false;
        assert_eq!(verdicts_to_reach_target(&to_budget, 100, Some(0.6)), None);
    }

    #[test]
    fn fits_one_verdict_apart_are_never_compared() {
        let counts = vec![10; 20];
        assert!(!stability_can_be_judged(&settings(), &counts, 1, false));
        assert!(stability_can_be_judged(&settings(), &counts, 10, false));
        assert!(
            stability_can_be_judged(&settings(), &counts, 1, true),
            "a whole (small) wave apart"
        );
        assert!(!stability_can_be_judged(&settings(), &counts, 0, true));
    }

    #[test]
    fn stability_waits_for_every_essay_to_reach_its_minimum() {
        let mut counts = vec![10; 20];
        counts[3] = 3;
        assert!(!stability_can_be_judged(&settings(), &counts, 50, true));
    }
}
