//! `simulate --assignment-batches K`: K batches of one assignment in sequence per seed
//! (the same anchors, new students), graded from the batch's own anchors, from the
//! assignment scale learned over the earlier batches, and from an oracle that knows the
//! anchors' true positions (in the judge's unit and in the batch's); figures per budget,
//! batch index and way of grading, with how the anchor positions used sit against the truth
//! (slope, scatter) and the students' slope.
//! `--calibration-round N` runs a calibration round of the anchors (N comparisons per
//! anchor) first, so batch 1's "assignment scale" row is graded from the round's scale.

use super::simulate::{mean, GradingFigures, SimulateArgs};
use crate::lab::simulation::assignment::{run_assignment, BatchGrades, Boundaries};
use crate::lab::simulation::graded::GradedStudent;
use crate::lab::simulation::scenario::ScenarioSpec;
use cj_aggregates::batch::settings::PairingStrategy;

/// Grading figures of one (budget, batch index, boundaries), over every seed.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentRow {
    pub per_essay: u32,
    /// 1 = the assignment's first batch.
    pub batch: usize,
    pub boundaries: Boundaries,
    pub exact: f64,
    pub adjacent: f64,
    /// Mean over seeds of |mean signed grade error of the batch's students| (grade steps).
    pub grade_shift: f64,
    pub calibration_error: f64,
    pub mean_confidence: f64,
    /// Mean over seeds of the slope of the anchor positions the boundaries came from on
    /// the anchors' true qualities (1 = the true unit).
    pub anchor_slope: f64,
    /// Mean over seeds of those positions' residual SD around that line (logits).
    pub anchor_scatter: f64,
    /// Mean over seeds of the slope of the students' scores on their true qualities.
    pub student_slope: f64,
    pub batches: usize,
}

pub fn simulate(args: &SimulateArgs) -> anyhow::Result<Vec<AssignmentRow>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().build()?;
    let essays = (args.students + args.anchors) as u32;
    let mut rows = Vec::new();
    for &per_essay in &args.budgets {
        let budget = (per_essay * essays).div_ceil(2).max(1);
        let mut jobs = Vec::new();
        for seed in 1..=args.seeds {
            let spec = ScenarioSpec {
                students: args.students,
                anchors: args.anchors,
                scale: args.scale,
                seed,
                ..ScenarioSpec::default()
            };
            let settings = args.settings(budget, PairingStrategy::Adaptive, true, seed)?;
            let (batches, judge) = (args.assignment_batches, args.judge());
            let round = args.calibration_round;
            jobs.push(runtime.spawn(run_assignment(spec, batches, settings, judge, round)));
        }
        let mut grades: Vec<BatchGrades> = Vec::new();
        for job in jobs {
            grades.extend(runtime.block_on(job)??);
        }
        for batch_index in 0..args.assignment_batches {
            for boundaries in Boundaries::ALL {
                let cell: Vec<&BatchGrades> = grades
                    .iter()
                    .filter(|g| g.batch_index == batch_index && g.boundaries == boundaries)
                    .collect();
                rows.push(summarise(per_essay, batch_index + 1, boundaries, &cell));
            }
        }
    }
    Ok(rows)
}

fn summarise(
    per_essay: u32,
    batch: usize,
    boundaries: Boundaries,
    cell: &[&BatchGrades],
) -> AssignmentRow {
    let students: Vec<GradedStudent> = cell
        .iter()
        .flat_map(|g| g.students.iter().copied())
        .collect();
    let figures = GradingFigures::of(&students);
    AssignmentRow {
        per_essay,
        batch,
        boundaries,
        exact: figures.exact,
        adjacent: figures.adjacent,
        grade_shift: mean(cell.iter().filter_map(|g| g.grade_shift()).map(f64::abs)),
        calibration_error: figures.calibration_error,
        mean_confidence: figures.mean_confidence,
        anchor_slope: mean(cell.iter().filter_map(|g| g.anchors).map(|fit| fit.slope)),
        anchor_scatter: mean(cell.iter().filter_map(|g| g.anchors).map(|fit| fit.scatter)),
        student_slope: mean(
            cell.iter()
                .filter_map(|g| g.students_fit)
                .map(|fit| fit.slope),
        ),
        batches: cell.len(),
    }
}

pub fn markdown_table(args: &SimulateArgs, rows: &[AssignmentRow]) -> String {
    let mut out = format!(
        "simulate: {} batches of one assignment{}, {} students + {} anchors each, scale {}, {} seeds, judge logistic(qA − qB + {}), {:.0} % flipped, {:.0} % errors\n\n",
        args.assignment_batches,
        if args.calibration_round > 0 {
            format!(
                " after a calibration round of {} comparisons per anchor",
                args.calibration_round
            )
        } else {
            String::new()
        },
        args.students,
        args.anchors,
        args.scale,
        args.seeds,
        args.position_bias,
        args.flip_rate * 100.0,
        args.error_rate * 100.0
    );
    out.push_str("| per essay | batch | boundaries | exact grade | within one | mean abs grade shift | calibration error | mean P(grade) | anchor slope | anchor scatter | student slope | batches |\n");
    out.push_str("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} |\n",
            r.per_essay,
            r.batch,
            r.boundaries.label(),
            r.exact,
            r.adjacent,
            r.grade_shift,
            r.calibration_error,
            r.mean_confidence,
            r.anchor_slope,
            r.anchor_scatter,
            r.student_slope,
            r.batches
        ));
    }
    out
}
