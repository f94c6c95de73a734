//! Who gave a verdict: the judge of a comparison is the provider and model that answered
//! (from the callback) together with the hash of the prompt template the dispatcher sent
//! (recorded when the provider accepted the comparison). Statistics group verdicts by it:
//! misfit per judge, split halves by judge, the order effect of a judge. See
//! `docs/adr/0010-judge-identity-on-the-verdict.md`.

use crate::ids::EssayId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a part of a judge is recorded as when it was never known: events written before
/// judges were recorded, callbacks without a provider or model.
pub const UNKNOWN: &str = "unknown";

/// The identity of a judge: provider, model and prompt hash. Two verdicts have the same
/// judge exactly when all three are equal.
///
/// Its string form is `provider/model/prompt_hash` (e.g. `openai/gpt-5.1/ab12cd34ef567890`).
/// Model names may contain `/` (`meta-llama/Llama-3-8B`), providers and prompt hashes do not,
/// so the form is read back by splitting at the first and the last `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JudgeId {
    provider: String,
    model: String,
    prompt_hash: String,
}

impl JudgeId {
    /// A judge from its parts; an empty part (or a `/` in provider or prompt hash, which
    /// would make the string form ambiguous) is recorded as [`UNKNOWN`].
    pub fn new(provider: &str, model: &str, prompt_hash: &str) -> Self {
        let part = |value: &str, may_contain_slash: bool| {
            let value = value.trim();
            if value.is_empty() || (!may_contain_slash && value.contains('/')) {
                UNKNOWN.to_string()
            } else {
                value.to_string()
            }
        };
        JudgeId {
            provider: part(provider, false),
            model: part(model, true),
            prompt_hash: part(prompt_hash, false),
        }
    }

    /// A judge whose parts may be missing (an older event, a callback without them).
    pub fn from_parts(
        provider: Option<&str>,
        model: Option<&str>,
        prompt_hash: Option<&str>,
    ) -> Self {
        JudgeId::new(
            provider.unwrap_or(UNKNOWN),
            model.unwrap_or(UNKNOWN),
            prompt_hash.unwrap_or(UNKNOWN),
        )
    }

    /// The judge of verdicts recorded before judges were: every part [`UNKNOWN`].
    pub fn unknown() -> Self {
        JudgeId::new(UNKNOWN, UNKNOWN, UNKNOWN)
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn prompt_hash(&self) -> &str {
        &self.prompt_hash
    }

    /// The provider, unless it was never known.
    pub fn known_provider(&self) -> Option<&str> {
        known(&self.provider)
    }

    /// The model, unless it was never known.
    pub fn known_model(&self) -> Option<&str> {
        known(&self.model)
    }

    /// The prompt hash, unless it was never known.
    pub fn known_prompt_hash(&self) -> Option<&str> {
        known(&self.prompt_hash)
    }
}

fn known(part: &str) -> Option<&str> {
    (part != UNKNOWN).then_some(part)
}

impl fmt::Display for JudgeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.provider, self.model, self.prompt_hash)
    }
}

/// A judge's string form without the three parts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a judge is written provider/model/prompt_hash, not {0:?}")]
pub struct JudgeIdError(pub String);

impl FromStr for JudgeId {
    type Err = JudgeIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts = s
            .split_once('/')
            .and_then(|(provider, rest)| Some((provider, rest.rsplit_once('/')?)));
        match parts {
            Some((provider, (model, prompt_hash)))
                if !provider.is_empty() && !model.is_empty() && !prompt_hash.is_empty() =>
            {
                Ok(JudgeId::new(provider, model, prompt_hash))
            }
            _ => Err(JudgeIdError(s.to_string())),
        }
    }
}

/// One recorded comparison as statistics read it: which essay was shown first ("Essay A"),
/// which second, the outcome from the first's side (1.0 or 0.0 for a hard verdict; the
/// judge's P(A wins) when its verdict carried one and the batch reads its probabilities,
/// see [`crate::stats::graded`]), and the judge.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub first: EssayId,
    pub second: EssayId,
    pub first_won: f64,
    pub judge: JudgeId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_form_reads_back_even_when_the_model_name_has_slashes() {
        for judge in [
            JudgeId::new("openai", "gpt-5.1", "ab12cd34ef567890"),
            JudgeId::new("together", "meta-llama/Llama-3-8B", "0123456789abcdef"),
            JudgeId::unknown(),
        ] {
            let written = judge.to_string();
            assert_eq!(written.parse::<JudgeId>(), Ok(judge));
        }
        assert_eq!(
            JudgeId::new("openai", "gpt-5.1", "ab12").to_string(),
            "openai/gpt-5.1/ab12"
        );
    }

    #[test]
    fn missing_or_ambiguous_parts_are_unknown() {
        let judge = JudgeId::from_parts(Some("anthropic"), None, Some(" "));
        assert_eq!(judge.to_string(), "anthropic/unknown/unknown");
        assert_eq!(judge.known_provider(), Some("anthropic"));
        assert_eq!(judge.known_model(), None);
        assert_eq!(JudgeId::new("a/b", "m", "h").provider(), UNKNOWN);
        assert!("openai/gpt".parse::<JudgeId>().is_err());
        assert!("//".parse::<JudgeId>().is_err());
    }
}
