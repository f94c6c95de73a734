//! A simulated batch's students as graded, against their true grades — at the score, as the
//! service grades them, or at the score regressed toward the cohort, a rule the service does
//! not use (docs/quality.md, "Grading at the regressed score"): one place that reads
//! `BatchScored` for the grading figures of `simulate` and `demo`.

use super::driver::BatchRun;
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

    /// Regressing toward the cohort moves a grade toward the middle or leaves it, never
    /// outward, and never reorders students: of two students, the higher scored keeps the
    /// grade at least as high.
    #[tokio::test]
    async fn a_regressed_grade_lies_between_the_score_s_grade_and_the_middle_and_keeps_the_order() {
        let scenario = Scenario::generate(ScenarioSpec {
            seed: 11,
            ..ScenarioSpec::default()
        });
        let settings = BatchSettings::with_budget(ComparisonBudget::new(150).unwrap());
        let run = run_batch(
            &scenario,
            settings,
            JudgeProfile::default(),
            Delivery::default(),
        )
        .await
        .unwrap();
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
