//! Request body limits on every route, answered with a clear JSON 413 before a handler
//! buffers anything: a declared `Content-Length` over the limit is refused unread, and a body
//! without one (chunked) is read up to the limit and refused when it goes past it.
//! [`super::api`] gives each group of routes its limit.

use super::api::error_response;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// Largest body of the routes that carry an essay (content store, anchor registration,
/// assessment instructions): real essays are tens of KiB at most, so 1 MiB leaves room for
/// any of them while keeping one request's buffer small.
pub const ESSAY_BODY_LIMIT: usize = 1 << 20;
/// Largest body of a batch submission (`POST /api/v1/batches`), whose essays may all be
/// inline: a class of 30 essays of tens of KiB is about 1 MiB, so 8 MiB takes a few
/// hundred while keeping one submission's buffer bounded.
pub const BATCH_BODY_LIMIT: usize = 8 << 20;
/// Largest body of every other route: none of them reads a body, so anything beyond a
/// stray few KiB is a client error (or an attempt to make the server buffer).
pub const SMALL_BODY_LIMIT: usize = 16 << 10;

/// Middleware: refuses bodies longer than the state's limit with 413.
pub async fn limit_body(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(limit);
    }
    let (parts, body) = request.into_parts();
    match to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => too_large(limit),
    }
}

fn too_large(limit: usize) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is over this route's limit of {limit} bytes"),
    )
}
