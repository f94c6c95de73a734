//! How a deployment chooses and configures its judges: `--judge` (`CJ_JUDGE`) names the
//! default — the platform's LLM Provider Service, or a direct OpenAI-compatible or
//! Anthropic judge — and each direct judge has its URL, model, key (from the environment,
//! never logged) and limits. A batch's `provider_override` picks another configured judge.
//! Prices are US dollars per million tokens, prompt and completion, per model.

use super::limits::LimitSettings;
use super::wire::Api;
use std::collections::BTreeMap;
use std::time::Duration;

/// Which judge answers a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum JudgeKind {
    /// The platform's LLM Provider Service: 202 now, the verdict on the callback topic.
    #[default]
    LlmProviderService,
    /// An OpenAI-compatible chat-completions server, called directly.
    Openai,
    /// The Anthropic messages API, called directly.
    Anthropic,
}

impl JudgeKind {
    /// The value `--judge` / `CJ_JUDGE` takes for this judge.
    pub fn as_arg(self) -> &'static str {
        match self {
            JudgeKind::LlmProviderService => "llm-provider-service",
            JudgeKind::Openai => "openai",
            JudgeKind::Anthropic => "anthropic",
        }
    }

    /// The judge a batch's `provider_override` names, if it names one.
    pub fn named(name: &str) -> Option<JudgeKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(JudgeKind::Openai),
            "anthropic" => Some(JudgeKind::Anthropic),
            "llm-provider-service" | "llm_provider_service" => Some(JudgeKind::LlmProviderService),
            _ => None,
        }
    }
}

/// Prices of models: US dollars per million prompt and completion tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable(BTreeMap<String, (f64, f64)>);

#[derive(Debug, thiserror::Error)]
#[error("price entry {entry:?} is not MODEL=PROMPT_USD:COMPLETION_USD (per million tokens)")]
pub struct PriceTableError {
    entry: String,
}

impl PriceTable {
    /// Reads `model=prompt:completion,…`, e.g. `gpt-4o-mini=0.15:0.60`.
    pub fn parse(text: &str) -> Result<PriceTable, PriceTableError> {
        let mut prices = BTreeMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let refuse = || PriceTableError {
                entry: entry.to_string(),
            };
            let (model, price) = entry.rsplit_once('=').ok_or_else(refuse)?;
            let (prompt, completion) = price.split_once(':').ok_or_else(refuse)?;
            let read = |p: &str| p.trim().parse::<f64>().ok().filter(|p| *p >= 0.0);
            let prompt = read(prompt).ok_or_else(refuse)?;
            let completion = read(completion).ok_or_else(refuse)?;
            prices.insert(model.trim().to_string(), (prompt, completion));
        }
        Ok(PriceTable(prices))
    }

    /// The table as `CJ_JUDGE_PRICES` writes it (what [`PriceTable::parse`] reads back).
    pub fn to_environment_value(&self) -> String {
        self.0
            .iter()
            .map(|(model, (prompt, completion))| format!("{model}={prompt}:{completion}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// What `prompt` and `completion` tokens of `model` cost, when its price is known.
    pub fn cost(&self, model: &str, prompt: u64, completion: u64) -> Option<f64> {
        let (per_prompt, per_completion) = self.0.get(model)?;
        Some((prompt as f64 * per_prompt + completion as f64 * per_completion) / 1e6)
    }
}

/// One direct provider's settings.
#[derive(Clone)]
pub struct ProviderSettings {
    pub api: Api,
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub limits: LimitSettings,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("api", &self.api)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("limits", &self.limits)
            .finish()
    }
}

#[derive(Clone, clap::Args)]
pub struct JudgeSettings {
    /// The default judge of this deployment.
    #[arg(long = "judge", env = "CJ_JUDGE", value_name = "JUDGE", value_enum, default_value_t = JudgeKind::LlmProviderService)]
    pub default: JudgeKind,

    #[arg(
        long,
        env = "CJ_OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,
    /// The OpenAI-compatible judge is configured when its model is.
    #[arg(long, env = "CJ_OPENAI_MODEL")]
    pub openai_model: Option<String>,
    #[arg(long, env = "CJ_OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Ask for token log-probabilities (P(A wins)); off for servers that refuse them.
    #[arg(long, env = "CJ_OPENAI_LOGPROBS", default_value_t = true, action = clap::ArgAction::Set)]
    pub openai_logprobs: bool,
    #[arg(long, env = "CJ_OPENAI_CONCURRENCY", default_value_t = 8)]
    pub openai_concurrency: usize,
    #[arg(long, env = "CJ_OPENAI_RPM")]
    pub openai_rpm: Option<u32>,
    #[arg(long, env = "CJ_OPENAI_TPM")]
    pub openai_tpm: Option<u64>,

    #[arg(
        long,
        env = "CJ_ANTHROPIC_BASE_URL",
        default_value = "https://api.anthropic.com/v1"
    )]
    pub anthropic_base_url: String,
    /// The Anthropic judge is configured when its model is.
    #[arg(long, env = "CJ_ANTHROPIC_MODEL")]
    pub anthropic_model: Option<String>,
    #[arg(long, env = "CJ_ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,
    #[arg(long, env = "CJ_ANTHROPIC_CONCURRENCY", default_value_t = 8)]
    pub anthropic_concurrency: usize,
    #[arg(long, env = "CJ_ANTHROPIC_RPM")]
    pub anthropic_rpm: Option<u32>,
    #[arg(long, env = "CJ_ANTHROPIC_TPM")]
    pub anthropic_tpm: Option<u64>,

    /// How long one call to a direct judge may take.
    #[arg(long, env = "CJ_JUDGE_TIMEOUT_SECS", default_value_t = 120)]
    pub judge_timeout_secs: u64,
    /// Calls per comparison before it goes back to the queue's back-off.
    #[arg(long, env = "CJ_JUDGE_ATTEMPTS", default_value_t = 4)]
    pub judge_attempts: u32,
    /// Completion tokens a direct judge may spend per answer (a batch's override wins).
    #[arg(long, env = "CJ_JUDGE_MAX_TOKENS", default_value_t = 400)]
    pub judge_max_tokens: u32,
    /// `model=prompt_usd:completion_usd,…` per million tokens.
    #[arg(long, env = "CJ_JUDGE_PRICES", value_parser = PriceTable::parse, default_value = "")]
    pub judge_prices: PriceTable,
    /// The rate-limit window: a minute (tests shorten it).
    #[arg(skip = Duration::from_secs(60))]
    pub rate_window: Duration,
}

impl JudgeSettings {
    /// These settings as the environment `serve` reads them from (unset options left out),
    /// for a process started with them.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let optional = [
            ("CJ_OPENAI_MODEL", self.openai_model.clone()),
            ("CJ_OPENAI_API_KEY", self.openai_api_key.clone()),
            ("CJ_OPENAI_RPM", self.openai_rpm.map(|n| n.to_string())),
            ("CJ_OPENAI_TPM", self.openai_tpm.map(|n| n.to_string())),
            ("CJ_ANTHROPIC_MODEL", self.anthropic_model.clone()),
            ("CJ_ANTHROPIC_API_KEY", self.anthropic_api_key.clone()),
            (
                "CJ_ANTHROPIC_RPM",
                self.anthropic_rpm.map(|n| n.to_string()),
            ),
            (
                "CJ_ANTHROPIC_TPM",
                self.anthropic_tpm.map(|n| n.to_string()),
            ),
        ];
        vec![
            ("CJ_JUDGE", self.default.as_arg().to_string()),
            ("CJ_OPENAI_BASE_URL", self.openai_base_url.clone()),
            ("CJ_OPENAI_LOGPROBS", self.openai_logprobs.to_string()),
            ("CJ_OPENAI_CONCURRENCY", self.openai_concurrency.to_string()),
            ("CJ_ANTHROPIC_BASE_URL", self.anthropic_base_url.clone()),
            (
                "CJ_ANTHROPIC_CONCURRENCY",
                self.anthropic_concurrency.to_string(),
            ),
            ("CJ_JUDGE_TIMEOUT_SECS", self.judge_timeout_secs.to_string()),
            ("CJ_JUDGE_ATTEMPTS", self.judge_attempts.to_string()),
            ("CJ_JUDGE_MAX_TOKENS", self.judge_max_tokens.to_string()),
            ("CJ_JUDGE_PRICES", self.judge_prices.to_environment_value()),
        ]
        .into_iter()
        .chain(
            optional
                .into_iter()
                .filter_map(|(name, value)| Some((name, value?))),
        )
        .collect()
    }
}

/// The defaults the flags declare, for settings built in code (tests, benches); a test pins
/// them to clap's, field by field through [`JudgeSettings::environment`].
impl Default for JudgeSettings {
    fn default() -> Self {
        JudgeSettings {
            default: JudgeKind::LlmProviderService,
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_model: None,
            openai_api_key: None,
            openai_logprobs: true,
            openai_concurrency: 8,
            openai_rpm: None,
            openai_tpm: None,
            anthropic_base_url: "https://api.anthropic.com/v1".into(),
            anthropic_model: None,
            anthropic_api_key: None,
            anthropic_concurrency: 8,
            anthropic_rpm: None,
            anthropic_tpm: None,
            judge_timeout_secs: 120,
            judge_attempts: 4,
            judge_max_tokens: 400,
            judge_prices: PriceTable::default(),
            rate_window: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for JudgeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JudgeSettings")
            .field("default", &self.default)
            .field("openai", &self.provider(JudgeKind::Openai))
            .field("anthropic", &self.provider(JudgeKind::Anthropic))
            .field("judge_timeout_secs", &self.judge_timeout_secs)
            .field("judge_attempts", &self.judge_attempts)
            .field("judge_max_tokens", &self.judge_max_tokens)
            .field("judge_prices", &self.judge_prices)
            .finish()
    }
}

impl JudgeSettings {
    /// The settings of the direct judge `kind`, when its model is configured.
    pub fn provider(&self, kind: JudgeKind) -> Option<ProviderSettings> {
        let window = self.rate_window;
        let (api, base_url, model, api_key, concurrency, requests, tokens) = match kind {
            JudgeKind::LlmProviderService => return None,
            JudgeKind::Openai => (
                Api::OpenAiChat,
                &self.openai_base_url,
                self.openai_model.as_ref()?,
                &self.openai_api_key,
                self.openai_concurrency,
                self.openai_rpm,
                self.openai_tpm,
            ),
            JudgeKind::Anthropic => (
                Api::AnthropicMessages,
                &self.anthropic_base_url,
                self.anthropic_model.as_ref()?,
                &self.anthropic_api_key,
                self.anthropic_concurrency,
                self.anthropic_rpm,
                self.anthropic_tpm,
            ),
        };
        Some(ProviderSettings {
            api,
            base_url: base_url.clone(),
            model: model.clone(),
            api_key: api_key.clone(),
            limits: LimitSettings {
                concurrency,
                requests,
                tokens,
                window,
            },
        })
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.judge_timeout_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_per_million_tokens_and_bad_entries_are_refused() {
        let prices = PriceTable::parse("gpt-4o-mini=0.15:0.60, claude-x=3:15").unwrap();
        let cost = prices.cost("gpt-4o-mini", 1_000_000, 500_000).unwrap();
        assert!((cost - 0.45).abs() < 1e-12);
        assert_eq!(prices.cost("unknown", 10, 10), None);
        assert_eq!(PriceTable::parse("").unwrap(), PriceTable::default());
        assert!(PriceTable::parse("gpt=0.1").is_err());
        assert!(PriceTable::parse("gpt=a:b").is_err());
        assert!(PriceTable::parse("gpt=-1:2").is_err());
    }

    #[test]
    fn the_default_settings_are_the_flags_defaults() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            judge: JudgeSettings,
        }
        let parsed = <Flags as clap::Parser>::try_parse_from(["serve"]).expect("parses");
        assert_eq!(
            parsed.judge.environment(),
            JudgeSettings::default().environment()
        );
        assert_eq!(
            parsed.judge.rate_window,
            JudgeSettings::default().rate_window
        );
    }

    #[test]
    fn a_direct_judge_is_configured_by_its_model_and_named_by_an_override() {
        let mut settings = JudgeSettings::default();
        assert!(settings.provider(JudgeKind::Openai).is_none());
        settings.openai_model = Some("llama3".into());
        let openai = settings.provider(JudgeKind::Openai).expect("configured");
        assert_eq!(openai.api, Api::OpenAiChat);
        assert_eq!(JudgeKind::named(" Anthropic "), Some(JudgeKind::Anthropic));
        assert_eq!(JudgeKind::named("gemini"), None);
    }
}
