//! What a benchmark prints: the machine it ran on, then one row per figure — the figure,
//! our value, the anchor measured in the same run, and the ratio between them, said in
//! words (`1.12× pgbench`, `4.0× the floor`, `5.8× faster`) — as a Markdown table that
//! `docs/benchmarks.md` takes as it is.

use std::fmt::Write;

/// One measured figure, next to its anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub figure: String,
    pub ours: String,
    pub anchor: String,
    pub ratio: String,
}

/// A benchmark's result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub title: String,
    pub rows: Vec<Row>,
    /// Sizes, settings and observations worth a line under the table.
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            ..Report::default()
        }
    }

    /// A figure without an anchor.
    pub fn figure(&mut self, figure: impl Into<String>, ours: impl Into<String>) -> &mut Self {
        self.compared(figure, ours, "", "")
    }

    pub fn compared(
        &mut self,
        figure: impl Into<String>,
        ours: impl Into<String>,
        anchor: impl Into<String>,
        ratio: impl Into<String>,
    ) -> &mut Self {
        self.rows.push(Row {
            figure: figure.into(),
            ours: ours.into(),
            anchor: anchor.into(),
            ratio: ratio.into(),
        });
        self
    }

    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// The report as Markdown, headed by `machine`.
    pub fn render(&self, machine: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### {}\n", self.title);
        let _ = writeln!(out, "{machine}\n");
        let _ = writeln!(out, "| figure | ours | anchor (same run) | ratio |");
        let _ = writeln!(out, "|---|---|---|---|");
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                row.figure, row.ours, row.anchor, row.ratio
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

/// `ours / anchor` for rates (higher is better): "1.12× `<anchor>`".
pub fn rate_ratio(ours: f64, anchor: f64, anchor_name: &str) -> String {
    if anchor <= 0.0 {
        return "—".into();
    }
    format!("{:.2}× {anchor_name}", ours / anchor)
}

/// `ours / floor` for durations (lower is better): "4.0× the floor".
pub fn time_ratio(ours: f64, floor: f64) -> String {
    if floor <= 0.0 {
        return "—".into();
    }
    format!("{:.1}× the floor", ours / floor)
}

/// Milliseconds with a sensible number of digits.
pub fn millis(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A count or rate with thousands separators.
pub fn thousands(value: f64) -> String {
    let rounded = value.round() as i64;
    let digits = rounded.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if rounded < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The `p`-quantile (0..=1) of `values` by the nearest-rank method; 0 when empty.
pub fn quantile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_follow_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 50.0);
        assert_eq!(quantile(&values, 0.99), 99.0);
        assert_eq!(quantile(&values, 1.0), 100.0);
        assert_eq!(quantile(&[3.0], 0.5), 3.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(rate_ratio(1.5, 1.0, "pgbench"), "1.50× pgbench");
        assert_eq!(time_ratio(40.0, 10.0), "4.0× the floor");
        assert_eq!(millis(4.256), "4.26 ms");
    }

    #[test]
    fn a_report_renders_as_a_markdown_table() {
        let mut report = Report::new("t");
        report.compared("rate", "2", "1", "2.00× x").note("n");
        let text = report.render("machine");
        assert!(text.contains("| rate | 2 | 1 | 2.00× x |"), "{text}");
        assert!(text.ends_with("- n\n"));
    }
}
