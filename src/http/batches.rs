//! Read-only batch routes: `GET /api/v1/batches/{id}` (state from the projections),
//! `/history` (the event log, in order) and `/report` (the teacher's HTML page).

use super::report::{render_report, ReportHeading};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cj_aggregates::CjBatchEvent;
use cj_projections::log::batch_events;
use cj_projections::monitoring::batch_monitoring;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

pub fn batch_routes(pool: PgPool) -> Router {
    Router::new()
        .route("/api/v1/batches/{id}", get(batch_state))
        .route("/api/v1/batches/{id}/history", get(batch_history))
        .route("/api/v1/batches/{id}/report", get(batch_report))
        .with_state(pool)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn not_a_uuid() -> Response {
    problem(StatusCode::BAD_REQUEST, "batch id must be a UUID")
}

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "batch route failed");
    problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

async fn batch_state(State(pool): State<PgPool>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_a_uuid();
    };
    match batch_monitoring(&pool, id).await {
        Ok(Some(row)) => Json(json!({
            "batch_id": row.batch_id,
            "upstream_batch_id": row.upstream_batch_id,
            "upload_status": row.upload_status,
            "state": row.state,
            "total_budget": row.total_budget,
            "submitted_comparisons": row.submitted_comparisons,
            "completed_comparisons": row.completed_comparisons,
            "failed_comparisons": row.failed_comparisons,
            "current_wave": row.current_wave,
            "anchor_count": row.anchor_count,
            "projection_count": row.projection_count,
            "ssr": row.ssr,
            "created_at": row.created_at,
            "last_activity_at": row.last_activity_at,
            "completed_at": row.completed_at,
            "divergent": row.divergent,
        }))
        .into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "no such batch"),
        Err(error) => internal(error),
    }
}

async fn batch_history(State(pool): State<PgPool>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_a_uuid();
    };
    match batch_events(&pool, id, 0).await {
        Ok(events) if events.is_empty() => problem(StatusCode::NOT_FOUND, "no such batch"),
        Ok(events) => Json(
            events
                .iter()
                .map(|e| {
                    json!({
                        "sequence": e.sequence,
                        "event_id": e.event_id,
                        "event_type": e.event_type,
                        "event_version": e.event_version,
                        "recorded_at": e.recorded_at,
                        "metadata": e.metadata,
                        "payload": e.stored_payload,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(error) => internal(error),
    }
}

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
        },
        &scored,
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
