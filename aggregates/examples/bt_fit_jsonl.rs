//! Fits Bradley–Terry scores for each JSON line on stdin and writes one JSON line per input:
//! in `{"n": 3, "comparisons": [[winner, loser], ...], "alpha": 0.01}`,
//! out `{"scores": [...], "standard_errors": [...], "iterations": 7, "seconds": 0.0001}`
//! (`seconds` times the fit alone), or `{"error": "..."}` for a line that cannot be fitted.
//! Used by `scripts/crosscheck_choix.py` to compare against choix in one process.

use cj_aggregates::stats::bradley_terry::{fit, Outcome, DEFAULT_ALPHA};
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufWriter, Write};
use std::time::Instant;

#[derive(Deserialize)]
struct FitRequest {
    n: usize,
    comparisons: Vec<[usize; 2]>,
    #[serde(default = "default_alpha")]
    alpha: f64,
}

fn default_alpha() -> f64 {
    DEFAULT_ALPHA
}

#[derive(Serialize)]
struct FitReply {
    scores: Vec<f64>,
    standard_errors: Vec<f64>,
    iterations: u32,
    converged: bool,
    seconds: f64,
}

fn answer(line: &str) -> serde_json::Value {
    let request: FitRequest = match serde_json::from_str(line) {
        Ok(request) => request,
        Err(error) => return serde_json::json!({ "error": format!("bad request: {error}") }),
    };
    let outcomes: Vec<Outcome> = request
        .comparisons
        .iter()
        .map(|&[winner, loser]| Outcome { winner, loser })
        .collect();
    let started = Instant::now();
    let result = fit(request.n, &outcomes, request.alpha);
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok(fitted) => serde_json::to_value(FitReply {
            scores: fitted.scores,
            standard_errors: fitted.standard_errors,
            iterations: fitted.iterations,
            converged: fitted.converged,
            seconds,
        })
        .unwrap_or_else(|error| serde_json::json!({ "error": error.to_string() })),
        Err(error) => serde_json::json!({ "error": error.to_string() }),
    }
}

fn main() -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", answer(&line))?;
        out.flush()?;
    }
    Ok(())
}
