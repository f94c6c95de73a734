//! HTTP routes of the built-in content store, in the Content Service's shape:
//! `POST /api/v1/content` (raw text body → `201 {"storage_id": ...}`, empty body → 400) and
//! `GET /api/v1/content/{storage_id}` (→ the text as `text/plain`, 404 when missing).

use super::store::{get_text, put_text, StoreError};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use sqlx::PgPool;

/// The path prefix the routes live under; `CJ_CONTENT_SERVICE_URL` of a service using its
/// own store is `http://{http_addr}{CONTENT_PATH}`.
pub const CONTENT_PATH: &str = "/api/v1/content";

/// The content store's routes, ready to merge into the service's HTTP app.
pub fn content_routes(pool: PgPool) -> Router {
    Router::new()
        .route(CONTENT_PATH, post(store_text))
        .route(&format!("{CONTENT_PATH}/{{storage_id}}"), get(read_text))
        .with_state(pool)
}

async fn store_text(State(pool): State<PgPool>, body: String) -> Response {
    match put_text(&pool, &body).await {
        Ok(stored) => (
            StatusCode::CREATED,
            Json(json!({ "storage_id": stored.storage_id })),
        )
            .into_response(),
        Err(StoreError::EmptyText) => error(StatusCode::BAD_REQUEST, "the body is empty"),
        Err(StoreError::Database(cause)) => {
            tracing::error!(error = %cause, "storing content failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "content store unavailable")
        }
    }
}

async fn read_text(State(pool): State<PgPool>, Path(storage_id): Path<String>) -> Response {
    match get_text(&pool, &storage_id).await {
        Ok(Some(text)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no content under this storage id"),
        Err(cause) => {
            tracing::error!(error = %cause, "reading content failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "content store unavailable")
        }
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
