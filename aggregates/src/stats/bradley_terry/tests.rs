//! Unit and property tests of the hard-outcome fit: choix cross-checks, refusals, standard
//! errors and the invariants of the scale.

use super::*;
use nalgebra::DMatrix;
use proptest::prelude::*;

/// Reference values agree with choix to this many logits.
const CHOIX_TOLERANCE: f64 = 1e-6;

fn outcomes(pairs: &[(usize, usize)]) -> Vec<Outcome> {
    pairs
        .iter()
        .map(|&(winner, loser)| Outcome { winner, loser })
        .collect()
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tolerance, "{actual:?} vs {expected:?}");
    }
}

fn fitted(essay_count: usize, pairs: &[(usize, usize)]) -> BtFit {
    fit(essay_count, &outcomes(pairs), DEFAULT_ALPHA).expect("valid input fits")
}

#[test]
fn two_essays_three_wins_of_four_match_choix() {
    let fit = fitted(2, &[(0, 1), (0, 1), (0, 1), (1, 0)]);
    assert_close(&fit.scores, &[0.542727, -0.542727], CHOIX_TOLERANCE);
    assert!(fit.converged);
}

#[test]
fn round_robin_where_higher_index_always_wins_matches_choix() {
    let pairs: Vec<(usize, usize)> = (0..4)
        .flat_map(|low| (low + 1..4).map(move |high| (high, low)))
        .collect();
    let fit = fitted(4, &pairs);
    assert_close(
        &fit.scores,
        &[-4.316787, -1.054058, 1.562342, 3.808503],
        CHOIX_TOLERANCE,
    );
}

#[test]
fn cycle_with_one_repeat_matches_choix() {
    let fit = fitted(3, &[(0, 1), (1, 2), (2, 0), (0, 1)]);
    assert_close(
        &fit.scores,
        &[0.407573, -0.409713, 0.002141],
        CHOIX_TOLERANCE,
    );
}

#[test]
fn iteration_count_follows_choix_first_iterate_only_primes_the_test() {
    // Two essays: the weights always sum to 2, so every iterate equals the first and
    // choix stops at the second.
    assert_eq!(fitted(2, &[(0, 1)]).iterations, 2);
}

#[test]
fn repeated_pairs_count_every_time() {
    let once = fitted(2, &[(0, 1), (1, 0)]);
    let repeated = fitted(2, &[(0, 1), (0, 1), (0, 1), (1, 0)]);
    assert_close(&once.scores, &[0.0, 0.0], 1e-12);
    assert!(repeated.scores[0] > 0.5);
    assert_eq!(repeated.comparison_counts, vec![4, 4]);
}

#[test]
fn no_essays_give_an_empty_fit() {
    let fit = fitted(0, &[]);
    assert!(fit.scores.is_empty() && fit.standard_errors.is_empty());
    assert_eq!(fit.ssr(), None);
}

#[test]
fn one_essay_sits_at_zero_with_the_unidentified_se() {
    let fit = fitted(1, &[]);
    assert_eq!(fit.scores, vec![0.0]);
    assert_eq!(fit.standard_errors, vec![UNIDENTIFIED_STANDARD_ERROR]);
    assert_eq!(fit.ranks(), vec![1]);
}

#[test]
fn uncompared_essay_gets_the_unidentified_se_and_others_do_not() {
    let fit = fitted(3, &[(0, 1), (1, 0), (0, 1)]);
    assert_eq!(fit.standard_errors[2], UNIDENTIFIED_STANDARD_ERROR);
    assert_eq!(fit.comparison_counts, vec![3, 3, 0]);
    for se in &fit.standard_errors[..2] {
        assert!(se.is_finite() && *se > 0.0 && *se < UNIDENTIFIED_STANDARD_ERROR);
    }
}

#[test]
fn out_of_range_essay_is_rejected() {
    let error = fit(2, &outcomes(&[(0, 1), (2, 0)]), DEFAULT_ALPHA).unwrap_err();
    assert_eq!(
        error,
        BtError::EssayOutOfRange {
            outcome_index: 1,
            essay: 2,
            essay_count: 2
        }
    );
}

#[test]
fn self_comparison_is_rejected() {
    let error = fit(2, &outcomes(&[(1, 1)]), DEFAULT_ALPHA).unwrap_err();
    assert_eq!(
        error,
        BtError::SelfComparison {
            outcome_index: 0,
            essay: 1
        }
    );
}

#[test]
fn alpha_must_be_finite_and_non_negative() {
    for alpha in [-0.1, f64::NAN, f64::INFINITY] {
        let error = fit(2, &outcomes(&[(0, 1)]), alpha).unwrap_err();
        assert!(matches!(error, BtError::InvalidAlpha { .. }), "{alpha}");
    }
}

#[test]
fn zero_alpha_refuses_a_graph_that_is_not_strongly_connected() {
    let one_way = outcomes(&[(0, 1), (1, 2)]);
    assert_eq!(fit(3, &one_way, 0.0), Err(BtError::NotIdentifiable));
    let with_stranger = outcomes(&[(0, 1), (1, 0)]);
    assert_eq!(fit(3, &with_stranger, 0.0), Err(BtError::NotIdentifiable));
}

#[test]
fn zero_alpha_fits_the_maximum_likelihood_on_a_strongly_connected_graph() {
    // Unregularised ML for two essays: θ0 − θ1 = ln(wins ratio) = ln 3.
    let fit = fit(2, &outcomes(&[(0, 1), (0, 1), (0, 1), (1, 0)]), 0.0).unwrap();
    assert_close(&fit.scores, &[3f64.ln() / 2.0, -(3f64.ln()) / 2.0], 1e-9);
}

#[test]
fn perfect_separation_still_gives_finite_scores_and_errors() {
    let champion_beats_all: Vec<(usize, usize)> =
        (1..6).flat_map(|loser| [(0, loser), (0, loser)]).collect();
    let fit = fitted(6, &champion_beats_all);
    assert!(fit.scores[0] > fit.scores[1]);
    for (score, se) in fit.scores.iter().zip(&fit.standard_errors) {
        assert!(score.is_finite() && se.is_finite() && *se > 0.0);
    }
}

#[test]
fn vanishing_alpha_with_perfect_separation_errs_or_stays_finite() {
    match fit(3, &outcomes(&[(0, 1), (1, 2), (0, 2)]), 1e-300) {
        Err(error) => assert_eq!(error, BtError::NotIdentifiable),
        Ok(fit) => assert!(fit
            .scores
            .iter()
            .chain(&fit.standard_errors)
            .all(|v| v.is_finite())),
    }
}

#[test]
fn standard_errors_equal_the_pseudo_inverse_of_the_fisher_information() {
    // Two components ({0,1,2} and {3,4}) plus an essay never compared (5).
    let pairs = [(0, 1), (1, 2), (2, 0), (0, 2), (3, 4), (4, 3), (3, 4)];
    let fit = fitted(6, &pairs);
    let compared = 5;
    let mut information = DMatrix::<f64>::zeros(compared, compared);
    for &(winner, loser) in &pairs {
        let p = win_probability(fit.scores[winner], fit.scores[loser]);
        let q = p * (1.0 - p);
        information[(winner, winner)] += q;
        information[(loser, loser)] += q;
        information[(winner, loser)] -= q;
        information[(loser, winner)] -= q;
    }
    let pseudo_inverse = information.pseudo_inverse(1e-12).unwrap();
    let expected: Vec<f64> = (0..compared)
        .map(|i| pseudo_inverse[(i, i)].sqrt())
        .collect();
    assert_close(&fit.standard_errors[..compared], &expected, 1e-10);
    assert_eq!(fit.standard_errors[5], UNIDENTIFIED_STANDARD_ERROR);
}

#[test]
fn scale_separation_reliability_is_true_variance_share() {
    // var = 1, mean SE² = 0.25.
    let ssr = scale_separation_reliability(&[-1.0, 1.0], &[0.5, 0.5]).unwrap();
    assert!((ssr - 0.75).abs() < 1e-12);
}

#[test]
fn scale_separation_reliability_needs_two_essays_and_spread() {
    assert_eq!(scale_separation_reliability(&[0.3], &[0.1]), None);
    assert_eq!(scale_separation_reliability(&[0.3, 0.3], &[0.1, 0.1]), None);
    assert_eq!(scale_separation_reliability(&[0.3, 0.1], &[0.1]), None);
}

#[test]
fn ranks_put_the_best_first_and_break_ties_by_index() {
    let fit = BtFit {
        scores: vec![0.5, 1.0, 0.5, -2.0],
        standard_errors: vec![1.0; 4],
        comparison_counts: vec![1; 4],
        iterations: 1,
        converged: true,
    };
    assert_eq!(fit.ranks(), vec![2, 1, 3, 4]);
}

#[test]
fn win_probability_is_logistic_and_saturates_without_nan() {
    assert!((win_probability(1.0, 1.0) - 0.5).abs() < 1e-15);
    assert!((win_probability(1.0, 0.0) - 1.0 / (1.0 + (-1f64).exp())).abs() < 1e-15);
    assert_eq!(win_probability(-1e6, 1e6), 0.0);
    assert_eq!(win_probability(1e6, -1e6), 1.0);
}

/// An essay count with comparisons between distinct essays among them.
fn comparison_graph() -> impl Strategy<Value = (usize, Vec<Outcome>)> {
    (2_usize..10).prop_flat_map(|essay_count| {
        let outcome = (0..essay_count, 1..essay_count).prop_map(move |(winner, offset)| Outcome {
            winner,
            loser: (winner + offset) % essay_count,
        });
        (Just(essay_count), prop::collection::vec(outcome, 0..40))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn relabelling_essays_relabels_their_scores(
        (essay_count, graph, relabel) in comparison_graph().prop_flat_map(|(essay_count, graph)| {
            let relabel = Just((0..essay_count).collect::<Vec<usize>>()).prop_shuffle();
            (Just(essay_count), Just(graph), relabel)
        }),
    ) {
        let relabelled: Vec<Outcome> = graph
            .iter()
            .map(|o| Outcome { winner: relabel[o.winner], loser: relabel[o.loser] })
            .collect();
        let original = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
        let moved = fit(essay_count, &relabelled, DEFAULT_ALPHA).unwrap();
        for (essay, &new_label) in relabel.iter().enumerate() {
            prop_assert!((original.scores[essay] - moved.scores[new_label]).abs() < 1e-6);
            let se_change = original.standard_errors[essay] - moved.standard_errors[new_label];
            prop_assert!(se_change.abs() < 1e-5);
        }
    }

    #[test]
    fn scores_are_centred((essay_count, graph) in comparison_graph()) {
        let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
        let mean = fit.scores.iter().sum::<f64>() / essay_count as f64;
        prop_assert!(mean.abs() < 1e-12);
    }

    #[test]
    fn adding_a_win_never_lowers_the_winner(
        (essay_count, graph) in comparison_graph(),
        winner_pick in any::<prop::sample::Index>(),
        offset_pick in any::<prop::sample::Index>(),
    ) {
        let winner = winner_pick.index(essay_count);
        let loser = (winner + 1 + offset_pick.index(essay_count - 1)) % essay_count;
        let before = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
        let mut more = graph.clone();
        more.push(Outcome { winner, loser });
        let after = fit(essay_count, &more, DEFAULT_ALPHA).unwrap();
        prop_assert!(after.scores[winner] >= before.scores[winner] - 1e-7);
    }

    #[test]
    fn every_standard_error_is_positive_and_finite((essay_count, graph) in comparison_graph()) {
        let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
        prop_assert!(fit.standard_errors.iter().all(|se| se.is_finite() && *se > 0.0));
    }

    #[test]
    fn scale_separation_reliability_never_exceeds_one((essay_count, graph) in comparison_graph()) {
        let fit = fit(essay_count, &graph, DEFAULT_ALPHA).unwrap();
        if let Some(ssr) = fit.ssr() {
            prop_assert!(ssr <= 1.0);
        }
    }
}
