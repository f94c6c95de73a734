//! The admin API with a valid admin token: instructions and anchors are created, checked,
//! listed and deleted. Every bad token on every route (admin and the others) is swept in
//! `tests/http_auth.rs`.

mod support;

use cj_assessment::http::auth::Role;
use serde_json::json;
use support::http::{get_json, post_json, serve};
use support::service::{test_api, token_with};
use support::TestDatabase;

#[tokio::test]
async fn a_valid_admin_token_manages_instructions_and_anchors() {
    let db = TestDatabase::create().await;
    let base = serve(test_api(db.pool.clone())).await;
    let http = reqwest::Client::new();
    let token = token_with(&[Role::Admin]);
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
