//! The teacher's report of a scored batch, rendered on the server as one HTML page with an
//! inline SVG chart (no scripts, no external assets): every essay on the Bradley–Terry
//! scale with its ±1 SE bar, anchors marked with their known grades, the grade boundaries
//! of the calibration, and the grade table.

use cj_aggregates::events::{BatchScored, EssayScore};
use std::fmt::Write;

const ROW_HEIGHT: f64 = 18.0;
const CHART_WIDTH: f64 = 760.0;
const LABEL_WIDTH: f64 = 170.0;
const MARGIN: f64 = 24.0;

/// Escapes text for HTML and SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What the page says about the batch besides its scores.
pub struct ReportHeading<'a> {
    pub batch_id: &'a str,
    pub upstream_batch_id: &'a str,
    pub status: &'a str,
    pub comparisons: u32,
}

/// The whole HTML page.
pub fn render_report(heading: &ReportHeading<'_>, scored: &BatchScored) -> String {
    let mut essays: Vec<&EssayScore> = scored.essays.iter().collect();
    essays.sort_by_key(|e| e.rank);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>CJ report {batch}</title><style>\
         body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse}}\
         td,th{{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}}\
         .anchor{{color:#8a3b00;font-weight:bold}} .num{{text-align:right}}</style></head><body>\
         <h1>Comparative judgement report</h1>\
         <p>Batch <code>{upstream}</code> (CJ batch <code>{batch}</code>) — status <b>{status}</b>, \
         {comparisons} comparisons, scale {scale}{ssr}.</p>",
        batch = escape(heading.batch_id),
        upstream = escape(heading.upstream_batch_id),
        status = escape(heading.status),
        comparisons = heading.comparisons,
        scale = scored.grade_scale,
        ssr = scored
            .ssr
            .map(|s| format!(", scale separation reliability {s:.2}"))
            .unwrap_or_default(),
    );
    page.push_str(&chart(&essays, scored));
    if let Some(reason) = &scored.calibration_unavailable {
        let _ = write!(page, "<p>Grades are unavailable: {}.</p>", escape(reason));
    }
    page.push_str(&grade_table(&essays));
    page.push_str("</body></html>");
    page
}

fn chart(essays: &[&EssayScore], scored: &BatchScored) -> String {
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
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"scale-chart\" role=\"img\" \
         aria-label=\"Essays on the Bradley–Terry scale\" width=\"{CHART_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {CHART_WIDTH} {height}\">"
    );
    if let Some(calibration) = &scored.calibration {
        let grades = calibration.scale.grades();
        for (i, boundary) in calibration.boundaries.iter().enumerate() {
            if *boundary <= low || *boundary >= high {
                continue;
            }
            let bx = x(*boundary);
            let _ = write!(
                svg,
                "<line class=\"boundary\" x1=\"{bx:.1}\" y1=\"{MARGIN}\" x2=\"{bx:.1}\" y2=\"{:.1}\" \
                 stroke=\"#9ab\" stroke-dasharray=\"4 3\"/><text x=\"{bx:.1}\" y=\"{:.1}\" font-size=\"10\" \
                 text-anchor=\"middle\" fill=\"#567\">{}|{}</text>",
                height - 20.0,
                MARGIN - 6.0,
                escape(grades.get(i).copied().unwrap_or("")),
                escape(grades.get(i + 1).copied().unwrap_or(""))
            );
        }
    }
    for (row, essay) in essays.iter().enumerate() {
        let y = MARGIN + ROW_HEIGHT * (row as f64 + 0.5);
        let se = essay.standard_error.min(3.0);
        let (colour, label) = match &essay.known_grade {
            Some(grade) => ("#c05000", format!("{} [{}]", essay.essay_id, grade)),
            None => (
                "#1f5fa8",
                match &essay.projection {
                    Some(p) => format!("{} — {}", essay.essay_id, p.grade),
                    None => essay.essay_id.to_string(),
                },
            ),
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>\
             <line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"2\"/>\
             <circle class=\"{}\" cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{colour}\"/>",
            LABEL_WIDTH + MARGIN - 6.0,
            y + 4.0,
            escape(&label),
            x(essay.bt_score - se),
            x(essay.bt_score + se),
            if essay.is_anchor { "anchor" } else { "student" },
            x(essay.bt_score),
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">lower ← Bradley–Terry score (logits, ±1 SE) → higher</text></svg>",
        LABEL_WIDTH + MARGIN,
        height - 4.0
    );
    svg
}

fn grade_table(essays: &[&EssayScore]) -> String {
    let mut table = String::from(
        "<h2>Grades</h2><table><tr><th>rank</th><th>essay</th><th>score ± SE</th>\
         <th>grade</th><th>probability</th><th>confidence</th><th>comparisons</th></tr>",
    );
    for essay in essays {
        let (grade, probability, label, class) = match (&essay.known_grade, &essay.projection) {
            (Some(known), _) => (
                format!("{known} (anchor)"),
                String::new(),
                String::new(),
                " class=\"anchor\"",
            ),
            (None, Some(p)) => (
                p.grade.clone(),
                format!("{:.2}", p.confidence),
                format!("{:?}", p.label).to_uppercase(),
                "",
            ),
            (None, None) => ("—".into(), String::new(), String::new(), ""),
        };
        let _ = write!(
            table,
            "<tr{class}><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{:.2} ± {:.2}</td>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            essay.rank,
            escape(essay.essay_id.as_str()),
            essay.bt_score,
            essay.standard_error,
            escape(&grade),
            probability,
            label,
            essay.comparisons
        );
    }
    table.push_str("</table>");
    table
}
