//! Reliability figures as the reference (sirt, and the meta-analysis's split-half script)
//! defines them, plus the small summaries they need.
//!
//! - SSR (`mle.rel`) = 1 − mean(SE²)/var(θ), with R's `var` (n − 1 denominator).
//! - Separation G (`sepG`) = √(var(θ)/mean(SE²)); so SSR = 1 − 1/G².
//! - Split halves: Pearson correlation, the median (R's: mean of the two middle values for an
//!   even count), and the Spearman–Brown step-up 2r/(1 + r).

/// Sample variance with the n − 1 denominator; `None` for fewer than 2 values.
pub fn variance(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some(values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0))
}

/// Mean of the squared standard errors (the error variance).
fn mean_error_variance(standard_errors: &[f64]) -> f64 {
    standard_errors.iter().map(|se| se * se).sum::<f64>() / standard_errors.len() as f64
}

/// Scale separation reliability, sirt's `mle.rel`. `None` without two items or without
/// score variance.
pub fn ssr(thetas: &[f64], standard_errors: &[f64]) -> Option<f64> {
    let var = variance(thetas).filter(|v| *v > 0.0)?;
    Some(1.0 - mean_error_variance(standard_errors) / var)
}

/// Separation G, sirt's `sepG`. `None` without two items or without error variance.
pub fn separation(thetas: &[f64], standard_errors: &[f64]) -> Option<f64> {
    let var = variance(thetas)?;
    let error = mean_error_variance(standard_errors);
    (error > 0.0).then(|| (var / error).sqrt())
}

/// Pearson correlation; `None` for fewer than 2 pairs or a constant side.
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let r = sxy / (sxx * syy).sqrt();
    r.is_finite().then_some(r)
}

/// Median (mean of the two middle values for an even count); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    })
}

/// Spearman–Brown: the reliability of the whole from the correlation of two halves.
pub fn spearman_brown(half_correlation: f64) -> f64 {
    2.0 * half_correlation / (1.0 + half_correlation)
}

/// Sample standard deviation (n − 1).
pub fn standard_deviation(values: &[f64]) -> Option<f64> {
    variance(values).map(f64::sqrt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn r_var_and_median_conventions() {
        assert_eq!(variance(&[1.0, 2.0, 3.0, 4.0]), Some(5.0 / 3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(spearman_brown(0.5), 2.0 / 3.0);
    }

    #[test]
    fn perfectly_related_halves_correlate_one() {
        let r = pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]).unwrap();
        assert!((r - 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    proptest! {
        #[test]
        fn ssr_is_one_minus_the_inverse_square_of_separation(
            thetas in proptest::collection::vec(-5.0..5.0_f64, 2..40),
            se in 0.05..3.0_f64,
        ) {
            let ses: Vec<f64> = thetas.iter().enumerate().map(|(i, _)| se * (1.0 + i as f64 / 10.0)).collect();
            prop_assume!(variance(&thetas).unwrap() > 1e-6);
            let g = separation(&thetas, &ses).unwrap();
            let r = ssr(&thetas, &ses).unwrap();
            prop_assert!((r - (1.0 - 1.0 / (g * g))).abs() < 1e-9);
        }
    }
}
