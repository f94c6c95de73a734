//! A scored batch's grades: the calibration of its grade boundaries — from the assignment's
//! scale linked through the batch's anchors when the service handed one in (ADR 0012), else
//! from the batch's anchors alone — and every student's grade projection.
//!
//! They are derived from what `BatchScored` records (each essay's score and SE, which are
//! anchors of which grade), never from the fits themselves. That is what lets the command
//! bus decide a scoring command once without the assignment's scale and then grade the
//! `BatchScored` it decided with the scale ([`DecisionInputs::regrade`]) instead of scoring
//! the batch a second time: the fits and the reliability report (200 split-half fits) are
//! nearly all of a finalization's cost, the grading a few microseconds.

use crate::batch::events::{BatchScored, CjBatchEvent, CompletionTrigger};
use crate::batch::inputs::DecisionInputs;
use crate::batch::CjBatch;
use crate::stats::assignment_scale::{AnchorObservation, AssignmentScale};
use crate::stats::grade_scale::GradeScale;
use crate::stats::grading::{Calibration, CalibrationError, CohortPrior};
use crate::stats::scale::ScaleFit;

/// Why a scored batch has no grade projections. Its Display is the text
/// `BatchScored.calibration_unavailable` records.
#[derive(Debug, thiserror::Error)]
pub(super) enum CalibrationUnavailable {
    /// Too few student essays were compared to place any of them.
    #[error("fewer than two student essays were compared")]
    InsufficientEssays,
    /// The anchors cannot calibrate the scale.
    #[error(transparent)]
    Anchors(CalibrationError),
}

/// A batch's grade calibration and the version of the assignment scale it rests on
/// (`None`: the batch's own anchors alone).
pub(super) struct GradeCalibration {
    pub calibration: Calibration,
    pub assignment_scale_version: Option<u32>,
}

/// The grade boundaries for a batch whose anchors were placed at `anchors` and its students
/// at `student_scores` ± `student_ses`: from `assignment` linked to the batch's axis through
/// its anchors when they share one, else from the batch's anchors alone — with an empty
/// `assignment` exactly the calibration before assignment scales.
fn grade_boundaries(
    scale: GradeScale,
    anchors: &[AnchorObservation],
    student_scores: &[f64],
    student_ses: &[f64],
    assignment: &AssignmentScale,
) -> Result<GradeCalibration, CalibrationError> {
    let assignment_scale_version = assignment.link(anchors).map(|_| assignment.version);
    let calibration = assignment
        .calibrate(scale, anchors)?
        .with_cohort(CohortPrior::estimate(student_scores, student_ses));
    Ok(GradeCalibration {
        calibration,
        assignment_scale_version,
    })
}

impl CjBatch {
    /// The grade boundaries for `fit` (the planner steers by the batch's own:
    /// `assignment` empty), placed as a scored batch's are.
    pub(super) fn calibration(
        &self,
        fit: &ScaleFit,
        assignment: &AssignmentScale,
    ) -> Result<GradeCalibration, CalibrationError> {
        let scale = self.grade_scale();
        let placed = || {
            self.essays
                .iter()
                .zip(fit.scores.iter().zip(&fit.standard_errors))
        };
        let anchors: Vec<AnchorObservation> = placed()
            .filter(|(essay, _)| essay.is_anchor)
            .filter_map(|(essay, (&score, &standard_error))| {
                Some(AnchorObservation {
                    essay_id: essay.essay_id.to_string(),
                    grade_index: scale.index_of(essay.known_grade.as_deref()?)?,
                    score,
                    standard_error,
                })
            })
            .collect();
        let (student_scores, student_ses): (Vec<f64>, Vec<f64>) = placed()
            .filter(|(essay, _)| !essay.is_anchor)
            .map(|(_, (&score, &se))| (score, se))
            .unzip();
        grade_boundaries(scale, &anchors, &student_scores, &student_ses, assignment)
    }
}

impl BatchScored {
    /// Calibrates the grade boundaries of these scores from `assignment` (see the module
    /// doc) and projects every student's grade, replacing whatever grades they had. A batch
    /// that ended with too few essays (`trigger`) has none.
    pub(super) fn grade(&mut self, trigger: CompletionTrigger, assignment: &AssignmentScale) {
        let graded = match trigger {
            CompletionTrigger::InsufficientEssays => {
                Err(CalibrationUnavailable::InsufficientEssays)
            }
            _ => {
                let (student_scores, student_ses): (Vec<f64>, Vec<f64>) = self
                    .essays
                    .iter()
                    .filter(|essay| !essay.is_anchor)
                    .map(|essay| (essay.bt_score, essay.standard_error))
                    .unzip();
                grade_boundaries(
                    self.grade_scale,
                    &self.anchor_observations(),
                    &student_scores,
                    &student_ses,
                    assignment,
                )
                .map_err(CalibrationUnavailable::Anchors)
            }
        };
        for essay in &mut self.essays {
            essay.projection = match (&graded, essay.is_anchor) {
                (Ok(graded), false) => Some(
                    graded
                        .calibration
                        .project(essay.bt_score, essay.standard_error),
                ),
                _ => None,
            };
        }
        (
            self.calibration,
            self.calibration_unavailable,
            self.assignment_scale_version,
        ) = match graded {
            Ok(graded) => (
                Some(graded.calibration),
                None,
                graded.assignment_scale_version,
            ),
            Err(why) => (None, Some(why.to_string()), None),
        };
    }
}

impl DecisionInputs {
    /// `events`, decided without inputs, as deciding with these would have decided them:
    /// the only thing an input changes is the grades of a `BatchScored`, so that event is
    /// graded again (with the trigger of the `ScoringStarted` before it) and the rest is
    /// left as it is. Far cheaper than deciding again, which would score the batch again.
    pub fn regrade(&self, events: &mut [CjBatchEvent]) {
        let mut trigger = None;
        for event in events {
            match event {
                CjBatchEvent::ScoringStarted(started) => trigger = Some(started.trigger),
                CjBatchEvent::BatchScored(scored) => {
                    if let Some(trigger) = trigger {
                        scored.grade(trigger, &self.assignment_scale);
                    }
                }
                _ => {}
            }
        }
    }
}
