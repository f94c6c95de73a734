//! The whole HTTP API in one place. Every route is declared once, with its OpenAPI
//! description, through `utoipa-axum`'s `OpenApiRouter`: the router `serve` runs and the
//! document served at [`OPENAPI_PATH`] come from the same declarations, so they cannot
//! drift. Each group of protected routes names its [`Role`] here, and the same table puts
//! the bearer requirement into the document; every group has a body limit
//! ([`super::body_limit`]). Health, readiness, metrics and the document stay open.
//! Batch submission ([`super::submit`]) and calibration rounds ([`super::calibration`]) are
//! groups of their own: their state is the intake, not the pool.

use super::admin::admin_routes;
use super::auth::{require_role, Gate, Role, Verifier};
use super::batches::batch_routes;
use super::body_limit::{limit_body, BATCH_BODY_LIMIT, ESSAY_BODY_LIMIT, SMALL_BODY_LIMIT};
use super::calibration::calibration_routes;
use super::submit::{submit_routes, SubmitState};
use super::{operational_routes, Readiness};
use crate::content::{content_read_routes, content_write_routes};
use crate::intake::Intake;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Info, OpenApi, PathItem, Ref};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Where the OpenAPI document is served (the same path as before it was generated).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";
/// The name of the bearer-JWT security scheme in the document.
pub const BEARER_SCHEME: &str = "bearer";

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// A JSON error answer: `{"error": message}` with `status`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.into(),
        }),
    )
        .into_response()
}

/// What the API's routes read.
pub struct ApiParts {
    pub pool: PgPool,
    pub readiness: Readiness,
    pub verifier: Arc<Verifier>,
    /// What `POST /api/v1/batches` hands submissions to; `None`: it answers 503.
    pub intake: Option<Intake>,
}

/// One group of protected routes: the role they need, the largest body they take, and
/// the routes, which read state `S`.
struct Protected<S> {
    role: Role,
    body_limit: usize,
    routes: OpenApiRouter<S>,
}

impl<S: Clone + Send + Sync + 'static> Protected<S> {
    /// The routes behind their gate, reading `state`. The token is checked before the body
    /// is read: strangers cannot make the server buffer.
    fn gated(self, verifier: &Arc<Verifier>, state: S) -> OpenApiRouter {
        let gate = Gate {
            verifier: Arc::clone(verifier),
            role: self.role,
        };
        self.routes
            .route_layer(from_fn_with_state(self.body_limit, limit_body))
            .route_layer(from_fn_with_state(gate, require_role))
            .with_state(state)
    }

    /// The routes' part of the document, each operation marked with the bearer requirement.
    fn documented(self) -> OpenApi {
        let mut part = self.routes.into_openapi();
        for item in part.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                require_bearer(operation, self.role);
            }
        }
        part
    }
}

/// The batch submission route: spends LLM calls, so a role of its own.
fn submission_group() -> Protected<SubmitState> {
    Protected {
        role: Role::Submitter,
        body_limit: BATCH_BODY_LIMIT,
        routes: submit_routes(),
    }
}

/// The calibration round route: an admin's, but it registers a batch through the intake.
fn calibration_group() -> Protected<SubmitState> {
    Protected {
        role: Role::Admin,
        body_limit: SMALL_BODY_LIMIT,
        routes: calibration_routes(),
    }
}

/// Every protected route reading the database pool, grouped by the role it needs.
fn protected_groups() -> Vec<Protected<PgPool>> {
    vec![
        Protected {
            role: Role::Reader,
            body_limit: SMALL_BODY_LIMIT,
            routes: batch_routes(),
        },
        Protected {
            role: Role::Reader,
            body_limit: SMALL_BODY_LIMIT,
            routes: content_read_routes(),
        },
        Protected {
            role: Role::ContentWriter,
            body_limit: ESSAY_BODY_LIMIT,
            routes: content_write_routes(),
        },
        Protected {
            role: Role::Admin,
            body_limit: ESSAY_BODY_LIMIT,
            routes: admin_routes(),
        },
    ]
}

/// The open routes: operations and this document.
fn open_routes(readiness: Arc<Readiness>) -> OpenApiRouter {
    operational_routes()
        .with_state(readiness)
        .routes(routes!(openapi_document))
        .route_layer(from_fn_with_state(SMALL_BODY_LIMIT, limit_body))
}

/// The HTTP app `serve` runs.
pub fn api_router(parts: ApiParts) -> Router {
    let mut app = open_routes(Arc::new(parts.readiness));
    for group in protected_groups() {
        app = app.merge(group.gated(&parts.verifier, parts.pool.clone()));
    }
    app = app.merge(calibration_group().gated(&parts.verifier, parts.intake.clone()));
    app = app.merge(submission_group().gated(&parts.verifier, parts.intake));
    app.split_for_parts().0
}

/// The OpenAPI 3.1 document of the API, from the same declarations as [`api_router`].
pub fn openapi() -> OpenApi {
    let mut document = open_routes(Arc::new(Readiness::default())).into_openapi();
    for group in protected_groups() {
        document.merge(group.documented());
    }
    document.merge(calibration_group().documented());
    document.merge(submission_group().documented());
    document.info = Info::new("cj-assessment", env!("CARGO_PKG_VERSION"));
    document
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    document
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi_document() -> Json<OpenApi> {
    Json(openapi())
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .flatten()
    .chain(item.additional_operations.values_mut())
}

/// Marks `operation` as needing a bearer token with `role` (OpenAPI 3.1 lists role names
/// for non-OAuth schemes), with its 401 and 403 answers.
fn require_bearer(operation: &mut Operation, role: Role) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER_SCHEME, [role.name()])]);
    let error = |description: String| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    let responses = &mut operation.responses.responses;
    responses.insert(
        "401".into(),
        error("no token, or an invalid or expired one".into()).into(),
    );
    responses.insert(
        "403".into(),
        error(format!("the token lacks the {} role", role.name())).into(),
    );
}
