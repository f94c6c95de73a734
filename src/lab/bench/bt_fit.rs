//! `bench bt-fit`: our Bradley–Terry fit against choix's `ilsr_pairwise` (the reference
//! implementation it is cross-checked against) on one seeded graph of 200 essays × 4,000
//! comparisons, both timed in the same run; the ratio is how many times faster ours is.

use super::report::{millis, Report};
use anyhow::Context;
use cj_aggregates::stats::bradley_terry::{fit, DEFAULT_ALPHA};
use cj_aggregates::stats::synthetic_outcomes::simulated_outcomes;
use clap::Args;
use serde::Deserialize;
use std::hint::black_box;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The choix timing script, carried in the binary so the bench runs from anywhere.
const CHOIX_SCRIPT: &str = include_str!("../../../scripts/bench_choix.py");
/// Fixed so every run fits the same graph (the cross-check's timing seed).
const SEED: u64 = 20_240_601;

#[derive(Debug, Clone, Args)]
pub struct BtFitArgs {
    #[arg(long, default_value_t = 200)]
    pub essays: usize,
    #[arg(long, default_value_t = 4_000)]
    pub comparisons: usize,
    /// Timed fits per implementation (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    /// Python with choix and numpy.
    #[arg(long, env = "CJ_BENCH_PYTHON", default_value = "python3")]
    pub python: String,
}

/// choix's timing, as the embedded script reports it.
#[derive(Debug, Deserialize)]
pub struct ChoixTiming {
    pub median_ms: f64,
    pub min_ms: f64,
    pub choix_version: String,
}

pub fn run(args: &BtFitArgs) -> anyhow::Result<Report> {
    let outcomes = simulated_outcomes(args.essays, args.comparisons, SEED);
    let repeats = args.repeats.max(1);
    let mut iterations = 0;
    let mut ours: Vec<f64> = (0..repeats)
        .map(|_| {
            let started = Instant::now();
            let fitted = fit(black_box(args.essays), black_box(&outcomes), DEFAULT_ALPHA)
                .expect("a simulated graph is always fittable");
            iterations = fitted.iterations;
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ours.sort_by(f64::total_cmp);
    let ours_median = ours[repeats / 2];
    let pairs: Vec<[usize; 2]> = outcomes.iter().map(|o| [o.winner, o.loser]).collect();
    let choix = time_choix(&args.python, args.essays, &pairs, DEFAULT_ALPHA, repeats)?;

    let mut report = Report::new(format!(
        "BT fit: {} essays × {} comparisons",
        args.essays, args.comparisons
    ));
    report
        .compared(
            "fit, median",
            millis(ours_median),
            format!("choix {} {}", choix.choix_version, millis(choix.median_ms)),
            format!("{:.1}× faster", choix.median_ms / ours_median),
        )
        .compared(
            "fit, fastest",
            millis(ours[0]),
            format!("choix {}", millis(choix.min_ms)),
            format!("{:.1}× faster", choix.min_ms / ours[0]),
        )
        .note(format!(
            "α = {DEFAULT_ALPHA}, {iterations} ILSR iterations, median of {repeats} fits each, seed {SEED}"
        ));
    Ok(report)
}

/// Times choix's `ilsr_pairwise` on `comparisons` ([winner, loser]) among `essays` with
/// `python` (median and fastest of `repeats` fits after a warm-up).
pub fn time_choix(
    python: &str,
    essays: usize,
    comparisons: &[[usize; 2]],
    alpha: f64,
    repeats: usize,
) -> anyhow::Result<ChoixTiming> {
    let request = serde_json::json!({
        "essays": essays,
        "comparisons": comparisons,
        "alpha": alpha,
        "repeats": repeats,
    });
    let mut child = Command::new(python)
        .args(["-c", CHOIX_SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {python} for choix"))?;
    child
        .stdin
        .take()
        .context("choix's stdin")?
        .write_all(request.to_string().as_bytes())?;
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "choix timing failed ({}); is choix installed? scripts/test.sh makes a venv with it: CJ_BENCH_PYTHON=~/.cache/cj-tools/venv/bin/python3; or pip install choix numpy",
        output.status
    );
    serde_json::from_slice(&output.stdout).context("reading choix's timing")
}
