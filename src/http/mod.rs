//! The HTTP surface: liveness, readiness, metrics ([`operational_routes`]); batch state,
//! history and the teacher's report ([`batches`], [`report`]); bearer-token checks of the
//! admin routes ([`auth`]). Routes that need the database
//! or the broker read them through `Readiness` checks supplied by whoever starts the server.

pub mod admin;
pub mod auth;
pub mod batches;
pub mod report;

use crate::metrics::metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One named readiness check: Ok when the dependency is usable.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

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

#[derive(Debug, Serialize)]
struct CheckResult {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The operational routes: `/healthz/live`, `/healthz/ready`, `/metrics`.
pub fn operational_routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz/live", get(|| async { "ok" }))
        .route("/healthz/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(Arc::new(readiness))
}

async fn ready(State(readiness): State<Arc<Readiness>>) -> Response {
    let mut results = Vec::new();
    for (name, check) in &readiness.checks {
        let outcome = check().await;
        results.push(CheckResult {
            name,
            ok: outcome.is_ok(),
            error: outcome.err(),
        });
    }
    let status = if results.iter().all(|r| r.ok) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(results)).into_response()
}

async fn render_metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics().render(),
    )
        .into_response()
}
