//! `cj-assessment fit`: the service's statistics on anyone's data. Reads comparisons
//! (CSV `winner,loser` or JSON lines `{"winner":..,"loser":..}`) or scores fitted elsewhere
//! (`essay_id,score,se`), optional anchors (`essay_id,grade`), and prints JSON: per essay
//! score, SE, comparisons and rank, grades with probabilities when anchors are given, the
//! batch's SSR and the calibration.

use anyhow::Context;
use cj_aggregates::bradley_terry::{self, Outcome};
use cj_aggregates::grade_scale::GradeScale;
use cj_aggregates::grading::{self, AnchorPoint};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct FitArgs {
    /// Comparisons: CSV with columns winner,loser — or JSON lines with those keys.
    #[arg(long, conflicts_with = "scores", required_unless_present = "scores")]
    pub comparisons: Option<PathBuf>,
    /// Scores fitted by another tool: CSV essay_id,score,se.
    #[arg(long)]
    pub scores: Option<PathBuf>,
    /// Anchors of known grade: CSV essay_id,grade.
    #[arg(long)]
    pub anchors: Option<PathBuf>,
    #[arg(long, default_value = "swedish_8_anchor")]
    pub scale: GradeScale,
    /// Regularisation of the Bradley–Terry fit (choix's alpha).
    #[arg(long, default_value_t = bradley_terry::DEFAULT_ALPHA)]
    pub alpha: f64,
}

/// Input the user can fix: names the file and line. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn input_error(file: &Path, line: usize, message: impl Into<String>) -> anyhow::Error {
    InputError {
        file: file.display().to_string(),
        line,
        message: message.into(),
    }
    .into()
}

#[derive(Debug, Serialize)]
struct EssayFit {
    id: String,
    score: f64,
    se: f64,
    comparisons: Option<u32>,
    rank: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    anchor_grade: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grade: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    probabilities: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<Value>,
}

pub fn run(args: FitArgs) -> anyhow::Result<()> {
    let report = fit(&args)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The whole fit as JSON.
pub fn fit(args: &FitArgs) -> anyhow::Result<Value> {
    let mut ids = EssayIds::default();
    let (scores, ses, counts) = match (&args.comparisons, &args.scores) {
        (Some(path), _) => {
            let outcomes = read_comparisons(path, &mut ids)?;
            if !(args.alpha.is_finite() && args.alpha >= 0.0) {
                anyhow::bail!("--alpha must be a finite number ≥ 0");
            }
            let fit = bradley_terry::fit(ids.len(), &outcomes, args.alpha)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let counts = fit.comparison_counts.iter().map(|&c| Some(c)).collect();
            (fit.scores, fit.standard_errors, counts)
        }
        (None, Some(path)) => {
            let (scores, ses) = read_scores(path, &mut ids)?;
            let counts = vec![None; scores.len()];
            (scores, ses, counts)
        }
        (None, None) => anyhow::bail!("give --comparisons or --scores"),
    };
    let anchors = match &args.anchors {
        Some(path) => read_anchors(path, &ids, args.scale)?,
        None => HashMap::new(),
    };
    let calibration_points: Vec<AnchorPoint> = anchors
        .iter()
        .map(|(&index, grade)| AnchorPoint {
            score: scores[index],
            grade_index: args.scale.index_of(grade).unwrap_or_default(),
            standard_error: ses[index],
        })
        .collect();
    let calibration =
        (!anchors.is_empty()).then(|| grading::calibrate(args.scale, &calibration_points));
    let ranks = ranks_of(&scores);
    let essays: Vec<EssayFit> = (0..ids.len())
        .map(|i| {
            let mut essay = EssayFit {
                id: ids.names[i].clone(),
                score: scores[i],
                se: ses[i],
                comparisons: counts[i],
                rank: ranks[i],
                anchor_grade: anchors.get(&i).cloned(),
                grade: None,
                probabilities: None,
                confidence: None,
                label: None,
            };
            if let (Some(Ok(calibration)), None) = (&calibration, &essay.anchor_grade) {
                let projection = calibration.project(scores[i], ses[i]);
                essay.grade = Some(projection.grade);
                essay.probabilities = serde_json::to_value(projection.probabilities).ok();
                essay.confidence = Some(projection.confidence);
                essay.label = serde_json::to_value(projection.label).ok();
            }
            essay
        })
        .collect();
    let (calibration, unavailable) = match calibration {
        Some(Ok(c)) => (serde_json::to_value(c)?, Value::Null),
        Some(Err(e)) => (Value::Null, Value::String(e.to_string())),
        None => (Value::Null, Value::String("no anchors given".into())),
    };
    Ok(serde_json::json!({
        "essays": essays,
        "ssr": bradley_terry::scale_separation_reliability(&scores, &ses),
        "alpha": args.comparisons.as_ref().map(|_| args.alpha),
        "scale": args.scale,
        "calibration": calibration,
        "calibration_unavailable": unavailable,
    }))
}

/// Essay names in order of first appearance.
#[derive(Default)]
struct EssayIds {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl EssayIds {
    fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.index.insert(name.to_string(), self.names.len());
        self.names.push(name.to_string());
        self.names.len() - 1
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

fn ranks_of(scores: &[f64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut ranks = vec![0; scores.len()];
    for (position, i) in order.into_iter().enumerate() {
        ranks[i] = position as u32 + 1;
    }
    ranks
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim().is_empty() {
        return Err(input_error(path, 1, "the file is empty"));
    }
    Ok(text)
}

/// Rows of a CSV file with exactly the `expected` columns (in any order), with line numbers.
fn csv_rows(
    path: &Path,
    text: &str,
    expected: &[&str],
) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| input_error(path, 1, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(unknown) = headers.iter().find(|h| !expected.contains(&h.as_str())) {
        return Err(input_error(
            path,
            1,
            format!(
                "unknown column '{unknown}' (expected columns: {})",
                expected.join(",")
            ),
        ));
    }
    let mut columns = Vec::new();
    for name in expected {
        let Some(position) = headers.iter().position(|h| h == name) else {
            return Err(input_error(
                path,
                1,
                format!(
                    "missing column '{name}' (expected columns: {})",
                    expected.join(",")
                ),
            ));
        };
        columns.push(position);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            input_error(path, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        rows.push((
            line,
            columns.iter().map(|&c| record[c].to_string()).collect(),
        ));
    }
    if rows.is_empty() {
        return Err(input_error(path, 1, "no data rows"));
    }
    Ok(rows)
}

fn read_comparisons(path: &Path, ids: &mut EssayIds) -> anyhow::Result<Vec<Outcome>> {
    let text = read_text(path)?;
    let json_lines = text.trim_start().starts_with('{');
    let pairs: Vec<(usize, String, String)> = if json_lines {
        let mut pairs = Vec::new();
        for (number, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Row {
                winner: String,
                loser: String,
            }
            let row: Row = serde_json::from_str(line)
                .map_err(|e| input_error(path, number + 1, format!("not a comparison: {e}")))?;
            pairs.push((number + 1, row.winner, row.loser));
        }
        pairs
    } else {
        csv_rows(path, &text, &["winner", "loser"])?
            .into_iter()
            .map(|(line, mut row)| {
                let loser = row.pop().unwrap_or_default();
                let winner = row.pop().unwrap_or_default();
                (line, winner, loser)
            })
            .collect()
    };
    pairs
        .into_iter()
        .map(|(line, winner, loser)| {
            if winner.is_empty() || loser.is_empty() {
                return Err(input_error(path, line, "empty essay id"));
            }
            if winner == loser {
                return Err(input_error(
                    path,
                    line,
                    format!("essay '{winner}' is compared with itself"),
                ));
            }
            Ok(Outcome {
                winner: ids.intern(&winner),
                loser: ids.intern(&loser),
            })
        })
        .collect()
}

fn read_scores(path: &Path, ids: &mut EssayIds) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let text = read_text(path)?;
    let mut scores = Vec::new();
    let mut ses = Vec::new();
    for (line, row) in csv_rows(path, &text, &["essay_id", "score", "se"])? {
        let number = |value: &str, what: &str| -> anyhow::Result<f64> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    input_error(
                        path,
                        line,
                        format!("{what} '{value}' is not a finite number"),
                    )
                })
        };
        let score = number(&row[1], "score")?;
        let se = number(&row[2], "se")?;
        if se <= 0.0 {
            return Err(input_error(path, line, "se must be positive"));
        }
        if ids.index.contains_key(&row[0]) {
            return Err(input_error(
                path,
                line,
                format!("essay '{}' appears twice", row[0]),
            ));
        }
        ids.intern(&row[0]);
        scores.push(score);
        ses.push(se);
    }
    Ok((scores, ses))
}

fn read_anchors(
    path: &Path,
    ids: &EssayIds,
    scale: GradeScale,
) -> anyhow::Result<HashMap<usize, String>> {
    let text = read_text(path)?;
    let mut anchors = HashMap::new();
    for (line, row) in csv_rows(path, &text, &["essay_id", "grade"])? {
        let Some(&index) = ids.index.get(&row[0]) else {
            return Err(input_error(
                path,
                line,
                format!("anchor '{}' does not appear in the comparisons", row[0]),
            ));
        };
        if scale.index_of(&row[1]).is_none() {
            return Err(input_error(
                path,
                line,
                format!(
                    "grade '{}' is not on scale {scale} ({})",
                    row[1],
                    scale.grades().join(", ")
                ),
            ));
        }
        anchors.insert(index, row[1].clone());
    }
    Ok(anchors)
}
