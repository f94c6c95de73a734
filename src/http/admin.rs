//! Admin routes, every one behind an admin bearer token ([`super::auth`]):
//! assessment instructions per assignment (`/admin/v1/assessment-instructions`: create or
//! replace, list, get, delete) and anchor essays (`POST /api/v1/anchors/register` — left
//! unauthenticated by the older service — and `GET /api/v1/anchors?assignment_id=`).
//! The OpenAPI document of the HTTP API is served at `/api/v1/openapi.json`.

use super::auth::{require_admin, Verifier};
use crate::content::store::put_text;
use crate::registry::{
    add_anchor, delete_instructions, get_instructions, list_anchors, list_instructions,
    upsert_instructions, validate_anchor, AnchorEssay, AssessmentInstructions, InstructionsUpdate,
    NewAnchor, RegistryError,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use cj_aggregates::grade_scale::GradeScale;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;

pub fn admin_routes(pool: PgPool, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route(
            "/admin/v1/assessment-instructions",
            post(put_instructions).get(all_instructions),
        )
        .route(
            "/admin/v1/assessment-instructions/{assignment_id}",
            get(one_instructions).delete(remove_instructions),
        )
        .route("/api/v1/anchors/register", post(register_anchor))
        .route("/api/v1/anchors", get(anchors_of_assignment))
        .layer(middleware::from_fn_with_state(verifier, require_admin))
        .with_state(pool)
        .route("/api/v1/openapi.json", get(|| async { Json(openapi()) }))
}

fn respond(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn registry_failure(error: RegistryError) -> Response {
    match error {
        RegistryError::Database(error) => {
            tracing::error!(%error, "registry database error");
            respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            )
        }
        RegistryError::DuplicateLabel { .. } => {
            respond(StatusCode::CONFLICT, json!({"error": error.to_string()}))
        }
        other => respond(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": other.to_string()}),
        ),
    }
}

fn instructions_json(row: &AssessmentInstructions) -> Value {
    json!({
        "assignment_id": row.assignment_id,
        "instructions_text": row.instructions_text,
        "grade_scale": row.grade_scale,
        "student_prompt": row.student_prompt,
        "judge_rubric": row.judge_rubric,
        "created_at": row.created_at,
    })
}

fn anchor_json(row: &AnchorEssay) -> Value {
    json!({
        "id": row.id,
        "assignment_id": row.assignment_id,
        "label": row.label,
        "grade": row.grade,
        "text_storage_id": row.text_storage_id,
        "content_sha256": row.content_sha256,
        "created_at": row.created_at,
    })
}

#[derive(Debug, Deserialize)]
struct InstructionsBody {
    assignment_id: String,
    #[serde(default)]
    grade_scale: Option<String>,
    #[serde(default)]
    instructions_text: Option<String>,
    #[serde(default)]
    student_prompt: Option<String>,
    #[serde(default)]
    judge_rubric: Option<String>,
}

async fn put_instructions(
    State(pool): State<PgPool>,
    Json(body): Json<InstructionsBody>,
) -> Response {
    let scale = match body.grade_scale.as_deref().map(str::parse::<GradeScale>) {
        None => GradeScale::default(),
        Some(Ok(scale)) => scale,
        Some(Err(error)) => return registry_failure(RegistryError::UnknownScale(error)),
    };
    let update = InstructionsUpdate {
        assignment_id: body.assignment_id,
        grade_scale: scale,
        instructions_text: body.instructions_text,
        student_prompt: body.student_prompt,
        judge_rubric: body.judge_rubric,
    };
    match upsert_instructions(&pool, &update).await {
        Ok(row) => respond(StatusCode::CREATED, instructions_json(&row)),
        Err(error) => registry_failure(error),
    }
}

async fn all_instructions(State(pool): State<PgPool>) -> Response {
    match list_instructions(&pool).await {
        Ok(rows) => respond(
            StatusCode::OK,
            Value::Array(rows.iter().map(instructions_json).collect()),
        ),
        Err(error) => registry_failure(error),
    }
}

async fn one_instructions(
    State(pool): State<PgPool>,
    Path(assignment_id): Path<String>,
) -> Response {
    match get_instructions(&pool, &assignment_id).await {
        Ok(Some(row)) => respond(StatusCode::OK, instructions_json(&row)),
        Ok(None) => respond(
            StatusCode::NOT_FOUND,
            json!({"error": "no such assignment"}),
        ),
        Err(error) => registry_failure(error),
    }
}

async fn remove_instructions(
    State(pool): State<PgPool>,
    Path(assignment_id): Path<String>,
) -> Response {
    match delete_instructions(&pool, &assignment_id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => respond(
            StatusCode::NOT_FOUND,
            json!({"error": "no such assignment"}),
        ),
        Err(error) => registry_failure(error),
    }
}

#[derive(Debug, Deserialize)]
struct AnchorBody {
    assignment_id: String,
    grade: String,
    label: String,
    essay_text: String,
}

async fn register_anchor(State(pool): State<PgPool>, Json(body): Json<AnchorBody>) -> Response {
    let anchor = NewAnchor {
        assignment_id: &body.assignment_id,
        label: &body.label,
        grade: &body.grade,
        text: &body.essay_text,
    };
    if let Err(error) = validate_anchor(&pool, &anchor).await {
        return registry_failure(error);
    }
    let stored = match put_text(&pool, &body.essay_text).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(%error, "storing an anchor text failed");
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "internal error"}),
            );
        }
    };
    match add_anchor(&pool, &anchor, &stored).await {
        Ok(row) => respond(StatusCode::CREATED, anchor_json(&row)),
        Err(error) => registry_failure(error),
    }
}

#[derive(Debug, Deserialize)]
struct AssignmentQuery {
    assignment_id: String,
}

async fn anchors_of_assignment(
    State(pool): State<PgPool>,
    Query(query): Query<AssignmentQuery>,
) -> Response {
    match list_anchors(&pool, &query.assignment_id).await {
        Ok(rows) => respond(
            StatusCode::OK,
            Value::Array(rows.iter().map(anchor_json).collect()),
        ),
        Err(error) => registry_failure(error),
    }
}

/// The OpenAPI 3.1 document of the HTTP API.
pub fn openapi() -> Value {
    let bearer = json!([{"bearer": []}]);
    let ok = |description: &str| json!({"description": description});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "cj-assessment", "version": env!("CARGO_PKG_VERSION")},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "paths": {
            "/healthz/live": {"get": {"summary": "Liveness", "responses": {"200": ok("alive")}}},
            "/healthz/ready": {"get": {"summary": "Readiness: database, broker, projector lag", "responses": {"200": ok("ready"), "503": ok("not ready")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": ok("text exposition")}}},
            "/api/v1/batches/{id}": {"get": {"summary": "Batch state from the projections", "responses": {"200": ok("state"), "404": ok("unknown batch")}}},
            "/api/v1/batches/{id}/history": {"get": {"summary": "The batch's event log", "responses": {"200": ok("events in order")}}},
            "/api/v1/batches/{id}/report": {"get": {"summary": "HTML report with the scale chart", "responses": {"200": ok("text/html"), "409": ok("not scored yet")}}},
            "/api/v1/content": {"post": {"summary": "Store a text (built-in content store)", "responses": {"201": ok("{storage_id}")}}},
            "/api/v1/content/{storage_id}": {"get": {"summary": "Read a stored text", "responses": {"200": ok("text/plain"), "404": ok("missing")}}},
            "/admin/v1/assessment-instructions": {
                "post": {"summary": "Create or replace an assignment's instructions", "security": bearer, "responses": {"201": ok("stored"), "401": ok("no valid token"), "403": ok("not admin")}},
                "get": {"summary": "List instructions", "security": bearer, "responses": {"200": ok("list")}}
            },
            "/admin/v1/assessment-instructions/{assignment_id}": {
                "get": {"summary": "One assignment's instructions", "security": bearer, "responses": {"200": ok("found"), "404": ok("missing")}},
                "delete": {"summary": "Delete an assignment's instructions", "security": bearer, "responses": {"204": ok("deleted")}}
            },
            "/api/v1/anchors/register": {"post": {"summary": "Register an anchor essay of known grade", "security": bearer, "responses": {"201": ok("registered"), "409": ok("duplicate label"), "422": ok("invalid")}}},
            "/api/v1/anchors": {"get": {"summary": "An assignment's anchors (?assignment_id=)", "security": bearer, "responses": {"200": ok("list")}}}
        }
    })
}
