//! HTTP routes of the built-in content store, in the Content Service's shape:
//! `POST /api/v1/content` (raw text body → `201 {"storage_id": ...}`, empty body → 400) and
//! `GET /api/v1/content/{storage_id}` (→ the text as `text/plain`, 404 when missing),
//! declared with their OpenAPI descriptions. Reading needs the `reader` role, storing the
//! `content-writer` role ([`crate::http::api`] puts each group behind its role).

use super::store::{get_text, put_text, StoreError};
use crate::http::api::{error_response as error, ErrorBody};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The path prefix the routes live under; `CJ_CONTENT_SERVICE_URL` of a service using its
/// own store is `http://{http_addr}{CONTENT_PATH}`.
pub const CONTENT_PATH: &str = "/api/v1/content";

/// The route that reads stored texts (state: the database pool).
pub fn content_read_routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::new().routes(routes!(read_text))
}

/// The route that stores texts (state: the database pool).
pub fn content_write_routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::new().routes(routes!(store_text))
}

/// Where a stored text can be read back.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stored {
    pub storage_id: String,
}

/// Stores a text.
#[utoipa::path(post, path = "/api/v1/content", tag = "content",
    request_body(content = String, content_type = "text/plain", description = "the text, UTF-8"),
    responses(
        (status = 201, description = "stored", body = Stored),
        (status = 400, description = "empty body", body = ErrorBody),
        (status = 413, description = "body over the limit", body = ErrorBody),
        (status = 503, description = "store unavailable", body = ErrorBody),
    ))]
async fn store_text(State(pool): State<PgPool>, body: String) -> Response {
    match put_text(&pool, &body).await {
        Ok(stored) => (
            StatusCode::CREATED,
            Json(Stored {
                storage_id: stored.storage_id,
            }),
        )
            .into_response(),
        Err(StoreError::EmptyText) => error(StatusCode::BAD_REQUEST, "the body is empty"),
        Err(StoreError::Database(cause)) => {
            tracing::error!(error = %cause, "storing content failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "content store unavailable")
        }
    }
}

/// Reads a stored text.
#[utoipa::path(get, path = "/api/v1/content/{storage_id}", tag = "content",
    params(("storage_id" = String, Path, description = "the id `POST` answered")),
    responses(
        (status = 200, description = "the text", content_type = "text/plain", body = String),
        (status = 404, description = "nothing stored under this id", body = ErrorBody),
        (status = 503, description = "store unavailable", body = ErrorBody),
    ))]
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
