//! `POST /admin/v1/assignments/{assignment_id}/calibration-rounds`: an operator asks for a
//! calibration round of an assignment's anchors ([`crate::intake::calibration`], ADR 0012).
//! 202 with the round's batch id (follow it like any batch); 422 with the reason when the
//! assignment is unknown or has fewer than two anchors. Idempotent by `request_id`.
//! [`super::api`] puts the route behind the `admin` role.

use super::api::{error_response as problem, ErrorBody};
use super::auth::Claims;
use super::submit::SubmitState;
use crate::intake::calibration::{RoundAccepted, RoundRequest, DEFAULT_COMPARISONS_PER_ANCHOR};
use crate::intake::IntakeError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// The calibration route with its description.
pub fn calibration_routes() -> OpenApiRouter<SubmitState> {
    OpenApiRouter::new().routes(routes!(request_round))
}

/// The body of a calibration round request (every field optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundBody {
    /// Comparisons each anchor takes part in on average (default 16): the round makes
    /// `anchors × n / 2`, at most the service's maximum.
    #[serde(default)]
    pub comparisons_per_anchor: Option<u32>,
    /// Asking again with the same id changes nothing; default `calibration` (one round per
    /// assignment).
    #[serde(default)]
    pub request_id: Option<String>,
}

/// The answer to an accepted round.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoundStarted {
    pub batch_id: Uuid,
    pub request_id: String,
    pub anchors: usize,
    pub max_comparisons: u32,
    /// `GET` this for the round's state (reader role).
    pub status_url: String,
    /// True when this request id was asked before: nothing was changed.
    pub already_requested: bool,
}

impl From<RoundAccepted> for RoundStarted {
    fn from(round: RoundAccepted) -> Self {
        RoundStarted {
            batch_id: round.batch_id.0,
            status_url: format!("/api/v1/batches/{}", round.batch_id),
            request_id: round.request_id,
            anchors: round.anchors,
            max_comparisons: round.max_comparisons,
            already_requested: round.already_requested,
        }
    }
}

/// Asks for a calibration round of the assignment's anchors, to settle its scale.
#[utoipa::path(post, path = "/admin/v1/assignments/{assignment_id}/calibration-rounds", tag = "admin",
    params(("assignment_id" = String, Path, description = "a registered assignment")),
    request_body(content = RoundBody, description = "the budget and the request id, both optional"),
    responses(
        (status = 202, description = "the round is registered (or was, with this request id)", body = RoundStarted),
        (status = 409, description = "the batch refused the round", body = ErrorBody),
        (status = 422, description = "unknown assignment, fewer than two anchors, or no comparisons asked", body = ErrorBody),
        (status = 503, description = "a dependency unavailable; ask again", body = ErrorBody),
    ))]
async fn request_round(
    State(intake): State<SubmitState>,
    Path(assignment_id): Path<String>,
    claims: Option<Extension<Claims>>,
    body: Option<Json<RoundBody>>,
) -> Response {
    let Some(intake) = intake else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "calibration rounds are not configured on this server",
        );
    };
    let body = body.map(|Json(body)| body).unwrap_or_default();
    let request = RoundRequest {
        assignment_id,
        comparisons_per_anchor: body
            .comparisons_per_anchor
            .unwrap_or(DEFAULT_COMPARISONS_PER_ANCHOR),
        request_id: body.request_id,
        requested_by: claims
            .map(|Extension(claims)| claims.sub)
            .unwrap_or_default(),
    };
    match intake.request_calibration_round(&request).await {
        Ok(Ok(round)) => {
            tracing::info!(batch_id = %round.batch_id, assignment_id = %request.assignment_id, anchors = round.anchors, "calibration round requested");
            (StatusCode::ACCEPTED, Json(RoundStarted::from(round))).into_response()
        }
        Ok(Err(refusal)) => problem(StatusCode::UNPROCESSABLE_ENTITY, refusal.to_string()),
        Err(IntakeError::Rejected(rejection)) => problem(
            StatusCode::CONFLICT,
            format!("the batch refused the round: {rejection}"),
        ),
        Err(IntakeError::Unavailable(error)) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot take the round now, ask again: {error:#}"),
        ),
    }
}
