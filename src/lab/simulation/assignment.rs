//! Batches of one assignment in sequence: the same anchors in every batch, new students in
//! each, and the grades of every batch computed four ways — from the batch's own anchors
//! (what a batch without a scale records), from the assignment scale learned over the
//! batches before it (which the batch was also paired by, as in the service),
//! and from an oracle scale that knows the anchors' true positions (in the judge's unit, and
//! in the batch's own) — so `simulate` can show how grading improves with the batch index
//! and how far the learned scale is from the best any linking could do. Optionally a calibration round of the anchors alone runs first and
//! is folded into the scale before the first batch (ADR 0012).

use super::driver::{run_batch, run_batch_of_assignment, BatchRun, Delivery};
use super::graded::GradedStudent;
use super::judge::JudgeProfile;
use super::metrics::{truth_fit, TruthFit};
use super::scenario::{Scenario, ScenarioSpec};
use crate::intake::calibration::round_budget;
use cj_aggregates::batch::events::BatchScored;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::stats::assignment_scale::AssignmentScale;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::grading::{CohortPrior, GradeProjection};

/// How a batch's grade boundaries were placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundaries {
    /// The batch's own anchors only (what a batch records without an assignment scale).
    BatchAlone,
    /// The assignment scale learned from the earlier batches, linked through the anchors.
    AssignmentScale,
    /// A scale that knows the anchors' true positions, linked the same way.
    Oracle,
    /// The same true positions in the unit of the batch's own axis (times the slope of its
    /// students' scores on their true qualities): what a shift linking could at best do.
    /// A judge that flips verdicts compresses every estimate (noisy judge: slope ≈ .8), so
    /// the true-unit oracle's boundaries lie wider apart than the students' scores do —
    /// which moves grades toward the middle, an advantage that is not knowledge of the
    /// anchors (measured: docs/quality.md).
    OracleInBatchUnit,
}

impl Boundaries {
    pub const ALL: [Boundaries; 4] = [
        Boundaries::BatchAlone,
        Boundaries::AssignmentScale,
        Boundaries::Oracle,
        Boundaries::OracleInBatchUnit,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Boundaries::BatchAlone => "batch alone",
            Boundaries::AssignmentScale => "assignment scale",
            Boundaries::Oracle => "oracle",
            Boundaries::OracleInBatchUnit => "oracle, batch's unit",
        }
    }
}

/// The students of one batch graded one way.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchGrades {
    /// 0 = the assignment's first batch.
    pub batch_index: usize,
    pub boundaries: Boundaries,
    pub students: Vec<GradedStudent>,
    /// The anchor positions the boundaries were placed from, against the anchors' true
    /// qualities (the oracle's: slope 1, scatter 0).
    pub anchors: Option<TruthFit>,
    /// The batch's student scores against their true qualities: the unit the boundaries
    /// should match.
    pub students_fit: Option<TruthFit>,
}

impl BatchGrades {
    /// Mean signed grade error of the batch's students, in grade steps.
    pub fn grade_shift(&self) -> Option<f64> {
        (!self.students.is_empty()).then(|| {
            self.students
                .iter()
                .map(|s| (s.predicted - s.truth) as f64)
                .sum::<f64>()
                / self.students.len() as f64
        })
    }
}

/// The scenario of batch `batch_index` of the assignment of `seed`: new students, the same
/// anchors (anchors depend on the scale and their count only).
pub fn batch_scenario(spec: ScenarioSpec, batch_index: usize) -> Scenario {
    Scenario::generate(ScenarioSpec {
        seed: spec.seed * 1_000 + batch_index as u64,
        ..spec
    })
}

/// The batch index of a calibration round's scenario (its seed; no batch reaches it).
const CALIBRATION_ROUND_INDEX: usize = 999;

/// The scale a calibration round of `comparisons_per_anchor` (0: none) leaves: the round
/// is the scenario's anchors alone, run to its budget `anchors × N / 2`.
async fn calibration_round(
    spec: ScenarioSpec,
    comparisons_per_anchor: u32,
    settings: &BatchSettings,
    judge: JudgeProfile,
) -> anyhow::Result<AssignmentScale> {
    if comparisons_per_anchor == 0 {
        return Ok(AssignmentScale::default());
    }
    let round = batch_scenario(
        ScenarioSpec {
            students: 0,
            ..spec
        },
        CALIBRATION_ROUND_INDEX,
    );
    let mut round_settings = settings.clone();
    round_settings.budget = round_budget(
        spec.anchors,
        comparisons_per_anchor,
        ComparisonBudget::new(u32::MAX).expect("positive"),
    );
    round_settings.wave_size = None;
    round_settings.stop_when_stable = false;
    round_settings.seed = round.spec.seed;
    let run = run_batch(&round, round_settings, judge, Delivery::default()).await?;
    Ok(run.scored.map_or_else(AssignmentScale::default, |scored| {
        AssignmentScale::default().fold_round(&scored.anchor_observations())
    }))
}

/// Runs `batches` batches of one assignment in sequence (after a calibration round of
/// `round_per_anchor` comparisons per anchor, unless 0) and grades each of them every way of [`Boundaries`].
pub async fn run_assignment(
    spec: ScenarioSpec,
    batches: usize,
    settings: BatchSettings,
    judge: JudgeProfile,
    round_per_anchor: u32,
) -> anyhow::Result<Vec<BatchGrades>> {
    let mut learned = calibration_round(spec, round_per_anchor, &settings, judge).await?;
    let mut grades = Vec::new();
    for batch_index in 0..batches {
        let scenario = batch_scenario(spec, batch_index);
        let mut batch_settings = settings.clone();
        batch_settings.seed = scenario.spec.seed;
        // The batch is paired by (and graded from) the scale learned so far, as the
        // service's would be; the oracle and the batch alone regrade the same verdicts.
        let run = run_batch_of_assignment(
            &scenario,
            batch_settings,
            judge,
            Delivery::default(),
            learned.clone(),
        )
        .await?;
        let Some(scored) = &run.scored else {
            continue;
        };
        let observations = scored.anchor_observations();
        let own = observations
            .iter()
            .map(|obs| (obs.essay_id.as_str(), obs.score));
        let own_fit = truth_fit(&against_truth(&scenario, own));
        let students_fit = truth_fit(
            &student_scores(scored)
                .filter_map(|(essay, score, _)| {
                    Some((scenario.quality_of(&essay.essay_id)?, score))
                })
                .collect::<Vec<_>>(),
        );
        let oracle = oracle_scale(&scenario, 1.0);
        let batch_unit = students_fit.map_or(1.0, |fit| fit.slope);
        let oracle_in_batch_unit = oracle_scale(&scenario, batch_unit);
        for boundaries in Boundaries::ALL {
            let (assignment, anchors) = match boundaries {
                Boundaries::BatchAlone => (&AssignmentScale::default(), own_fit),
                Boundaries::AssignmentScale if learned.is_empty() => (&learned, own_fit),
                Boundaries::AssignmentScale => (&learned, scale_fit(&scenario, &learned)),
                Boundaries::Oracle => (&oracle, scale_fit(&scenario, &oracle)),
                Boundaries::OracleInBatchUnit => (
                    &oracle_in_batch_unit,
                    scale_fit(&scenario, &oracle_in_batch_unit),
                ),
            };
            let projections = regrade(spec.scale, assignment, scored);
            grades.push(BatchGrades {
                batch_index,
                boundaries,
                students: graded_students(&scenario, &run, &projections),
                anchors,
                students_fit,
            });
        }
        learned = learned.fold(&observations);
    }
    Ok(grades)
}

/// The anchors at their true qualities times `unit`: the scenario's latent axis is the
/// judge's logit axis (unit 1).
fn oracle_scale(scenario: &Scenario, unit: f64) -> AssignmentScale {
    AssignmentScale::known(
        0,
        scenario
            .anchors
            .iter()
            .map(|a| (a.essay_id.to_string(), a.true_grade, a.quality * unit)),
    )
}

/// `(true quality, position)` of each anchor of `positions` (by essay id) the scenario has.
fn against_truth<'a>(
    scenario: &Scenario,
    positions: impl Iterator<Item = (&'a str, f64)>,
) -> Vec<(f64, f64)> {
    positions
        .filter_map(|(id, position)| {
            let anchor = scenario
                .anchors
                .iter()
                .find(|a| a.essay_id.as_str() == id)?;
            Some((anchor.quality, position))
        })
        .collect()
}

/// How `scale`'s anchor positions sit against the anchors' true qualities.
fn scale_fit(scenario: &Scenario, scale: &AssignmentScale) -> Option<TruthFit> {
    let positions = scale
        .anchors
        .iter()
        .map(|(id, anchor)| (id.as_str(), anchor.position));
    truth_fit(&against_truth(scenario, positions))
}

type StudentScore<'a> = (&'a cj_aggregates::batch::events::EssayScore, f64, f64);

fn student_scores(scored: &BatchScored) -> impl Iterator<Item = StudentScore<'_>> {
    scored
        .essays
        .iter()
        .filter(|e| !e.is_anchor)
        .map(|e| (e, e.bt_score, e.standard_error))
}

/// The batch's students projected with boundaries from `assignment` (the aggregate's
/// cohort prior included), in the order of [`student_scores`].
fn regrade(
    scale: GradeScale,
    assignment: &AssignmentScale,
    scored: &BatchScored,
) -> Vec<Option<GradeProjection>> {
    let (scores, errors): (Vec<f64>, Vec<f64>) =
        student_scores(scored).map(|(_, s, se)| (s, se)).unzip();
    let calibration = assignment
        .calibrate(scale, &scored.anchor_observations())
        .map(|c| c.with_cohort(CohortPrior::estimate(&scores, &errors)));
    student_scores(scored)
        .map(|(_, score, se)| Some(calibration.as_ref().ok()?.project(score, se)))
        .collect()
}

fn graded_students(
    scenario: &Scenario,
    run: &BatchRun,
    projections: &[Option<GradeProjection>],
) -> Vec<GradedStudent> {
    let Some(scored) = &run.scored else {
        return Vec::new();
    };
    student_scores(scored)
        .zip(projections)
        .filter_map(|((essay, _, _), projection)| {
            let projection = projection.as_ref()?;
            GradedStudent::of(scenario, essay, projection, &projection.base_grade)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::batch::settings::ComparisonBudget;

    #[test]
    fn batches_of_an_assignment_share_anchors_not_students() {
        let spec = ScenarioSpec::default();
        let (first, second) = (batch_scenario(spec, 0), batch_scenario(spec, 1));
        assert_eq!(first.anchors, second.anchors);
        assert_ne!(first.students, second.students);
    }

    #[tokio::test]
    async fn the_first_batch_grades_as_the_batch_alone_and_later_ones_use_the_scale() {
        let spec = ScenarioSpec {
            students: 16,
            seed: 3,
            ..ScenarioSpec::default()
        };
        let settings = BatchSettings::with_budget(ComparisonBudget::new(120).unwrap());
        let grades = run_assignment(spec, 2, settings, JudgeProfile::default(), 0)
            .await
            .unwrap();
        let of = |index, boundaries| {
            grades
                .iter()
                .find(|g| g.batch_index == index && g.boundaries == boundaries)
                .unwrap()
        };
        assert_eq!(
            of(0, Boundaries::BatchAlone).students,
            of(0, Boundaries::AssignmentScale).students
        );
        assert_ne!(
            of(1, Boundaries::BatchAlone).students,
            of(1, Boundaries::AssignmentScale).students
        );
        let in_batch_unit = of(1, Boundaries::OracleInBatchUnit);
        let (anchors, students) = (
            in_batch_unit.anchors.unwrap(),
            in_batch_unit.students_fit.unwrap(),
        );
        assert!((anchors.slope - students.slope).abs() < 1e-9 && anchors.scatter < 1e-9);
        assert_eq!(of(1, Boundaries::Oracle).anchors.unwrap().slope, 1.0);
    }

    #[tokio::test]
    async fn after_a_calibration_round_the_first_batch_is_graded_from_the_rounds_scale() {
        let spec = ScenarioSpec {
            students: 16,
            seed: 3,
            ..ScenarioSpec::default()
        };
        let settings = BatchSettings::with_budget(ComparisonBudget::new(120).unwrap());
        let grades = run_assignment(spec, 1, settings, JudgeProfile::default(), 8)
            .await
            .unwrap();
        let of = |boundaries| {
            grades
                .iter()
                .find(|g| g.batch_index == 0 && g.boundaries == boundaries)
                .unwrap()
        };
        assert_ne!(
            of(Boundaries::BatchAlone).students,
            of(Boundaries::AssignmentScale).students
        );
    }
}
