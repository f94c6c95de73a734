//! The two wire formats a direct judge speaks: OpenAI-compatible chat completions
//! (`POST {base}/chat/completions`, bearer key; also vLLM, llama.cpp server and Ollama at
//! their OpenAI-compatible URL) and Anthropic messages (`POST {base}/messages`,
//! `x-api-key`, `anthropic-version`). Each turns one prompt into a request body and a
//! response body into the answer's text, the model that answered, token usage and — from
//! OpenAI-compatible servers that return them — the generated tokens' log-probabilities.

use super::answer::{GeneratedToken, Usage};
use serde::Deserialize;
use serde_json::{json, Value};

/// The `anthropic-version` header the messages API requires.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Alternatives asked for per generated token when log-probabilities are on.
pub const TOP_LOGPROBS: u32 = 5;

/// Which API a judge calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    OpenAiChat,
    AnthropicMessages,
}

/// What one call asks.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub user_prompt: &'a str,
    pub system_prompt: Option<&'a str>,
    pub temperature: Option<f64>,
    pub max_tokens: u32,
    pub logprobs: bool,
}

/// What one call answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatAnswer {
    pub text: String,
    pub model: Option<String>,
    pub usage: Usage,
    pub tokens: Vec<GeneratedToken>,
}

impl Api {
    /// The endpoint under `base_url`.
    pub fn endpoint(self, base_url: &str) -> String {
        let base = base_url.trim_end_matches('/');
        match self {
            Api::OpenAiChat => format!("{base}/chat/completions"),
            Api::AnthropicMessages => format!("{base}/messages"),
        }
    }

    /// The provider name a verdict records.
    pub fn provider_name(self) -> &'static str {
        match self {
            Api::OpenAiChat => "openai",
            Api::AnthropicMessages => "anthropic",
        }
    }

    pub fn body(self, request: &ChatRequest<'_>) -> Value {
        let user = json!({"role": "user", "content": request.user_prompt});
        let mut body = match self {
            Api::OpenAiChat => {
                let mut messages = Vec::new();
                if let Some(system) = request.system_prompt {
                    messages.push(json!({"role": "system", "content": system}));
                }
                messages.push(user);
                let mut body = json!({
                    "model": request.model,
                    "messages": messages,
                    "max_tokens": request.max_tokens,
                });
                if request.logprobs {
                    body["logprobs"] = json!(true);
                    body["top_logprobs"] = json!(TOP_LOGPROBS);
                }
                body
            }
            Api::AnthropicMessages => {
                let mut body = json!({
                    "model": request.model,
                    "messages": [user],
                    "max_tokens": request.max_tokens,
                });
                if let Some(system) = request.system_prompt {
                    body["system"] = json!(system);
                }
                body
            }
        };
        if let Some(temperature) = request.temperature {
            body["temperature"] = json!(temperature);
        }
        body
    }

    /// The answer in a 2xx body; `None` when the body is not this API's response.
    pub fn answer(self, body: &str) -> Option<ChatAnswer> {
        match self {
            Api::OpenAiChat => {
                let response: OpenAiResponse = serde_json::from_str(body).ok()?;
                let choice = response.choices.into_iter().next()?;
                Some(ChatAnswer {
                    text: choice.message.content.unwrap_or_default(),
                    model: response.model,
                    usage: response.usage.map_or_else(Usage::default, |u| Usage {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                    }),
                    tokens: choice.logprobs.map(|l| l.content).unwrap_or_default(),
                })
            }
            Api::AnthropicMessages => {
                let response: AnthropicResponse = serde_json::from_str(body).ok()?;
                let text: String = response
                    .content
                    .iter()
                    .filter(|block| block.kind == "text")
                    .filter_map(|block| block.text.as_deref())
                    .collect();
                Some(ChatAnswer {
                    text,
                    model: response.model,
                    usage: response.usage.map_or_else(Usage::default, |u| Usage {
                        prompt_tokens: u.input_tokens,
                        completion_tokens: u.output_tokens,
                    }),
                    tokens: Vec::new(),
                })
            }
        }
    }
}

#[derive(Deserialize)]
struct OpenAiResponse {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<OpenAiChoice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
    #[serde(default)]
    logprobs: Option<OpenAiLogprobs>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiLogprobs {
    #[serde(default)]
    content: Vec<GeneratedToken>,
}

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[derive(Deserialize)]
struct AnthropicResponse {
    #[serde(default)]
    model: Option<String>,
    content: Vec<AnthropicBlock>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ChatRequest<'static> {
        ChatRequest {
            model: "m",
            user_prompt: "Which?",
            system_prompt: Some("Be fair."),
            temperature: Some(0.0),
            max_tokens: 100,
            logprobs: true,
        }
    }

    #[test]
    fn each_api_puts_the_system_prompt_where_it_belongs() {
        let openai = Api::OpenAiChat.body(&request());
        assert_eq!(openai["messages"][0]["role"], "system");
        assert_eq!(openai["messages"][1]["content"], "Which?");
        assert_eq!(openai["top_logprobs"], TOP_LOGPROBS);
        assert_eq!(openai["temperature"], 0.0);
        let anthropic = Api::AnthropicMessages.body(&request());
        assert_eq!(anthropic["system"], "Be fair.");
        assert_eq!(anthropic["messages"][0]["role"], "user");
        assert!(anthropic.get("logprobs").is_none());
    }

    #[test]
    fn answers_are_read_with_their_usage_and_tokens() {
        let openai = Api::OpenAiChat
            .answer(
                r#"{"model":"gpt-x","choices":[{"message":{"role":"assistant","content":"hi"},
                "logprobs":{"content":[{"token":"hi","logprob":-0.1,"top_logprobs":[]}]}}],
                "usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}"#,
            )
            .expect("an answer");
        assert_eq!(openai.text, "hi");
        assert_eq!(openai.usage.total(), 12);
        assert_eq!(openai.tokens.len(), 1);
        let anthropic = Api::AnthropicMessages
            .answer(
                r#"{"type":"message","model":"claude-x","content":[{"type":"text","text":"yo"}],
                "usage":{"input_tokens":7,"output_tokens":3}}"#,
            )
            .expect("an answer");
        assert_eq!(anthropic.text, "yo");
        assert_eq!(anthropic.model.as_deref(), Some("claude-x"));
        assert_eq!(anthropic.usage.prompt_tokens, 7);
        assert_eq!(Api::OpenAiChat.answer("not json"), None);
        assert_eq!(Api::AnthropicMessages.answer(r#"{"choices":[]}"#), None);
    }
}
