//! What a batch's verdicts cost: tokens and US dollars summed over its recorded verdicts,
//! as the judges reported them (a direct judge prices its calls from the configured price
//! table; the LLM Provider Service sends its own estimate). Read from the batch's history by
//! `inspect` and the report; the metrics tap counts the same figures service-wide.

use crate::batch::events::ComparisonRecorded;
use crate::CjBatchEvent;

/// Tokens and cost of a batch's verdicts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Verdicts recorded.
    pub verdicts: u32,
    /// Tokens the judges reported (prompt and completion), over the verdicts that said.
    pub tokens: u64,
    /// Cost in US dollars, over the verdicts that carried an estimate.
    pub cost_usd: f64,
    /// Verdicts that carried a cost estimate.
    pub priced_verdicts: u32,
}

impl Usage {
    /// The usage of the verdicts in `events` (a batch's history, in any order).
    pub fn of<'a>(events: impl IntoIterator<Item = &'a CjBatchEvent>) -> Usage {
        events
            .into_iter()
            .filter_map(|event| match event {
                CjBatchEvent::ComparisonRecorded(recorded) => Some(recorded),
                _ => None,
            })
            .fold(Usage::default(), |usage, recorded| usage.plus(recorded))
    }

    /// This usage with one more verdict.
    pub fn plus(self, recorded: &ComparisonRecorded) -> Usage {
        let cost = recorded
            .cost_estimate
            .filter(|cost| cost.is_finite() && *cost >= 0.0);
        Usage {
            verdicts: self.verdicts + 1,
            tokens: self.tokens + recorded.total_tokens.unwrap_or(0),
            cost_usd: self.cost_usd + cost.unwrap_or(0.0),
            priced_verdicts: self.priced_verdicts + u32::from(cost.is_some()),
        }
    }
}

impl std::fmt::Display for Usage {
    /// `1,234 tokens, $0.0123 (40 of 40 verdicts priced)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tokens, ${:.4} ({} of {} verdicts priced)",
            self.tokens, self.cost_usd, self.priced_verdicts, self.verdicts
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::commands::Position;
    use crate::ids::{CorrelationId, EssayId};
    use crate::judge::JudgeId;
    use uuid::Uuid;

    fn verdict(tokens: Option<u64>, cost: Option<f64>) -> CjBatchEvent {
        CjBatchEvent::ComparisonRecorded(ComparisonRecorded {
            correlation_id: CorrelationId(Uuid::nil()),
            winner: EssayId::parse("a").expect("an id"),
            winner_position: Position::A,
            confidence: None,
            justification: None,
            judge: JudgeId::unknown(),
            cost_estimate: cost,
            total_tokens: tokens,
            p_a_wins: None,
        })
    }

    #[test]
    fn tokens_and_cost_add_up_over_the_verdicts_that_report_them() {
        let events = [
            verdict(Some(100), Some(0.002)),
            verdict(None, None),
            verdict(Some(50), Some(f64::NAN)),
            verdict(Some(25), Some(0.001)),
        ];
        let usage = Usage::of(&events);
        assert_eq!(usage.verdicts, 4);
        assert_eq!(usage.tokens, 175);
        assert_eq!(usage.priced_verdicts, 2);
        assert!((usage.cost_usd - 0.003).abs() < 1e-12);
        assert_eq!(
            usage.to_string(),
            "175 tokens, $0.0030 (2 of 4 verdicts priced)"
        );
    }

    #[test]
    fn a_history_without_verdicts_cost_nothing() {
        assert_eq!(Usage::of(&[]), Usage::default());
    }
}
