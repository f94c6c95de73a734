//! Which essay of a planned pair is shown as "Essay A". A repeated pair goes against its own
//! earlier orientations (so a judge's position bias cancels on that pair); otherwise the
//! essay owed more A positions (B − A count) goes first. Either choice yields only when it
//! would make a balanced completion impossible (see [`super::balanced_completion`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::balanced_completion::CompletionPlan;
use super::Ledger;

/// Chooses who is shown as "Essay A".
pub(super) struct PositionBalancer {
    /// None once the history is too unbalanced for any balanced completion; the surplus
    /// rule then acts alone.
    plan: Option<CompletionPlan>,
}

impl PositionBalancer {
    pub(super) fn new(ledger: &Ledger, rng: &mut ChaCha8Rng) -> Self {
        PositionBalancer {
            plan: CompletionPlan::build(ledger, rng),
        }
    }

    /// Orients one pair and records it in the plan. Preference: a repeated pair goes against
    /// its own earlier orientations; otherwise the essay owed more A positions goes first,
    /// ties following the plan (seeded). The other orientation is taken only when the
    /// preferred one would make a balanced completion of the never-compared pairs impossible.
    pub(super) fn orient(
        &mut self,
        i: usize,
        j: usize,
        ledger: &Ledger,
        rng: &mut ChaCha8Rng,
    ) -> (usize, usize) {
        let (lower, higher) = (i.min(j), i.max(j));
        let pair_surplus = ledger.tally(i, j).lower_first_surplus;
        let (preferred, binding) = if pair_surplus != 0 {
            let first = if pair_surplus > 0 { higher } else { lower };
            (first, true)
        } else {
            let (owed_i, owed_j) = (ledger.a_position_owed(i), ledger.a_position_owed(j));
            let first = if owed_i != owed_j {
                if owed_i > owed_j {
                    i
                } else {
                    j
                }
            } else {
                match self.plan.as_ref().and_then(|p| p.planned_first(i, j)) {
                    Some(planned) => planned,
                    None if rng.gen::<bool>() => i,
                    None => j,
                }
            };
            (first, false)
        };
        let other = if preferred == i { j } else { i };
        let Some(plan) = self.plan.as_mut() else {
            return (preferred, other);
        };
        if plan.try_commit(preferred, other) {
            return (preferred, other);
        }
        if !binding && plan.try_commit(other, preferred) {
            return (other, preferred);
        }
        // The history already rules out a balanced completion; keep the preference.
        self.plan = None;
        (preferred, other)
    }
}
