//! A simulated batch's students as graded, against their true grades — at the score, as the
//! service grades them, or at the score regressed toward the cohort, a rule the service does
//! not use (docs/quality.md, "Grading at the regressed score"): one place that reads
//! `BatchScored` for the grading figures of `simulate` and `demo`.

use super::driver::BatchRun;
use super::metrics::truth_fit;
use super::scenario::Scenario;
use cj_aggregates::batch::events::{BatchScored, EssayScore};
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::grading::GradeProjection;

/// Where on the axis a student's primary grade is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeAt {
    /// The interval holding the student's score: the service's rule.
    Score,
    /// The interval holding the score regressed toward the batch's mean by the batch's
    /// reliability, variance / (variance + mean squared SE), one factor for every student
    /// (so grades still follow the ranking). Its probability is read from the projection.
    RegressedScore,
}

/// One student's grade against the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradedStudent {
    /// Index of the grade on the scale; the below-lowest grade is −1.
    pub predicted: i64,
    pub truth: i64,
    /// The projection's probability of the predicted grade.
    pub confidence: f64,
}

impl GradedStudent {
    /// `essay` of `scenario` given `grade` by `projection` (its probability the confidence);
    /// `None` for an essay that is not one of the scenario's students.
    pub fn of(
        scenario: &Scenario,
        essay: &EssayScore,
        projection: &GradeProjection,
        grade: &str,
    ) -> Option<GradedStudent> {
        let truth = scenario
            .students
            .iter()
            .find(|s| s.essay_id == essay.essay_id)?;
        Some(GradedStudent {
            predicted: grade_position(scenario.spec.scale, grade),
            truth: truth.true_grade as i64,
            confidence: projection.probabilities.get(grade).copied().unwrap_or(0.0),
        })
    }

    pub fn distance(&self) -> i64 {
        (self.predicted - self.truth).abs()
    }
}

/// One grade against the truth over many students: how many were given it and how many truly
/// had it, their mean probability of it, and the true grades of those given it — where a
/// calibration error comes from (a grade given too often, too confidently).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GivenGrade {
    /// Position on the scale (the below-lowest grade −1).
    pub position: i64,
    pub given: usize,
    pub truly: usize,
    /// Mean probability of this grade over the students given it (0 when none was).
    pub mean_confidence: f64,
    /// (true grade position, how many of those given this grade truly had it), lowest first.
    pub true_grades: Vec<(i64, usize)>,
}

impl GivenGrade {
    /// Students given this grade who truly had it.
    pub fn right(&self) -> usize {
        self.true_grades
            .iter()
            .find(|&&(truth, _)| truth == self.position)
            .map_or(0, |&(_, count)| count)
    }
}

/// Every grade given to or truly held by one of `students`, lowest first.
pub fn grade_confusion(students: &[GradedStudent]) -> Vec<GivenGrade> {
    let mut positions: Vec<i64> = students
        .iter()
        .flat_map(|s| [s.predicted, s.truth])
        .collect();
    positions.sort_unstable();
    positions.dedup();
    positions
        .iter()
        .map(|&position| {
            let given: Vec<&GradedStudent> = students
                .iter()
                .filter(|s| s.predicted == position)
                .collect();
            let true_grades = positions
                .iter()
                .map(|&truth| (truth, given.iter().filter(|s| s.truth == truth).count()))
                .filter(|&(_, count)| count > 0)
                .collect();
            GivenGrade {
                position,
                given: given.len(),
                truly: students.iter().filter(|s| s.truth == position).count(),
                mean_confidence: given.iter().map(|s| s.confidence).sum::<f64>()
                    / given.len().max(1) as f64,
                true_grades,
            }
        })
        .collect()
}

/// How far each grade boundary lies from the true cut between the same two grades, in units
/// of the hidden quality. A boundary is read on the quality axis through the least-squares
/// line of the students' scores on their qualities (`students`: (quality, score) pairs), the
/// quality whose average score it is, so a compressed or shifted scale does not count; only
/// where the boundaries sit among the students does. `boundaries` and `cuts` pair up in order
/// (a calibration's `boundaries`, without the below-lowest cutoff, and the scenario's
/// `cut_points`). Positive: the boundary lies too high. `None` when the students give no
/// rising line (fewer than three, no spread, or a non-finite score).
pub fn boundary_offsets(
    students: &[(f64, f64)],
    boundaries: &[f64],
    cuts: &[f64],
) -> Option<Vec<f64>> {
    let line = truth_fit(students).filter(|line| line.slope > 0.0)?;
    Some(
        boundaries
            .iter()
            .zip(cuts)
            .map(|(&boundary, &cut)| line.quality_of(boundary) - cut)
            .collect(),
    )
}

/// The name of the grade at `position` on `scale` (the below-lowest grade at −1).
pub fn grade_at_position(scale: GradeScale, position: i64) -> &'static str {
    let name = match usize::try_from(position) {
        Ok(index) => scale.grades().get(index).copied(),
        Err(_) if position == -1 => scale.below_lowest(),
        Err(_) => None,
    };
    name.unwrap_or("?")
}

/// Position of a projected grade on the scale; the below-lowest grade sits at −1.
pub fn grade_position(scale: GradeScale, grade: &str) -> i64 {
    scale.index_of(grade).map_or(-1, |i| i as i64)
}

/// Every projected student of `run`, graded `at`.
pub fn graded_students(scenario: &Scenario, run: &BatchRun, at: GradeAt) -> Vec<GradedStudent> {
    let Some(scored) = &run.scored else {
        return Vec::new();
    };
    let regress = regression(scored);
    scored
        .essays
        .iter()
        .filter(|essay| !essay.is_anchor)
        .filter_map(|essay| {
            let projection = essay.projection.as_ref()?;
            let grade = match at {
                GradeAt::Score => projection.base_grade.clone(),
                GradeAt::RegressedScore => regressed_grade(scored, essay, projection, &regress),
            };
            GradedStudent::of(scenario, essay, projection, &grade)
        })
        .collect()
}

/// The batch's regression of a score toward its cohort: `None` without a cohort.
fn regression(scored: &BatchScored) -> Option<impl Fn(f64) -> f64> {
    let cohort = scored.calibration.as_ref()?.cohort?;
    let students: Vec<&EssayScore> = scored.essays.iter().filter(|e| !e.is_anchor).collect();
    let noise = students
        .iter()
        .map(|e| e.standard_error * e.standard_error)
        .sum::<f64>()
        / students.len().max(1) as f64;
    let reliability = cohort.variance / (cohort.variance + noise);
    Some(move |score: f64| cohort.mean + reliability * (score - cohort.mean))
}

/// The grade at `essay`'s regressed score; the projection's own grade where there is no
/// regression (no cohort) or no interval (a NaN score), so both rules count every student.
fn regressed_grade(
    scored: &BatchScored,
    essay: &EssayScore,
    projection: &GradeProjection,
    regress: &Option<impl Fn(f64) -> f64>,
) -> String {
    regress
        .as_ref()
        .and_then(|regress| {
            let calibration = scored.calibration.as_ref()?;
            calibration.interval_of(regress(essay.bt_score))
        })
        .map_or_else(
            || projection.base_grade.clone(),
            |interval| interval.grade.to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::simulation::driver::{run_batch, Delivery};
    use crate::lab::simulation::judge::JudgeProfile;
    use crate::lab::simulation::scenario::ScenarioSpec;
    use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};

    /// One batch of `spec`'s scenario, judged by the default judge to 150 comparisons.
    async fn simulated_batch(spec: ScenarioSpec) -> (Scenario, BatchRun) {
        let scenario = Scenario::generate(spec);
        let settings = BatchSettings::with_budget(ComparisonBudget::new(150).unwrap());
        let run = run_batch(
            &scenario,
            settings,
            JudgeProfile::default(),
            Delivery::default(),
        )
        .await
        .unwrap();
        (scenario, run)
    }

    fn student(predicted: i64, truth: i64, confidence: f64) -> GradedStudent {
        GradedStudent {
            predicted,
            truth,
            confidence,
        }
    }

    /// On a scale compressed to 0.8 and shifted by 0.3, a boundary placed where a student
    /// δ above the cut would score lies δ too high; the line, not the raw score, is read.
    #[test]
    fn a_boundary_is_offset_from_its_cut_by_the_quality_it_stands_for() {
        let students: Vec<(f64, f64)> = [-2.0, -0.5, 0.5, 1.0, 2.5]
            .iter()
            .map(|&quality| (quality, 0.3 + 0.8 * quality))
            .collect();
        let cuts = [-1.0, 0.2, 1.4];
        let deltas = [0.25, -0.1, 0.0];
        let boundaries: Vec<f64> = cuts
            .iter()
            .zip(deltas)
            .map(|(cut, delta)| 0.3 + 0.8 * (cut + delta))
            .collect();
        let offsets = boundary_offsets(&students, &boundaries, &cuts).unwrap();
        for (offset, delta) in offsets.iter().zip(deltas) {
            assert!((offset - delta).abs() < 1e-12, "{offsets:?}");
        }
        let falling: Vec<(f64, f64)> = students.iter().map(|&(q, y)| (q, -y)).collect();
        assert!(boundary_offsets(&falling, &boundaries, &cuts).is_none());
    }

    /// A batch on a scale with a below-lowest grade has as many boundaries as the scenario
    /// has cuts: the below-lowest cutoff is not among them, so they pair up in order.
    #[tokio::test]
    async fn boundaries_and_cuts_pair_up_on_a_scale_with_a_below_lowest_grade() {
        let (scenario, run) = simulated_batch(ScenarioSpec {
            seed: 5,
            anchors: 9,
            scale: GradeScale::Eng5NpLegacy9Step,
            ..ScenarioSpec::default()
        })
        .await;
        let calibration = run.scored.as_ref().unwrap().calibration.as_ref().unwrap();
        assert!(calibration.below_lowest_cutoff.is_some());
        assert_eq!(calibration.boundaries.len(), scenario.cut_points.len());
        assert_eq!(
            calibration.boundaries.len(),
            GradeScale::Eng5NpLegacy9Step.grades().len() - 1
        );
    }

    /// Each grade counts the students given it and those truly holding it apart, and says
    /// where the ones given it truly belong: a grade given to no one still shows its truth.
    #[test]
    fn the_confusion_counts_each_grade_as_given_and_as_truly_held() {
        let students = [
            student(0, 0, 0.6),
            student(0, 1, 0.4),
            student(0, 2, 0.5),
            student(2, 2, 0.3),
            student(2, 3, 0.1),
        ];
        let confusion = grade_confusion(&students);
        let positions: Vec<i64> = confusion.iter().map(|g| g.position).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
        let lowest = &confusion[0];
        assert_eq!((lowest.given, lowest.truly, lowest.right()), (3, 1, 1));
        assert!((lowest.mean_confidence - 0.5).abs() < 1e-12);
        assert_eq!(lowest.true_grades, [(0, 1), (1, 1), (2, 1)]);
        let never_given = &confusion[1];
        assert_eq!(
            (never_given.given, never_given.truly, never_given.right()),
            (0, 1, 0)
        );
        assert_eq!(never_given.mean_confidence, 0.0);
        assert!(never_given.true_grades.is_empty());
        let third = &confusion[2];
        assert_eq!((third.given, third.truly, third.right()), (2, 2, 1));
        assert_eq!(third.true_grades, [(2, 1), (3, 1)]);
        assert_eq!(grade_at_position(GradeScale::Eng5NpLegacy9Step, -1), "F");
        assert_eq!(grade_at_position(GradeScale::Swedish8Anchor, 7), "A");
        assert_eq!(grade_at_position(GradeScale::Swedish8Anchor, 8), "?");
        assert_eq!(grade_at_position(GradeScale::Swedish8Anchor, -1), "?");
    }

    /// Regressing toward the cohort moves a grade toward the middle or leaves it, never
    /// outward, and never reorders students: of two students, the higher scored keeps the
    /// grade at least as high.
    #[tokio::test]
    async fn a_regressed_grade_lies_between_the_score_s_grade_and_the_middle_and_keeps_the_order() {
        let (scenario, run) = simulated_batch(ScenarioSpec {
            seed: 11,
            ..ScenarioSpec::default()
        })
        .await;
        let (at_score, regressed) = (
            graded_students(&scenario, &run, GradeAt::Score),
            graded_students(&scenario, &run, GradeAt::RegressedScore),
        );
        assert_eq!(at_score.len(), scenario.students.len());
        assert_eq!(regressed.len(), at_score.len());
        let scored = run.scored.as_ref().unwrap();
        let calibration = scored.calibration.as_ref().unwrap();
        let cohort = calibration.cohort.unwrap();
        // The factor is the batch's reliability: the cohort's variance over itself plus the
        // students' mean squared SE.
        let students: Vec<&EssayScore> = scored.essays.iter().filter(|e| !e.is_anchor).collect();
        let noise = students
            .iter()
            .map(|e| e.standard_error.powi(2))
            .sum::<f64>()
            / students.len() as f64;
        let factor = cohort.variance / (cohort.variance + noise);
        for (essay, moved) in students.iter().zip(&regressed) {
            let at = cohort.mean + factor * (essay.bt_score - cohort.mean);
            let expected = grade_position(
                scenario.spec.scale,
                calibration.interval_of(at).unwrap().grade,
            );
            assert_eq!(moved.predicted, expected, "{essay:?}");
        }
        let middle = grade_position(
            scenario.spec.scale,
            calibration.interval_of(cohort.mean).unwrap().grade,
        );
        for (score, moved) in at_score.iter().zip(&regressed) {
            let (lower, upper) = (score.predicted.min(middle), score.predicted.max(middle));
            assert!(
                (lower..=upper).contains(&moved.predicted),
                "{score:?} → {moved:?}, middle {middle}"
            );
        }
        assert!(
            at_score
                .iter()
                .zip(&regressed)
                .any(|(s, r)| s.predicted != r.predicted),
            "the regression moved no grade: the test shows nothing"
        );
        let students: Vec<(f64, i64)> = scored
            .essays
            .iter()
            .filter(|e| !e.is_anchor)
            .map(|e| e.bt_score)
            .zip(regressed.iter().map(|r| r.predicted))
            .collect();
        for a in &students {
            for b in &students {
                assert!(
                    a.0 <= b.0 || a.1 >= b.1,
                    "{a:?} scored above {b:?} but graded below"
                );
            }
        }
    }
}
