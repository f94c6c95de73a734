//! Agreement between what a batch decided and the hidden truth: rank correlations, grade
//! agreement and the calibration error of grade probabilities.

use cj_aggregates::stats::reliability::pearson;

/// Ranks (1-based, ties averaged) of the values.
fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end) as f64 / 2.0 + 1.0;
        for &i in &order[start..=end] {
            ranks[i] = rank;
        }
        start = end + 1;
    }
    ranks
}

/// Spearman's ρ (Pearson correlation of average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Kendall's τ-b.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> Option<f64> {
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..x.len() {
        for j in i + 1..x.len() {
            let dx = (x[i] - x[j]).partial_cmp(&0.0)?;
            let dy = (y[i] - y[j]).partial_cmp(&0.0)?;
            use std::cmp::Ordering::Equal;
            match (dx, dy) {
                (Equal, Equal) => {}
                (Equal, _) => ties_x += 1,
                (_, Equal) => ties_y += 1,
                (a, b) if a == b => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let n0 = (concordant + discordant) as f64;
    let denominator = ((n0 + ties_x as f64) * (n0 + ties_y as f64)).sqrt();
    (denominator > 0.0).then(|| (concordant - discordant) as f64 / denominator)
}

/// Expected calibration error of the primary grade's probability: predictions binned by
/// confidence into `bins` equal-width bins; the weighted mean |accuracy − confidence|.
pub fn expected_calibration_error(predictions: &[(f64, bool)], bins: usize) -> Option<f64> {
    let total = predictions.len() as f64;
    let bins = calibration_bins(predictions, bins);
    (!bins.is_empty()).then(|| {
        bins.iter()
            .map(|bin| (bin.count as f64 / total) * (bin.accuracy - bin.confidence).abs())
            .sum()
    })
}

/// One confidence bin of a reliability diagram: how many predictions fell in it, their
/// mean confidence and the share of them that were right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    /// Index of the bin: confidences in [index / bins, (index + 1) / bins).
    pub index: usize,
    pub count: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

/// The occupied bins of `predictions` (confidence, correct) over `bins` equal-width bins.
pub fn calibration_bins(predictions: &[(f64, bool)], bins: usize) -> Vec<CalibrationBin> {
    if predictions.is_empty() || bins == 0 {
        return Vec::new();
    }
    let mut sums = vec![(0usize, 0.0, 0.0); bins];
    for &(confidence, correct) in predictions {
        let bin = ((confidence * bins as f64) as usize).min(bins - 1);
        sums[bin].0 += 1;
        sums[bin].1 += confidence;
        sums[bin].2 += f64::from(u8::from(correct));
    }
    sums.iter()
        .enumerate()
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(index, &(count, confidence, hits))| CalibrationBin {
            index,
            count,
            confidence: confidence / count as f64,
            accuracy: hits / count as f64,
        })
        .collect()
}

/// How a set of estimated positions (anchors', or students' scores) sits against the true
/// qualities: the least-squares slope of position on quality (1 = the true unit; below 1 =
/// a compressed scale) and the residual SD around that line (the scatter, logits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthFit {
    pub slope: f64,
    pub scatter: f64,
    /// The means the line passes through: of the qualities, and of the positions.
    pub mean_quality: f64,
    pub mean_position: f64,
}

impl TruthFit {
    /// The quality whose expected position on the line is `position`.
    pub fn quality_of(&self, position: f64) -> f64 {
        self.mean_quality + (position - self.mean_position) / self.slope
    }
}

/// [`TruthFit`] of `(true quality, position)` pairs; `None` with fewer than three points
/// or no spread in the qualities.
pub fn truth_fit(points: &[(f64, f64)]) -> Option<TruthFit> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let residual_squares: f64 = points
        .iter()
        .map(|p| (p.1 - mean_y - slope * (p.0 - mean_x)).powi(2))
        .sum();
    let scatter = (residual_squares / (n - 2.0)).sqrt();
    (slope.is_finite() && scatter.is_finite()).then_some(TruthFit {
        slope,
        scatter,
        mean_quality: mean_x,
        mean_position: mean_y,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_fit_reads_the_unit_and_the_scatter_of_positions() {
        let compressed: Vec<(f64, f64)> = [-2.0, -1.0, 0.0, 1.0, 2.0]
            .iter()
            .map(|&q| (q, 0.5 + 0.8 * q))
            .collect();
        let fit = truth_fit(&compressed).unwrap();
        assert!(
            (fit.slope - 0.8).abs() < 1e-12 && fit.scatter < 1e-12,
            "{fit:?}"
        );
        // Read back through the line (qualities off zero, so both means count): the
        // position 0.5 + 0.8 × 3.5 is the quality 3.5.
        let shifted: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0, 6.0]
            .iter()
            .map(|&q| (q, 0.5 + 0.8 * q))
            .collect();
        let line = truth_fit(&shifted).unwrap();
        assert!(
            (line.quality_of(0.5 + 0.8 * 3.5) - 3.5).abs() < 1e-12,
            "{line:?}"
        );
        // Slope Σxy / Σx² = 9.4 / 10; residuals .18, −.36, 0, .36, −.18: SD sqrt(.324 / 3).
        let scattered = [
            (-2.0, -1.7),
            (-1.0, -1.3),
            (0.0, 0.0),
            (1.0, 1.3),
            (2.0, 1.7),
        ];
        let fit = truth_fit(&scattered).unwrap();
        assert!((fit.slope - 0.94).abs() < 1e-12, "{fit:?}");
        assert!((fit.scatter - 0.108_f64.sqrt()).abs() < 1e-12, "{fit:?}");
        assert!(truth_fit(&scattered[..2]).is_none());
    }

    #[test]
    fn identical_orders_correlate_perfectly_and_reversed_negatively() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [10.0, 20.0, 30.0, 40.0];
        let reversed = [4.0, 3.0, 2.0, 1.0];
        assert!((spearman(&x, &y).unwrap() - 1.0).abs() < 1e-12);
        assert!((kendall_tau(&x, &y).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&x, &reversed).unwrap() + 1.0).abs() < 1e-12);
        assert!((kendall_tau(&x, &reversed).unwrap() + 1.0).abs() < 1e-12);
    }

    #[test]
    fn spearman_matches_a_hand_computed_case() {
        // ranks x: 1 2 3 4 5, ranks y: 2 1 4 3 5 → d² = 1+1+1+1+0 = 4 → ρ = 1 − 6·4/(5·24) = 0.8
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap();
        assert!((rho - 0.8).abs() < 1e-12);
    }

    #[test]
    fn calibration_error_is_the_gap_between_confidence_and_accuracy() {
        let seven_of_ten: Vec<(f64, bool)> = (0..10).map(|i| (0.75, i < 7)).collect();
        let ece = expected_calibration_error(&seven_of_ten, 10).unwrap();
        assert!((ece - 0.05).abs() < 1e-12, "{ece}");
        let calibrated: Vec<(f64, bool)> = (0..4).map(|i| (0.75, i < 3)).collect();
        assert!(expected_calibration_error(&calibrated, 10).unwrap() < 1e-12);
        let one_hot_wrong = [(1.0, false), (1.0, true)];
        assert!((expected_calibration_error(&one_hot_wrong, 10).unwrap() - 0.5).abs() < 1e-12);
    }
}
