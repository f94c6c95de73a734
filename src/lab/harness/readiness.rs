//! `GET /healthz/ready` from outside: one probe ([`probe`]), waiting until it answers 200
//! ([`wait_ready`]), and a [`ReadinessWatch`] that probes in the background and keeps every
//! change of the answer with its time, so a fault test can show red during an outage and
//! green after it.

use super::error::HarnessError;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Longest one probe may take: `/healthz/ready` runs its checks one after the other.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between probes while waiting for green.
const WAIT_POLL: Duration = Duration::from_millis(50);

/// What one probe saw: the status code, or no answer at all (refused, timed out).
pub type Answer = Option<u16>;

/// A client for probes (each bounded by [`PROBE_TIMEOUT`]).
pub fn probe_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The status `GET {base_url}/healthz/ready` answers, or `None` without an answer.
pub async fn probe(http: &reqwest::Client, base_url: &str) -> Answer {
    http.get(format!("{base_url}/healthz/ready"))
        .send()
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

/// Probes until the answer is 200; returns how long that took.
pub async fn wait_ready(
    http: &reqwest::Client,
    base_url: &str,
    within: Duration,
) -> Result<Duration, HarnessError> {
    let started = Instant::now();
    loop {
        if probe(http, base_url).await == Some(200) {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= within {
            return Err(HarnessError::TimedOut {
                what: format!("the service at {base_url}"),
                expected: "become ready",
                within,
            });
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// A change of the readiness answer, `at` after the watch started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub at: Duration,
    pub answer: Answer,
}

/// Probes `/healthz/ready` every `interval` in the background and records each change.
pub struct ReadinessWatch {
    started: Instant,
    changes: Arc<Mutex<Vec<Change>>>,
    task: JoinHandle<()>,
}

impl ReadinessWatch {
    pub fn start(base_url: &str, interval: Duration) -> ReadinessWatch {
        let started = Instant::now();
        let changes = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(watch(
            base_url.to_string(),
            interval,
            started,
            Arc::clone(&changes),
        ));
        ReadinessWatch {
            started,
            changes,
            task,
        }
    }

    /// Every change so far, the first probe's answer first.
    pub fn changes(&self) -> Vec<Change> {
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// When the watch started (the zero of [`Change::at`]).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The first moment at or after `since` (an instant of the caller's) when the answer
    /// was `answer`: `since` itself when it already was, else the change to it.
    pub fn answering(&self, answer: Answer, since: Instant) -> Option<Change> {
        let since = since.saturating_duration_since(self.started);
        let changes = self.changes();
        let standing = changes.iter().rev().find(|change| change.at < since);
        if standing.is_some_and(|change| change.answer == answer) {
            return Some(Change { at: since, answer });
        }
        changes
            .into_iter()
            .find(|change| change.at >= since && change.answer == answer)
    }

    /// Waits until the answer is `answer` at or after `since` (see [`Self::answering`]).
    pub async fn wait_for(
        &self,
        answer: Answer,
        since: Instant,
        within: Duration,
    ) -> Result<Change, HarnessError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(change) = self.answering(answer, since) {
                return Ok(change);
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::TimedOut {
                    what: "the readiness watch".into(),
                    expected: "see the awaited answer",
                    within,
                });
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }
}

impl Drop for ReadinessWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch(
    base_url: String,
    interval: Duration,
    started: Instant,
    changes: Arc<Mutex<Vec<Change>>>,
) {
    let http = probe_client();
    let mut last = None;
    loop {
        let answer = probe(&http, &base_url).await;
        if last != Some(answer) {
            last = Some(answer);
            let change = Change {
                at: started.elapsed(),
                answer,
            };
            changes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(change);
        }
        tokio::time::sleep(interval).await;
    }
}
