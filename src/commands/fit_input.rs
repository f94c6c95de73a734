//! The files `cj-assessment fit` reads, and the errors that name the file and line when a
//! row is wrong (exit code 2): comparisons (CSV with a header, or JSON lines), scores fitted
//! elsewhere, and anchors.
//!
//! A comparison row has `winner` (or `candidate_chosen`), `loser` (or
//! `candidate_not_chosen`), optionally `judge` and optionally `first` — the id shown first,
//! which must be the winner or the loser. The ids of essays and judges are kept in order of
//! first appearance.

use anyhow::Context;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::stats::Comparison;
use std::collections::HashMap;
use std::path::Path;

/// Input the user can fix: names the file and line. Exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

pub fn input_error(file: &Path, line: usize, message: impl Into<String>) -> anyhow::Error {
    InputError {
        file: file.display().to_string(),
        line,
        message: message.into(),
    }
    .into()
}

/// Names in order of first appearance, each with its index.
#[derive(Default)]
pub struct Names {
    pub names: Vec<String>,
    pub index: HashMap<String, usize>,
}

impl Names {
    pub fn intern(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.index.insert(name.to_string(), self.names.len());
        self.names.push(name.to_string());
        self.names.len() - 1
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What a comparisons file holds.
pub struct ComparisonInput {
    /// Every comparison listed winner first (as the reference data are), with its judge.
    pub comparisons: Vec<Comparison>,
    /// The comparisons whose `first` is known, oriented as shown.
    pub shown: Vec<Comparison>,
    /// Judge ids (empty when the file has no `judge` column).
    pub judges: Names,
}

/// The two required columns, each with its alternative name; `judge` and `first` are optional
/// and any other column is ignored.
const WINNER: [&str; 2] = ["winner", "candidate_chosen"];
const LOSER: [&str; 2] = ["loser", "candidate_not_chosen"];

/// One row before validation.
struct Row {
    line: usize,
    winner: String,
    loser: String,
    judge: Option<String>,
    first: Option<String>,
}

pub fn read_comparisons(path: &Path, ids: &mut Names) -> anyhow::Result<ComparisonInput> {
    let text = read_text(path)?;
    let rows = if text.trim_start().starts_with('{') {
        json_rows(path, &text)?
    } else {
        csv_comparison_rows(path, &text)?
    };
    let mut input = ComparisonInput {
        comparisons: Vec::with_capacity(rows.len()),
        shown: Vec::new(),
        judges: Names::default(),
    };
    for row in rows {
        let line = row.line;
        if row.winner.is_empty() || row.loser.is_empty() {
            return Err(input_error(path, line, "empty essay id"));
        }
        if row.winner == row.loser {
            return Err(input_error(
                path,
                line,
                format!("essay '{}' is compared with itself", row.winner),
            ));
        }
        let winner = ids.intern(&row.winner);
        let loser = ids.intern(&row.loser);
        let judge = row
            .judge
            .filter(|j| !j.is_empty())
            .map(|j| u32::try_from(input.judges.intern(&j)).unwrap_or(u32::MAX));
        let comparison = Comparison {
            judge,
            ..Comparison::decided(winner, loser)
        };
        input.comparisons.push(comparison);
        match row.first.filter(|f| !f.is_empty()) {
            None => {}
            Some(first) if first == row.winner => input.shown.push(comparison),
            Some(first) if first == row.loser => input.shown.push(Comparison {
                first: loser,
                second: winner,
                first_won: 0.0,
                judge,
            }),
            Some(first) => {
                return Err(input_error(
                    path,
                    line,
                    format!("first '{first}' is neither the winner nor the loser"),
                ))
            }
        }
    }
    Ok(input)
}

fn json_rows(path: &Path, text: &str) -> anyhow::Result<Vec<Row>> {
    #[derive(serde::Deserialize)]
    struct JsonRow {
        #[serde(alias = "candidate_chosen")]
        winner: String,
        #[serde(alias = "candidate_not_chosen")]
        loser: String,
        #[serde(default)]
        judge: Option<serde_json::Value>,
        #[serde(default)]
        first: Option<String>,
    }
    let mut rows = Vec::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: JsonRow = serde_json::from_str(line)
            .map_err(|e| input_error(path, number + 1, format!("not a comparison: {e}")))?;
        let judge = match row.judge {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        };
        rows.push(Row {
            line: number + 1,
            winner: row.winner,
            loser: row.loser,
            judge,
            first: row.first,
        });
    }
    Ok(rows)
}

fn csv_comparison_rows(path: &Path, text: &str) -> anyhow::Result<Vec<Row>> {
    // Researchers' files carry more columns (study, session, timestamps): those are ignored;
    // a misspelt required column still fails below, naming the column it misses.
    let (headers, records) = csv_records(path, text, None)?;
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let required = |names: [&str; 2]| {
        column(&names).ok_or_else(|| {
            input_error(
                path,
                1,
                format!("missing column '{}' (or '{}')", names[0], names[1]),
            )
        })
    };
    let (winner, loser) = (required(WINNER)?, required(LOSER)?);
    let (judge, first) = (column(&["judge"]), column(&["first"]));
    Ok(records
        .into_iter()
        .map(|(line, record)| Row {
            line,
            winner: record[winner].clone(),
            loser: record[loser].clone(),
            judge: judge.map(|c| record[c].clone()),
            first: first.map(|c| record[c].clone()),
        })
        .collect())
}

pub fn read_text(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim().is_empty() {
        return Err(input_error(path, 1, "the file is empty"));
    }
    Ok(text)
}

type Records = (Vec<String>, Vec<(usize, Vec<String>)>);

/// The header and the rows (with line numbers) of a CSV file; with `known`, every column must
/// be one of them.
fn csv_records(path: &Path, text: &str, known: Option<&[&str]>) -> anyhow::Result<Records> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| input_error(path, 1, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some((unknown, known)) = known.and_then(|k| {
        headers
            .iter()
            .find(|h| !k.contains(&h.as_str()))
            .map(|h| (h, k))
    }) {
        return Err(input_error(
            path,
            1,
            format!(
                "unknown column '{unknown}' (expected columns: {})",
                known.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            input_error(path, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    if rows.is_empty() {
        return Err(input_error(path, 1, "no data rows"));
    }
    Ok((headers, rows))
}

/// Rows of a CSV file with exactly the `expected` columns (in any order), in that order.
fn csv_rows(
    path: &Path,
    text: &str,
    expected: &[&str],
) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
    let (headers, records) = csv_records(path, text, Some(expected))?;
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
    Ok(records
        .into_iter()
        .map(|(line, record)| (line, columns.iter().map(|&c| record[c].clone()).collect()))
        .collect())
}

pub fn read_scores(path: &Path, ids: &mut Names) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
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

pub fn read_anchors(
    path: &Path,
    ids: &Names,
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
