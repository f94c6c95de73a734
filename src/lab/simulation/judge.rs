//! The simulated LLM judge: verdicts drawn from a Bradley–Terry model over hidden essay
//! qualities, with a preference for one position, a rate of error callbacks, like the
//! real provider's, and a share of verdicts flipped (a judge that sometimes misreads).

use cj_aggregates::batch::commands::Position;
use rand::Rng;

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
    /// Share of verdicts reversed after the BT draw: noise no quality difference overcomes.
    pub flip_rate: f64,
}

impl Default for JudgeProfile {
    fn default() -> Self {
        JudgeProfile {
            position_bias: 0.3,
            error_rate: 0.05,
            discrimination: 1.0,
            flip_rate: 0.0,
        }
    }
}

/// One answer of the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgeAnswer {
    Winner(Position),
    Error,
}

impl JudgeProfile {
    /// P(the essay in position A wins) = logistic(d·(q_A − q_B) + bias).
    pub fn probability_a_wins(&self, quality_a: f64, quality_b: f64) -> f64 {
        let logit = self.discrimination * (quality_a - quality_b) + self.position_bias;
        1.0 / (1.0 + (-logit).exp())
    }

    pub fn judge(&self, quality_a: f64, quality_b: f64, rng: &mut impl Rng) -> JudgeAnswer {
        if rng.gen::<f64>() < self.error_rate {
            return JudgeAnswer::Error;
        }
        let a_wins = rng.gen::<f64>() < self.probability_a_wins(quality_a, quality_b);
        // No draw without flips, so the verdicts of a flip-free judge stay as they were.
        let flipped = self.flip_rate > 0.0 && rng.gen::<f64>() < self.flip_rate;
        if a_wins != flipped {
            JudgeAnswer::Winner(Position::A)
        } else {
            JudgeAnswer::Winner(Position::B)
        }
    }
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
            .filter(|_| judge.judge(20.0, 0.0, &mut rng) == JudgeAnswer::Winner(Position::B))
            .count();
        assert!((850..1_150).contains(&upsets), "{upsets}");
    }
}
