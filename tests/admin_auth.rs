//! The admin API refuses every bad token on every route — missing, expired, wrong
//! signature, wrong issuer, wrong audience, `alg: none`, an unexpected algorithm (401) and a
//! valid token without the admin role (403) — and works with a valid admin token.

mod support;

use base64::Engine;
use cj_assessment::http::admin::admin_routes;
use cj_assessment::http::auth::AuthSettings;
use cj_assessment::http::auth::{Claims, Verifier};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use support::http::{get_json, post_json, serve};
use support::TestDatabase;

const SECRET: &str = "test-secret-of-enough-length-for-hs256";
const ISSUER: &str = "huleedu-identity";
const AUDIENCE: &str = "cj_assessment_service";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Claims {
    Claims {
        sub: "tester".into(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now() + 600,
        roles: vec!["admin".into()],
    }
}

fn sign(claims: &Claims, algorithm: Algorithm, secret: &str) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn unsigned(claims: &Claims) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(serde_json::to_vec(claims).unwrap())
    )
}

fn bad_tokens() -> Vec<(&'static str, Option<String>, u16)> {
    let expired = Claims {
        exp: now() - 3600,
        ..claims()
    };
    let wrong_issuer = Claims {
        iss: "someone-else".into(),
        ..claims()
    };
    let wrong_audience = Claims {
        aud: "another_service".into(),
        ..claims()
    };
    let teacher = Claims {
        roles: vec!["teacher".into()],
        ..claims()
    };
    vec![
        ("missing", None, 401),
        (
            "expired",
            Some(sign(&expired, Algorithm::HS256, SECRET)),
            401,
        ),
        (
            "wrong signature",
            Some(sign(&claims(), Algorithm::HS256, "another-secret")),
            401,
        ),
        (
            "wrong issuer",
            Some(sign(&wrong_issuer, Algorithm::HS256, SECRET)),
            401,
        ),
        (
            "wrong audience",
            Some(sign(&wrong_audience, Algorithm::HS256, SECRET)),
            401,
        ),
        ("alg none", Some(unsigned(&claims())), 401),
        (
            "unexpected algorithm",
            Some(sign(&claims(), Algorithm::HS512, SECRET)),
            401,
        ),
        (
            "wrong role",
            Some(sign(&teacher, Algorithm::HS256, SECRET)),
            403,
        ),
    ]
}

async fn serve_admin(db: &TestDatabase) -> String {
    let verifier = Verifier::from_settings(&AuthSettings {
        jwt_secret: Some(SECRET.into()),
        jwt_public_key: None,
        jwt_issuer: ISSUER.into(),
        jwt_audience: AUDIENCE.into(),
    })
    .unwrap();
    serve(admin_routes(db.pool.clone(), Arc::new(verifier))).await
}

fn routes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (
            Method::POST,
            "/admin/v1/assessment-instructions",
            Some(json!({"assignment_id": "a1", "grade_scale": "swedish_8_anchor"})),
        ),
        (Method::GET, "/admin/v1/assessment-instructions", None),
        (Method::GET, "/admin/v1/assessment-instructions/a1", None),
        (Method::DELETE, "/admin/v1/assessment-instructions/a1", None),
        (
            Method::POST,
            "/api/v1/anchors/register",
            Some(
                json!({"assignment_id": "a1", "grade": "B", "label": "b1", "essay_text": "x".repeat(120)}),
            ),
        ),
        (Method::GET, "/api/v1/anchors?assignment_id=a1", None),
    ]
}

#[tokio::test]
async fn every_admin_route_refuses_every_bad_token() {
    let db = TestDatabase::create().await;
    let base = serve_admin(&db).await;
    let http = reqwest::Client::new();
    for (method, path, body) in routes() {
        for (kind, token, expected) in bad_tokens() {
            let mut request = http.request(method.clone(), format!("{base}{path}"));
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status().as_u16(),
                expected,
                "{method} {path} with {kind} token"
            );
            let error: serde_json::Value = response.json().await.unwrap();
            assert!(
                error["error"].is_string(),
                "{method} {path} with {kind}: JSON error body"
            );
        }
    }
}

#[tokio::test]
async fn a_valid_admin_token_manages_instructions_and_anchors() {
    let db = TestDatabase::create().await;
    let base = serve_admin(&db).await;
    let http = reqwest::Client::new();
    let token = sign(&claims(), Algorithm::HS256, SECRET);
    let instructions = format!("{base}/admin/v1/assessment-instructions");
    let register = format!("{base}/api/v1/anchors/register");
    let created = post_json(&instructions, &token, &json!({"assignment_id": "eng5-2026", "grade_scale": "eng5_np_national_9_step", "instructions_text": "Judge argument and language."})).await;
    assert_eq!(created, 201);
    let off_scale = post_json(&register, &token, &json!({"assignment_id": "eng5-2026", "grade": "B", "label": "b", "essay_text": "x".repeat(150)})).await;
    assert_eq!(off_scale, 422, "B is not on the numeric scale");
    let too_short = post_json(&register, &token, &json!({"assignment_id": "eng5-2026", "grade": "7", "label": "seven", "essay_text": "short"})).await;
    assert_eq!(too_short, 422);
    let registered = post_json(&register, &token, &json!({"assignment_id": "eng5-2026", "grade": "7", "label": "seven", "essay_text": "A solid essay. ".repeat(10)})).await;
    assert_eq!(registered, 201);
    let anchors: Vec<serde_json::Value> = get_json(
        &format!("{base}/api/v1/anchors?assignment_id=eng5-2026"),
        Some(&token),
    )
    .await;
    assert_eq!(anchors.len(), 1);
    assert_eq!(anchors[0]["grade"], "7");
    let deleted = http
        .delete(format!("{base}/admin/v1/assessment-instructions/eng5-2026"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let openapi: serde_json::Value = get_json(&format!("{base}/api/v1/openapi.json"), None).await;
    assert!(openapi["paths"]["/api/v1/anchors/register"]["post"]["security"].is_array());
}
