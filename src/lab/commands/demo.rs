//! `cj-assessment demo`: one generated batch of students and anchors, run to completion
//! through the real aggregate on the in-memory event store with the simulated judge; prints
//! the ranking, the grades and how well they match the hidden truth. No servers needed.
//! With `--database-url` the same batch runs on PostgreSQL instead (`demo_on_postgres`).

use super::demo_on_postgres;
use crate::commands::block_on;
use crate::config::DEFAULT_MAX_COMPARISONS;
use crate::lab::simulation::driver::{run_batch, BatchRun, Delivery};
use crate::lab::simulation::graded::{graded_students, GradeAt};
use crate::lab::simulation::judge::JudgeProfile;
use crate::lab::simulation::metrics::{kendall_tau, spearman};
use crate::lab::simulation::scenario::{Scenario, ScenarioSpec};
use anyhow::Context;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::stats::grade_scale::GradeScale;
use clap::Args;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Student essays in the batch.
    #[arg(long, default_value_t = 30)]
    pub essays: usize,
    /// Anchor essays of known grade (spread over the scale).
    #[arg(long, default_value_t = 8)]
    pub anchors: usize,
    /// Comparison budget of the batch.
    #[arg(long, default_value_t = DEFAULT_MAX_COMPARISONS)]
    pub budget: u32,
    /// Comparisons per wave (default: budget / 5).
    #[arg(long)]
    pub wave_size: Option<u32>,
    /// Seed of the generated batch, the judge and the planner.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Grade scale: swedish_8_anchor, eng5_np_legacy_9_step, eng5_np_national_9_step.
    #[arg(long, default_value = "swedish_8_anchor")]
    pub scale: GradeScale,
    /// Share of comparisons the simulated provider answers with an error.
    #[arg(long, default_value_t = 0.02)]
    pub error_rate: f64,
    /// Logit bonus of the essay shown first (LLM position bias).
    #[arg(long, default_value_t = 0.3)]
    pub position_bias: f64,
    /// Run on this PostgreSQL database (migrated first, projectors running) instead of in
    /// memory. Deliberately not read from CJ_DATABASE_URL: the plain demo needs no server.
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let scenario = Scenario::generate(ScenarioSpec {
        students: args.essays,
        anchors: args.anchors,
        scale: args.scale,
        seed: args.seed,
        ..ScenarioSpec::default()
    });
    let mut settings =
        BatchSettings::with_budget(ComparisonBudget::new(args.budget).context("--budget")?);
    settings.wave_size = args.wave_size;
    settings.seed = args.seed;
    let judge = JudgeProfile {
        error_rate: args.error_rate,
        position_bias: args.position_bias,
        ..JudgeProfile::default()
    };
    if let Some(url) = &args.database_url {
        let (run, notes) = block_on(demo_on_postgres::run(url, &scenario, settings, judge))??;
        print!("{}{notes}", report(&scenario, &run, args.budget));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let run = runtime.block_on(run_batch(&scenario, settings, judge, Delivery::default()))?;
    print!("{}", report(&scenario, &run, args.budget));
    Ok(())
}

/// The demo's printout: ranking table, then the batch's figures.
pub fn report(scenario: &Scenario, run: &BatchRun, budget: u32) -> String {
    let mut out = String::new();
    let spec = scenario.spec;
    out.push_str(&format!(
        "cj-assessment demo — {} students, {} anchors, scale {}, budget {}, seed {}\n\n",
        spec.students, spec.anchors, spec.scale, budget, spec.seed
    ));
    let Some(scored) = &run.scored else {
        if let Some(failed) = &run.failed {
            out.push_str(&format!(
                "batch failed: {} ({})\n",
                failed.reason.as_str(),
                serde_json::Value::Object(failed.details.clone())
            ));
        }
        return out;
    };
    let grades = spec.scale.grades();
    let mut essays: Vec<_> = scored.essays.iter().collect();
    essays.sort_by_key(|e| e.rank);
    out.push_str(&format!(
        "{:>4}  {:<16} {:>15}  {:<7} {:>6}  {:<5} {:<6}\n",
        "rank", "essay", "BT score ± SE", "grade", "P", "conf", "truth"
    ));
    for essay in essays {
        let truth = scenario
            .all()
            .find(|s| s.essay_id == essay.essay_id)
            .map_or("?", |s| grades[s.true_grade]);
        let (grade, probability, label) = match (&essay.known_grade, &essay.projection) {
            (Some(known), _) => (format!("[{known}]"), String::new(), "anchor".to_string()),
            (None, Some(p)) => (
                p.grade.clone(),
                format!("{:.2}", p.confidence),
                format!("{:?}", p.label).to_uppercase(),
            ),
            (None, None) => ("U".into(), String::new(), String::new()),
        };
        out.push_str(&format!(
            "{:>4}  {:<16} {:>7.2} ± {:<5.2}  {:<7} {:>6}  {:<6} {:<6}\n",
            essay.rank,
            essay.essay_id,
            essay.bt_score,
            essay.standard_error,
            grade,
            probability,
            label,
            truth
        ));
    }
    out.push('\n');
    if let Some(completed) = &run.completed {
        out.push_str(&format!(
            "status: {} (state COMPLETED)\ncomparisons: {} made of budget {} ({} successful, {} failed) in {} waves\n",
            completed.status,
            completed.comparisons_made,
            budget,
            completed.successful_comparisons,
            completed.failed_comparisons,
            completed.waves
        ));
    }
    if let Some(ssr) = scored.ssr {
        out.push_str(&format!("scale separation reliability: {ssr:.3}\n"));
    }
    match &scored.calibration_unavailable {
        Some(reason) => out.push_str(&format!("grade projections unavailable: {reason}\n")),
        None => {
            let (exact, adjacent, students) = grade_agreement(scenario, run);
            out.push_str(&format!(
                "grades vs truth: {exact}/{students} exact, {adjacent}/{students} within one grade\n"
            ));
        }
    }
    let (truth, estimate) = student_scores(scenario, run);
    if let (Some(rho), Some(tau)) = (spearman(&truth, &estimate), kendall_tau(&truth, &estimate)) {
        out.push_str(&format!(
            "ranking vs hidden quality: Spearman ρ = {rho:.3}, Kendall τ = {tau:.3}\n"
        ));
    }
    out
}

/// (hidden quality, BT score) of every student.
pub fn student_scores(scenario: &Scenario, run: &BatchRun) -> (Vec<f64>, Vec<f64>) {
    let Some(scored) = &run.scored else {
        return (Vec::new(), Vec::new());
    };
    scored
        .essays
        .iter()
        .filter(|e| !e.is_anchor)
        .filter_map(|e| Some((scenario.quality_of(&e.essay_id)?, e.bt_score)))
        .unzip()
}

/// (exact, within one grade, students graded) against the students' true grades.
pub fn grade_agreement(scenario: &Scenario, run: &BatchRun) -> (usize, usize, usize) {
    let students = graded_students(scenario, run, GradeAt::Score);
    (
        students.iter().filter(|s| s.distance() == 0).count(),
        students.iter().filter(|s| s.distance() <= 1).count(),
        students.len(),
    )
}
