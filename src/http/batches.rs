//! Read-only batch routes: `GET /api/v1/batches/{id}` (state from the projections),
//! `/history` (the event log, in order) and `/report` (the teacher's HTML page), declared
//! with their OpenAPI descriptions; [`super::api`] puts them behind the `reader` role.

use super::api::{error_response as problem, ErrorBody};
use super::report::{render_report, ReportHeading};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use cj_aggregates::batch::usage::Usage;
use cj_aggregates::CjBatchEvent;
use cj_projections::log::{batch_events, LoggedEvent};
use cj_projections::monitoring::{batch_monitoring, BatchMonitoringRow};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The batch routes with their descriptions (state: the database pool).
pub fn batch_routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::new()
        .routes(routes!(batch_state))
        .routes(routes!(batch_history))
        .routes(routes!(batch_report))
}

/// One event of a batch's history, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Position in the batch's stream, from 1.
    pub sequence: i64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The version the event was stored with.
    pub event_version: String,
    pub recorded_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// The payload as stored (before upcasting).
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<&LoggedEvent> for HistoryEntry {
    fn from(logged: &LoggedEvent) -> Self {
        HistoryEntry {
            sequence: logged.sequence,
            event_id: logged.event_id,
            event_type: logged.event_type.clone(),
            event_version: logged.event_version.clone(),
            recorded_at: logged.recorded_at,
            metadata: logged.metadata.clone(),
            payload: logged.stored_payload.clone(),
        }
    }
}

fn not_a_uuid() -> Response {
    problem(StatusCode::BAD_REQUEST, "batch id must be a UUID")
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "batch route failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// The batch's state from the projections.
#[utoipa::path(get, path = "/api/v1/batches/{id}", tag = "batches",
    params(("id" = Uuid, Path, description = "the batch id")),
    responses(
        (status = 200, description = "the batch's state", body = BatchMonitoringRow),
        (status = 400, description = "not a UUID", body = ErrorBody),
        (status = 404, description = "unknown batch", body = ErrorBody),
    ))]
async fn batch_state(State(pool): State<PgPool>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_a_uuid();
    };
    match batch_monitoring(&pool, id).await {
        Ok(Some(row)) => Json(row).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "no such batch"),
        Err(error) => internal(error),
    }
}

/// The batch's event log, in order.
#[utoipa::path(get, path = "/api/v1/batches/{id}/history", tag = "batches",
    params(("id" = Uuid, Path, description = "the batch id")),
    responses(
        (status = 200, description = "the events in order", body = [HistoryEntry]),
        (status = 400, description = "not a UUID", body = ErrorBody),
        (status = 404, description = "unknown batch", body = ErrorBody),
    ))]
async fn batch_history(State(pool): State<PgPool>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_a_uuid();
    };
    match batch_events(&pool, id, 0).await {
        Ok(events) if events.is_empty() => problem(StatusCode::NOT_FOUND, "no such batch"),
        Ok(events) => {
            Json(events.iter().map(HistoryEntry::from).collect::<Vec<_>>()).into_response()
        }
        Err(error) => internal(error),
    }
}

/// The teacher's HTML report with the scale chart.
#[utoipa::path(get, path = "/api/v1/batches/{id}/report", tag = "batches",
    params(("id" = Uuid, Path, description = "the batch id")),
    responses(
        (status = 200, description = "the report page", content_type = "text/html", body = String),
        (status = 400, description = "not a UUID", body = ErrorBody),
        (status = 404, description = "unknown batch", body = ErrorBody),
        (status = 409, description = "not scored yet", body = ErrorBody),
    ))]
async fn batch_report(State(pool): State<PgPool>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_a_uuid();
    };
    let events = match batch_events(&pool, id, 0).await {
        Ok(events) if events.is_empty() => return problem(StatusCode::NOT_FOUND, "no such batch"),
        Ok(events) => events,
        Err(error) => return internal(error),
    };
    let mut upstream = String::new();
    let mut scored = None;
    let mut status = "IN PROGRESS".to_string();
    let mut comparisons = 0;
    for logged in &events {
        match &logged.event {
            CjBatchEvent::BatchRegistered(r) => upstream = r.upstream_batch_id.clone(),
            CjBatchEvent::BatchScored(s) => scored = Some(s.clone()),
            CjBatchEvent::BatchCompleted(c) => {
                status = c.status.to_string();
                comparisons = c.comparisons_made;
            }
            CjBatchEvent::BatchFailed(f) => status = f.status.to_string(),
            _ => {}
        }
    }
    let Some(scored) = scored else {
        return problem(
            StatusCode::CONFLICT,
            format!("batch is not scored ({status})"),
        );
    };
    let page = render_report(
        &ReportHeading {
            batch_id: &id.to_string(),
            upstream_batch_id: &upstream,
            status: &status,
            comparisons,
            usage: Usage::of(events.iter().map(|logged| &logged.event)),
        },
        &scored,
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
