//! Progress of a long command (`replay`, `run-eng5`) on stderr: an `indicatif` bar when
//! stderr is a terminal; otherwise (a log file, CI) a plain line each time another tenth is
//! done, so a log gets at most eleven lines per bar instead of one per frame.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Width of the bar in characters.
const BAR_WIDTH: usize = 30;
/// A plain line is printed each time this many tenths more are done.
const PLAIN_LINE_TENTHS: u64 = 1;

/// One progress bar, labelled `prefix`, counting `unit`s.
pub struct Progress {
    bar: ProgressBar,
    unit: &'static str,
    /// Tenths done at the last plain line (when stderr is not a terminal).
    last_tenths: Option<u64>,
}

impl Progress {
    pub fn new(prefix: impl Into<String>, unit: &'static str) -> Progress {
        Progress::on(ProgressDrawTarget::stderr(), prefix, unit)
    }

    fn on(target: ProgressDrawTarget, prefix: impl Into<String>, unit: &'static str) -> Progress {
        let template = format!("{{prefix:20}} [{{bar:{BAR_WIDTH}}}] {{pos}}/{{len}} {unit}");
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>.");
        let bar = ProgressBar::with_draw_target(None, target)
            .with_style(style)
            .with_prefix(prefix.into());
        Progress {
            bar,
            unit,
            last_tenths: None,
        }
    }

    /// `done` of `total` units are done.
    pub fn update(&mut self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        if self.bar.is_hidden() {
            if let Some(line) = self.plain_line(done, total) {
                eprintln!("{line}");
            }
        }
    }

    /// The plain line to print for `done` of `total`, when another tenth is done since the
    /// last one.
    fn plain_line(&mut self, done: u64, total: u64) -> Option<String> {
        let tenths = tenths_done(done, total);
        let due = match self.last_tenths {
            None => true,
            Some(last) => tenths >= last + PLAIN_LINE_TENTHS,
        };
        if !due {
            return None;
        }
        self.last_tenths = Some(tenths);
        Some(format!(
            "{}: {done}/{total} {} ({}%)",
            self.bar.prefix(),
            self.unit,
            tenths * 10
        ))
    }

    /// Leaves the finished bar on the terminal, on a line of its own.
    pub fn finish(&self) {
        self.bar.finish();
        if !self.bar.is_hidden() {
            // indicatif leaves the cursor behind the bar: what comes next starts a new line.
            eprintln!();
        }
    }
}

/// Whole tenths of `total` that `done` covers (0..=10; `done` beyond `total` counts as all).
fn tenths_done(done: u64, total: u64) -> u64 {
    (done.min(total) * 10).checked_div(total).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(prefix: &str) -> Progress {
        Progress::on(ProgressDrawTarget::hidden(), prefix, "events")
    }

    #[test]
    fn off_a_terminal_a_thousand_updates_print_one_line_per_tenth() {
        let mut progress = hidden("cj_essays");
        let lines: Vec<String> = (0..=1000)
            .filter_map(|done| progress.plain_line(done, 1000))
            .collect();
        assert_eq!(lines.len(), 11, "{lines:?}");
        assert_eq!(lines[0], "cj_essays: 0/1000 events (0%)");
        assert_eq!(lines[10], "cj_essays: 1000/1000 events (100%)");
    }

    #[test]
    fn a_growing_total_does_not_repeat_lines() {
        let mut progress = hidden("run");
        assert!(progress.plain_line(5, 10).is_some());
        // Half of a larger plan is no further than half of the smaller one.
        assert!(progress.plain_line(10, 20).is_none());
        assert!(progress.plain_line(12, 20).is_some());
    }

    #[test]
    fn tenths_are_capped_and_an_empty_total_is_none_done() {
        assert_eq!(tenths_done(20, 10), 10);
        assert_eq!(tenths_done(3, 0), 0);
        assert_eq!(tenths_done(99, 100), 9);
    }
}
