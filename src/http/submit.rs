//! `POST /api/v1/batches`: a batch submitted over HTTP, with its essays inline or by storage
//! id. The body is checked ([`Submission::parse`]), its inline texts stored in the content
//! service, and the resulting request envelope handed to the same [`Intake`] the Kafka
//! consumer uses — same registration, same events, same refusals (a refusal still publishes
//! `CJAssessmentFailedV1`). An assignment carried inline is registered on first use and
//! held to that registration after ([`crate::registry::inline`]). The answer is 202 with the batch id and where to follow it.
//! Idempotent by the client's `request_id`: a repeat finds the batch in the log and answers
//! the same 202 without storing or registering anything. [`super::api`] puts the route
//! behind the `submitter` role.

use super::api::{error_response as problem, ErrorBody};
use super::auth::Claims;
use crate::content::store::StoreError;
use crate::intake::submission::{BatchSubmission, Submission, SubmissionError};
use crate::intake::{Intake, IntakeError, IntakeOutcome};
use crate::registry::inline::{ensure_registered, InlineAssignmentError};
use crate::registry::RegistryError;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use cj_aggregates::ids::BatchId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// What the submission route needs: the intake, or `None` where the server was started
/// without one (the route then answers 503).
pub type SubmitState = Option<Intake>;

/// The submission route with its description. The body is bounded by the route group's
/// limit ([`super::body_limit::BATCH_BODY_LIMIT`]), so axum's own default limit is lifted.
pub fn submit_routes() -> OpenApiRouter<SubmitState> {
    OpenApiRouter::new()
        .routes(routes!(submit_batch))
        .layer(DefaultBodyLimit::disable())
}

/// The answer to an accepted submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchAccepted {
    pub batch_id: Uuid,
    /// The client's `request_id`, the batch's upstream id.
    pub request_id: String,
    /// `GET` this for the batch's state (reader role).
    pub status_url: String,
    /// `GET` this for the teacher's report once the batch is scored.
    pub report_url: String,
    /// `GET` this for the batch's events in order.
    pub history_url: String,
    /// True when this `request_id` was submitted before: nothing was changed.
    pub already_submitted: bool,
}

impl BatchAccepted {
    fn new(batch_id: BatchId, request_id: &str, already_submitted: bool) -> Self {
        let status_url = format!("/api/v1/batches/{batch_id}");
        BatchAccepted {
            batch_id: batch_id.0,
            request_id: request_id.to_string(),
            report_url: format!("{status_url}/report"),
            history_url: format!("{status_url}/history"),
            status_url,
            already_submitted,
        }
    }
}

/// Submits a batch for assessment.
#[utoipa::path(post, path = "/api/v1/batches", tag = "batches",
    request_body(content = BatchSubmission, description = "the essays, the assignment, the budget and judge settings"),
    responses(
        (status = 202, description = "registered (or submitted before with this request_id)", body = BatchAccepted),
        (status = 400, description = "not JSON, or not a batch submission", body = ErrorBody),
        (status = 409, description = "the batch refused the request, or the inline assignment differs from the one registered under its id", body = ErrorBody),
        (status = 413, description = "body over the limit", body = ErrorBody),
        (status = 422, description = "a rule of the request broken, or the request refused (CJAssessmentFailedV1 published)", body = ErrorBody),
        (status = 503, description = "a dependency (database, content service, broker) unavailable; submit again", body = ErrorBody),
    ))]
async fn submit_batch(
    State(intake): State<SubmitState>,
    claims: Option<Extension<Claims>>,
    body: Bytes,
) -> Response {
    let Some(intake) = intake else {
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "batch submission is not configured on this server",
        );
    };
    let user_id = claims
        .map(|Extension(claims)| claims.sub)
        .unwrap_or_default();
    let submission = match Submission::parse(&body, &user_id, chrono::Utc::now()) {
        Ok(submission) => submission,
        Err(error @ SubmissionError::Malformed(_)) => {
            return problem(StatusCode::BAD_REQUEST, error.to_string())
        }
        Err(error) => return problem(StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
    };
    let batch_id = submission.batch_id();
    let request_id = submission.request_id().to_string();
    match cj_projections::log::batch_exists(&intake.pool, batch_id.0).await {
        Ok(true) => return accepted(BatchAccepted::new(batch_id, &request_id, true)),
        Ok(false) => {}
        Err(error) => return unavailable(error),
    }
    if let Some(assignment) = submission.assignment() {
        if let Err(error) = ensure_registered(&intake.pool, assignment).await {
            return assignment_refused(error);
        }
    }
    let envelope = match submission.into_envelope(&intake.content).await {
        Ok(envelope) => envelope,
        Err(error) => return unavailable(error.context("storing the inline texts")),
    };
    match intake.handle(&envelope).await {
        Ok(IntakeOutcome::Registered {
            essays,
            failed_essays,
            anchors,
            ..
        }) => {
            tracing::info!(%batch_id, %request_id, essays, failed_essays, anchors, "batch submitted over HTTP");
            accepted(BatchAccepted::new(batch_id, &request_id, false))
        }
        Ok(IntakeOutcome::Refused { reason, .. }) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the request was refused: {reason}"),
        ),
        Err(IntakeError::Rejected(rejection)) => problem(
            StatusCode::CONFLICT,
            format!("the batch refused the request: {rejection}"),
        ),
        Err(IntakeError::Unavailable(error)) => unavailable(error),
    }
}

/// An inline assignment that could not be used: 409 when it differs from its registration,
/// 503 when the database failed, 422 otherwise.
fn assignment_refused(error: InlineAssignmentError) -> Response {
    match error {
        InlineAssignmentError::Differs { .. } => problem(StatusCode::CONFLICT, error.to_string()),
        InlineAssignmentError::Registry(RegistryError::Database(database))
        | InlineAssignmentError::Store(StoreError::Database(database)) => {
            unavailable(anyhow::Error::new(database).context("registering the assignment"))
        }
        other => problem(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
    }
}

fn accepted(body: BatchAccepted) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

fn unavailable(error: impl Into<anyhow::Error>) -> Response {
    let error = error.into();
    tracing::warn!(error = %format!("{error:#}"), "batch submission failed");
    problem(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot take the batch now, submit it again: {error:#}"),
    )
}
