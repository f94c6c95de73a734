//! One line per event, for people: what `history` prints after each event's time and type.

use cj_aggregates::batch::commands::Position;
use cj_aggregates::CjBatchEvent;

pub fn summary(event: &CjBatchEvent) -> String {
    match event {
        CjBatchEvent::BatchRegistered(r) => format!(
            "{}{} essays ({} failed at intake), scale {}, budget {}, upstream batch {}",
            if r.purpose.is_calibration_round() {
                "calibration round of the assignment's anchors: "
            } else {
                ""
            },
            r.essays.len(),
            r.failed_essays.len(),
            r.grade_scale,
            r.settings.budget.get(),
            r.upstream_batch_id
        ),
        CjBatchEvent::AnchorsRegistered(a) => {
            let grades: Vec<&str> = a.anchors.iter().map(|a| a.grade.as_str()).collect();
            format!("{} anchors: {}", a.anchors.len(), grades.join(" "))
        }
        CjBatchEvent::WavePlanned(w) => {
            format!("wave {}: {} comparisons", w.wave, w.comparisons.len())
        }
        CjBatchEvent::PairsSubmitted(p) => {
            format!(
                "{} comparisons accepted by the provider (prompt {})",
                p.correlation_ids.len(),
                p.prompt_hash
            )
        }
        CjBatchEvent::ComparisonRecorded(r) => {
            let position = match r.winner_position {
                Position::A => "A",
                Position::B => "B",
            };
            format!(
                "{}: {} wins (as {position}), judged by {}",
                r.correlation_id, r.winner, r.judge
            )
        }
        CjBatchEvent::ComparisonFailed(f) => format!(
            "{}: {} (attempt {})",
            f.correlation_id, f.error_code, f.attempt
        ),
        CjBatchEvent::ComparisonRetried(r) => format!(
            "{} asked again as {} in wave {}",
            r.retry_of, r.comparison.correlation_id, r.wave
        ),
        CjBatchEvent::LateCallbackRecorded(l) => {
            format!(
                "{} arrived after the batch ended ({})",
                l.correlation_id, l.batch_status
            )
        }
        CjBatchEvent::ScoringStarted(s) => format!("trigger {:?}", s.trigger),
        CjBatchEvent::BatchScored(s) => format!(
            "{} essays scored on {} comparisons, SSR {}{}{}",
            s.essays.len(),
            s.successful_comparisons,
            figure(s.ssr),
            s.reliability.as_ref().map_or(String::new(), |r| {
                let split = r.split_half.as_ref().and_then(|h| h.spearman_brown);
                let order = r.order_effect.as_ref().map_or(String::new(), |o| {
                    let flag = if o.flagged { " flagged" } else { "" };
                    format!(", order effect {:+.2}{flag}", o.estimate)
                });
                format!(
                    " ({}; reference SSR {}, split-half {}{order}, {} misfitting essays, {} misfitting judges)",
                    r.estimator,
                    figure(r.reference_ssr),
                    figure(split),
                    s.essays.iter().filter(|e| e.misfit).count(),
                    r.judges.iter().filter(|j| j.flagged).count(),
                )
            }),
            match &s.calibration_unavailable {
                Some(why) => format!(", no grades: {why}"),
                None => format!(", grades from {}", s.grading_basis()),
            }
        ),
        CjBatchEvent::BatchCompleted(c) => format!(
            "{}: {} comparisons ({} successful, {} failed) in {} waves",
            c.status, c.comparisons_made, c.successful_comparisons, c.failed_comparisons, c.waves
        ),
        CjBatchEvent::BatchFailed(f) => format!("{}: {}", f.status, f.reason.as_str()),
        CjBatchEvent::RecoveryForced(r) => format!(
            "idle {} s at {:.0} % progress",
            r.idle_seconds,
            r.progress * 100.0
        ),
    }
}

/// The "grades from" of a batch's history: its `BatchScored`'s, or "not scored yet".
pub fn grades_from_history<'a>(events: impl IntoIterator<Item = &'a CjBatchEvent>) -> String {
    events
        .into_iter()
        .find_map(|event| match event {
            CjBatchEvent::BatchScored(scored) => Some(scored.grading_basis().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "not scored yet".to_string())
}

/// A statistic with three decimals, or "n/a".
pub fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::batch::events::BatchScored;
    use cj_aggregates::stats::grade_scale::GradeScale;
    use cj_aggregates::stats::grading::{calibrate, AnchorPoint};

    fn scored(version: Option<u32>) -> BatchScored {
        let anchors = [AnchorPoint::new(-1.0, 1), AnchorPoint::new(1.0, 6)];
        BatchScored {
            essays: Vec::new(),
            ssr: None,
            grade_scale: GradeScale::Swedish8Anchor,
            calibration: Some(calibrate(GradeScale::Swedish8Anchor, &anchors).unwrap()),
            calibration_unavailable: None,
            successful_comparisons: 0,
            reliability: None,
            assignment_scale_version: version,
        }
    }

    #[test]
    fn the_history_line_of_a_scored_batch_says_where_its_grades_came_from() {
        let event = CjBatchEvent::BatchScored(scored(Some(2)));
        assert!(
            summary(&event).ends_with(", grades from assignment scale v2 (2 batches, 2 anchors)")
        );
        let own = CjBatchEvent::BatchScored(scored(None));
        assert!(summary(&own).ends_with(", grades from the batch's own anchors (2 anchors)"));
        assert_eq!(
            grades_from_history([&event]),
            "assignment scale v2 (2 batches, 2 anchors)"
        );
        assert_eq!(grades_from_history([]), "not scored yet");
    }
}
