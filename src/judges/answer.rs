//! Reading a judge's answer strictly. The prompt ([`crate::llm::prompt::render`]) asks for
//! JSON only: `{"winner": "Essay A" | "Essay B", "justification": …, "confidence": 1–5}`.
//! An answer that is not exactly such an object (prose, a code fence, another winner, a
//! confidence off the scale) is off-format: the comparison fails with the provider's text
//! as the reason, it is never guessed at. When the provider returned token
//! log-probabilities, P(A wins) is read from the alternatives of the token that names the
//! winner, normalised over the A and B tokens (Liusie et al. 2024).

use cj_aggregates::batch::commands::Position;
use serde::Deserialize;

/// The confidence scale the prompt asks for.
const CONFIDENCE_RANGE: std::ops::RangeInclusive<f64> = 1.0..=5.0;

/// Characters of an off-format answer kept as the failure's reason.
pub const REASON_CHARS: usize = 2000;

/// Tokens spent on one answer, as the provider counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// The verdict read out of an answer's text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedVerdict {
    pub winner: Position,
    pub justification: Option<String>,
    pub confidence: Option<f64>,
}

/// One candidate token and its natural-log probability.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
}

/// One generated token with its log-probability and the most likely alternatives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GeneratedToken {
    pub token: String,
    pub logprob: f64,
    #[serde(default)]
    pub top_logprobs: Vec<TokenLogprob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerJson {
    winner: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    confidence: Option<f64>,
}

/// The verdict in `text`, or `None` when the text is off-format.
pub fn parse_verdict(text: &str) -> Option<ParsedVerdict> {
    let answer: AnswerJson = serde_json::from_str(text.trim()).ok()?;
    let winner = match answer.winner.trim() {
        "Essay A" | "A" => Position::A,
        "Essay B" | "B" => Position::B,
        _ => return None,
    };
    if answer
        .confidence
        .is_some_and(|c| !CONFIDENCE_RANGE.contains(&c))
    {
        return None;
    }
    Some(ParsedVerdict {
        winner,
        justification: answer.justification.filter(|j| !j.trim().is_empty()),
        confidence: answer.confidence,
    })
}

/// `text` cut to [`REASON_CHARS`] characters: what a failed comparison records.
pub fn reason_from(text: &str) -> String {
    let kept: String = text.chars().take(REASON_CHARS).collect();
    if kept.trim().is_empty() {
        "the provider answered with no text".into()
    } else {
        kept
    }
}

/// Which position a token names, ignoring surrounding whitespace and quotes.
fn position_of(token: &str) -> Option<Position> {
    match token.trim().trim_matches('"') {
        "A" => Some(Position::A),
        "B" => Some(Position::B),
        _ => None,
    }
}

/// P(A wins) from the log-probabilities of the generated tokens: at the token that names
/// the winner (the first `A`/`B` token after `"winner"` and `Essay`), the probability mass
/// of the A alternatives over that of the A and B alternatives. `None` when the tokens do
/// not show the decision or carry no alternatives.
pub fn p_a_wins(tokens: &[GeneratedToken]) -> Option<f64> {
    let mut before = String::new();
    for token in tokens {
        let names_winner = before.contains("winner") && before.trim_end().ends_with("Essay");
        if names_winner && position_of(&token.token).is_some() {
            let (mut a, mut b) = (0.0, 0.0);
            for alternative in &token.top_logprobs {
                match position_of(&alternative.token) {
                    Some(Position::A) => a += alternative.logprob.exp(),
                    Some(Position::B) => b += alternative.logprob.exp(),
                    None => {}
                }
            }
            return (a + b > 0.0 && (a + b).is_finite()).then(|| a / (a + b));
        }
        before.push_str(&token.token);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_asked_for_json_is_a_verdict() {
        let verdict = parse_verdict(
            r#" {"winner": "Essay B", "justification": "Clearer.", "confidence": 4} "#,
        )
        .expect("a verdict");
        assert_eq!(verdict.winner, Position::B);
        assert_eq!(verdict.confidence, Some(4.0));
        assert_eq!(verdict.justification.as_deref(), Some("Clearer."));
        assert_eq!(
            parse_verdict(r#"{"winner": "A"}"#).unwrap().winner,
            Position::A
        );
        for off_format in [
            "Essay A is better.",
            "```json\n{\"winner\": \"Essay A\"}\n```",
            r#"{"winner": "Essay C"}"#,
            r#"{"winner": "Essay A", "confidence": 9}"#,
            r#"{"winner": "Essay A", "mood": "happy"}"#,
            r#"{"justification": "no winner"}"#,
            "",
        ] {
            assert_eq!(parse_verdict(off_format), None, "{off_format:?}");
        }
    }

    fn token(text: &str, alternatives: &[(&str, f64)]) -> GeneratedToken {
        GeneratedToken {
            token: text.into(),
            logprob: alternatives.first().map_or(0.0, |a| a.1.ln()),
            top_logprobs: alternatives
                .iter()
                .map(|(token, p)| TokenLogprob {
                    token: token.to_string(),
                    logprob: p.ln(),
                })
                .collect(),
        }
    }

    #[test]
    fn p_a_wins_is_normalised_over_the_a_and_b_alternatives_of_the_winner_token() {
        let tokens = [
            token("{\"", &[]),
            token("winner", &[]),
            token("\": \"", &[]),
            token("Essay", &[]),
            token(" B", &[(" B", 0.6), (" A", 0.3), (" C", 0.1)]),
            token("\"}", &[]),
        ];
        let p = p_a_wins(&tokens).expect("a probability");
        assert!((p - 1.0 / 3.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn no_probability_without_the_decision_or_its_alternatives() {
        assert_eq!(p_a_wins(&[]), None);
        let no_alternatives = [token("{\"winner\": \"Essay", &[]), token("A", &[])];
        assert_eq!(p_a_wins(&no_alternatives), None);
        // An "A" before the winner is named is not the decision.
        let early = [token("A", &[("A", 0.9), ("B", 0.1)])];
        assert_eq!(p_a_wins(&early), None);
    }

    #[test]
    fn a_reason_is_the_providers_text_cut_to_size() {
        assert_eq!(reason_from("I cannot decide."), "I cannot decide.");
        assert_eq!(reason_from(&"x".repeat(5000)).len(), REASON_CHARS);
        assert!(reason_from("  ").contains("no text"));
    }
}
