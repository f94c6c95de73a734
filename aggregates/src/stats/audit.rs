//! The audit of one set of verdicts once they are fitted: the figures a CJ platform reports
//! next to the scale — split-half reliability, which essays and judges misfit, the judge's
//! order (position) effect, and whether the comparison graph falls apart into components.
//! Batch scoring and `cj-assessment fit` both read it, so a batch and a researcher's file
//! are audited the same way.
//!
//! Cost: `splits` × 2 reference fits of half the verdicts (each O(passes × verdicts); about
//! 50 ms for 38 essays and 300 verdicts in all) plus the order effect: jointly with the
//! abilities up to [`JOINT_ORDER_EFFECT_MAX_ITEMS`] items (a dense (n + 1)² solve per Newton
//! step), with the abilities held at the fit's above that (O(verdicts) per step).

use super::components::connected_components;
use super::misfit::{flag_misfits, judge_fits, JudgeFit};
use super::order_effect::{self, OrderEffect};
use super::reference::ReferenceOptions;
use super::split_half::{split_half, SplitHalf};
use super::Comparison;

/// Above this many items the order effect is estimated with the abilities held at the fit's
/// instead of jointly (the joint fit's dense solve is cubic: seconds at 1,000 items).
pub const JOINT_ORDER_EFFECT_MAX_ITEMS: usize = 300;

/// What to audit: the verdicts (oriented as shown: `first` was shown first) and what their
/// fit gave.
#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    pub items: usize,
    pub comparisons: &'a [Comparison],
    /// The fit's P(first wins) per comparison (what judge misfit is measured against).
    pub first_win_probabilities: &'a [f64],
    /// The fit's infit per item (NaN where it has none).
    pub infits: &'a [f64],
    /// The fit's abilities (what a large batch's order effect is estimated against).
    pub thetas: &'a [f64],
    /// Random splits for split-half reliability (0: none).
    pub splits: usize,
    /// Base seed of the splits (R's `set.seed(seed + i)` for split i).
    pub seed: i32,
    /// Whether `first` really is the item shown first, so an order effect means something.
    pub shown_order_known: bool,
}

/// The audit's figures, judges and items by index.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub split_half: Option<SplitHalf>,
    pub order_effect: Option<OrderEffect>,
    /// Per judge (order of first appearance; unjudged comparisons left out) with its flag.
    pub judges: Vec<(JudgeFit, bool)>,
    /// Per item: infit above mean + 2 SD of the items'.
    pub misfitting_items: Vec<bool>,
    /// Connected components of the comparison graph (items without comparisons left out).
    pub components: Vec<Vec<usize>>,
}

/// Audits `input` (see the module doc for what and why).
pub fn audit(input: &AuditInput<'_>) -> Audit {
    let options = ReferenceOptions::default();
    let split_half = (input.splits > 0 && !input.comparisons.is_empty()).then(|| {
        split_half(
            input.items,
            input.comparisons,
            input.splits,
            input.seed,
            &options,
        )
    });
    let judges = judge_fits(input.comparisons, input.first_win_probabilities);
    let judge_flags = flag_misfits(&judges.iter().map(|j| j.infit).collect::<Vec<_>>());
    let order_effect = input
        .shown_order_known
        .then(|| {
            if input.items <= JOINT_ORDER_EFFECT_MAX_ITEMS {
                order_effect::estimate(input.items, input.comparisons)
            } else {
                order_effect::estimate_given_abilities(input.thetas, input.comparisons)
            }
        })
        .flatten();
    Audit {
        split_half,
        order_effect,
        judges: judges.into_iter().zip(judge_flags).collect(),
        misfitting_items: flag_misfits(input.infits),
        components: connected_components(input.items, input.comparisons),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::reference::{fit, ReferenceOptions};

    #[test]
    fn a_session_is_audited_in_one_call() {
        // 0 > 1 > … > 5 judged by 5 judges, shown better-first in every comparison, with one
        // upset per judge; the position favours the first-shown item on top of quality.
        let mut comparisons = Vec::new();
        for judge in 0..5_u32 {
            for a in 0..6 {
                for b in (a + 1)..6 {
                    let upset = (a + b + judge as usize) % 6 == 0;
                    let c = if upset {
                        Comparison {
                            first: a,
                            second: b,
                            first_won: 0.0,
                            judge: None,
                        }
                    } else {
                        Comparison::decided(a, b)
                    };
                    comparisons.push(c.by(judge));
                }
            }
        }
        let fitted = fit(6, &comparisons, &ReferenceOptions::default());
        let infits: Vec<f64> = fitted.items.iter().map(|i| i.infit).collect();
        let audit = audit(&AuditInput {
            items: 6,
            comparisons: &comparisons,
            first_win_probabilities: &fitted.first_win_probabilities,
            infits: &infits,
            thetas: &fitted.thetas(),
            splits: 10,
            seed: 123,
            shown_order_known: true,
        });
        assert_eq!(audit.judges.len(), 5);
        assert_eq!(audit.split_half.as_ref().map(|s| s.splits), Some(10));
        assert_eq!(audit.components.len(), 1);
        assert_eq!(audit.misfitting_items.len(), 6);
        assert!(audit.order_effect.is_some());
    }

    #[test]
    fn a_large_batch_estimates_the_order_effect_against_its_abilities() {
        // 400 items in a chain, each pair shown twice (both orders), the first shown winning
        // 3 of 4 times whatever the quality: η well above 0 from the fixed-ability estimate.
        let items = JOINT_ORDER_EFFECT_MAX_ITEMS + 100;
        let mut comparisons = Vec::new();
        for i in 0..items - 1 {
            for (k, (first, second)) in [(i, i + 1), (i + 1, i)].into_iter().enumerate() {
                for repeat in 0..2 {
                    let first_won = if (i + k + repeat) % 4 == 0 { 0.0 } else { 1.0 };
                    comparisons.push(Comparison {
                        first,
                        second,
                        first_won,
                        judge: None,
                    });
                }
            }
        }
        let fitted = fit(items, &comparisons, &ReferenceOptions::default());
        let infits: Vec<f64> = fitted.items.iter().map(|i| i.infit).collect();
        let audit = audit(&AuditInput {
            items,
            comparisons: &comparisons,
            first_win_probabilities: &fitted.first_win_probabilities,
            infits: &infits,
            thetas: &fitted.thetas(),
            splits: 0,
            seed: 123,
            shown_order_known: true,
        });
        let effect = audit.order_effect.expect("an order effect");
        assert!(effect.estimate > 0.5, "{effect:?}");
        assert!(effect.flagged());
    }

    #[test]
    fn no_order_effect_when_the_shown_order_is_unknown_and_no_split_without_verdicts() {
        let audit = audit(&AuditInput {
            items: 3,
            comparisons: &[],
            first_win_probabilities: &[],
            infits: &[f64::NAN; 3],
            thetas: &[0.0; 3],
            splits: 100,
            seed: 123,
            shown_order_known: false,
        });
        assert_eq!(audit.split_half, None);
        assert_eq!(audit.order_effect, None);
        assert!(audit.judges.is_empty());
    }
}
