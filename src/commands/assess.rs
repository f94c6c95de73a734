//! `cj-assessment assess DIR --assignment ID`: a client of a running service's HTTP API for
//! an operator with a folder of essays. It reads every `*.txt` file of `DIR` (the file stem
//! is the essay id), submits them inline with `POST /api/v1/batches`, follows the batch with
//! `GET /api/v1/batches/{id}` under a progress bar, and prints the ranking and grades from
//! the batch's `BatchScored` event when it ends. The request id defaults to a hash of the
//! folder's essays and the assignment, so running the command again on the same folder
//! follows the same batch instead of paying for a second one. The token needs the
//! `submitter` and `reader` roles.

use crate::commands::progress::Progress;
use crate::content::hash::sha256_hex;
use crate::http::submit::BatchAccepted;
use anyhow::{bail, Context};
use cj_aggregates::batch::events::{BatchScored, EssayScore};
use clap::Args;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct AssessArgs {
    /// A folder of `*.txt` files, one essay each; the file name without `.txt` is its id.
    pub dir: PathBuf,
    /// The registered assignment (grade scale, anchors, instructions) to assess against.
    #[arg(long)]
    pub assignment: Option<String>,
    /// The service's base URL.
    #[arg(long, env = "CJ_API_URL", default_value = "http://127.0.0.1:8090")]
    pub url: String,
    /// A bearer token with the `submitter` and `reader` roles (`cj-assessment token dev
    /// --role submitter --role reader`).
    #[arg(long, env = "CJ_API_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The submission's request id; default: a hash of the essays and the assignment.
    #[arg(long)]
    pub request_id: Option<String>,
    /// Comparisons each essay takes part in on average (lowers the service's budget).
    #[arg(long)]
    pub comparisons_per_essay: Option<u32>,
    /// The judge's model, when not the deployment's default.
    #[arg(long)]
    pub model: Option<String>,
    /// How often the batch's state is read.
    #[arg(long, default_value_t = 2)]
    pub poll_secs: u64,
    /// Give up following after this long (the batch goes on in the service).
    #[arg(long, default_value_t = 3600)]
    pub timeout_secs: u64,
}

/// One essay read from the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EssayFile {
    pub id: String,
    pub text: String,
}

/// The part of `GET /api/v1/batches/{id}` the command follows.
#[derive(Debug, Deserialize)]
struct BatchState {
    state: String,
    upload_status: String,
    total_budget: i64,
    completed_comparisons: i64,
    failed_comparisons: i64,
}

impl BatchState {
    fn has_ended(&self) -> bool {
        matches!(self.state.as_str(), "COMPLETED" | "FAILED" | "CANCELLED")
    }
}

pub fn run(args: AssessArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let table = runtime.block_on(assess(&args, true))?;
    print!("{table}");
    Ok(())
}

/// Submits the folder, follows the batch to its end and answers the printed result.
pub async fn assess(args: &AssessArgs, show_progress: bool) -> anyhow::Result<String> {
    let essays = read_essays(&args.dir)?;
    let request_id = args
        .request_id
        .clone()
        .unwrap_or_else(|| default_request_id(&essays, args.assignment.as_deref()));
    let client = ApiClient {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        base: args.url.trim_end_matches('/').to_string(),
        token: args.token.clone(),
    };
    let accepted = client
        .submit(&submission_body(args, &request_id, &essays))
        .await?;
    eprintln!(
        "batch {} ({} essays){}",
        accepted.batch_id,
        essays.len(),
        if accepted.already_submitted {
            ", submitted before: following it"
        } else {
            ""
        }
    );
    let mut progress = show_progress.then(|| Progress::new(request_id.clone(), "comparisons"));
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let state = loop {
        if let Some(state) = client.state(&accepted.status_url).await? {
            if let Some(progress) = &mut progress {
                let done = state.completed_comparisons + state.failed_comparisons;
                progress.update(done.max(0) as u64, state.total_budget.max(0) as u64);
            }
            if state.has_ended() {
                break state;
            }
        }
        if Instant::now() > deadline {
            bail!(
                "batch {} has not ended after {} s; it goes on in the service ({})",
                accepted.batch_id,
                args.timeout_secs,
                accepted.status_url
            );
        }
        tokio::time::sleep(Duration::from_secs(args.poll_secs)).await;
    };
    if let Some(progress) = &progress {
        progress.finish();
    }
    let history: Vec<Value> = client.get_json(&accepted.history_url).await?;
    let scored = last_scored(&history)?;
    let mut out = format!(
        "batch {} {} ({})\n",
        accepted.batch_id, state.state, state.upload_status
    );
    match scored {
        Some(scored) => out.push_str(&ranking_table(&scored)),
        None => out.push_str("no scores: the batch ended before it was scored\n"),
    }
    out.push_str(&format!("report: {}{}\n", client.base, accepted.report_url));
    Ok(out)
}

/// The `*.txt` files of `dir`, sorted by id. Empty files are refused: the service would
/// refuse them anyway, and naming the file here is more helpful.
pub fn read_essays(dir: &Path) -> anyhow::Result<Vec<EssayFile>> {
    let mut essays = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") || !path.is_file() {
            continue;
        }
        let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
            bail!("{}: the file name is not UTF-8", path.display());
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if text.trim().is_empty() {
            bail!("{} is empty", path.display());
        }
        essays.push(EssayFile {
            id: id.to_string(),
            text,
        });
    }
    if essays.is_empty() {
        bail!("no *.txt files in {}", dir.display());
    }
    essays.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(essays)
}

/// A request id that is the same for the same essays and assignment.
fn default_request_id(essays: &[EssayFile], assignment: Option<&str>) -> String {
    let mut fingerprint = String::from(assignment.unwrap_or(""));
    for essay in essays {
        fingerprint.push('\0');
        fingerprint.push_str(&essay.id);
        fingerprint.push('\0');
        fingerprint.push_str(&sha256_hex(&essay.text));
    }
    format!("assess-{}", &sha256_hex(&fingerprint)[..32])
}

fn submission_body(args: &AssessArgs, request_id: &str, essays: &[EssayFile]) -> Value {
    let mut body = json!({
        "request_id": request_id,
        "essays": essays.iter().map(|e| json!({"id": e.id, "text": e.text})).collect::<Vec<_>>(),
    });
    if let Some(assignment) = &args.assignment {
        body["assignment_id"] = json!(assignment);
    }
    if let Some(per_essay) = args.comparisons_per_essay {
        body["budget"] = json!({ "comparisons_per_essay": per_essay });
    }
    if let Some(model) = &args.model {
        body["llm"] = json!({ "model_override": model });
    }
    body
}

/// The scores of the batch's last `BatchScored` event, if it has one.
fn last_scored(history: &[Value]) -> anyhow::Result<Option<BatchScored>> {
    history
        .iter()
        .rev()
        .find(|entry| entry["event_type"] == "BatchScored")
        .map(|entry| {
            // The log stores the event enum as serde tags it: {"BatchScored": {...}}.
            let payload = &entry["payload"];
            let scored = payload.get("BatchScored").unwrap_or(payload);
            serde_json::from_value(scored.clone()).context("reading BatchScored")
        })
        .transpose()
}

/// Rank, essay, score and grade of every essay, best first; anchors marked with their
/// known grade.
pub fn ranking_table(scored: &BatchScored) -> String {
    let mut essays: Vec<&EssayScore> = scored.essays.iter().collect();
    essays.sort_by_key(|essay| essay.rank);
    let mut out = format!(
        "{:>4}  {:<24} {:>14}  {:<6} {:>5}\n",
        "rank", "essay", "score ± SE", "grade", "P"
    );
    for essay in essays {
        let (grade, probability) = match (&essay.projection, &essay.known_grade) {
            (Some(projection), _) => (
                projection.grade.clone(),
                format!("{:.2}", projection.confidence),
            ),
            (None, Some(known)) => (format!("{known} (anchor)"), String::new()),
            (None, None) => ("-".to_string(), String::new()),
        };
        out.push_str(&format!(
            "{:>4}  {:<24} {:>6.2} ± {:<5.2}  {:<6} {:>5}\n",
            essay.rank,
            essay.essay_id.as_str(),
            essay.bt_score,
            essay.standard_error,
            grade,
            probability
        ));
    }
    if let Some(ssr) = scored.ssr {
        out.push_str(&format!("scale separation reliability: {ssr:.2}\n"));
    }
    out
}

/// The service's HTTP API, with the operator's token.
struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    async fn submit(&self, body: &Value) -> anyhow::Result<BatchAccepted> {
        let response = self
            .http
            .post(format!("{}/api/v1/batches", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("submitting to {}", self.base))?;
        if response.status() != StatusCode::ACCEPTED {
            bail!("the service refused the batch: {}", refusal(response).await);
        }
        Ok(response.json().await?)
    }

    /// The batch's state; `None` while its registration is not projected yet.
    async fn state(&self, status_url: &str) -> anyhow::Result<Option<BatchState>> {
        let response = self.get(status_url).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => Ok(Some(response.json().await?)),
            _ => bail!("reading the batch's state: {}", refusal(response).await),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self.get(path).await?;
        if !response.status().is_success() {
            bail!("GET {path}: {}", refusal(response).await);
        }
        Ok(response.json().await?)
    }

    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {}{path}", self.base))
    }
}

/// "HTTP status: the service's error message".
async fn refusal(response: reqwest::Response) -> String {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    match body["error"].as_str() {
        Some(error) => format!("HTTP {status}: {error}"),
        None => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cj-assess-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn the_txt_files_of_a_folder_are_the_essays_named_by_their_stems() {
        let dir = folder(&[
            ("b.txt", "Second."),
            ("a.txt", "First."),
            ("notes.md", "no"),
        ]);
        let essays = read_essays(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let ids: Vec<&str> = essays.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(essays[0].text, "First.");
    }

    #[test]
    fn an_empty_essay_or_an_empty_folder_is_named_in_the_error() {
        let dir = folder(&[("blank.txt", "  \n")]);
        let error = read_essays(&dir).unwrap_err().to_string();
        assert!(error.contains("blank.txt"), "{error}");
        std::fs::remove_file(dir.join("blank.txt")).unwrap();
        let error = read_essays(&dir).unwrap_err().to_string();
        assert!(error.contains("no *.txt files"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_request_id_follows_the_essays_and_the_assignment() {
        let essays = vec![EssayFile {
            id: "a".into(),
            text: "First.".into(),
        }];
        let id = default_request_id(&essays, Some("a1"));
        assert_eq!(id, default_request_id(&essays, Some("a1")));
        assert_ne!(id, default_request_id(&essays, Some("a2")));
        let edited = vec![EssayFile {
            id: "a".into(),
            text: "First, edited.".into(),
        }];
        assert_ne!(id, default_request_id(&edited, Some("a1")));
        assert!(id.len() <= crate::intake::submission::MAX_REQUEST_ID_LEN);
    }
}
