//! The teacher's report of a scored batch, rendered on the server as one HTML page with an
//! inline SVG chart (no scripts, no external assets): every essay on the Bradley–Terry
//! scale with its ±1 SE bar, anchors marked with their known grades, the grade boundaries
//! of the calibration (and where they came from: the assignment's scale or the batch's own
//! anchors), and the grade table. Rendered with `maud`, which escapes every
//! inserted value by construction; only the constant style sheet is inserted as is.

use cj_aggregates::batch::events::{BatchScored, EssayScore};
use cj_aggregates::batch::usage::Usage;
use maud::{html, Markup, PreEscaped, DOCTYPE};

const ROW_HEIGHT: f64 = 18.0;
const CHART_WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 170.0;
const MARGIN: f64 = 24.0;

/// The page's style sheet (a constant: nothing from a batch goes into it).
const STYLE: &str =
    "body{font-family:sans-serif;margin:2em;color:#222} table{border-collapse:collapse}\
     td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}\
     .anchor{color:#8a3b00;font-weight:bold} .num{text-align:right}";

/// What the page says about the batch besides its scores.
pub struct ReportHeading<'a> {
    pub batch_id: &'a str,
    pub upstream_batch_id: &'a str,
    pub status: &'a str,
    pub comparisons: u32,
    /// What the batch's verdicts cost, as the judges reported it.
    pub usage: Usage,
}

/// The whole HTML page.
pub fn render_report(heading: &ReportHeading<'_>, scored: &BatchScored) -> String {
    let mut essays: Vec<&EssayScore> = scored.essays.iter().collect();
    essays.sort_by_key(|e| e.rank);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "CJ report " (heading.batch_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Comparative judgement report" }
                p {
                    "Batch " code { (heading.upstream_batch_id) }
                    " (CJ batch " code { (heading.batch_id) } ") — status " b { (heading.status) }
                    ", " (heading.comparisons) " comparisons, scale " (scored.grade_scale)
                    @if let Some(ssr) = scored.ssr {
                        ", scale separation reliability " (format!("{ssr:.2}"))
                    }
                    "."
                }
                @if heading.usage.tokens > 0 || heading.usage.priced_verdicts > 0 {
                    p { "LLM usage: " (heading.usage) "." }
                }
                (chart(&essays, scored))
                @if let Some(reason) = &scored.calibration_unavailable {
                    p { "Grades are unavailable: " (reason) "." }
                } @else {
                    p { "Grade boundaries from " (scored.grading_basis()) "." }
                }
                (reliability_panel(scored))
                (grade_table(&essays))
            }
        }
    };
    page.into_string()
}

/// A coordinate as the chart writes it: one decimal.
fn at(value: f64) -> String {
    format!("{value:.1}")
}

/// The essays' row label: id, then the anchor's known grade or the student's projected one.
fn row_label(essay: &EssayScore) -> String {
    match (&essay.known_grade, &essay.projection) {
        (Some(grade), _) => format!("{} [{}]", essay.essay_id, grade),
        (None, Some(projection)) => format!("{} — {}", essay.essay_id, projection.grade),
        (None, None) => essay.essay_id.to_string(),
    }
}

fn chart(essays: &[&EssayScore], scored: &BatchScored) -> Markup {
    let (low, high) = essays
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
            let se = e.standard_error.min(3.0);
            (lo.min(e.bt_score - se), hi.max(e.bt_score + se))
        });
    let (low, high) = if low.is_finite() && high > low {
        (low - 0.2, high + 0.2)
    } else {
        (-1.0, 1.0)
    };
    let plot_width = CHART_WIDTH - LABEL_WIDTH - 2.0 * MARGIN;
    let x = |score: f64| LABEL_WIDTH + MARGIN + (score - low) / (high - low) * plot_width;
    let height = MARGIN * 2.0 + ROW_HEIGHT * essays.len() as f64 + 20.0;
    let boundaries: Vec<(f64, &str, &str)> = match &scored.calibration {
        Some(calibration) => {
            let grades = calibration.scale.grades();
            calibration
                .boundaries
                .iter()
                .enumerate()
                .filter(|(_, boundary)| **boundary > low && **boundary < high)
                .map(|(i, boundary)| {
                    let grade = |index: usize| grades.get(index).copied().unwrap_or("");
                    (x(*boundary), grade(i), grade(i + 1))
                })
                .collect()
        }
        None => Vec::new(),
    };
    // SVG elements get explicit end tags: an HTML parser does not close `<line>` by itself.
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id="scale-chart" role="img"
            aria-label="Essays on the Bradley–Terry scale" width=(CHART_WIDTH) height=(height)
            viewBox=(format!("0 0 {CHART_WIDTH} {height}")) {
            @for (bx, below, above) in &boundaries {
                line class="boundary" x1=(at(*bx)) y1=(MARGIN) x2=(at(*bx)) y2=(at(height - 20.0))
                    stroke="#9ab" stroke-dasharray="4 3" {}
                text x=(at(*bx)) y=(at(MARGIN - 6.0)) font-size="10" text-anchor="middle" fill="#567" {
                    (below) "|" (above)
                }
            }
            @for (row, essay) in essays.iter().enumerate() {
                @let y = at(MARGIN + ROW_HEIGHT * (row as f64 + 0.5));
                @let se = essay.standard_error.min(3.0);
                @let colour = if essay.known_grade.is_some() { "#c05000" } else { "#1f5fa8" };
                text x=(at(LABEL_WIDTH + MARGIN - 6.0)) y=(at(MARGIN + ROW_HEIGHT * (row as f64 + 0.5) + 4.0))
                    font-size="11" text-anchor="end" { (row_label(essay)) }
                line x1=(at(x(essay.bt_score - se))) y1=(y) x2=(at(x(essay.bt_score + se))) y2=(y)
                    stroke=(colour) stroke-width="2" {}
                circle class=(if essay.is_anchor { "anchor" } else { "student" })
                    cx=(at(x(essay.bt_score))) cy=(y) r="4" fill=(colour) {}
            }
            text x=(at(LABEL_WIDTH + MARGIN)) y=(at(height - 4.0)) font-size="11" {
                "lower ← Bradley–Terry score (logits, ±1 SE) → higher"
            }
        }
    }
}

/// A figure with two decimals, or "n/a".
fn figure(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

/// How far the scale can be trusted: estimator, SSR, separation, split halves, the judge's
/// order effect and misfitting judges (batches scored before 1.1 have no panel).
fn reliability_panel(scored: &BatchScored) -> Markup {
    let Some(report) = &scored.reliability else {
        return html! {};
    };
    let misfits = scored.essays.iter().filter(|e| e.misfit).count();
    html! {
        h2 { "Reliability" }
        table id="reliability" {
            tr { th { "estimator" } td { (report.estimator) " (" (report.iterations) " iterations"
                @if !report.converged { ", not converged" } ")" } }
            tr { th { "scale separation reliability" } td class="num" { (figure(scored.ssr)) } }
            tr { th { "SSR, reference estimator (sirt::btm)" } td class="num" { (figure(report.reference_ssr)) } }
            tr { th { "separation G" } td class="num" { (figure(report.sep_g)) } }
            @if let Some(split) = &report.split_half {
                tr { th { "split-half (Spearman–Brown)" }
                     td class="num" { (figure(split.spearman_brown)) " over " (split.splits) " splits" } }
            }
            @if let Some(effect) = &report.order_effect {
                tr { th { "order effect η (first shown)" }
                     td class="num" { (format!("{:+.2}", effect.estimate)) " ± " (figure(effect.se))
                        @if effect.flagged { " — the judge favours a position" } } }
            }
            tr { th { "misfitting essays" } td class="num" { (misfits) } }
            @for judge in &report.judges {
                tr class=[judge.flagged.then_some("misfit")] {
                    th { "judge " code { (judge.judge.to_string()) } }
                    td class="num" { (judge.comparisons) " verdicts, infit " (figure(judge.infit))
                        @if judge.flagged { " — misfits" } }
                }
            }
            @if report.components > 1 {
                tr { th { "components" } td class="num" { (report.components) " — the essays are not all linked" } }
            }
        }
    }
}

fn grade_table(essays: &[&EssayScore]) -> Markup {
    html! {
        h2 { "Grades" }
        table {
            tr {
                th { "rank" } th { "essay" } th { "score ± SE" } th { "grade" }
                th { "probability" } th { "confidence" } th { "comparisons" } th { "infit" }
            }
            @for essay in essays {
                @let (grade, probability, label) = match (&essay.known_grade, &essay.projection) {
                    (Some(known), _) => (format!("{known} (anchor)"), String::new(), String::new()),
                    (None, Some(p)) => (
                        p.grade.clone(),
                        format!("{:.2}", p.confidence),
                        format!("{:?}", p.label).to_uppercase(),
                    ),
                    (None, None) => ("—".into(), String::new(), String::new()),
                };
                tr class=[essay.known_grade.is_some().then_some("anchor")] {
                    td class="num" { (essay.rank) }
                    td { (essay.essay_id.as_str()) }
                    td class="num" { (format!("{:.2} ± {:.2}", essay.bt_score, essay.standard_error)) }
                    td { (grade) }
                    td class="num" { (probability) }
                    td { (label) }
                    td class="num" { (essay.comparisons) }
                    td class="num" { (figure(essay.infit)) @if essay.misfit { " misfit" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::ids::EssayId;
    use cj_aggregates::stats::grade_scale::GradeScale;
    use cj_aggregates::stats::grading::{calibrate, AnchorPoint};

    /// Two anchors of different grades and two students, one with a hostile id.
    fn scored(student_id: &str, anchor_id: &str) -> BatchScored {
        let scale = GradeScale::Swedish8Anchor;
        let calibration = calibrate(
            scale,
            &[AnchorPoint::new(-1.0, 1), AnchorPoint::new(1.5, 5)],
        )
        .expect("two anchor grades calibrate");
        let essay = |id: &str, rank: u32, score: f64, known: Option<&str>| EssayScore {
            essay_id: EssayId::parse(id).expect("a valid essay id"),
            is_anchor: known.is_some(),
            known_grade: known.map(str::to_string),
            bt_score: score,
            standard_error: 0.4,
            rank,
            comparisons: 6,
            projection: known.is_none().then(|| calibration.project(score, 0.4)),
            infit: Some(0.9),
            outfit: Some(1.1),
            misfit: false,
        };
        let grades = scale.grades();
        BatchScored {
            essays: vec![
                essay(anchor_id, 1, 1.5, Some(grades[5])),
                essay("s-1", 2, 0.7, None),
                essay(student_id, 3, 0.1, None),
                essay("a-2", 4, -1.0, Some(grades[1])),
            ],
            ssr: Some(0.81),
            grade_scale: scale,
            calibration: Some(calibration),
            calibration_unavailable: None,
            successful_comparisons: 12,
            reliability: None,
            assignment_scale_version: None,
        }
    }

    fn heading() -> ReportHeading<'static> {
        ReportHeading {
            batch_id: "7b0c8a52-0d0e-4a39-9a0c-3f4c2a1d9e01",
            upstream_batch_id: "bos-<b>&\"'",
            status: "COMPLETE_STABLE",
            comparisons: 12,
            usage: Usage {
                verdicts: 12,
                tokens: 4_800,
                cost_usd: 0.0123,
                priced_verdicts: 12,
            },
        }
    }

    #[test]
    fn the_page_says_what_the_verdicts_cost_when_the_judges_said() {
        let page = render_report(&heading(), &scored("s-2", "a-1"));
        assert!(
            page.contains("LLM usage: 4800 tokens, $0.0123 (12 of 12 verdicts priced)."),
            "{page}"
        );
        let unpriced = ReportHeading {
            usage: Usage::default(),
            ..heading()
        };
        assert!(!render_report(&unpriced, &scored("s-2", "a-1")).contains("LLM usage"));
    }

    #[test]
    fn hostile_ids_and_grades_appear_escaped_never_as_markup() {
        let hostile = "<script>alert(\"x\")</script>&'";
        let page = render_report(&heading(), &scored(hostile, "a-<i>&\"'"));
        assert!(
            !page.contains("<script"),
            "a script tag got through: {page}"
        );
        assert!(!page.contains("<i>"), "markup in an anchor id got through");
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'";
        // In the chart's label (with its projected grade) and in the grade table.
        assert!(page.contains(&format!("{escaped} — ")), "{page}");
        assert!(page.contains(&format!("<td>{escaped}</td>")), "{page}");
        assert!(page.contains("a-&lt;i&gt;&amp;&quot;' ["), "{page}");
        assert!(
            page.contains("<code>bos-&lt;b&gt;&amp;&quot;'</code>"),
            "{page}"
        );
    }

    #[test]
    fn the_page_says_where_the_grade_boundaries_came_from() {
        let mut from_the_scale = scored("s-2", "a-1");
        from_the_scale.assignment_scale_version = Some(2);
        let page = render_report(&heading(), &from_the_scale);
        assert!(page.contains("Grade boundaries from assignment scale v2 (2 batches, 2 anchors)."));
    }

    #[test]
    fn the_page_keeps_its_chart_boundaries_anchors_and_table() {
        let page = render_report(&heading(), &scored("s-2", "a-1"));
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(page.contains("<title>CJ report 7b0c8a52-0d0e-4a39-9a0c-3f4c2a1d9e01</title>"));
        assert!(page.contains("scale separation reliability 0.81."));
        assert!(page.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"scale-chart\""));
        assert!(
            page.contains("class=\"boundary\""),
            "grade boundaries are drawn"
        );
        assert_eq!(page.matches("<circle").count(), 4, "one dot per essay");
        assert_eq!(
            page.matches("<tr class=\"anchor\">").count(),
            2,
            "anchor rows marked"
        );
        // SVG shapes are closed explicitly, so the parser does not nest the next shape inside.
        assert_eq!(
            page.matches("<line").count(),
            page.matches("</line>").count()
        );
        assert!(
            !page.contains("src=") && !page.contains("href="),
            "no external assets"
        );
    }
}
