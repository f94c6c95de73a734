//! The assignment scale: where an assignment's anchors lie relative to each other (logits,
//! with their variances), learned from every finished batch of the assignment, and the
//! linking that lays it onto a new batch's own Bradley–Terry axis to place its grade
//! boundaries.
//!
//! Every batch of an assignment judges the same anchors, but each batch places them from
//! its own ~10 comparisons each (SE ≈ 0.75 logits, as wide as a grade band). The scale keeps
//! what the batches agree on:
//!
//! - **Fold** ([`AssignmentScale::fold`]): a finished batch contributes its anchors' scores
//!   and standard errors (what its `BatchScored` records). Its axis is linked to the scale's
//!   by mean/mean linking over the common anchors — the shift `c` is the precision-weighted
//!   mean of `score − position`, with weights `1 / (SE² + variance)` — and each anchor's
//!   position becomes the weighted running mean of its linked scores `score − c`, each batch
//!   weighted by its anchors' mean precision (not each anchor's own, which would bias the
//!   extremes inward; see `batch_weight`); its variance combines `SE² + Var c` by precision.
//!   The first batch defines the axis: its anchor scores centred on their mean. The version
//!   is the number of batches folded.
//! - **Link** ([`AssignmentScale::anchor_points`]): a new batch's anchor scores are the common
//!   items. The scale's positions shifted by `c` (variance `variance + Var c`) are the prior
//!   of each anchor on the batch's axis; combined with the batch's own score they give the
//!   anchor points the grade calibration ([`grading::calibrate`]) places boundaries from.
//!   Anchors the scale knows but the batch did not judge are placed by the shift alone.
//!
//! - **Unit** ([`ScaleUnit`]): batches share one design (students and anchors, near pairs),
//!   so their axes share a logit unit and a shift links them. A calibration round does not:
//!   its anchors alone, compared across wide gaps, come out compressed (simulated, noisy
//!   judge: SD of the anchors' positions 1.37 in a round against 2.05 in a batch). Where a
//!   scale's unit and a batch's differ, the linking also has a slope — mean/sigma over the
//!   common anchors, each side's variance net of its measurement error — and the first
//!   batch folded into a round's scale rescales it to the batches' unit for good.
//!
//! Why per-batch fits linked by precision, not one pooled Bradley–Terry fit over all the
//! assignment's verdicts: both estimate the same anchor differences (a pooled fit with each
//! batch's students as separate items carries the anchor information through the same
//! anchor–student and anchor–anchor verdicts), but the fold needs only what `BatchScored`
//! already records, so the scale is a pure fold over the log, cheap to rebuild, and a batch's
//! contribution is auditable as one line. What neither can remove is the error of the shift
//! `c` itself — where this batch's students lie relative to its anchors is known only from
//! this batch's verdicts — which bounds how steady grades can be from batch to batch.

use crate::stats::grade_scale::GradeScale;
use crate::stats::grading::{self, AnchorPoint, Calibration, CalibrationError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest standard error (logits) an anchor's position may have for the scale to
/// count as settled: about two thirds of a grade band (~0.7 logits), what a batch alone
/// gives an anchor (~0.75) halved in variance — two or three batches' worth, or a
/// calibration round. Past it a batch spends no comparison between two anchors.
pub const SETTLED_POSITION_SE: f64 = 0.5;

/// Smallest variance (logits²) any position or score is taken to have: an anchor placed
/// "exactly" (the oracle's, or a zero SE) still combines with finite arithmetic.
const MIN_VARIANCE: f64 = 1e-6;

/// Bounds on the slope a linking may estimate between two units: a round's unit was about
/// two thirds of a batch's in simulation; outside these the estimate is noise.
const SLOPE_BOUNDS: (f64, f64) = (0.5, 2.0);

/// The kind of batch whose unit a scale's positions, or a batch's scores, are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleUnit {
    /// An ordinary batch of the assignment (students and its anchors).
    Batch,
    /// A calibration round (the anchors alone; ADR 0012).
    CalibrationRound,
}

/// One anchor as one batch placed it on its own axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnchorObservation {
    pub essay_id: String,
    /// Index into the grade scale's grades.
    pub grade_index: usize,
    pub score: f64,
    pub standard_error: f64,
}

impl AnchorObservation {
    fn variance(&self) -> Option<f64> {
        (self.score.is_finite() && self.standard_error.is_finite())
            .then(|| (self.standard_error * self.standard_error).max(MIN_VARIANCE))
    }
}

/// An anchor's position on the assignment scale.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnchorPosition {
    pub grade_index: usize,
    pub position: f64,
    /// Variance of `position` (logits²).
    pub variance: f64,
    /// The summed weights of the batches averaged into `position` (see
    /// [`AssignmentScale::fold`]); 0 in a scale stored before it was kept, read as
    /// `1 / variance`.
    #[serde(default)]
    pub weight: f64,
    /// Whether `position` is in a calibration round's unit: it comes from rounds only,
    /// and no batch has been folded in since (see [`ScaleUnit`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_round_unit: bool,
}

impl AnchorPosition {
    fn weight(&self) -> f64 {
        if self.weight > 0.0 {
            self.weight
        } else {
            1.0 / self.variance.max(MIN_VARIANCE)
        }
    }
}

/// The anchors' positions relative to each other, learned over `version` finished batches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssignmentScale {
    /// Number of finished batches folded in; 0 = no scale yet.
    pub version: u32,
    /// By anchor essay id.
    pub anchors: BTreeMap<String, AnchorPosition>,
}

/// The map from the assignment scale to a batch's axis:
/// `batch score ≈ shift + slope · position`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linking {
    pub shift: f64,
    /// Variance of `shift`.
    pub variance: f64,
    /// Batch logits per scale logit: 1 where the scale and the batch share a unit.
    pub slope: f64,
    /// Anchors the batch and the scale share.
    pub common_anchors: usize,
}

impl Linking {
    /// Where `known` lies on the batch's axis, with its variance there:
    /// `shift + slope · position`, `slope² · variance + Var shift`.
    fn place(&self, known: &AnchorPosition) -> (f64, f64) {
        (
            self.shift + self.slope * known.position,
            self.slope * self.slope * known.variance + self.variance,
        )
    }
}

impl AssignmentScale {
    /// A scale that knows its anchors' positions exactly (the simulation's oracle, or a
    /// registry's fixed calibration), as version `version`.
    pub fn known(version: u32, anchors: impl IntoIterator<Item = (String, usize, f64)>) -> Self {
        AssignmentScale {
            version,
            anchors: anchors
                .into_iter()
                .map(|(id, grade_index, position)| {
                    let position = AnchorPosition {
                        grade_index,
                        position,
                        variance: MIN_VARIANCE,
                        weight: 1.0 / MIN_VARIANCE,
                        in_round_unit: false,
                    };
                    (id, position)
                })
                .collect(),
        }
    }

    /// Whether any batch has been folded in (the first batch of an assignment has none).
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether every anchor's position is known to [`SETTLED_POSITION_SE`]: the batch then
    /// needs its anchors only to link to the scale, not to place them relative to each other.
    pub fn is_settled(&self) -> bool {
        !self.is_empty()
            && self
                .anchors
                .values()
                .all(|anchor| anchor.variance <= SETTLED_POSITION_SE * SETTLED_POSITION_SE)
    }

    /// The unit this scale's positions are in: a round's while only rounds were folded in.
    pub fn unit(&self) -> ScaleUnit {
        let from_rounds_only =
            !self.is_empty() && self.anchors.values().all(|anchor| anchor.in_round_unit);
        if from_rounds_only {
            ScaleUnit::CalibrationRound
        } else {
            ScaleUnit::Batch
        }
    }

    /// The linking of an ordinary batch's anchors to this scale; `None` without a common
    /// anchor of finite score.
    pub fn link(&self, batch: &[AnchorObservation]) -> Option<Linking> {
        self.link_from(batch, ScaleUnit::Batch)
    }

    /// The linking of anchors scored in `unit` to this scale: shift only where the units
    /// agree; with a mean/sigma slope ([`unit_ratio`]) where they differ. The shift is the
    /// precision-weighted mean of `score − slope · position`, weights
    /// `1 / (SE² + slope² · variance)`.
    fn link_from(&self, batch: &[AnchorObservation], unit: ScaleUnit) -> Option<Linking> {
        let common: Vec<(f64, f64, f64, f64)> = batch
            .iter()
            .filter_map(|obs| {
                let known = self.anchors.get(&obs.essay_id)?;
                Some((known.position, known.variance, obs.score, obs.variance()?))
            })
            .collect();
        let slope = if unit == self.unit() {
            1.0
        } else {
            unit_ratio(&common).unwrap_or(1.0)
        };
        let (weighted, weight) = common
            .iter()
            .map(|&(position, position_variance, score, score_variance)| {
                let w = 1.0 / (score_variance + slope * slope * position_variance);
                (w * (score - slope * position), w)
            })
            .fold((0.0, 0.0), |(s, w), (ws, wi)| (s + ws, w + wi));
        (!common.is_empty() && weight > 0.0).then(|| Linking {
            shift: weighted / weight,
            variance: 1.0 / weight,
            slope,
            common_anchors: common.len(),
        })
    }

    /// This scale with one more finished batch's anchors folded in (see the module doc).
    /// A batch sharing no anchor with a non-empty scale cannot be linked: it still counts
    /// as folded (the version says how many batches were seen) but moves no position.
    pub fn fold(&self, batch: &[AnchorObservation]) -> AssignmentScale {
        self.fold_from(batch, ScaleUnit::Batch)
    }

    /// [`Self::fold`] for a calibration round's anchors: linked with a slope to a scale
    /// the batches have set the unit of; the positions of a scale of rounds only stay in
    /// a round's unit until the first batch is folded in.
    pub fn fold_round(&self, round: &[AnchorObservation]) -> AssignmentScale {
        self.fold_from(round, ScaleUnit::CalibrationRound)
    }

    fn fold_from(&self, batch: &[AnchorObservation], unit: ScaleUnit) -> AssignmentScale {
        let usable: Vec<(&AnchorObservation, f64)> = batch
            .iter()
            .filter_map(|obs| Some((obs, obs.variance()?)))
            .collect();
        // A batch folded into a round's scale sets the unit: the round's positions are
        // rescaled to it first, and from then on every batch links by a shift.
        let base = match (self.unit(), unit) {
            (ScaleUnit::CalibrationRound, ScaleUnit::Batch) => self
                .link_from(batch, unit)
                .map_or_else(|| self.clone(), |linking| self.rescaled(linking.slope)),
            _ => self.clone(),
        };
        let in_round_unit = unit == ScaleUnit::CalibrationRound
            && (base.is_empty() || base.unit() == ScaleUnit::CalibrationRound);
        let linking = if base.is_empty() {
            let count = usable.len().max(1) as f64;
            Some(Linking {
                shift: usable.iter().map(|(obs, _)| obs.score).sum::<f64>() / count,
                variance: 0.0,
                slope: 1.0,
                common_anchors: 0,
            })
        } else {
            base.link_from(batch, unit)
        };
        let mut anchors = base.anchors.clone();
        if let Some(linking) = linking {
            let unit_squared = linking.slope * linking.slope;
            let batch_weight = unit_squared * batch_weight(&usable, linking.variance);
            for (obs, variance) in usable {
                let linked = (obs.score - linking.shift) / linking.slope;
                let linked_variance = (variance + linking.variance) / unit_squared;
                anchors
                    .entry(obs.essay_id.clone())
                    .and_modify(|known| {
                        let weight = known.weight();
                        known.position = (weight * known.position + batch_weight * linked)
                            / (weight + batch_weight);
                        known.variance = 1.0
                            / (1.0 / known.variance.max(MIN_VARIANCE)
                                + 1.0 / linked_variance.max(MIN_VARIANCE));
                        known.weight = weight + batch_weight;
                    })
                    .or_insert(AnchorPosition {
                        grade_index: obs.grade_index,
                        position: linked,
                        variance: linked_variance,
                        weight: batch_weight,
                        in_round_unit,
                    });
            }
        }
        AssignmentScale {
            version: self.version + 1,
            anchors,
        }
    }

    /// This scale in a unit `slope` times its own (positions × slope, variances and the
    /// weights' reciprocals × slope²), no longer in a round's unit.
    fn rescaled(&self, slope: f64) -> AssignmentScale {
        let anchors = self
            .anchors
            .iter()
            .map(|(id, known)| {
                let rescaled = AnchorPosition {
                    grade_index: known.grade_index,
                    position: known.position * slope,
                    variance: known.variance * slope * slope,
                    weight: known.weight() / (slope * slope),
                    in_round_unit: false,
                };
                (id.clone(), rescaled)
            })
            .collect();
        AssignmentScale {
            version: self.version,
            anchors,
        }
    }

    /// The anchor points a batch calibrates its grades from: each anchor on the batch's axis
    /// from the scale (shifted by the linking) combined with the batch's own score. Without a
    /// linking (empty scale, or no common anchor) the batch's own anchors, as today.
    pub fn anchor_points(&self, batch: &[AnchorObservation]) -> Vec<AnchorPoint> {
        let Some(linking) = self.link(batch) else {
            return batch.iter().map(own_point).collect();
        };
        let mut points: Vec<AnchorPoint> = batch
            .iter()
            .map(
                |obs| match (self.anchors.get(&obs.essay_id), obs.variance()) {
                    (Some(known), Some(variance)) => {
                        let (score, variance) =
                            combine(linking.place(known), (obs.score, variance));
                        AnchorPoint {
                            score,
                            grade_index: obs.grade_index,
                            standard_error: variance.sqrt(),
                        }
                    }
                    _ => own_point(obs),
                },
            )
            .collect();
        points.extend(
            self.anchors
                .iter()
                .filter(|(id, _)| !batch.iter().any(|obs| &obs.essay_id == *id))
                .map(|(_, known)| {
                    let (score, variance) = linking.place(known);
                    AnchorPoint {
                        score,
                        grade_index: known.grade_index,
                        standard_error: variance.sqrt(),
                    }
                }),
        );
        points
    }

    /// The grade calibration of a batch whose anchors scored `batch`: from this scale
    /// linked through them, or from the batch's anchors alone while the scale is empty.
    pub fn calibrate(
        &self,
        scale: GradeScale,
        batch: &[AnchorObservation],
    ) -> Result<Calibration, CalibrationError> {
        grading::calibrate(scale, &self.anchor_points(batch))
    }
}

/// The weight of one batch in the anchors' running means: one over its anchors' mean
/// variance (plus the linking's), the same for every anchor of the batch. Not each anchor's
/// own `1 / SE²`: an anchor's SE grows with how extreme its estimate came out (p(1 − p)
/// shrinks), so weighting by it favours the batches that placed an extreme anchor nearer
/// the middle, and the scale shrank batch after batch (simulated, noisy judge: slope of the
/// learned positions on the true ones .81 after one batch, .76 after five, against a
/// steady .82 per batch).
fn batch_weight(usable: &[(&AnchorObservation, f64)], linking_variance: f64) -> f64 {
    let mean_variance =
        usable.iter().map(|(_, variance)| variance).sum::<f64>() / usable.len().max(1) as f64;
    1.0 / (mean_variance + linking_variance).max(MIN_VARIANCE)
}

/// Mean/sigma unit ratio of two placements of the same anchors, `(position, its variance,
/// score, its variance)`: the SD of the scores over the SD of the positions, each sample
/// variance net of its mean measurement variance (otherwise the noisier side looks wider).
/// `None` with fewer than three anchors or no spread left on a side; clamped to
/// [`SLOPE_BOUNDS`].
fn unit_ratio(common: &[(f64, f64, f64, f64)]) -> Option<f64> {
    if common.len() < 3 {
        return None;
    }
    let positions = true_spread(common.iter().map(|c| (c.0, c.1)))?;
    let scores = true_spread(common.iter().map(|c| (c.2, c.3)))?;
    let ratio = (scores / positions).sqrt();
    ratio
        .is_finite()
        .then(|| ratio.clamp(SLOPE_BOUNDS.0, SLOPE_BOUNDS.1))
}

/// The sample variance of `(value, its measurement variance)` pairs net of their mean
/// measurement variance; `None` when nothing is left.
fn true_spread(values: impl Iterator<Item = (f64, f64)> + Clone) -> Option<f64> {
    let n = values.clone().count() as f64;
    let mean = values.clone().map(|(value, _)| value).sum::<f64>() / n;
    let (squares, noise) = values.fold((0.0, 0.0), |(squares, noise), (value, variance)| {
        (squares + (value - mean).powi(2), noise + variance)
    });
    Some(squares / (n - 1.0) - noise / n).filter(|&spread| spread > 0.0)
}

fn own_point(obs: &AnchorObservation) -> AnchorPoint {
    AnchorPoint {
        score: obs.score,
        grade_index: obs.grade_index,
        standard_error: obs.standard_error,
    }
}

/// Precision-weighted mean of two normal estimates (mean, variance) of one quantity.
fn combine((mean_a, variance_a): (f64, f64), (mean_b, variance_b): (f64, f64)) -> (f64, f64) {
    let (precision_a, precision_b) = (
        1.0 / variance_a.max(MIN_VARIANCE),
        1.0 / variance_b.max(MIN_VARIANCE),
    );
    let precision = precision_a + precision_b;
    (
        (precision_a * mean_a + precision_b * mean_b) / precision,
        1.0 / precision,
    )
}

#[cfg(test)]
#[path = "assignment_scale_tests.rs"]
mod tests;
