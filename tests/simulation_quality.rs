//! The planner earns its keep: on the scenario the older service was measured on (30
//! students, 8 anchors, 10 comparisons per essay, 50 seeds), adaptive planning ranks better
//! than random pairs, and the grade probabilities are calibrated. Also: the demo as the
//! README runs it.

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::lab::commands::simulate::{simulate, SimulateArgs};
use cj_assessment::lab::simulation::judge::Probabilities;
use std::process::Command;

/// The scenario the older service was measured on, at one budget (comparisons per essay).
fn scenario(seeds: u64, per_essay: u32, baseline: bool) -> SimulateArgs {
    SimulateArgs {
        seeds,
        students: 30,
        anchors: 8,
        budgets: vec![per_essay],
        baseline,
        to_budget: false,
        scale: GradeScale::Swedish8Anchor,
        error_rate: 0.05,
        position_bias: 0.3,
        flip_rate: 0.0,
        assignment_batches: 1,
        calibration_round: 0,
        wave_size: None,
        min_comparisons: 4,
        ssr_target: None,
        stability_threshold: None,
        estimator: Default::default(),
        probabilities: vec![Probabilities::None],
        match_at: None,
        reliability_diagram: false,
        grade_confusion: false,
    }
}

#[test]
fn the_planner_beats_random_pairing_and_its_probabilities_are_calibrated() {
    let args = scenario(50, 10, true);
    let summaries = simulate(&args).expect("simulation runs");
    let planner = summaries.iter().find(|s| s.variant == "planner").unwrap();
    let baseline = summaries.iter().find(|s| s.variant == "baseline").unwrap();
    assert!(
        planner.spearman > baseline.spearman,
        "planner ρ {} vs baseline ρ {}",
        planner.spearman,
        baseline.spearman
    );
    assert!(
        planner.grades.calibration_error <= 0.05,
        "calibration error {}",
        planner.grades.calibration_error
    );
    assert_eq!(planner.completed, 50);
}

#[test]
fn the_demo_ranks_well_and_completes() {
    let output = Command::new(env!("CARGO_BIN_EXE_cj-assessment"))
        .args(["demo", "--seed", "7"])
        .output()
        .expect("demo runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("status: COMPLETE_"), "{text}");
    let rho: f64 = text
        .lines()
        .find_map(|l| l.split("Spearman ρ = ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .expect("ρ printed");
    assert!(rho >= 0.85, "ρ = {rho}");
}

#[test]
fn batches_stop_early_once_their_reliability_is_reached_and_the_ssr_is_not_inflated() {
    let args = scenario(20, 20, false);
    let summaries = simulate(&args).expect("simulation runs");
    let planner = &summaries[0];
    assert!(
        planner.comparisons < 0.95 * f64::from(planner.budget),
        "mean {} of a budget of {}: no early stop",
        planner.comparisons,
        planner.budget
    );
    assert!(
        planner.ssr - planner.true_reliability <= 0.03,
        "SSR {} overstates the true reliability {}",
        planner.ssr,
        planner.true_reliability
    );
    assert_eq!(planner.completed, 20);
}
