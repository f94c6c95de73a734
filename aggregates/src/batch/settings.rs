//! What a batch is configured with at registration: the comparison budget, wave size,
//! completion thresholds, planner seed, and the LLM settings passed through to the provider.
//! Everything here is recorded in `BatchRegistered`, so a batch's decisions can be replayed
//! from its own history even after the service's defaults change.

use crate::stats::scale::Estimator;
use serde::{Deserialize, Serialize};

/// The number of comparisons a batch may ask for. At least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ComparisonBudget(u32);

/// A budget of zero comparisons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a comparison budget must be at least 1")]
pub struct EmptyBudget;

impl ComparisonBudget {
    pub fn new(comparisons: u32) -> Result<Self, EmptyBudget> {
        if comparisons == 0 {
            Err(EmptyBudget)
        } else {
            Ok(ComparisonBudget(comparisons))
        }
    }

    /// `min(configured maximum, request's max_comparisons)`: a request can only lower the
    /// budget. A request asking for 0 is ignored rather than ending the batch unasked.
    pub fn resolve(configured_maximum: ComparisonBudget, requested: Option<u32>) -> Self {
        match requested {
            Some(requested) if requested > 0 => {
                ComparisonBudget(requested.min(configured_maximum.0))
            }
            _ => configured_maximum,
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for ComparisonBudget {
    type Error = EmptyBudget;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        ComparisonBudget::new(value)
    }
}

impl From<ComparisonBudget> for u32 {
    fn from(value: ComparisonBudget) -> Self {
        value.0
    }
}

/// How the next wave's pairs are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PairingStrategy {
    /// Coverage first, then the most informative pairs (the product's planner).
    #[default]
    Adaptive,
    /// Uniformly random pairs: the baseline `simulate --baseline` compares against.
    Random,
}

/// Default number of waves a batch aims to spend its budget in: few waves keep the
/// provider's queue full, enough waves let the planner use what it has learnt.
pub const TARGET_WAVES: u32 = 5;

/// The per-batch decision settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSettings {
    pub budget: ComparisonBudget,
    /// Comparisons per wave (several matchings). `None`: budget / TARGET_WAVES, rounded up.
    pub wave_size: Option<u32>,
    /// Successful comparisons every essay needs before the batch may stop as stable.
    pub min_comparisons_per_essay: u32,
    /// Largest score change (logits) between fits a wave apart that still counts as stable.
    pub stability_threshold: f64,
    /// Scale separation reliability the batch must reach to stop as stable. The batch's
    /// estimator's SSR: with the default (regularised) estimator it is within .03 of the
    /// true reliability in `simulate` from 10 comparisons per essay, so the target means
    /// what it says (the reference estimator's SSR would overstate it by .15–.27).
    pub ssr_target: f64,
    /// Below this share of successful callbacks at a cap, the batch fails.
    pub success_rate_threshold: f64,
    /// How often a failed comparison is asked again (with the reverse orientation).
    pub max_retries: u32,
    /// Progress (resolved / planned comparisons) at which a stuck batch is finalized by the
    /// monitor instead of failed.
    pub recovery_progress_threshold: f64,
    pub pairing: PairingStrategy,
    /// Whether stability may end the batch before the budget is spent.
    pub stop_when_stable: bool,
    /// Which Bradley–Terry estimator places the essays; settings stored before it existed
    /// read back I-LSR, which scored them.
    #[serde(default = "Estimator::before_the_setting")]
    pub estimator: Estimator,
    /// Regularisation of the I-LSR fit (choix's `alpha`; only with `estimator: ilsr`).
    pub bt_alpha: f64,
    /// Seed of the pair planner: the same seed and verdicts give the same pairs.
    pub seed: u64,
    /// Whether the fits read a judge's P(A wins) (`p_a_wins`, from log-probabilities) as a
    /// fractional outcome instead of its hard verdict, once that judge's probabilities agree
    /// with its verdicts (`stats/graded.rs`). On for new batches: the ranking of 10 hard
    /// verdicts per essay comes from 3 graded ones, and with quasi-binomial standard errors
    /// (`stats/dispersion.rs`) SSR and grade probabilities stay right (docs/quality.md,
    /// "Verdicts that carry their probability"). Settings stored before it existed read
    /// `false`, so those batches replay as they were scored.
    #[serde(default)]
    pub graded_outcomes: bool,
}

impl BatchSettings {
    /// The defaults of the service for a given budget.
    pub fn with_budget(budget: ComparisonBudget) -> Self {
        BatchSettings {
            budget,
            wave_size: None,
            min_comparisons_per_essay: 4,
            // About one grade band: with 0.05 (the first version's) no simulated batch ever
            // stopped early; with 1.0 a budget of 20 per essay stops at 14.1 (docs/quality.md).
            stability_threshold: 1.0,
            ssr_target: 0.8,
            success_rate_threshold: 0.8,
            max_retries: 3,
            recovery_progress_threshold: 0.8,
            pairing: PairingStrategy::Adaptive,
            stop_when_stable: true,
            estimator: Estimator::default(),
            bt_alpha: crate::stats::bradley_terry::DEFAULT_ALPHA,
            seed: 0,
            graded_outcomes: true,
        }
    }

    /// Comparisons per wave, never below one.
    pub fn effective_wave_size(&self) -> u32 {
        self.wave_size
            .unwrap_or_else(|| self.budget.get().div_ceil(TARGET_WAVES))
            .max(1)
    }
}

/// LLM settings of the request, passed to the provider unchanged. `temperature_override`
/// keeps an explicit 0.0 (it is an `Option`, never defaulted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LlmSettings {
    #[serde(default)]
    pub model_override: Option<String>,
    #[serde(default)]
    pub temperature_override: Option<f64>,
    #[serde(default)]
    pub max_tokens_override: Option<u32>,
    #[serde(default)]
    pub provider_override: Option<String>,
    #[serde(default)]
    pub system_prompt_override: Option<String>,
    #[serde(default)]
    pub judge_rubric_override: Option<String>,
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    #[serde(default)]
    pub output_verbosity: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_can_only_lower_the_budget() {
        let configured = ComparisonBudget::new(350).unwrap();
        assert_eq!(ComparisonBudget::resolve(configured, Some(60)).get(), 60);
        assert_eq!(ComparisonBudget::resolve(configured, Some(1000)).get(), 350);
        assert_eq!(ComparisonBudget::resolve(configured, None).get(), 350);
        assert_eq!(ComparisonBudget::resolve(configured, Some(0)).get(), 350);
    }

    #[test]
    fn a_zero_budget_does_not_deserialise() {
        assert!(serde_json::from_str::<ComparisonBudget>("0").is_err());
        assert_eq!(
            serde_json::from_str::<ComparisonBudget>("5").unwrap().get(),
            5
        );
    }

    #[test]
    fn default_wave_size_spends_the_budget_in_five_waves() {
        let settings = BatchSettings::with_budget(ComparisonBudget::new(190).unwrap());
        assert_eq!(settings.effective_wave_size(), 38);
    }

    #[test]
    fn explicit_zero_temperature_survives_a_round_trip() {
        let llm = LlmSettings {
            temperature_override: Some(0.0),
            ..LlmSettings::default()
        };
        let back: LlmSettings =
            serde_json::from_str(&serde_json::to_string(&llm).unwrap()).unwrap();
        assert_eq!(back.temperature_override, Some(0.0));
    }
}
