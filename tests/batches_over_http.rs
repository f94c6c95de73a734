//! Batches over HTTP, on the real API and a fresh database: `POST /api/v1/batches` with
//! essays inline and by storage id registers the batch through the same intake as a Kafka
//! request — the same events, its first wave planned — and answers 202 with where to follow
//! it; a repeated `request_id` answers the same batch and changes nothing; a bad body is
//! refused with its reason and writes nothing; a request intake refuses answers 422 and
//! publishes `CJAssessmentFailedV1` as for Kafka; an assignment carried inline is registered
//! by its first batch and held to that registration; only a `submitter` token may submit. The
//! `assess` command submits a folder and follows its batch to the end.

mod support;

use cj_aggregates::ids::BatchId;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::commands::assess::{assess, AssessArgs};
use cj_assessment::content::store::put_text;
use cj_assessment::http::auth::Role;
use cj_assessment::intake::submission::request_event_id;
use cj_assessment::intake::IntakeOutcome;
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::lab::runner::assignment::register_assignment;
use cj_contracts::decode_request;
use serde_json::{json, Value};
use support::http::get_json;
use support::kafka::{settings_for_test, TopicReader};
use support::service::{serve_api_with_intake, token_with};
use support::TestDatabase;

const STUDENTS: usize = 30;

fn essay_text(i: usize) -> String {
    format!("Essay {i}. ").repeat(20 + i)
}

/// `STUDENTS` essays: all inline but the last two, which are already in the content store.
async fn essays(db: &TestDatabase) -> Vec<Value> {
    let mut essays = Vec::new();
    for i in 0..STUDENTS {
        if i < STUDENTS - 2 {
            essays.push(json!({"id": format!("s{i:02}"), "text": essay_text(i)}));
        } else {
            let stored = put_text(&db.pool, &essay_text(i)).await.expect("stored");
            essays.push(json!({"id": format!("s{i:02}"), "storage_id": stored.storage_id}));
        }
    }
    essays
}

async fn post(base: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/api/v1/batches"))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn event_types(base: &str, batch_id: &str) -> Vec<String> {
    let reader = token_with(&[Role::Reader]);
    let history: Vec<Value> = get_json(
        &format!("{base}/api/v1/batches/{batch_id}/history"),
        Some(&reader),
    )
    .await;
    history
        .iter()
        .map(|entry| entry["event_type"].as_str().expect("a type").to_string())
        .collect()
}

/// An event's fields in a history entry (the log stores the enum tagged by its variant).
fn event_body(entry: &Value) -> &Value {
    let event_type = entry["event_type"].as_str().expect("a type");
    entry["payload"]
        .get(event_type)
        .expect("tagged by the event type")
}

async fn event_count(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .expect("counted")
}

async fn content_count(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM cj_content")
        .fetch_one(&db.pool)
        .await
        .expect("counted")
}

#[tokio::test]
async fn thirty_essays_with_an_assignments_anchors_register_like_a_kafka_request() {
    let db = TestDatabase::create().await;
    let anchors = register_assignment(&db.pool, "essay-7b", GradeScale::Swedish8Anchor)
        .await
        .expect("the assignment is registered");
    let (base, intake) = serve_api_with_intake(db.pool.clone()).await;
    let body = json!({
        "request_id": "class-7b-spring",
        "essays": essays(&db).await,
        "assignment_id": "essay-7b",
        "budget": {"comparisons_per_essay": 10},
        "llm": {"model_override": "judge-model", "temperature_override": 0.0}
    });

    let (status, accepted) = post(&base, Some(&token_with(&[Role::Submitter])), &body).await;

    assert_eq!(status, 202, "{accepted}");
    let batch_id = BatchId::for_request(request_event_id("class-7b-spring")).to_string();
    assert_eq!(accepted["batch_id"], batch_id.as_str());
    assert_eq!(accepted["already_submitted"], false);
    assert_eq!(
        accepted["status_url"],
        format!("/api/v1/batches/{batch_id}").as_str()
    );
    let reader = token_with(&[Role::Reader]);
    let history: Vec<Value> = get_json(
        &format!("{base}{}", accepted["history_url"].as_str().unwrap()),
        Some(&reader),
    )
    .await;
    let registered = event_body(&history[0]);
    assert_eq!(history[0]["event_type"], "BatchRegistered");
    assert_eq!(registered["upstream_batch_id"], "class-7b-spring");
    assert_eq!(registered["assignment_id"], "essay-7b");
    assert_eq!(registered["user_id"], "tester", "the token's subject");
    assert_eq!(registered["essays"].as_array().unwrap().len(), STUDENTS);
    assert_eq!(registered["failed_essays"].as_array().unwrap().len(), 0);
    assert_eq!(registered["settings"]["budget"], 150, "30 essays × 10 / 2");
    assert_eq!(registered["llm"]["temperature_override"], 0.0);
    assert_eq!(history[1]["event_type"], "AnchorsRegistered");
    assert_eq!(
        event_body(&history[1])["anchors"].as_array().unwrap().len(),
        anchors.len()
    );
    let first_wave = &history[2];
    assert_eq!(first_wave["event_type"], "WavePlanned");
    assert!(!event_body(first_wave)["comparisons"]
        .as_array()
        .unwrap()
        .is_empty());

    // The same essays as a Kafka request (by storage id, as the platform sends them) go
    // through the same intake to the same kinds of events.
    let mut kafka: Value =
        serde_json::from_str(include_str!("fixtures/contracts/request_envelope.json"))
            .expect("the contract sample");
    kafka["event_id"] = json!(uuid::Uuid::new_v4());
    kafka["data"]["assignment_id"] = json!("essay-7b");
    let mut by_storage_id = Vec::new();
    for i in 0..STUDENTS {
        let stored = put_text(&db.pool, &essay_text(i)).await.expect("stored");
        by_storage_id
            .push(json!({"essay_id": format!("s{i:02}"), "text_storage_id": stored.storage_id}));
    }
    kafka["data"]["essays_for_cj"] = json!(by_storage_id);
    let envelope = decode_request(kafka.to_string().as_bytes()).expect("a valid request");
    let IntakeOutcome::Registered {
        batch_id: kafka_batch,
        ..
    } = intake.handle(&envelope).await.expect("handled")
    else {
        panic!("the Kafka request was refused");
    };
    assert_eq!(
        event_types(&base, &batch_id).await,
        event_types(&base, &kafka_batch.to_string()).await
    );
}

/// An assignment as a submission carries it: three anchors, one text changed by `variant`.
fn inline_assignment(variant: &str) -> Value {
    let anchor = |label: &str, grade: &str| {
        json!({"label": label, "grade": grade,
               "text": format!("An anchor essay of grade {grade}{variant}. ").repeat(8)})
    };
    json!({
        "id": "inline-7c",
        "grade_scale": "swedish_8_anchor",
        "instructions": "Judge the strength of the argument.",
        "anchors": [anchor("low", "E"), anchor("middle", "C"), anchor("high", "A")]
    })
}

#[tokio::test]
async fn an_assignment_carried_inline_is_registered_once_and_held_to_it() {
    let db = TestDatabase::create().await;
    let (base, _) = serve_api_with_intake(db.pool.clone()).await;
    let submitter = token_with(&[Role::Submitter]);
    let essays = essays(&db).await;
    let submit = |request_id: &str, assignment: Value| json!({"request_id": request_id, "essays": essays.clone(), "assignment": assignment});

    let (status, first) = post(
        &base,
        Some(&submitter),
        &submit("inline-1", inline_assignment("")),
    )
    .await;

    assert_eq!(status, 202, "{first}");
    let reader = token_with(&[Role::Reader]);
    let history: Vec<Value> = get_json(
        &format!("{base}{}", first["history_url"].as_str().unwrap()),
        Some(&reader),
    )
    .await;
    assert_eq!(event_body(&history[0])["assignment_id"], "inline-7c");
    assert_eq!(history[1]["event_type"], "AnchorsRegistered");
    let grades: Vec<&str> = event_body(&history[1])["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["grade"].as_str().unwrap())
        .collect();
    assert_eq!(grades.len(), 3, "{grades:?}");
    let registered = cj_assessment::registry::get_instructions(&db.pool, "inline-7c")
        .await
        .unwrap()
        .expect("registered");
    assert_eq!(registered.grade_scale, "swedish_8_anchor");
    assert_eq!(
        registered.instructions_text.as_deref(),
        Some("Judge the strength of the argument.")
    );

    // The same assignment again: a second batch on the same anchors, nothing registered twice.
    let (status, second) = post(
        &base,
        Some(&submitter),
        &submit("inline-2", inline_assignment("")),
    )
    .await;
    assert_eq!(status, 202, "{second}");
    let anchors = cj_assessment::registry::list_anchors(&db.pool, "inline-7c")
        .await
        .unwrap();
    assert_eq!(anchors.len(), 3);

    // Different anchors under the same id: refused, and no batch registered.
    let events = event_count(&db).await;
    let (status, refused) = post(
        &base,
        Some(&submitter),
        &submit("inline-3", inline_assignment(" (edited)")),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("different anchors"),
        "{refused}"
    );
    assert_eq!(event_count(&db).await, events, "no event added");
    assert_eq!(
        cj_assessment::registry::list_anchors(&db.pool, "inline-7c")
            .await
            .unwrap(),
        anchors,
        "the registered anchors are untouched"
    );

    // Naming one assignment and carrying another is a contradiction, refused before anything.
    let mut contradiction = submit("inline-4", inline_assignment(""));
    contradiction["assignment_id"] = json!("some-other");
    let (status, refused) = post(&base, Some(&submitter), &contradiction).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(event_count(&db).await, events, "no event added");
}

#[tokio::test]
async fn a_repeated_request_id_answers_the_same_batch_and_changes_nothing() {
    let db = TestDatabase::create().await;
    let (base, _) = serve_api_with_intake(db.pool.clone()).await;
    let submitter = token_with(&[Role::Submitter]);
    let body = json!({"request_id": "twice", "essays": essays(&db).await});
    let (status, first) = post(&base, Some(&submitter), &body).await;
    assert_eq!(status, 202, "{first}");
    let (events, texts) = (event_count(&db).await, content_count(&db).await);

    let (status, again) = post(&base, Some(&submitter), &body).await;

    assert_eq!(status, 202, "{again}");
    assert_eq!(again["batch_id"], first["batch_id"]);
    assert_eq!(again["already_submitted"], true);
    assert_eq!(event_count(&db).await, events, "no event added");
    assert_eq!(content_count(&db).await, texts, "no text stored again");
}

#[tokio::test]
async fn a_bad_body_is_refused_with_its_reason_and_writes_nothing() {
    let db = TestDatabase::create().await;
    let (base, _) = serve_api_with_intake(db.pool.clone()).await;
    let submitter = token_with(&[Role::Submitter]);
    let http = reqwest::Client::new();

    let malformed = http
        .post(format!("{base}/api/v1/batches"))
        .bearer_auth(&submitter)
        .header("content-type", "application/json")
        .body("{\"request_id\": ")
        .send()
        .await
        .expect("answered");
    assert_eq!(malformed.status(), 400);
    let error: Value = malformed.json().await.expect("a JSON error");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("not a batch submission"),
        "{error}"
    );

    let cases = [
        (
            json!({"request_id": "r", "essays": [{"id": "e1", "text": "x", "storage_id": "s"}]}),
            422,
            "exactly one of text and storage_id",
        ),
        (
            json!({"request_id": "r", "essays": [{"id": "e1", "text": "x"}, {"id": "e1", "text": "y"}]}),
            422,
            "more than once",
        ),
        (json!({"request_id": "r", "essays": []}), 422, "no essays"),
        (
            json!({"essays": [{"id": "e1", "text": "x"}]}),
            400,
            "request_id",
        ),
    ];
    for (body, expected, reason) in cases {
        let (status, error) = post(&base, Some(&submitter), &body).await;
        assert_eq!(status, expected, "{body}: {error}");
        assert!(
            error["error"].as_str().unwrap().contains(reason),
            "{body}: {error}"
        );
    }
    assert_eq!(event_count(&db).await, 0);
    assert_eq!(content_count(&db).await, 0);
}

#[tokio::test]
async fn only_a_submitter_token_may_submit() {
    let db = TestDatabase::create().await;
    let (base, _) = serve_api_with_intake(db.pool.clone()).await;
    let body = json!({"request_id": "who", "essays": [{"id": "e1", "text": "An essay."}]});
    assert_eq!(post(&base, None, &body).await.0, 401);
    let reader = token_with(&[Role::Reader, Role::ContentWriter]);
    assert_eq!(post(&base, Some(&reader), &body).await.0, 403);
    assert_eq!(event_count(&db).await, 0);
    let submitter = token_with(&[Role::Submitter]);
    assert_eq!(post(&base, Some(&submitter), &body).await.0, 202);
}

#[tokio::test]
async fn assess_submits_a_folder_follows_the_batch_to_its_end_and_prints_the_ranking() {
    let db = TestDatabase::create().await;
    register_assignment(&db.pool, "essay-7b", GradeScale::Swedish8Anchor)
        .await
        .expect("the assignment is registered");
    let projectors = cj_projections::supervisor::start(&db.pool, cj_projections::catalogue::all())
        .await
        .expect("projectors run");
    let (base, _) = serve_api_with_intake(db.pool.clone()).await;
    let dir = std::env::temp_dir().join(format!("cj-assess-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a folder");
    // One student: the batch ends at once (too few essays to compare), scored with the
    // anchors, so the command follows it to its end without a judge.
    std::fs::write(dir.join("lone-student.txt"), essay_text(3)).expect("written");
    let args = AssessArgs {
        dir: dir.clone(),
        assignment: Some("essay-7b".into()),
        url: base,
        token: token_with(&[Role::Submitter, Role::Reader]),
        request_id: None,
        comparisons_per_essay: None,
        model: None,
        poll_secs: 1,
        timeout_secs: 60,
    };

    let printed = assess(&args, false)
        .await
        .expect("the batch is followed to its end");
    let again = assess(&args, false)
        .await
        .expect("a rerun follows the same batch");

    std::fs::remove_dir_all(&dir).expect("removed");
    projectors.stop().await;
    assert!(
        printed.contains("COMPLETE_INSUFFICIENT_ESSAYS"),
        "{printed}"
    );
    assert!(printed.contains("lone-student"), "{printed}");
    assert!(
        printed.contains("(anchor)"),
        "anchors are listed: {printed}"
    );
    assert!(printed.contains("/report"), "{printed}");
    assert_eq!(printed, again, "the same batch, not a second one");
}

#[tokio::test]
async fn a_refused_submission_answers_422_and_publishes_the_failure_a_kafka_request_gets() {
    let db = TestDatabase::create().await;
    register_assignment(&db.pool, "essay-7b", GradeScale::Swedish8Anchor)
        .await
        .expect("the assignment is registered");
    sqlx::query("UPDATE cj_assessment_instructions SET grade_scale = 'no_such_scale'")
        .execute(&db.pool)
        .await
        .expect("the scale is made unknown");
    let (base, intake) = serve_api_with_intake(db.pool.clone()).await;
    let kafka = settings_for_test();
    ensure_topics(&kafka, std::slice::from_ref(&intake.failed_topic))
        .await
        .expect("the failure topic exists");
    let body = json!({"request_id": "refused-1", "essays": essays(&db).await, "assignment_id": "essay-7b"});

    let (status, error) = post(&base, Some(&token_with(&[Role::Submitter])), &body).await;

    assert_eq!(status, 422, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("no_such_scale"),
        "{error}"
    );
    assert_eq!(event_count(&db).await, 0, "nothing registered");
    let (key, payload) = TopicReader::new(&kafka, &intake.failed_topic)
        .next()
        .await
        .expect("CJAssessmentFailedV1 published");
    assert_eq!(key, "refused-1", "keyed by the upstream batch id");
    let failed: Value = serde_json::from_slice(&payload).expect("JSON");
    assert_eq!(
        failed["data"]["system_metadata"]["error_info"]["reason"],
        "unknown_grade_scale"
    );
    assert_eq!(
        failed["data"]["cj_assessment_job_id"],
        BatchId::for_request(request_event_id("refused-1"))
            .to_string()
            .as_str()
    );
}
