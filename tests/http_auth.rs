//! Every route of the HTTP API × every bad-token kind, table-driven, on the app `serve`
//! runs: missing, malformed, wrong signature, expired, wrong issuer or audience, `alg: none`
//! and an unexpected algorithm answer 401; a valid token without the route's role (a reader
//! on an admin route, say) 403; a token with exactly the route's role gets the data; health,
//! readiness, metrics and the OpenAPI document answer without one. The table is checked
//! against the generated OpenAPI document (same paths, methods and roles; no undocumented
//! method answers), so a route added without a row here, or without its document entry,
//! fails. Insecure open reads open reads and content writes only (never batch submission or
//! admin); bodies over a route's limit get 413.

mod support;

use axum::Router;
use base64::Engine;
use cj_assessment::content::store::put_text;
use cj_assessment::http::api::{api_router, ApiParts};
use cj_assessment::http::auth::{Claims, Role, Verifier, DEFAULT_AUDIENCE, DEFAULT_ISSUER};
use cj_assessment::http::body_limit::{ESSAY_BODY_LIMIT, SMALL_BODY_LIMIT};
use cj_assessment::http::Readiness;
use cj_assessment::store::BatchCommandBus;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use support::http::serve;
use support::service::{serve_api_with_intake, test_auth, token_with, TEST_JWT_SECRET};
use support::{drain_projections, run_simulated_batch, TestDatabase};

/// One route: how the document names it, a concrete request, the role it needs (`None`:
/// open) and what a token with exactly that role gets.
struct Route {
    method: Method,
    documented_path: &'static str,
    url: String,
    body: Option<Body>,
    role: Option<Role>,
    success: u16,
}

#[derive(Clone)]
enum Body {
    Json(Value),
    Text(String),
}

/// What the table's requests refer to.
struct Seeded {
    batch_id: String,
    storage_id: String,
}

async fn seed(db: &TestDatabase) -> Seeded {
    let bus = BatchCommandBus::new(db.pool.clone());
    let run = run_simulated_batch(&bus, 4).await;
    drain_projections(&db.pool).await;
    let stored = put_text(&db.pool, "An essay only a reader may read.")
        .await
        .expect("stored");
    Seeded {
        batch_id: run.batch_id.to_string(),
        storage_id: stored.storage_id,
    }
}

/// Every route, in an order in which each succeeds with a valid token (instructions exist
/// before anchors are registered and are deleted last).
fn routes(seeded: &Seeded) -> Vec<Route> {
    let route = |method: Method, documented_path, url: String, body, role, success| Route {
        method,
        documented_path,
        url,
        body,
        role,
        success,
    };
    let batch = &seeded.batch_id;
    vec![
        route(
            Method::GET,
            "/healthz/live",
            "/healthz/live".into(),
            None,
            None,
            200,
        ),
        route(
            Method::GET,
            "/healthz/ready",
            "/healthz/ready".into(),
            None,
            None,
            200,
        ),
        route(Method::GET, "/metrics", "/metrics".into(), None, None, 200),
        route(
            Method::GET,
            "/api/v1/openapi.json",
            "/api/v1/openapi.json".into(),
            None,
            None,
            200,
        ),
        route(
            Method::GET,
            "/api/v1/batches/{id}",
            format!("/api/v1/batches/{batch}"),
            None,
            Some(Role::Reader),
            200,
        ),
        route(
            Method::GET,
            "/api/v1/batches/{id}/history",
            format!("/api/v1/batches/{batch}/history"),
            None,
            Some(Role::Reader),
            200,
        ),
        route(
            Method::GET,
            "/api/v1/batches/{id}/report",
            format!("/api/v1/batches/{batch}/report"),
            None,
            Some(Role::Reader),
            200,
        ),
        route(
            Method::POST,
            "/api/v1/batches",
            "/api/v1/batches".into(),
            Some(Body::Json(
                json!({"request_id": "auth-table", "essays": [{"id": "e1", "text": "An essay."}, {"id": "e2", "storage_id": seeded.storage_id}]}),
            )),
            Some(Role::Submitter),
            202,
        ),
        route(
            Method::GET,
            "/api/v1/content/{storage_id}",
            format!("/api/v1/content/{}", seeded.storage_id),
            None,
            Some(Role::Reader),
            200,
        ),
        route(
            Method::POST,
            "/api/v1/content",
            "/api/v1/content".into(),
            Some(Body::Text("A text a service stores.".into())),
            Some(Role::ContentWriter),
            201,
        ),
        route(
            Method::POST,
            "/admin/v1/assessment-instructions",
            "/admin/v1/assessment-instructions".into(),
            Some(Body::Json(
                json!({"assignment_id": "a1", "grade_scale": "swedish_8_anchor"}),
            )),
            Some(Role::Admin),
            201,
        ),
        route(
            Method::GET,
            "/admin/v1/assessment-instructions",
            "/admin/v1/assessment-instructions".into(),
            None,
            Some(Role::Admin),
            200,
        ),
        route(
            Method::GET,
            "/admin/v1/assessment-instructions/{assignment_id}",
            "/admin/v1/assessment-instructions/a1".into(),
            None,
            Some(Role::Admin),
            200,
        ),
        route(
            Method::POST,
            "/api/v1/anchors/register",
            "/api/v1/anchors/register".into(),
            Some(Body::Json(
                json!({"assignment_id": "a1", "grade": "B", "label": "b1", "essay_text": "An anchor essay. ".repeat(10)}),
            )),
            Some(Role::Admin),
            201,
        ),
        route(
            Method::GET,
            "/api/v1/anchors",
            "/api/v1/anchors?assignment_id=a1".into(),
            None,
            Some(Role::Admin),
            200,
        ),
        // One anchor registered: the round is refused with its reason (422), past the gate.
        route(
            Method::POST,
            "/admin/v1/assignments/{assignment_id}/calibration-rounds",
            "/admin/v1/assignments/a1/calibration-rounds".into(),
            Some(Body::Json(json!({"comparisons_per_anchor": 4}))),
            Some(Role::Admin),
            422,
        ),
        route(
            Method::DELETE,
            "/admin/v1/assessment-instructions/{assignment_id}",
            "/admin/v1/assessment-instructions/a1".into(),
            None,
            Some(Role::Admin),
            204,
        ),
    ]
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn claims(roles: &[&str]) -> Claims {
    Claims {
        sub: "tester".into(),
        iss: DEFAULT_ISSUER.into(),
        aud: DEFAULT_AUDIENCE.into(),
        exp: now() + 600,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn sign(claims: &Claims, algorithm: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signed")
}

fn unsigned(claims: &Claims) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(serde_json::to_vec(claims).expect("JSON"))
    )
}

/// Roles that do not grant `role`: a valid token with them must get 403.
fn roles_without(role: Role) -> Vec<&'static str> {
    match role {
        Role::Reader => vec!["content-writer", "teacher"],
        Role::ContentWriter => vec!["reader"],
        Role::Submitter => vec!["reader", "content-writer"],
        Role::Admin => vec!["reader", "content-writer", "submitter"],
    }
}

/// Each bad `Authorization` header for a route needing `role`, with the status it must get.
/// Every token but the wrong-role one carries `role`, so only its one defect counts.
fn bad_tokens(role: Role) -> Vec<(&'static str, Option<String>, u16)> {
    let good = claims(&[role.name()]);
    let bearer = |token: String| Some(format!("Bearer {token}"));
    vec![
        ("missing", None, 401),
        ("malformed", bearer("not-a-jwt".into()), 401),
        (
            "not a bearer token",
            Some(format!(
                "Basic {}",
                sign(&good, Algorithm::HS256, TEST_JWT_SECRET)
            )),
            401,
        ),
        (
            "wrong signature",
            bearer(sign(
                &good,
                Algorithm::HS256,
                "another-secret-of-some-length",
            )),
            401,
        ),
        (
            "expired",
            bearer(sign(
                &Claims {
                    exp: now() - 3600,
                    ..good.clone()
                },
                Algorithm::HS256,
                TEST_JWT_SECRET,
            )),
            401,
        ),
        (
            "wrong issuer",
            bearer(sign(
                &Claims {
                    iss: "someone-else".into(),
                    ..good.clone()
                },
                Algorithm::HS256,
                TEST_JWT_SECRET,
            )),
            401,
        ),
        (
            "wrong audience",
            bearer(sign(
                &Claims {
                    aud: "another_service".into(),
                    ..good.clone()
                },
                Algorithm::HS256,
                TEST_JWT_SECRET,
            )),
            401,
        ),
        ("alg none", bearer(unsigned(&good)), 401),
        (
            "unexpected algorithm",
            bearer(sign(&good, Algorithm::HS512, TEST_JWT_SECRET)),
            401,
        ),
        (
            "wrong role",
            bearer(sign(
                &claims(&roles_without(role)),
                Algorithm::HS256,
                TEST_JWT_SECRET,
            )),
            403,
        ),
    ]
}

async fn send(base: &str, route: &Route, authorization: Option<&str>) -> reqwest::Response {
    let mut request =
        reqwest::Client::new().request(route.method.clone(), format!("{base}{}", route.url));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request = match &route.body {
        Some(Body::Json(body)) => request.json(body),
        Some(Body::Text(text)) => request.body(text.clone()),
        None => request,
    };
    request.send().await.expect("the request is answered")
}

async fn serve_api(db: &TestDatabase) -> (String, Seeded) {
    let seeded = seed(db).await;
    (serve_api_with_intake(db.pool.clone()).await.0, seeded)
}

#[tokio::test]
async fn every_protected_route_refuses_every_bad_token_with_a_json_error() {
    let db = TestDatabase::create().await;
    let (base, seeded) = serve_api(&db).await;
    let mut checked = 0;
    for route in routes(&seeded) {
        let Some(role) = route.role else { continue };
        for (kind, authorization, expected) in bad_tokens(role) {
            let response = send(&base, &route, authorization.as_deref()).await;
            let what = format!("{} {} with a {kind} token", route.method, route.url);
            assert_eq!(response.status().as_u16(), expected, "{what}");
            let error: Value = response.json().await.expect("a JSON error body");
            assert!(error["error"].is_string(), "{what}: {error}");
            checked += 1;
        }
    }
    assert_eq!(checked, 13 * 10, "13 protected routes × 10 bad-token kinds");
}

#[tokio::test]
async fn a_token_with_exactly_the_routes_role_gets_the_data_and_open_routes_need_none() {
    let db = TestDatabase::create().await;
    let (base, seeded) = serve_api(&db).await;
    for route in routes(&seeded) {
        let token = route
            .role
            .map(|role| format!("Bearer {}", token_with(&[role])));
        let response = send(&base, &route, token.as_deref()).await;
        assert_eq!(
            response.status().as_u16(),
            route.success,
            "{} {}",
            route.method,
            route.url
        );
    }
    // The data, not just a status: the reader sees the batch and the stored essay.
    let reader = token_with(&[Role::Reader]);
    let http = reqwest::Client::new();
    let state: Value = http
        .get(format!("{base}/api/v1/batches/{}", seeded.batch_id))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(state["batch_id"], seeded.batch_id.as_str());
    assert_eq!(state["state"], "COMPLETED");
    let essay = http
        .get(format!("{base}/api/v1/content/{}", seeded.storage_id))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    assert_eq!(essay, "An essay only a reader may read.");
}

#[tokio::test]
async fn an_admin_token_keeps_working_on_every_route() {
    let db = TestDatabase::create().await;
    let (base, seeded) = serve_api(&db).await;
    let admin = format!("Bearer {}", token_with(&[Role::Admin]));
    for route in routes(&seeded) {
        let response = send(&base, &route, Some(&admin)).await;
        assert_eq!(
            response.status().as_u16(),
            route.success,
            "{} {}",
            route.method,
            route.url
        );
    }
}

/// (METHOD, path) → the role names its security requirement lists (empty: open).
fn documented_routes(document: &Value) -> BTreeSet<(String, String, Vec<String>)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let roles = operation["security"]
                .as_array()
                .map(|requirements| {
                    requirements
                        .iter()
                        .flat_map(|r| r["bearer"].as_array().cloned().unwrap_or_default())
                        .map(|role| role.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            found.insert((method.to_uppercase(), path.clone(), roles));
        }
    }
    found
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_that_answer_with_their_roles() {
    let db = TestDatabase::create().await;
    let (base, seeded) = serve_api(&db).await;
    let document: Value = reqwest::get(format!("{base}/api/v1/openapi.json"))
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (scheme["scheme"].as_str(), scheme["bearerFormat"].as_str()),
        (Some("bearer"), Some("JWT"))
    );
    let table: BTreeSet<(String, String, Vec<String>)> = routes(&seeded)
        .iter()
        .map(|r| {
            let roles = r
                .role
                .map(|role| vec![role.name().to_string()])
                .unwrap_or_default();
            (r.method.to_string(), r.documented_path.to_string(), roles)
        })
        .collect();
    assert_eq!(
        documented_routes(&document),
        table,
        "the document and the routes differ"
    );
    assert!(
        document["components"]["schemas"]["BatchMonitoringRow"]["properties"]["upload_status"]
            .is_object(),
        "response schemas come from the serde types"
    );
    assert!(
        document["components"]["schemas"]["AnchorBody"]["properties"]["essay_text"].is_object()
    );

    // No method the document leaves out answers on a documented path.
    let admin = format!("Bearer {}", token_with(&[Role::Admin]));
    let all = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    for route in routes(&seeded) {
        for method in &all {
            let documented = table
                .iter()
                .any(|(m, p, _)| m == method.as_str() && p == route.documented_path);
            if documented {
                continue;
            }
            let probe = Route {
                method: method.clone(),
                body: None,
                ..route_copy(&route)
            };
            let status = send(&base, &probe, Some(&admin)).await.status().as_u16();
            assert_eq!(
                status, 405,
                "undocumented {method} {} answers {status}",
                route.url
            );
        }
    }
    let unknown = send(
        &base,
        &Route {
            url: "/api/v1/nothing-here".into(),
            ..route_copy(&routes(&seeded)[0])
        },
        Some(&admin),
    )
    .await;
    assert_eq!(unknown.status(), 404);
}

fn route_copy(route: &Route) -> Route {
    Route {
        method: route.method.clone(),
        documented_path: route.documented_path,
        url: route.url.clone(),
        body: route.body.clone(),
        role: route.role,
        success: route.success,
    }
}

fn insecure_api(db: &TestDatabase) -> Router {
    let verifier = Verifier::from_settings(&test_auth())
        .expect("verifier")
        .with_insecure_open_reads(true);
    api_router(ApiParts {
        pool: db.pool.clone(),
        readiness: Readiness::default(),
        verifier: Arc::new(verifier),
        intake: None,
    })
}

#[tokio::test]
async fn insecure_open_reads_open_reads_and_content_writes_but_never_submission_or_admin() {
    let db = TestDatabase::create().await;
    let seeded = seed(&db).await;
    let base = serve(insecure_api(&db)).await;
    for route in routes(&seeded) {
        let expected = match route.role {
            Some(Role::Admin | Role::Submitter) => 401,
            _ => route.success,
        };
        let status = send(&base, &route, None).await.status().as_u16();
        assert_eq!(
            status, expected,
            "{} {} without a token",
            route.method, route.url
        );
    }
}

#[tokio::test]
async fn bodies_over_a_routes_limit_get_413_after_the_token_check() {
    let db = TestDatabase::create().await;
    let (base, seeded) = serve_api(&db).await;
    let http = reqwest::Client::new();
    let reader = token_with(&[Role::Reader]);
    let admin = token_with(&[Role::Admin]);
    let batch = format!("{base}/api/v1/batches/{}", seeded.batch_id);

    let stray = http
        .get(&batch)
        .bearer_auth(&reader)
        .body("x".repeat(SMALL_BODY_LIMIT + 1))
        .send()
        .await
        .expect("answered");
    assert_eq!(stray.status(), 413);
    let error: Value = stray.json().await.expect("a JSON error");
    assert!(error["error"]
        .as_str()
        .unwrap()
        .contains(&SMALL_BODY_LIMIT.to_string()));

    let anchor = json!({"assignment_id": "a1", "grade": "B", "label": "big", "essay_text": "x".repeat(ESSAY_BODY_LIMIT)});
    let huge = http
        .post(format!("{base}/api/v1/anchors/register"))
        .bearer_auth(&admin)
        .json(&anchor)
        .send()
        .await
        .expect("answered");
    assert_eq!(huge.status(), 413);
    let stranger = http
        .post(format!("{base}/api/v1/anchors/register"))
        .json(&anchor)
        .send()
        .await
        .expect("answered");
    assert_eq!(
        stranger.status(),
        401,
        "no token: refused before the body is read"
    );
    let health = http
        .get(format!("{base}/healthz/live"))
        .body("x".repeat(SMALL_BODY_LIMIT + 1))
        .send()
        .await
        .expect("answered");
    assert_eq!(health.status(), 413);
}
