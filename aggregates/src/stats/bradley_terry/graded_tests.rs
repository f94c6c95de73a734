//! Tests of the graded (fractional-outcome) fit: hard outcomes reproduce the hard fit bit for
//! bit, and graded ones behave as the soft Bradley–Terry model says they must.

use super::*;
use crate::stats::scale::{self, Estimator};
use proptest::prelude::*;

fn graded(first: usize, second: usize, first_won: f64) -> Comparison {
    Comparison {
        first,
        second,
        first_won,
        judge: None,
    }
}

#[test]
fn a_graded_three_quarters_is_the_maximum_likelihood_of_three_wins_in_four() {
    // Unregularised soft BT for two essays: p = 0.75 ⇒ θ0 − θ1 = ln 3, as for 3 wins of 4.
    let fitted = fit_graded(2, &[graded(0, 1, 0.75)], 0.0).unwrap();
    let gap = fitted.scores[0] - fitted.scores[1];
    assert!((gap - 3f64.ln()).abs() < 1e-9, "{gap}");
    assert_eq!(fitted.comparison_counts, vec![1, 1]);
}

#[test]
fn a_graded_outcome_counts_one_comparison_of_information() {
    // Fisher information of a comparison is p(1 − p) whatever its outcome.
    let soft = fit_graded(2, &[graded(0, 1, 0.5), graded(0, 1, 0.5)], 0.0).unwrap();
    let hard = fit(
        2,
        &[
            Outcome {
                winner: 0,
                loser: 1,
            },
            Outcome {
                winner: 1,
                loser: 0,
            },
        ],
        0.0,
    )
    .unwrap();
    assert_eq!(soft.scores, vec![0.0, 0.0]);
    assert!((soft.standard_errors[0] - hard.standard_errors[0]).abs() < 1e-12);
}

#[test]
fn graded_comparisons_are_validated_like_outcomes() {
    assert_eq!(
        fit_graded(2, &[graded(0, 2, 0.3)], DEFAULT_ALPHA),
        Err(BtError::EssayOutOfRange {
            outcome_index: 0,
            essay: 2,
            essay_count: 2
        })
    );
    assert_eq!(
        fit_graded(2, &[graded(1, 1, 0.3)], DEFAULT_ALPHA),
        Err(BtError::SelfComparison {
            outcome_index: 0,
            essay: 1
        })
    );
}

/// Essay count, comparisons (first, second, outcome in [0, 1]) and a hard/soft flag each.
fn session() -> impl Strategy<Value = (usize, Vec<(usize, usize, f64)>)> {
    (2_usize..9).prop_flat_map(|essays| {
        let row = (0..essays, 1..essays, 0.0..=1.0_f64)
            .prop_map(move |(first, offset, y)| (first, (first + offset) % essays, y));
        (Just(essays), prop::collection::vec(row, 0..40))
    })
}

fn comparisons(rows: &[(usize, usize, f64)], outcome: impl Fn(f64) -> f64) -> Vec<Comparison> {
    rows.iter()
        .map(|&(first, second, y)| graded(first, second, outcome(y)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hard_outcomes_reproduce_the_hard_fit_bit_for_bit((essays, rows) in session()) {
        let hard = comparisons(&rows, f64::round);
        let outcomes: Vec<Outcome> = hard
            .iter()
            .map(|c| if c.first_won == 1.0 {
                Outcome { winner: c.first, loser: c.second }
            } else {
                Outcome { winner: c.second, loser: c.first }
            })
            .collect();
        for alpha in [DEFAULT_ALPHA, scale::regularised_alpha(essays)] {
            prop_assert_eq!(fit_graded(essays, &hard, alpha), fit(essays, &outcomes, alpha));
            let through_the_scale = scale::fit(Estimator::Ilsr, alpha, essays, &hard);
            let before = fit(essays, &outcomes, alpha).unwrap();
            prop_assert_eq!(through_the_scale.scores, before.scores);
            prop_assert_eq!(through_the_scale.standard_errors, before.standard_errors);
        }
    }

    #[test]
    fn even_odds_everywhere_give_every_essay_the_same_score((essays, rows) in session()) {
        let fitted = fit_graded(essays, &comparisons(&rows, |_| 0.5), DEFAULT_ALPHA).unwrap();
        prop_assert!(fitted.scores.iter().all(|s| s.abs() < 1e-9), "{:?}", fitted.scores);
    }

    #[test]
    fn graded_fits_converge_to_finite_scores_and_errors((essays, rows) in session()) {
        let fitted = fit_graded(essays, &comparisons(&rows, |y| y), DEFAULT_ALPHA).unwrap();
        prop_assert!(fitted.converged);
        prop_assert!(fitted.scores.iter().all(|s| s.is_finite()));
        prop_assert!(fitted.standard_errors.iter().all(|se| se.is_finite() && *se > 0.0));
    }

    #[test]
    fn listing_a_comparison_the_other_way_round_changes_nothing((essays, rows) in session()) {
        let forward = comparisons(&rows, |y| y);
        let reversed: Vec<Comparison> = forward
            .iter()
            .map(|c| graded(c.second, c.first, 1.0 - c.first_won))
            .collect();
        let a = fit_graded(essays, &forward, DEFAULT_ALPHA).unwrap();
        let b = fit_graded(essays, &reversed, DEFAULT_ALPHA).unwrap();
        for (x, y) in a.scores.iter().zip(&b.scores) {
            prop_assert!((x - y).abs() < 1e-9);
        }
    }

    #[test]
    fn a_higher_probability_never_lowers_the_first_essay(
        (essays, rows) in session(),
        pick in any::<prop::sample::Index>(),
        raise in 0.0..=1.0_f64,
    ) {
        prop_assume!(!rows.is_empty());
        let before = comparisons(&rows, |y| y);
        let index = pick.index(before.len());
        let mut after = before.clone();
        after[index].first_won += raise * (1.0 - after[index].first_won);
        let first = before[index].first;
        let low = fit_graded(essays, &before, DEFAULT_ALPHA).unwrap();
        let high = fit_graded(essays, &after, DEFAULT_ALPHA).unwrap();
        prop_assert!(high.scores[first] >= low.scores[first] - 1e-7);
    }
}
