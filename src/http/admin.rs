//! Admin routes, declared with their OpenAPI descriptions; [`super::api`] puts every one
//! behind the `admin` role: assessment instructions per assignment
//! (`/admin/v1/assessment-instructions`: create or replace, list, get, delete) and anchor
//! essays (`POST /api/v1/anchors/register` — left unauthenticated by the older service — and
//! `GET /api/v1/anchors?assignment_id=`).

use super::api::{error_response, ErrorBody};
use crate::content::store::put_text;
use crate::registry::{
    add_anchor, delete_instructions, get_instructions, list_anchors, list_instructions,
    upsert_instructions, validate_anchor, AnchorEssay, AssessmentInstructions, InstructionsUpdate,
    NewAnchor, RegistryError,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cj_aggregates::stats::grade_scale::GradeScale;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The admin routes with their descriptions (state: the database pool).
pub fn admin_routes() -> OpenApiRouter<PgPool> {
    OpenApiRouter::new()
        .routes(routes!(put_instructions, all_instructions))
        .routes(routes!(one_instructions, remove_instructions))
        .routes(routes!(register_anchor))
        .routes(routes!(anchors_of_assignment))
}

fn respond<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}

fn registry_failure(error: RegistryError) -> Response {
    match error {
        RegistryError::Database(error) => {
            tracing::error!(%error, "registry database error");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        RegistryError::DuplicateLabel { .. } => {
            error_response(StatusCode::CONFLICT, error.to_string())
        }
        other => error_response(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
}

/// Create or replace an assignment's instructions.
#[derive(Debug, Deserialize, ToSchema)]
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

/// Creates or replaces an assignment's instructions.
#[utoipa::path(post, path = "/admin/v1/assessment-instructions", tag = "admin",
    request_body = InstructionsBody,
    responses(
        (status = 201, description = "stored", body = AssessmentInstructions),
        (status = 422, description = "invalid (e.g. unknown grade scale)", body = ErrorBody),
    ))]
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
        Ok(row) => respond(StatusCode::CREATED, row),
        Err(error) => registry_failure(error),
    }
}

/// Lists every assignment's instructions.
#[utoipa::path(get, path = "/admin/v1/assessment-instructions", tag = "admin",
    responses((status = 200, description = "all instructions", body = [AssessmentInstructions])))]
async fn all_instructions(State(pool): State<PgPool>) -> Response {
    match list_instructions(&pool).await {
        Ok(rows) => respond(StatusCode::OK, rows),
        Err(error) => registry_failure(error),
    }
}

/// One assignment's instructions.
#[utoipa::path(get, path = "/admin/v1/assessment-instructions/{assignment_id}", tag = "admin",
    params(("assignment_id" = String, Path, description = "the assignment")),
    responses(
        (status = 200, description = "found", body = AssessmentInstructions),
        (status = 404, description = "no such assignment", body = ErrorBody),
    ))]
async fn one_instructions(
    State(pool): State<PgPool>,
    Path(assignment_id): Path<String>,
) -> Response {
    match get_instructions(&pool, &assignment_id).await {
        Ok(Some(row)) => respond(StatusCode::OK, row),
        Ok(None) => error_response(StatusCode::NOT_FOUND, "no such assignment"),
        Err(error) => registry_failure(error),
    }
}

/// Deletes an assignment's instructions.
#[utoipa::path(delete, path = "/admin/v1/assessment-instructions/{assignment_id}", tag = "admin",
    params(("assignment_id" = String, Path, description = "the assignment")),
    responses(
        (status = 204, description = "deleted"),
        (status = 404, description = "no such assignment", body = ErrorBody),
    ))]
async fn remove_instructions(
    State(pool): State<PgPool>,
    Path(assignment_id): Path<String>,
) -> Response {
    match delete_instructions(&pool, &assignment_id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error_response(StatusCode::NOT_FOUND, "no such assignment"),
        Err(error) => registry_failure(error),
    }
}

/// An anchor essay of known grade.
#[derive(Debug, Deserialize, ToSchema)]
struct AnchorBody {
    assignment_id: String,
    grade: String,
    label: String,
    essay_text: String,
}

/// Registers an anchor essay of known grade (its text goes to the built-in store).
#[utoipa::path(post, path = "/api/v1/anchors/register", tag = "admin",
    request_body = AnchorBody,
    responses(
        (status = 201, description = "registered", body = AnchorEssay),
        (status = 409, description = "duplicate label", body = ErrorBody),
        (status = 422, description = "invalid (grade off the scale, text too short)", body = ErrorBody),
    ))]
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
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    match add_anchor(&pool, &anchor, &stored).await {
        Ok(row) => respond(StatusCode::CREATED, row),
        Err(error) => registry_failure(error),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AssignmentQuery {
    assignment_id: String,
}

/// An assignment's anchors.
#[utoipa::path(get, path = "/api/v1/anchors", tag = "admin",
    params(AssignmentQuery),
    responses((status = 200, description = "the anchors", body = [AnchorEssay])))]
async fn anchors_of_assignment(
    State(pool): State<PgPool>,
    Query(query): Query<AssignmentQuery>,
) -> Response {
    match list_anchors(&pool, &query.assignment_id).await {
        Ok(rows) => respond(StatusCode::OK, rows),
        Err(error) => registry_failure(error),
    }
}
