//! Judges that call an LLM provider directly and answer synchronously, beside the
//! platform's LLM Provider Service (202 now, the verdict later on Kafka). A deployment picks
//! its default judge (`--judge`, [`settings`]); a batch's `provider_override` may name
//! another configured one. A direct judge receives the prompt the dispatcher builds, calls
//! the provider within that provider's limits ([`limits`]), retries 429s (after their
//! `Retry-After`), 5xx answers and timeouts with jittered back-off, and reads the answer
//! strictly ([`answer`]): anything but the asked-for JSON is a failed comparison with the
//! provider's text as the reason. The dispatcher records what it answered through the same
//! command path as a callback (`src/dispatcher/record.rs`).
//!
//! - [`wire`] — the OpenAI-compatible chat-completions and Anthropic messages formats.
//! - [`answer`] — strict parsing, P(A wins) from token log-probabilities, usage.
//! - [`limits`] — concurrency, requests and tokens per window, `Retry-After` pauses.
//! - [`settings`] — flags and `CJ_` variables, the price table.
//!
//! Every call counts in `cj_judge_calls_total{provider, outcome}`.

pub mod answer;
pub mod limits;
pub mod settings;
pub mod wire;

use crate::backoff::{Backoff, Jitter};
use crate::clock::Clock;
use crate::metrics::metrics;
use answer::{p_a_wins, parse_verdict, reason_from, Usage};
use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::Position;
use cj_aggregates::batch::settings::LlmSettings;
use limits::ProviderLimits;
use reqwest::StatusCode;
use settings::{JudgeKind, JudgeSettings, PriceTable, ProviderSettings};
use std::sync::Arc;
use std::time::Duration;
use wire::{Api, ChatAnswer, ChatRequest};

/// Between calls of one comparison after a 5xx, a timeout or a 429 without `Retry-After`:
/// half a second doubling to 20 s, fully jittered so calls that failed together spread out.
const RETRY_BACKOFF: Backoff = Backoff::new(
    Duration::from_millis(500),
    Duration::from_secs(20),
    Jitter::Full,
);

/// The longest `Retry-After` obeyed; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Characters per token when a call's tokens are estimated before it is sent.
const CHARS_PER_TOKEN: usize = 4;

/// Error code of a comparison whose answer was not the asked-for JSON.
pub const OFF_FORMAT: &str = "LLM_ANSWER_OFF_FORMAT";

/// What a direct judge answered for one comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeAnswer {
    pub winner: Position,
    pub justification: Option<String>,
    pub confidence: Option<f64>,
    /// P(A wins) from log-probabilities, when the provider returned them.
    pub p_a_wins: Option<f64>,
    pub usage: Usage,
    /// The model that answered (as the provider named it, else the one asked).
    pub model: String,
    /// US dollars, when the price table knows the model.
    pub cost_estimate: Option<f64>,
}

/// Why a direct judge gave no verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JudgeError {
    /// Rate-limited, failing or unreachable on every attempt: try the comparison later.
    #[error("judge unavailable: {reason}")]
    Unavailable { reason: String },
    /// The provider refused the request (4xx other than 408 and 429).
    #[error("provider refused the request: HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    /// The provider answered, but not with the asked-for JSON.
    #[error("off-format answer from {model}: {text}")]
    OffFormat { model: String, text: String },
}

/// What one call's request needs from the comparison.
#[derive(Debug, Clone, Copy)]
pub struct JudgeCall<'a> {
    pub user_prompt: &'a str,
    pub llm: &'a LlmSettings,
}

/// How one call failed.
enum CallFailure {
    RateLimited(Option<Duration>),
    Transient(String),
    Refused { status: u16, body: String },
    OffFormat(String),
}

impl CallFailure {
    /// The `outcome` label of `cj_judge_calls_total`.
    fn outcome(&self) -> &'static str {
        match self {
            CallFailure::RateLimited(_) => "rate_limited",
            CallFailure::Transient(_) => "transient",
            CallFailure::Refused { .. } => "refused",
            CallFailure::OffFormat(_) => "off_format",
        }
    }
}

/// One provider called directly.
pub struct DirectJudge {
    api: Api,
    model: String,
    endpoint: String,
    api_key: Option<String>,
    http: reqwest::Client,
    limits: ProviderLimits,
    attempts: u32,
    max_tokens: u32,
    logprobs: bool,
    prices: PriceTable,
    clock: Arc<dyn Clock>,
}

/// The pause a `Retry-After` value asks for, at most [`MAX_RETRY_AFTER`]: delay-seconds
/// (`"20"`, the providers' form) or an HTTP-date (`"Fri, 04 Dec 2026 20:00:00 GMT"`,
/// RFC 9110 §10.2.3), read against `now`; a date in the past asks for no pause. Anything
/// else is treated as absent (the caller then backs off on its own schedule).
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let seconds = match value.parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => {
            let date = DateTime::parse_from_rfc2822(value).ok()?;
            ((date.with_timezone(&Utc) - now).num_milliseconds() as f64 / 1000.0).max(0.0)
        }
    };
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds).min(MAX_RETRY_AFTER))
}

impl DirectJudge {
    pub fn new(
        provider: &ProviderSettings,
        settings: &JudgeSettings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout())
            .build()?;
        Ok(DirectJudge {
            api: provider.api,
            model: provider.model.clone(),
            endpoint: provider.api.endpoint(&provider.base_url),
            api_key: provider.api_key.clone(),
            http,
            limits: ProviderLimits::new(provider.limits, Arc::clone(&clock)),
            attempts: settings.judge_attempts.max(1),
            max_tokens: settings.judge_max_tokens,
            logprobs: settings.openai_logprobs && provider.api == Api::OpenAiChat,
            prices: settings.judge_prices.clone(),
            clock,
        })
    }

    /// The provider name its verdicts record.
    pub fn provider_name(&self) -> &'static str {
        self.api.provider_name()
    }

    /// The model a call for `llm` asks for: the batch's override, else the configured one.
    pub fn model_for<'a>(&'a self, llm: &'a LlmSettings) -> &'a str {
        llm.model_override.as_deref().unwrap_or(&self.model)
    }

    /// Judges one comparison: calls within the limits, retrying passing failures.
    pub async fn judge(&self, call: JudgeCall<'_>) -> Result<JudgeAnswer, JudgeError> {
        let model = self.model_for(call.llm);
        let system_prompt = call.llm.system_prompt_override.as_deref();
        let max_tokens = call.llm.max_tokens_override.unwrap_or(self.max_tokens);
        let body = self.api.body(&ChatRequest {
            model,
            user_prompt: call.user_prompt,
            system_prompt,
            temperature: call.llm.temperature_override,
            max_tokens,
            logprobs: self.logprobs,
        });
        let prompt_chars = call.user_prompt.len() + system_prompt.map_or(0, str::len);
        let estimate = (prompt_chars / CHARS_PER_TOKEN) as u64 + u64::from(max_tokens);
        let mut last_reason = String::new();
        for attempt in 0..self.attempts {
            let admitted = self.limits.admit(estimate).await;
            let failure = match self.call_once(&body).await {
                Ok(answer) => {
                    self.limits.settle(admitted.ticket, answer.usage.total());
                    let read = self.read(model, answer);
                    self.count(if read.is_ok() { "ok" } else { "off_format" });
                    return read;
                }
                Err(failure) => failure,
            };
            self.count(failure.outcome());
            drop(admitted);
            let last = attempt + 1 == self.attempts;
            match failure {
                CallFailure::Refused { status, body } => {
                    return Err(JudgeError::Refused { status, body })
                }
                CallFailure::OffFormat(text) => {
                    return Err(JudgeError::OffFormat {
                        model: model.to_string(),
                        text: reason_from(&text),
                    })
                }
                CallFailure::RateLimited(after) => {
                    // Every call to this provider waits out the pause, not only this one.
                    self.limits
                        .pause_for(after.unwrap_or_else(|| RETRY_BACKOFF.delay(attempt)));
                    last_reason = "HTTP 429 Too Many Requests".into();
                    tracing::warn!(provider = self.provider_name(), retry_after = ?after, "judge rate-limited");
                }
                CallFailure::Transient(reason) => {
                    tracing::warn!(provider = self.provider_name(), %reason, attempt, "judge call failed");
                    if !last {
                        tokio::time::sleep(RETRY_BACKOFF.delay(attempt)).await;
                    }
                    last_reason = reason;
                }
            }
        }
        Err(JudgeError::Unavailable {
            reason: last_reason,
        })
    }

    /// One call's outcome in `cj_judge_calls_total`.
    fn count(&self, outcome: &str) {
        metrics()
            .judge_calls
            .with_label_values(&[self.provider_name(), outcome])
            .inc();
    }

    async fn call_once(&self, body: &serde_json::Value) -> Result<ChatAnswer, CallFailure> {
        let mut request = self.http.post(&self.endpoint).json(body);
        request = match (self.api, &self.api_key) {
            (Api::OpenAiChat, Some(key)) => request.bearer_auth(key),
            (Api::AnthropicMessages, Some(key)) => request.header("x-api-key", key),
            (_, None) => request,
        };
        if self.api == Api::AnthropicMessages {
            request = request.header("anthropic-version", wire::ANTHROPIC_VERSION);
        }
        let transient = |error: reqwest::Error| {
            CallFailure::Transient(if error.is_timeout() {
                "the call timed out".to_string()
            } else {
                format!("transport: {error}")
            })
        };
        let response = request.send().await.map_err(transient)?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| retry_after(value, self.clock.now()));
            return Err(CallFailure::RateLimited(after));
        }
        if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
            return Err(CallFailure::Transient(format!("HTTP {status}")));
        }
        let text = response.text().await.map_err(transient)?;
        if !status.is_success() {
            return Err(CallFailure::Refused {
                status: status.as_u16(),
                body: text.chars().take(500).collect(),
            });
        }
        self.api.answer(&text).ok_or(CallFailure::OffFormat(text))
    }

    fn read(&self, asked: &str, answer: ChatAnswer) -> Result<JudgeAnswer, JudgeError> {
        let model = answer.model.clone().unwrap_or_else(|| asked.to_string());
        let Some(verdict) = parse_verdict(&answer.text) else {
            return Err(JudgeError::OffFormat {
                model,
                text: reason_from(&answer.text),
            });
        };
        let usage = answer.usage;
        let cost_estimate = self
            .prices
            .cost(asked, usage.prompt_tokens, usage.completion_tokens)
            .or_else(|| {
                self.prices
                    .cost(&model, usage.prompt_tokens, usage.completion_tokens)
            });
        Ok(JudgeAnswer {
            winner: verdict.winner,
            justification: verdict.justification,
            confidence: verdict.confidence,
            p_a_wins: p_a_wins(&answer.tokens),
            usage,
            model,
            cost_estimate,
        })
    }
}

/// The direct judges of a deployment and which one answers a batch.
#[derive(Clone, Default)]
pub struct Judges {
    default: JudgeKind,
    openai: Option<Arc<DirectJudge>>,
    anthropic: Option<Arc<DirectJudge>>,
}

impl Judges {
    /// The judges `settings` configure; an error when the default judge is a direct one
    /// without its model.
    pub fn from_settings(settings: &JudgeSettings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let build = |kind| -> anyhow::Result<Option<Arc<DirectJudge>>> {
            settings
                .provider(kind)
                .map(|provider| {
                    Ok(Arc::new(DirectJudge::new(
                        &provider,
                        settings,
                        Arc::clone(&clock),
                    )?))
                })
                .transpose()
        };
        let judges = Judges {
            default: settings.default,
            openai: build(JudgeKind::Openai)?,
            anthropic: build(JudgeKind::Anthropic)?,
        };
        if settings.default != JudgeKind::LlmProviderService
            && judges.direct(settings.default).is_none()
        {
            anyhow::bail!(
                "--judge {:?} needs its model (CJ_OPENAI_MODEL or CJ_ANTHROPIC_MODEL)",
                settings.default
            );
        }
        Ok(judges)
    }

    fn direct(&self, kind: JudgeKind) -> Option<&Arc<DirectJudge>> {
        match kind {
            JudgeKind::LlmProviderService => None,
            JudgeKind::Openai => self.openai.as_ref(),
            JudgeKind::Anthropic => self.anthropic.as_ref(),
        }
    }

    /// The direct judge of a batch with `llm`: the one its `provider_override` names when
    /// that one is configured here, else the default; `None`: the LLM Provider Service.
    pub fn for_batch(&self, llm: &LlmSettings) -> Option<&Arc<DirectJudge>> {
        let named = llm.provider_override.as_deref().and_then(JudgeKind::named);
        match named {
            Some(JudgeKind::LlmProviderService) => None,
            Some(kind) if self.direct(kind).is_some() => self.direct(kind),
            _ => self.direct(self.default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = at("2026-12-04T20:00:00Z");
        assert_eq!(retry_after("20", now), Some(Duration::from_secs(20)));
        assert_eq!(
            retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1_500))
        );
        assert_eq!(
            retry_after("Fri, 04 Dec 2026 20:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Fri, 04 Dec 2026 19:59:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past asks for no pause"
        );
        assert_eq!(retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }
}
