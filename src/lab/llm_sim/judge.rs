//! The simulated provider's judge: it reads two essay texts and prefers the one with richer
//! surface features — length and vocabulary — plus noise and a preference for position A,
//! the way LLM judges behave.

use cj_aggregates::stats::bradley_terry::logistic;
use rand::Rng;

/// How the simulated provider judges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextJudge {
    /// Logits per unit of feature difference: larger = a more decisive judge.
    pub discrimination: f64,
    /// Logit bonus of the essay shown as "Essay A".
    pub position_bias: f64,
    /// Share of comparisons answered with an error callback.
    pub error_rate: f64,
}

impl Default for TextJudge {
    fn default() -> Self {
        TextJudge {
            discrimination: 4.0,
            position_bias: 0.3,
            error_rate: 0.02,
        }
    }
}

/// What the judge answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TextVerdict {
    EssayA { confidence: f64 },
    EssayB { confidence: f64 },
    Error,
}

/// The quality proxy of a text: log word count plus lexical variety (distinct words over
/// words). Robust to any input: an empty text scores 0.
pub fn text_quality(text: &str) -> f64 {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return 0.0;
    }
    let mut distinct = words.clone();
    distinct.sort();
    distinct.dedup();
    (words.len() as f64).ln() + distinct.len() as f64 / words.len() as f64
}

impl TextJudge {
    /// The probability this judge prefers `essay_a`, shown first.
    pub fn p_a_wins(&self, essay_a: &str, essay_b: &str) -> f64 {
        let logit = self.discrimination * (text_quality(essay_a) - text_quality(essay_b))
            + self.position_bias;
        logistic(logit)
    }

    pub fn judge(&self, essay_a: &str, essay_b: &str, rng: &mut impl Rng) -> TextVerdict {
        if rng.gen::<f64>() < self.error_rate {
            return TextVerdict::Error;
        }
        let p_a = self.p_a_wins(essay_a, essay_b);
        // Confidence 1..5 grows with how lopsided the judge found the pair.
        let confidence = 1.0 + 4.0 * (2.0 * p_a - 1.0).abs();
        if rng.gen::<f64>() < p_a {
            TextVerdict::EssayA { confidence }
        } else {
            TextVerdict::EssayB { confidence }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_longer_richer_essay_usually_wins_from_either_position() {
        let rich = "Consequently the argument illustrates a nuanced perspective, moreover the \
                    evidence supports each claim and the conclusion follows from context.";
        let thin = "It is good. It is good.";
        let judge = TextJudge {
            error_rate: 0.0,
            ..TextJudge::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let rich_first = (0..200)
            .filter(|_| {
                matches!(
                    judge.judge(rich, thin, &mut rng),
                    TextVerdict::EssayA { .. }
                )
            })
            .count();
        let rich_second = (0..200)
            .filter(|_| {
                matches!(
                    judge.judge(thin, rich, &mut rng),
                    TextVerdict::EssayB { .. }
                )
            })
            .count();
        assert!(
            rich_first > 180 && rich_second > 180,
            "{rich_first} {rich_second}"
        );
    }

    #[test]
    fn empty_or_odd_texts_do_not_break_the_judge() {
        assert_eq!(text_quality(""), 0.0);
        assert!(text_quality("!!! ??? ...").abs() < 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let verdict = TextJudge::default().judge("", "\u{0}", &mut rng);
        assert!(matches!(
            verdict,
            TextVerdict::EssayA { .. } | TextVerdict::EssayB { .. } | TextVerdict::Error
        ));
    }
}
