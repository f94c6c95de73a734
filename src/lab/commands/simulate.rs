//! `cj-assessment simulate`: many generated batches per budget through the real aggregate,
//! scored against the hidden truth — ranking (Spearman ρ, Kendall τ), reliability (SSR),
//! grades (exact and adjacent agreement, calibration error of the grade probabilities),
//! and what it cost (comparisons, waves). `--baseline` runs the same seeds with random
//! pairs and no early stopping, so the planner's gain shows in one run. `--probabilities`
//! runs judges that report P(A wins) with their verdicts side by side with hard verdicts,
//! and `--match-at` says how many comparisons each needs to rank as well as hard verdicts do
//! at a given budget (see docs/quality.md, "Graded verdicts").
//! `--assignment-batches K` runs K batches of one assignment in sequence instead and reports
//! grading per batch index ([`super::simulate_assignment`]).

use super::demo::student_scores;
use crate::lab::simulation::driver::{run_batch, BatchRun, Delivery};
use crate::lab::simulation::graded::{
    boundary_offsets, grade_at_position, grade_confusion, graded_students, GivenGrade, GradeAt,
    GradedStudent,
};
use crate::lab::simulation::judge::{JudgeProfile, Probabilities};
use crate::lab::simulation::metrics::{
    calibration_bins, expected_calibration_error, kendall_tau, spearman, CalibrationBin,
};
use crate::lab::simulation::scenario::{Scenario, ScenarioSpec};
use anyhow::Context;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget, PairingStrategy};
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::reliability::pearson;
use cj_aggregates::stats::scale::Estimator;
use clap::{Args, ValueEnum};

/// Bins of the calibration error: ten equal-width confidence bins, the usual choice.
pub(super) const CALIBRATION_BINS: usize = 10;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Batches (seeds) per budget.
    #[arg(long, default_value_t = 50)]
    pub seeds: u64,
    #[arg(long, default_value_t = 30)]
    pub students: usize,
    #[arg(long, default_value_t = 8)]
    pub anchors: usize,
    /// Budgets in comparisons per essay (each comparison involves two essays).
    #[arg(long, value_delimiter = ',', default_value = "5,10,15")]
    pub budgets: Vec<u32>,
    /// Also run random pairing without early stopping on the same seeds.
    #[arg(long)]
    pub baseline: bool,
    /// Run the planner without early stopping only ("planner, to budget"): every batch
    /// spends its budget, so a budget is what a ranking cost.
    #[arg(long)]
    pub to_budget: bool,
    #[arg(long, default_value = "swedish_8_anchor")]
    pub scale: GradeScale,
    #[arg(long, default_value_t = 0.05)]
    pub error_rate: f64,
    #[arg(long, default_value_t = 0.3)]
    pub position_bias: f64,
    /// Share of the judge's verdicts reversed (a judge that sometimes misreads).
    #[arg(long, default_value_t = 0.0)]
    pub flip_rate: f64,
    /// Batches of one assignment run in sequence (same anchors, new students); above 1,
    /// grading is reported per batch index with and without the learned assignment scale.
    #[arg(long, default_value_t = 1)]
    pub assignment_batches: usize,
    /// Comparisons per anchor of a calibration round of the anchors run before the
    /// assignment's first batch (0: none); implies the per-batch-index report.
    #[arg(long, default_value_t = 0)]
    pub calibration_round: u32,
    /// Comparisons per wave (default: budget / 5).
    #[arg(long)]
    pub wave_size: Option<u32>,
    /// Successful comparisons per essay before stability may end a batch; also the
    /// planner's coverage target.
    #[arg(long, default_value_t = 4)]
    pub min_comparisons: u32,
    /// Scale separation reliability a batch must reach to stop early.
    #[arg(long)]
    pub ssr_target: Option<f64>,
    /// Largest score change (logits) between fits a wave apart that still counts as stable.
    #[arg(long)]
    pub stability_threshold: Option<f64>,
    /// The batches' Bradley–Terry estimator (sirt: the reference; ilsr: choix's, α 0.01).
    #[arg(long, default_value_t = Estimator::default())]
    pub estimator: Estimator,
    /// What the judge reports as P(A wins) with its verdicts; several (comma-separated) run
    /// side by side on the same seeds.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "none")]
    pub probabilities: Vec<Probabilities>,
    /// Also print, per variant and probability, the comparisons per essay needed to reach
    /// the Spearman ρ that hard verdicts (`none`, which is then added) reach at this budget;
    /// it must be one of `--budgets`.
    #[arg(long)]
    pub match_at: Option<u32>,
    /// Also print each row's reliability diagram: per confidence bin, how many primary
    /// grades, their mean probability and the share that were right (both grading rules).
    #[arg(long)]
    pub reliability_diagram: bool,
    /// Also print, per row, each grade as given against the truth: how many students were
    /// given it and truly had it, their mean probability of it, the share right, and the
    /// true grades of those given it; and each boundary's offset from the true cut. (Like
    /// `--reliability-diagram`, not printed by the per-batch-index report of
    /// `--assignment-batches`.)
    #[arg(long)]
    pub grade_confusion: bool,
}

/// Figures of one variant at one budget, averaged over seeds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetSummary {
    pub variant: &'static str,
    /// What the judge reported with its verdicts.
    pub probabilities: Probabilities,
    pub per_essay: u32,
    pub budget: u32,
    pub spearman: f64,
    pub kendall: f64,
    /// SSR as the batch reported it.
    pub ssr: f64,
    /// The reference estimator's SSR from the batch's reliability report.
    pub reference_ssr: f64,
    /// Spearman–Brown corrected median split-half reliability the batch reported.
    pub split_half: f64,
    /// Squared Pearson correlation of every essay's score with its hidden quality: what
    /// reliability really was.
    pub true_reliability: f64,
    /// Grading as the service grades (at the score).
    pub grades: GradingFigures,
    /// Grading at the score regressed toward the cohort ([`GradeAt::RegressedScore`]).
    pub regressed: GradingFigures,
    /// Each grade boundary's mean offset from the true cut, in quality units
    /// ([`boundary_offsets`]), lowest boundary first.
    pub boundary_offsets: Vec<f64>,
    pub comparisons: f64,
    pub waves: f64,
    pub completed: usize,
    pub batches: usize,
}

/// Agreement of the students' primary grades with their true grades, over every seed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GradingFigures {
    pub exact: f64,
    pub adjacent: f64,
    pub calibration_error: f64,
    /// Mean probability of the primary grade: compare with `exact` to see over- or
    /// under-confidence.
    pub mean_confidence: f64,
    /// The reliability diagram behind `calibration_error`.
    pub bins: Vec<CalibrationBin>,
    /// Each grade as given against the truth.
    pub confusion: Vec<GivenGrade>,
}

impl GradingFigures {
    pub fn of(students: &[GradedStudent]) -> Self {
        let share = |hit: &dyn Fn(&GradedStudent) -> bool| {
            students.iter().filter(|s| hit(s)).count() as f64 / students.len().max(1) as f64
        };
        let predictions: Vec<(f64, bool)> = students
            .iter()
            .map(|s| (s.confidence, s.distance() == 0))
            .collect();
        GradingFigures {
            exact: share(&|s| s.distance() == 0),
            adjacent: share(&|s| s.distance() <= 1),
            calibration_error: expected_calibration_error(&predictions, CALIBRATION_BINS)
                .unwrap_or(f64::NAN),
            mean_confidence: mean(predictions.iter().map(|p| p.0)),
            bins: calibration_bins(&predictions, CALIBRATION_BINS),
            confusion: grade_confusion(students),
        }
    }
}

pub fn run(mut args: SimulateArgs) -> anyhow::Result<()> {
    if args.assignment_batches > 1 || args.calibration_round > 0 {
        let rows = super::simulate_assignment::simulate(&args)?;
        print!(
            "{}",
            super::simulate_assignment::markdown_table(&args, &rows)
        );
        return Ok(());
    }
    if let Some(reference) = args.match_at {
        if !args.budgets.contains(&reference) {
            anyhow::bail!("--match-at {reference} must be one of --budgets");
        }
        if !args.probabilities.contains(&Probabilities::None) {
            args.probabilities.insert(0, Probabilities::None);
        }
    }
    let summaries = simulate(&args)?;
    print!("{}", markdown_table(&args, &summaries));
    if args.reliability_diagram {
        print!("\n{}", reliability_diagrams(&summaries));
    }
    if args.grade_confusion {
        print!("\n{}", grade_confusion_table(args.scale, &summaries));
    }
    if let Some(reference) = args.match_at {
        print!("\n{}", budget_match_table(reference, &summaries));
    }
    Ok(())
}

pub fn simulate(args: &SimulateArgs) -> anyhow::Result<Vec<BudgetSummary>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
    let to_budget = ("planner, to budget", PairingStrategy::Adaptive, false);
    let mut variants = if args.to_budget {
        vec![to_budget]
    } else {
        vec![("planner", PairingStrategy::Adaptive, true)]
    };
    if args.baseline {
        if !args.to_budget {
            variants.push(to_budget);
        }
        variants.push(("baseline", PairingStrategy::Random, false));
    }
    let judge = args.judge();
    let essays = (args.students + args.anchors) as u32;
    let mut summaries = Vec::new();
    for &per_essay in &args.budgets {
        let budget = (per_essay * essays).div_ceil(2).max(1);
        for &(variant, pairing, stop_when_stable) in &variants {
            for &probabilities in &args.probabilities {
                let judge = JudgeProfile {
                    probabilities,
                    ..judge
                };
                let runs = run_seeds(&runtime, args, budget, pairing, stop_when_stable, judge)?;
                summaries.push(summarise(variant, probabilities, per_essay, budget, &runs));
            }
        }
    }
    Ok(summaries)
}

/// Every seed's batch of one variant at one budget, run concurrently.
fn run_seeds(
    runtime: &tokio::runtime::Runtime,
    args: &SimulateArgs,
    budget: u32,
    pairing: PairingStrategy,
    stop_when_stable: bool,
    judge: JudgeProfile,
) -> anyhow::Result<Vec<(Scenario, BatchRun)>> {
    let mut jobs = Vec::new();
    for seed in 1..=args.seeds {
        let scenario = Scenario::generate(ScenarioSpec {
            students: args.students,
            anchors: args.anchors,
            scale: args.scale,
            seed,
            ..ScenarioSpec::default()
        });
        let mut settings = args.settings(budget, pairing, stop_when_stable, seed)?;
        // A judge that reports probabilities is measured with the fits reading them.
        settings.graded_outcomes = judge.probabilities != Probabilities::None;
        jobs.push(runtime.spawn(async move {
            let run = run_batch(&scenario, settings, judge, Delivery::default()).await;
            (scenario, run)
        }));
    }
    let mut runs = Vec::new();
    for job in jobs {
        let (scenario, run) = runtime.block_on(job)?;
        runs.push((scenario, run.context("simulated batch")?));
    }
    Ok(runs)
}

impl SimulateArgs {
    /// The simulated judge these arguments describe.
    pub fn judge(&self) -> JudgeProfile {
        JudgeProfile {
            error_rate: self.error_rate,
            position_bias: self.position_bias,
            flip_rate: self.flip_rate,
            ..JudgeProfile::default()
        }
    }

    /// The settings of a batch at `budget` comparisons with these arguments' knobs.
    pub fn settings(
        &self,
        budget: u32,
        pairing: PairingStrategy,
        stop_when_stable: bool,
        seed: u64,
    ) -> anyhow::Result<BatchSettings> {
        let mut settings = BatchSettings::with_budget(ComparisonBudget::new(budget)?);
        settings.pairing = pairing;
        settings.stop_when_stable = stop_when_stable;
        settings.wave_size = self.wave_size;
        settings.min_comparisons_per_essay = self.min_comparisons;
        settings.seed = seed;
        settings.estimator = self.estimator;
        if let Some(target) = self.ssr_target {
            settings.ssr_target = target;
        }
        if let Some(threshold) = self.stability_threshold {
            settings.stability_threshold = threshold;
        }
        Ok(settings)
    }
}

pub(super) fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

fn summarise(
    variant: &'static str,
    probabilities: Probabilities,
    per_essay: u32,
    budget: u32,
    runs: &[(Scenario, BatchRun)],
) -> BudgetSummary {
    let correlations: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|(scenario, run)| {
            let (truth, estimate) = student_scores(scenario, run);
            Some((
                spearman(&truth, &estimate)?,
                kendall_tau(&truth, &estimate)?,
            ))
        })
        .collect();
    let graded_at = |at: GradeAt| {
        let students: Vec<GradedStudent> = runs
            .iter()
            .flat_map(|(scenario, run)| graded_students(scenario, run, at))
            .collect();
        GradingFigures::of(&students)
    };
    BudgetSummary {
        variant,
        probabilities,
        per_essay,
        budget,
        spearman: mean(correlations.iter().map(|c| c.0)),
        kendall: mean(correlations.iter().map(|c| c.1)),
        ssr: mean(runs.iter().filter_map(|(_, r)| r.scored.as_ref()?.ssr)),
        reference_ssr: mean(
            runs.iter()
                .filter_map(|(_, r)| r.scored.as_ref()?.reliability.as_ref()?.reference_ssr),
        ),
        split_half: mean(runs.iter().filter_map(|(_, r)| {
            r.scored
                .as_ref()?
                .reliability
                .as_ref()?
                .split_half
                .as_ref()?
                .spearman_brown
        })),
        true_reliability: mean(runs.iter().filter_map(|(s, r)| true_reliability(s, r))),
        grades: graded_at(GradeAt::Score),
        regressed: graded_at(GradeAt::RegressedScore),
        boundary_offsets: mean_offsets(runs),
        comparisons: mean(
            runs.iter()
                .filter_map(|(_, r)| Some(f64::from(r.completed.as_ref()?.comparisons_made))),
        ),
        waves: mean(runs.iter().map(|(_, r)| f64::from(r.waves()))),
        completed: runs.iter().filter(|(_, r)| r.completed.is_some()).count(),
        batches: runs.len(),
    }
}

/// Each boundary's offset from its true cut, averaged over the runs that have one.
fn mean_offsets(runs: &[(Scenario, BatchRun)]) -> Vec<f64> {
    let offsets: Vec<Vec<f64>> = runs
        .iter()
        .filter_map(|(scenario, run)| {
            let calibration = run.scored.as_ref()?.calibration.as_ref()?;
            let (qualities, scores) = student_scores(scenario, run);
            let students: Vec<(f64, f64)> = qualities.into_iter().zip(scores).collect();
            boundary_offsets(&students, &calibration.boundaries, &scenario.cut_points)
        })
        .collect();
    let boundaries = offsets.iter().map(Vec::len).max().unwrap_or(0);
    (0..boundaries)
        .map(|index| mean(offsets.iter().filter_map(|o| o.get(index).copied())))
        .collect()
}

/// Squared correlation of every scored essay's score with its hidden quality.
fn true_reliability(scenario: &Scenario, run: &BatchRun) -> Option<f64> {
    let (truth, estimate): (Vec<f64>, Vec<f64>) = run
        .scored
        .as_ref()?
        .essays
        .iter()
        .filter_map(|e| Some((scenario.quality_of(&e.essay_id)?, e.bt_score)))
        .unzip();
    pearson(&truth, &estimate).map(|r| r * r)
}

pub fn markdown_table(args: &SimulateArgs, summaries: &[BudgetSummary]) -> String {
    let mut out = format!(
        "simulate: {} students + {} anchors, scale {}, {} seeds, judge logistic(qA − qB + {}), {:.0} % errors\n\n",
        args.students,
        args.anchors,
        args.scale,
        args.seeds,
        args.position_bias,
        args.error_rate * 100.0
    );
    out.push_str("| variant | per essay | budget | Spearman ρ | Kendall τ | SSR | reference SSR | split-half | true rel. | SSR − true | exact grade | within one | calibration error | mean P(grade) | comparisons | waves | completed |\n");
    out.push_str(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in summaries {
        out.push_str(&format!(
            "| {}{} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:+.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} | {}/{} |\n",
            s.variant,
            probabilities_label(s.probabilities),
            s.per_essay,
            s.budget,
            s.spearman,
            s.kendall,
            s.ssr,
            s.reference_ssr,
            s.split_half,
            s.true_reliability,
            s.ssr - s.true_reliability,
            s.grades.exact,
            s.grades.adjacent,
            s.grades.calibration_error,
            s.grades.mean_confidence,
            s.comparisons,
            s.waves,
            s.completed,
            s.batches
        ));
    }
    out.push_str("\nThe same batches graded at each score regressed toward its batch's cohort (one reliability factor per batch; not the service's rule, docs/quality.md):\n\n");
    out.push_str("| variant | per essay | exact grade | within one | calibration error | mean P(grade) |\n|---|---:|---:|---:|---:|---:|\n");
    for s in summaries {
        let r = &s.regressed;
        out.push_str(&format!(
            "| {}{} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            s.variant,
            probabilities_label(s.probabilities),
            s.per_essay,
            r.exact,
            r.adjacent,
            r.calibration_error,
            r.mean_confidence
        ));
    }
    out
}

/// Every row's reliability diagram, at the score and at the regressed score.
pub fn reliability_diagrams(summaries: &[BudgetSummary]) -> String {
    let mut out = String::from("Reliability diagrams (confidence bin: primary grades, mean P(grade), share right):\n\n| variant | per essay | graded at | bins |\n|---|---:|---|---|\n");
    for s in summaries {
        for (rule, figures) in [("score", &s.grades), ("regressed score", &s.regressed)] {
            let bins: Vec<String> = figures
                .bins
                .iter()
                .map(|b| {
                    format!(
                        "{:.1}–{:.1}: {} / {:.2} / {:.2}",
                        b.index as f64 / CALIBRATION_BINS as f64,
                        (b.index + 1) as f64 / CALIBRATION_BINS as f64,
                        b.count,
                        b.confidence,
                        b.accuracy
                    )
                })
                .collect();
            out.push_str(&format!(
                "| {}{} | {} | {rule} | {} |\n",
                s.variant,
                probabilities_label(s.probabilities),
                s.per_essay,
                bins.join("; ")
            ));
        }
    }
    out
}

/// Every row's grades as given against the truth, at the score and at the regressed score,
/// then every row's boundary offsets from the true cuts.
pub fn grade_confusion_table(scale: GradeScale, summaries: &[BudgetSummary]) -> String {
    let mut out = String::from("Grades as given against the truth (students truly holding the grade, given it, their mean P(grade), share right, true grades of those given it):\n\n| variant | per essay | graded at | grade | truly | given | mean P(grade) | right | true grades of those given it |\n|---|---:|---|---|---:|---:|---:|---:|---|\n");
    for s in summaries {
        for (rule, figures) in [("score", &s.grades), ("regressed score", &s.regressed)] {
            for grade in &figures.confusion {
                let from: Vec<String> = grade
                    .true_grades
                    .iter()
                    .map(|&(truth, count)| format!("{} {count}", grade_at_position(scale, truth)))
                    .collect();
                let (confidence, right) = if grade.given == 0 {
                    ("—".to_string(), "—".to_string())
                } else {
                    (
                        format!("{:.2}", grade.mean_confidence),
                        format!("{:.2}", grade.right() as f64 / grade.given as f64),
                    )
                };
                out.push_str(&format!(
                    "| {}{} | {} | {rule} | {} | {} | {} | {confidence} | {right} | {} |\n",
                    s.variant,
                    probabilities_label(s.probabilities),
                    s.per_essay,
                    grade_at_position(scale, grade.position),
                    grade.truly,
                    grade.given,
                    from.join(", ")
                ));
            }
        }
    }
    out.push_str("\nEach boundary's mean offset from the true cut, in quality units (the boundary read through the line of the students' scores on their qualities; + too high):\n\n| variant | per essay | boundaries |\n|---|---:|---|\n");
    for s in summaries.iter().filter(|s| !s.boundary_offsets.is_empty()) {
        let offsets: Vec<String> = (0..)
            .zip(&s.boundary_offsets)
            .map(|(below, offset)| {
                format!(
                    "{}/{} {offset:+.2}",
                    grade_at_position(scale, below),
                    grade_at_position(scale, below + 1)
                )
            })
            .collect();
        out.push_str(&format!(
            "| {}{} | {} | {} |\n",
            s.variant,
            probabilities_label(s.probabilities),
            s.per_essay,
            offsets.join(", ")
        ));
    }
    out
}

/// ", calibrated" after the variant's name, nothing for hard verdicts.
fn probabilities_label(probabilities: Probabilities) -> String {
    match probabilities {
        Probabilities::None => String::new(),
        other => format!(
            ", {}",
            other
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        ),
    }
}

/// Per essay (interpolated linearly between the budgets run) at which `summaries` of one
/// variant and probability first reach `target` ρ; `None` when no budget run reaches it,
/// the smallest budget when it already does.
pub fn per_essay_to_reach(target: f64, summaries: &[&BudgetSummary]) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = summaries
        .iter()
        .map(|s| (f64::from(s.per_essay), s.spearman))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let reached = points.iter().position(|&(_, rho)| rho >= target)?;
    if reached == 0 {
        return Some(points[0].0);
    }
    let ((x0, y0), (x1, y1)) = (points[reached - 1], points[reached]);
    Some(x0 + (x1 - x0) * (target - y0) / (y1 - y0))
}

/// For every variant and probability: the comparisons per essay needed to reach the ρ its
/// hard-verdict runs reach at `reference` per essay, and that as a share of `reference`.
pub fn budget_match_table(reference: u32, summaries: &[BudgetSummary]) -> String {
    let mut out = format!(
        "comparisons per essay to reach the Spearman ρ of hard verdicts at {reference} per essay\n\n"
    );
    out.push_str("| variant | hard ρ at reference | per essay needed | share of reference |\n");
    out.push_str("|---|---:|---:|---:|\n");
    let mut seen: Vec<(&str, Probabilities)> = Vec::new();
    for s in summaries {
        if !seen.contains(&(s.variant, s.probabilities)) {
            seen.push((s.variant, s.probabilities));
        }
    }
    for (variant, probabilities) in seen {
        let Some(hard) = summaries.iter().find(|s| {
            s.variant == variant
                && s.probabilities == Probabilities::None
                && s.per_essay == reference
        }) else {
            continue;
        };
        let runs: Vec<&BudgetSummary> = summaries
            .iter()
            .filter(|s| s.variant == variant && s.probabilities == probabilities)
            .collect();
        let (needed, share) = match per_essay_to_reach(hard.spearman, &runs) {
            Some(needed) => (
                format!("{needed:.1}"),
                format!("{:.2}", needed / f64::from(reference)),
            ),
            None => ("not reached".into(), "—".into()),
        };
        out.push_str(&format!(
            "| {variant}{} | {:.3} | {needed} | {share} |\n",
            probabilities_label(probabilities),
            hard.spearman,
        ));
    }
    out
}
