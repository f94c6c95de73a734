//! A fake LLM provider that answers like the real ones, for the direct judges' tests and
//! the lab: OpenAI-compatible chat completions (`POST /v1/chat/completions`, with token
//! log-probabilities) and Anthropic messages (`POST /v1/messages`). By default it judges
//! like the simulated provider ([`TextJudge`], without noise: the likelier essay wins and
//! the log-probabilities carry P(A wins)); scripted replies come first, in arrival order —
//! 429 with `Retry-After`, 500, a stall past the client's timeout, a malformed body, an
//! off-format answer. Every request's arrival is noted, so tests count calls per window at
//! the server.

use super::judge::TextJudge;
use crate::llm::prompt::essays_in;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the fake answers one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Judge the two essays of the prompt.
    Judge,
    /// 429 with `Retry-After: seconds`.
    RateLimited { retry_after_secs: u64 },
    /// 500.
    ServerError,
    /// Wait this long, then judge (a client with a shorter timeout gives up).
    Stall(Duration),
    /// 200 with a body that is not the API's JSON.
    Malformed,
    /// 200 with a well-formed response whose text is this, not the asked-for JSON.
    OffFormat(String),
}

/// The wire format of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    OpenAi,
    Anthropic,
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub at: Instant,
    pub format: WireFormat,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    arrivals: Vec<Arrival>,
}

/// The fake provider; clones share the script and the arrivals.
#[derive(Clone, Default)]
pub struct FakeProvider {
    script: Arc<Mutex<Script>>,
}

impl FakeProvider {
    pub fn new() -> Self {
        FakeProvider::default()
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers the next requests with `replies`, in arrival order.
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) -> &Self {
        self.script().next.extend(replies);
        self
    }

    /// Every request so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.script().arrivals.clone()
    }

    /// Serves both formats, under `/v1` and at the root.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/messages", post(anthropic))
            .with_state(self.clone())
    }

    fn arrive(&self, format: WireFormat, body: &Value) -> Reply {
        let mut script = self.script();
        script.arrivals.push(Arrival {
            at: Instant::now(),
            format,
            body: body.clone(),
        });
        // After the scripted replies, every request is judged.
        script.next.pop_front().unwrap_or(Reply::Judge)
    }
}

async fn openai(State(fake): State<FakeProvider>, Json(body): Json<Value>) -> Response {
    let prompt = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default()
        .to_string();
    answer(&fake, WireFormat::OpenAi, &body, &prompt).await
}

async fn anthropic(State(fake): State<FakeProvider>, Json(body): Json<Value>) -> Response {
    let prompt = body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    answer(&fake, WireFormat::Anthropic, &body, &prompt).await
}

async fn answer(fake: &FakeProvider, format: WireFormat, body: &Value, prompt: &str) -> Response {
    let text = match fake.arrive(format, body) {
        Reply::RateLimited { retry_after_secs } => {
            let error = json!({"error": {"type": "rate_limit_error", "message": "slow down"}});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                Json(error),
            )
                .into_response();
        }
        Reply::ServerError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream failure").into_response()
        }
        Reply::Malformed => return (StatusCode::OK, "{\"choices\": [{\"mess").into_response(),
        Reply::OffFormat(text) => Verdict::OffFormat(text),
        Reply::Stall(wait) => {
            tokio::time::sleep(wait).await;
            Verdict::judge(prompt)
        }
        Reply::Judge => Verdict::judge(prompt),
    };
    let model = body["model"].as_str().unwrap_or("fake-model");
    let prompt_tokens = (prompt.len() / 4) as u64;
    let content = text.text();
    let completion_tokens = (content.len() / 4) as u64;
    let response = match format {
        WireFormat::OpenAi => json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": {"content": text.logprobs()},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }),
        WireFormat::Anthropic => json!({
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": content}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens},
        }),
    };
    Json(response).into_response()
}

/// What the fake says.
enum Verdict {
    /// The winner's letter and P(A wins).
    Judged {
        p_a_wins: f64,
    },
    OffFormat(String),
}

/// The prefix of a judged answer before the winner's letter.
const BEFORE_LETTER: &str = "{\"winner\": \"Essay";

impl Verdict {
    fn judge(prompt: &str) -> Verdict {
        match essays_in(prompt) {
            Some((essay_a, essay_b)) => Verdict::Judged {
                p_a_wins: TextJudge::default().p_a_wins(essay_a, essay_b),
            },
            None => Verdict::OffFormat("I could not find two essays to compare.".into()),
        }
    }

    fn letter(p_a_wins: f64) -> &'static str {
        if p_a_wins >= 0.5 {
            " A"
        } else {
            " B"
        }
    }

    fn rest(p_a_wins: f64) -> String {
        let confidence = (1.0 + 4.0 * (2.0 * p_a_wins - 1.0).abs()).round();
        format!("\", \"justification\": \"Better developed.\", \"confidence\": {confidence}}}")
    }

    fn text(&self) -> String {
        match self {
            Verdict::Judged { p_a_wins } => format!(
                "{BEFORE_LETTER}{}{}",
                Verdict::letter(*p_a_wins),
                Verdict::rest(*p_a_wins)
            ),
            Verdict::OffFormat(text) => text.clone(),
        }
    }

    /// The generated tokens: the letter with both alternatives' log-probabilities.
    fn logprobs(&self) -> Value {
        match self {
            Verdict::Judged { p_a_wins } => {
                let p = p_a_wins.clamp(1e-6, 1.0 - 1e-6);
                let letter = Verdict::letter(*p_a_wins);
                let chosen = if letter == " A" { p } else { 1.0 - p };
                json!([
                    {"token": BEFORE_LETTER, "logprob": 0.0, "top_logprobs": []},
                    {"token": letter, "logprob": chosen.ln(), "top_logprobs": [
                        {"token": " A", "logprob": p.ln()},
                        {"token": " B", "logprob": (1.0 - p).ln()},
                    ]},
                    {"token": Verdict::rest(*p_a_wins), "logprob": 0.0, "top_logprobs": []},
                ])
            }
            Verdict::OffFormat(text) => {
                json!([{"token": text, "logprob": -0.5, "top_logprobs": []}])
            }
        }
    }
}
