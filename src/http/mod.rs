//! The HTTP surface: liveness, readiness, metrics ([`operational_routes`], open to all);
//! batch state, history and the teacher's report ([`batches`], [`report`]); batch submission
//! ([`submit`]); the admin API
//! ([`admin`]); bearer-token checks ([`auth`]); the whole app, its body limits and its
//! OpenAPI document ([`api`]). Routes that need the database or the broker read them
//! through `Readiness` checks supplied by whoever starts the server; `serve`'s are in
//! [`checks`].

pub mod admin;
pub mod api;
pub mod auth;
pub mod batches;
pub mod body_limit;
pub mod calibration;
pub mod checks;
pub mod report;
pub mod submit;

use crate::metrics::metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One named readiness check: Ok when the dependency is usable.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), NotReady>> + Send>> + Send + Sync>;

/// Why a readiness check failed. Its Display is the check's `error` in the body of
/// `/healthz/ready`.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The database refused or did not answer the probe query.
    #[error("{0}")]
    Database(#[from] sqlx::Error),
    /// The broker did not answer (the error's whole chain).
    #[error("{0:#}")]
    Broker(anyhow::Error),
    /// A projector's lag could not be read.
    #[error("{0}")]
    Projection(#[from] cj_projections::ProjectionError),
    /// A projector is further behind the log than readiness allows.
    #[error("projector {name} is {lag} events behind")]
    ProjectorBehind { name: &'static str, lag: i64 },
    /// The check took longer than [`CHECK_TIMEOUT`].
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
    /// The check's task panicked or was cancelled.
    #[error("the check failed: {0}")]
    CheckFailed(#[from] tokio::task::JoinError),
}

/// What `/healthz/ready` checks.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, ReadinessCheck)>,
}

impl Readiness {
    pub fn with_check(mut self, name: &'static str, check: ReadinessCheck) -> Self {
        self.checks.push((name, check));
        self
    }
}

/// One readiness check's outcome.
#[derive(Debug, Serialize, ToSchema)]
struct CheckResult {
    #[schema(value_type = String)]
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The operational routes, open without a token: `/healthz/live`, `/healthz/ready`,
/// `/metrics` (state: the readiness checks).
pub fn operational_routes() -> OpenApiRouter<Arc<Readiness>> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(render_metrics))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz/live", tag = "operations",
    responses((status = 200, description = "alive", content_type = "text/plain", body = String)))]
async fn live() -> &'static str {
    "ok"
}

/// Longest one readiness check may take; a dependency that does not answer within it is not
/// ready. Unbounded, a database that is down holds every check for the pool's whole acquire
/// timeout, one after the other, and probes time out before `/healthz/ready` answers at all.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: database, broker, projector lag, each check bounded by `CHECK_TIMEOUT`.
#[utoipa::path(get, path = "/healthz/ready", tag = "operations",
    responses(
        (status = 200, description = "ready", body = [CheckResult]),
        (status = 503, description = "not ready", body = [CheckResult]),
    ))]
async fn ready(State(readiness): State<Arc<Readiness>>) -> Response {
    // All checks at once, each bounded: the answer comes within CHECK_TIMEOUT.
    let running: Vec<_> = readiness
        .checks
        .iter()
        .map(|(name, check)| {
            (
                *name,
                tokio::spawn(tokio::time::timeout(CHECK_TIMEOUT, check())),
            )
        })
        .collect();
    let mut results = Vec::new();
    for (name, check) in running {
        let outcome = match check.await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_elapsed)) => Err(NotReady::NoAnswer(CHECK_TIMEOUT)),
            Err(error) => Err(NotReady::CheckFailed(error)),
        };
        results.push(CheckResult {
            name,
            ok: outcome.is_ok(),
            error: outcome.err().map(|error| error.to_string()),
        });
    }
    let status = if results.iter().all(|r| r.ok) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(results)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "text exposition format 0.0.4", content_type = "text/plain", body = String)))]
async fn render_metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics().render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_check_that_does_not_answer_makes_readiness_red_within_the_check_timeout() {
        let hangs: ReadinessCheck = Arc::new(|| Box::pin(std::future::pending()));
        let answers: ReadinessCheck = Arc::new(|| Box::pin(async { Ok(()) }));
        let readiness = Readiness::default()
            .with_check("database", hangs)
            .with_check("broker", answers);
        let response = ready(State(Arc::new(readiness))).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        let checks: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(checks[0]["ok"], false);
        assert_eq!(checks[0]["error"], "no answer within 2s");
        assert_eq!(checks[1]["ok"], true);
    }

    #[test]
    fn not_ready_reads_as_the_checks_always_reported() {
        let behind = NotReady::ProjectorBehind {
            name: "batch_states",
            lag: 10_001,
        };
        assert_eq!(
            behind.to_string(),
            "projector batch_states is 10001 events behind"
        );
        let broker = NotReady::Broker(anyhow::anyhow!("timed out").context("metadata"));
        assert_eq!(broker.to_string(), "metadata: timed out");
    }
}
