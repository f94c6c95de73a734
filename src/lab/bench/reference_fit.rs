//! `bench reference-fit`: the reference estimator (`sirt::btm`, see
//! `cj_aggregates::stats::reference`) on the largest real session of the CJ meta-analysis —
//! Ofqual2015, 2,150 items and 35,000 decisions — alone and with 100 split halves (200 more
//! fits), next to choix's `ilsr_pairwise` on the same decisions in the same run.

use super::bt_fit::time_choix;
use super::report::{millis, Report};
use crate::commands::fit_input::{read_comparisons, Names};
use cj_aggregates::stats::bradley_terry::DEFAULT_ALPHA;
use cj_aggregates::stats::reference::{fit, ReferenceOptions};
use cj_aggregates::stats::split_half::{split_half, DEFAULT_SEED, DEFAULT_SPLITS};
use clap::Args;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Args)]
pub struct ReferenceFitArgs {
    /// A session's decisions: CSV judge,candidate_chosen,candidate_not_chosen.
    #[arg(
        long,
        default_value = "../shared/datasets/cj-meta-analysis/judgements/Ofqual2015.csv"
    )]
    pub session: PathBuf,
    /// Timed single fits (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    #[arg(long, default_value_t = DEFAULT_SPLITS)]
    pub split_halves: usize,
    /// Python with choix and numpy.
    #[arg(long, env = "CJ_BENCH_PYTHON", default_value = "python3")]
    pub python: String,
}

pub fn run(args: &ReferenceFitArgs) -> anyhow::Result<Report> {
    let mut ids = Names::default();
    let input = read_comparisons(&args.session, &mut ids)?;
    let items = ids.len();
    let comparisons = &input.comparisons;
    let options = ReferenceOptions::default();
    let repeats = args.repeats.max(1);
    let mut iterations = 0;
    let mut single: Vec<f64> = (0..repeats)
        .map(|_| {
            let started = Instant::now();
            let fitted = fit(black_box(items), black_box(comparisons), &options);
            iterations = fitted.iterations;
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    single.sort_by(f64::total_cmp);
    let started = Instant::now();
    let split = split_half(
        items,
        comparisons,
        args.split_halves,
        DEFAULT_SEED,
        &options,
    );
    let split_ms = started.elapsed().as_secs_f64() * 1e3;
    let pairs: Vec<[usize; 2]> = comparisons.iter().map(|c| [c.first, c.second]).collect();
    let choix = time_choix(&args.python, items, &pairs, DEFAULT_ALPHA, repeats)?;

    let mut report = Report::new(format!(
        "Reference fit (sirt::btm): {} — {items} items × {} decisions",
        args.session
            .file_name()
            .unwrap_or_default()
            .to_string_lossy(),
        comparisons.len()
    ));
    report
        .compared(
            "one fit, median",
            millis(single[repeats / 2]),
            format!(
                "choix {} ILSR {}",
                choix.choix_version,
                millis(choix.median_ms)
            ),
            format!("{:.1}× faster", choix.median_ms / single[repeats / 2]),
        )
        .figure(
            format!("{} split halves ({} fits)", split.splits, 2 * split.splits),
            millis(split_ms),
        )
        .note(format!(
            "{iterations} passes to converge (ε = 0.3, conv 1e-4); median split-half r = {:.4} \
             by {:?}; choix α = {DEFAULT_ALPHA}, median of {repeats} fits each",
            split.median.unwrap_or(f64::NAN),
            split.by
        ));
    Ok(report)
}
