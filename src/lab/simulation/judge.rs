//! The simulated LLM judge: verdicts drawn from a Bradley–Terry model over hidden essay
//! qualities, with a preference for one position, a rate of error callbacks, like the
//! real provider's, and a share of verdicts flipped (a judge that sometimes misreads) — and,
//! when asked, the probability a provider's token log-probabilities would give with the
//! verdict ([`Probabilities`]), well or badly calibrated or pure noise, so
//! `simulate --probabilities` measures what graded verdicts are worth.

use cj_aggregates::batch::commands::Position;
use cj_aggregates::stats::bradley_terry::logistic;
use clap::ValueEnum;
use rand::Rng;

/// What the judge reports as P(A wins) next to its verdict.
///
/// The verdict itself is always drawn from the judge's model (`p` below, the true
/// probability under [`JudgeProfile::probability_a_wins`]), so the hard verdicts of every
/// variant are equally informative and only the probability differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Probabilities {
    /// Hard verdicts only, as the Kafka callback gives them.
    #[default]
    None,
    /// `p` itself: the judge knows exactly how likely its answer is.
    Calibrated,
    /// `p^k / (p^k + (1 − p)^k)` with k = [`MISCALIBRATION`]: too sure of itself.
    Overconfident,
    /// The same with k = 1 / [`MISCALIBRATION`]: too unsure.
    Underconfident,
    /// Uniform in [0.5 − [`NOISE_HALF_WIDTH`], 0.5 + [`NOISE_HALF_WIDTH`]], independent of
    /// the essays and of the verdict: probabilities that mean nothing.
    Noise,
    /// The callback's 1–5 `confidence` as a probability (see [`confidence_as_probability`]),
    /// the confidence following the judge's real certainty in its answer.
    Confidence,
    /// The same, with a confidence drawn uniformly from 1–5 whatever the answer.
    ConfidenceNoise,
}

/// The exponent of the miscalibrated variants: 3 turns a true 0.7 into 0.93 (and 1/3 into 0.57).
pub const MISCALIBRATION: f64 = 3.0;

/// Half-width of the uninformative probabilities around ½.
pub const NOISE_HALF_WIDTH: f64 = 0.25;

/// How a 1–5 confidence would become the winner's probability if the service used it:
/// ½ + confidence / 10, so 1 is 0.6 and 5 a certain win.
pub fn confidence_as_probability(confidence: f64) -> f64 {
    0.5 + confidence.clamp(1.0, 5.0) / 10.0
}

/// How the simulated judge behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgeProfile {
    /// Added to the logit of the essay shown first: LLM judges favour one position.
    pub position_bias: f64,
    /// Share of comparisons answered with an error callback.
    pub error_rate: f64,
    /// Multiplies quality differences: 1 = verdicts exactly as the BT model of the hidden
    /// qualities says; larger = a sharper judge.
    pub discrimination: f64,
    /// What it reports as P(A wins) with each verdict.
    pub probabilities: Probabilities,
    /// Share of verdicts reversed after the BT draw: noise no quality difference overcomes.
    pub flip_rate: f64,
}

impl Default for JudgeProfile {
    fn default() -> Self {
        JudgeProfile {
            position_bias: 0.3,
            error_rate: 0.05,
            discrimination: 1.0,
            probabilities: Probabilities::None,
            flip_rate: 0.0,
        }
    }
}

/// One answer of the judge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JudgeAnswer {
    Verdict {
        winner: Position,
        /// 1–5, as the provider's callback carries it.
        confidence: f64,
        p_a_wins: Option<f64>,
    },
    Error,
}

/// The confidence a judge without its own reports on every verdict.
const DEFAULT_CONFIDENCE: f64 = 3.0;

impl JudgeProfile {
    /// P(the essay in position A wins) = logistic(d·(q_A − q_B) + bias).
    pub fn probability_a_wins(&self, quality_a: f64, quality_b: f64) -> f64 {
        let logit = self.discrimination * (quality_a - quality_b) + self.position_bias;
        logistic(logit)
    }

    pub fn judge(&self, quality_a: f64, quality_b: f64, rng: &mut impl Rng) -> JudgeAnswer {
        if rng.gen::<f64>() < self.error_rate {
            return JudgeAnswer::Error;
        }
        let p = self.probability_a_wins(quality_a, quality_b);
        let a_wins = rng.gen::<f64>() < p;
        // No draw without flips, so the verdicts of a flip-free judge stay as they were.
        let flipped = self.flip_rate > 0.0 && rng.gen::<f64>() < self.flip_rate;
        let winner = if a_wins != flipped {
            Position::A
        } else {
            Position::B
        };
        let a_side = |winner_probability: f64| match winner {
            Position::A => winner_probability,
            Position::B => 1.0 - winner_probability,
        };
        let (confidence, p_a_wins) = match self.probabilities {
            Probabilities::None => (DEFAULT_CONFIDENCE, None),
            Probabilities::Calibrated => (DEFAULT_CONFIDENCE, Some(p)),
            Probabilities::Overconfident => (DEFAULT_CONFIDENCE, Some(sharpen(p, MISCALIBRATION))),
            Probabilities::Underconfident => {
                (DEFAULT_CONFIDENCE, Some(sharpen(p, 1.0 / MISCALIBRATION)))
            }
            Probabilities::Noise => {
                let noise = NOISE_HALF_WIDTH * (2.0 * rng.gen::<f64>() - 1.0);
                (DEFAULT_CONFIDENCE, Some(0.5 + noise))
            }
            Probabilities::Confidence => {
                // The judge's certainty in the answer it gave, 1–5: 1 for a coin flip (or
                // an answer against the odds), 5 for a sure thing.
                let winner_wins = a_side(p);
                let certainty = (2.0 * winner_wins - 1.0).max(0.0);
                let confidence = (1.0 + 4.0 * certainty).round();
                (
                    confidence,
                    Some(a_side(confidence_as_probability(confidence))),
                )
            }
            Probabilities::ConfidenceNoise => {
                let confidence = f64::from(rng.gen_range(1_u8..=5));
                (
                    confidence,
                    Some(a_side(confidence_as_probability(confidence))),
                )
            }
        };
        JudgeAnswer::Verdict {
            winner,
            confidence,
            p_a_wins,
        }
    }
}

/// `p^k / (p^k + (1 − p)^k)`: the logit multiplied by `k`.
fn sharpen(p: f64, k: f64) -> f64 {
    logistic(k * (p / (1.0 - p)).ln())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn position_bias_favours_the_first_essay_between_equals() {
        let judge = JudgeProfile::default();
        assert!(judge.probability_a_wins(0.0, 0.0) > 0.5);
        let fair = JudgeProfile {
            position_bias: 0.0,
            ..judge
        };
        assert_eq!(fair.probability_a_wins(1.0, 1.0), 0.5);
    }

    #[test]
    fn the_error_rate_is_honoured() {
        let judge = JudgeProfile {
            error_rate: 0.2,
            ..JudgeProfile::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let errors = (0..10_000)
            .filter(|_| judge.judge(0.0, 0.0, &mut rng) == JudgeAnswer::Error)
            .count();
        assert!((1_800..2_200).contains(&errors), "{errors}");
    }

    fn reported(probabilities: Probabilities, quality_a: f64) -> (Position, Option<f64>) {
        let judge = JudgeProfile {
            error_rate: 0.0,
            position_bias: 0.0,
            probabilities,
            ..JudgeProfile::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        match judge.judge(quality_a, 0.0, &mut rng) {
            JudgeAnswer::Verdict {
                winner, p_a_wins, ..
            } => (winner, p_a_wins),
            JudgeAnswer::Error => unreachable!("no errors at rate 0"),
        }
    }

    #[test]
    fn calibrated_probabilities_are_the_model_and_miscalibrated_ones_bend_it() {
        let true_p = logistic(1.0);
        assert_eq!(reported(Probabilities::None, 1.0).1, None);
        assert_eq!(reported(Probabilities::Calibrated, 1.0).1, Some(true_p));
        let over = reported(Probabilities::Overconfident, 1.0).1.unwrap();
        let under = reported(Probabilities::Underconfident, 1.0).1.unwrap();
        assert!((over - logistic(3.0)).abs() < 1e-12, "{over}");
        assert!(0.5 < under && under < true_p && true_p < over);
    }

    #[test]
    fn the_verdict_is_drawn_the_same_whatever_probability_is_reported() {
        for quality in [-2.0, -0.3, 0.4, 1.5] {
            let hard = reported(Probabilities::None, quality).0;
            for variant in [Probabilities::Calibrated, Probabilities::Overconfident] {
                assert_eq!(reported(variant, quality).0, hard);
            }
        }
    }

    #[test]
    fn confidence_probabilities_favour_the_winner() {
        for quality in [-2.0, 0.0, 2.0] {
            for variant in [Probabilities::Confidence, Probabilities::ConfidenceNoise] {
                let (winner, p) = reported(variant, quality);
                let p = p.unwrap();
                assert!((0.0..=1.0).contains(&p));
                assert_eq!(winner == Position::A, p > 0.5, "{variant:?} {quality}");
            }
        }
        assert_eq!(confidence_as_probability(1.0), 0.6);
        assert_eq!(confidence_as_probability(5.0), 1.0);
    }

    #[test]
    fn flipped_verdicts_pull_a_sure_win_toward_the_flip_rate() {
        let judge = JudgeProfile {
            position_bias: 0.0,
            error_rate: 0.0,
            flip_rate: 0.1,
            ..JudgeProfile::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let upsets = (0..10_000)
            .filter(|_| {
                matches!(
                    judge.judge(20.0, 0.0, &mut rng),
                    JudgeAnswer::Verdict {
                        winner: Position::B,
                        ..
                    }
                )
            })
            .count();
        assert!((850..1_150).contains(&upsets), "{upsets}");
    }
}
