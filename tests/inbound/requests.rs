//! Requests become batches: essays with their texts' hashes, anchors from the assignment's
//! registry, the first wave planned; redelivery changes nothing; missing texts are failed
//! essays; an unusable request is answered with CJAssessmentFailedV1; an unavailable content
//! service delays the request instead of losing it.

use crate::harness::{
    batch_of, borrowed, content_url, essay_text, is_registered, is_wave_planned, request, serve_on,
    wait_until, Inbound,
};
use crate::support::TestDatabase;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_aggregates::CjBatchEvent;
use cj_assessment::content::hash::sha256_hex;
use cj_assessment::content::store::put_text;
use cj_assessment::intake::refusal::refusal_event_id;
use cj_assessment::kafka::client_config;
use cj_assessment::registry::{self, InstructionsUpdate, NewAnchor};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;
use serde_json::Value;
use std::time::Duration;

async fn register_anchor(inbound: &Inbound, assignment: &str, label: &str, grade: &str) {
    let text = format!("Anchor {label}. {}", essay_text(3));
    let stored = put_text(&inbound.db.pool, &text).await.expect("stored");
    let anchor = NewAnchor {
        assignment_id: assignment,
        label,
        grade,
        text: &text,
    };
    registry::add_anchor(&inbound.db.pool, &anchor, &stored)
        .await
        .expect("anchor registered");
}

fn registration(events: &[CjBatchEvent]) -> &cj_aggregates::batch::events::BatchRegistered {
    events
        .iter()
        .find_map(|event| match event {
            CjBatchEvent::BatchRegistered(registered) => Some(registered.as_ref()),
            _ => None,
        })
        .expect("BatchRegistered in the log")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_becomes_a_batch_with_the_registry_anchors_and_a_planned_first_wave() {
    let inbound = Inbound::start().await;
    let essays = inbound.store_essays(4).await;
    registry::upsert_instructions(
        &inbound.db.pool,
        &InstructionsUpdate {
            assignment_id: "assign-1".into(),
            grade_scale: GradeScale::Swedish8Anchor,
            instructions_text: Some("Judge the argument.".into()),
            student_prompt: None,
            judge_rubric: None,
        },
    )
    .await
    .expect("instructions saved");
    register_anchor(&inbound, "assign-1", "low", "E").await;
    register_anchor(&inbound, "assign-1", "high", "B").await;

    let request = request(&borrowed(&essays), Some("assign-1"));
    inbound.produce_request(&request).await;
    let batch_id = batch_of(&request);
    let events = inbound
        .wait_for_event(batch_id, "the first wave", is_wave_planned)
        .await;

    let registered = registration(&events);
    assert_eq!(registered.upstream_batch_id, request["data"]["entity_id"]);
    assert_eq!(registered.essays.len(), 4);
    for (essay, (id, storage)) in registered.essays.iter().zip(&essays) {
        assert_eq!(essay.essay_id.as_str(), id);
        assert_eq!(&essay.text_storage_id, storage);
    }
    assert_eq!(
        registered.essays[2].content_sha256,
        sha256_hex(&essay_text(2))
    );
    assert!(registered.failed_essays.is_empty());
    assert_eq!(
        registered.settings.budget.get(),
        60,
        "the request's max_comparisons"
    );
    assert_eq!(registered.llm.temperature_override, Some(0.1));
    assert_eq!(registered.llm.model_override.as_deref(), Some("gpt-5.1"));
    let anchors = events
        .iter()
        .find_map(|event| match event {
            CjBatchEvent::AnchorsRegistered(anchors) => Some(anchors.anchors.clone()),
            _ => None,
        })
        .expect("AnchorsRegistered in the log");
    let grades: Vec<&str> = anchors.iter().map(|a| a.grade.as_str()).collect();
    assert_eq!(grades, ["E", "B"]);
    assert!(anchors
        .iter()
        .all(|a| a.essay_id.as_str().starts_with("ANCHOR_")));

    crate::support::drain_projections(&inbound.db.pool).await;
    let state: String = sqlx::query_scalar("SELECT state FROM cj_batch_states WHERE batch_id = $1")
        .bind(batch_id.0)
        .fetch_one(&inbound.db.pool)
        .await
        .expect("the batch's state row");
    assert_eq!(state, "WAITING_CALLBACKS");
    inbound.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_delivered_twice_registers_one_batch() {
    let inbound = Inbound::start().await;
    let essays = inbound.store_essays(2).await;
    let request = request(&borrowed(&essays), None);
    inbound.produce_request(&request).await;
    inbound.produce_request(&request).await;
    // A later request with the same key lands on the same partition: once its wave is
    // planned, both deliveries before it have been taken from the partition. Requests of
    // different batches in one poll are handled concurrently, so the marker can finish
    // before the request's own first wave: wait for that too (a duplicate handled later
    // still changes nothing, which is what the counts below check).
    let mut marker = crate::harness::request(&borrowed(&essays), None);
    marker["data"]["entity_id"] = request["data"]["entity_id"].clone();
    inbound.produce_request(&marker).await;
    inbound
        .wait_for_event(batch_of(&marker), "the marker batch", is_wave_planned)
        .await;
    inbound
        .wait_for_event(batch_of(&request), "the request's batch", is_wave_planned)
        .await;

    let events = inbound.events(batch_of(&request)).await;
    let registered = events.iter().filter(|e| is_registered(e)).count();
    let anchors = events
        .iter()
        .filter(|e| matches!(e, CjBatchEvent::AnchorsRegistered(_)))
        .count();
    let waves = events.iter().filter(|e| is_wave_planned(e)).count();
    assert_eq!((registered, anchors, waves), (1, 1, 1), "{events:?}");
    let batches: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT aggregate_id) FROM events WHERE event_type = 'BatchRegistered'",
    )
    .fetch_one(&inbound.db.pool)
    .await
    .expect("count batches");
    assert_eq!(batches, 2, "the request's batch and the marker's");
    inbound.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_essay_whose_text_is_missing_is_a_failed_essay() {
    let inbound = Inbound::start().await;
    let first = inbound.store_text(&essay_text(1)).await;
    let second = inbound.store_text(&essay_text(2)).await;
    let request = request(
        &[
            ("e1", &first),
            ("gone", "no-such-storage-id"),
            ("e2", &second),
        ],
        None,
    );
    inbound.produce_request(&request).await;
    let events = inbound
        .wait_for_event(batch_of(&request), "the registration", is_wave_planned)
        .await;
    let registered = registration(&events);
    let kept: Vec<&str> = registered
        .essays
        .iter()
        .map(|e| e.essay_id.as_str())
        .collect();
    assert_eq!(kept, ["e1", "e2"]);
    assert_eq!(registered.failed_essays.len(), 1);
    assert_eq!(registered.failed_essays[0].essay_id.as_str(), "gone");
    assert!(
        registered.failed_essays[0]
            .reason
            .contains("no-such-storage-id"),
        "{}",
        registered.failed_essays[0].reason
    );
    inbound.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_for_an_assignment_with_an_unknown_scale_is_answered_with_a_failure_event() {
    let inbound = Inbound::start().await;
    sqlx::query(
        "INSERT INTO cj_assessment_instructions (assignment_id, grade_scale)
         VALUES ('odd', 'eleven_step_scale')",
    )
    .execute(&inbound.db.pool)
    .await
    .expect("a row written by an older or newer version");
    let text = inbound.store_text(&essay_text(1)).await;
    let request = request(&[("e1", &text), ("e2", &text)], Some("odd"));
    inbound.produce_request(&request).await;

    let failed_topic = inbound.settings.kafka.topics.failed.clone();
    let reader: StreamConsumer = client_config::consumer(&inbound.settings.kafka)
        .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
        .create()
        .expect("reader");
    reader.subscribe(&[&failed_topic]).expect("subscribed");
    let message = tokio::time::timeout(Duration::from_secs(30), reader.recv())
        .await
        .expect("a failure event within 30 s")
        .expect("no consumer error");
    assert_eq!(
        message.key(),
        request["data"]["entity_id"].as_str().map(str::as_bytes)
    );
    let event: Value = serde_json::from_slice(message.payload().expect("payload")).expect("json");
    let request_event_id = request["event_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        event["event_id"],
        refusal_event_id(request_event_id).to_string()
    );
    assert_eq!(event["correlation_id"], request["correlation_id"]);
    assert_eq!(event["data"]["status"], "failed_critically");
    let error_info = &event["data"]["system_metadata"]["error_info"];
    assert_eq!(error_info["reason"], "unknown_grade_scale");
    assert!(error_info["details"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("eleven_step_scale")));
    assert!(
        inbound.events(batch_of(&request)).await.is_empty(),
        "nothing registered"
    );
    inbound.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_while_the_content_service_is_down_and_is_registered_once_it_is_back() {
    let db = TestDatabase::create().await;
    let text = put_text(&db.pool, &essay_text(1))
        .await
        .expect("stored")
        .storage_id;
    let other = put_text(&db.pool, &essay_text(2))
        .await
        .expect("stored")
        .storage_id;
    // A port held but not listened on: connections to it are refused, and no other test's
    // server can be given it meanwhile (a port only picked and let go could be, and then
    // the content service would seem to be up).
    let held = tokio::net::TcpSocket::new_v4().expect("a socket");
    held.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("a free port");
    let address = held.local_addr().expect("the held port");
    let inbound = Inbound::start_with_content_at(db, content_url(address)).await;
    let request = request(&[("e1", &text), ("e2", &other)], None);
    inbound.produce_request(&request).await;

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(inbound.events(batch_of(&request)).await.is_empty());
    assert!(inbound.consumer_is_running());

    drop(held);
    let listener = wait_until("the content port to be free again", || async {
        tokio::net::TcpListener::bind(address).await.ok()
    })
    .await;
    serve_on(listener, &inbound.db).await;
    let events = inbound
        .wait_for_event(
            batch_of(&request),
            "registration after the outage",
            is_wave_planned,
        )
        .await;
    assert!(registration(&events).failed_essays.is_empty());
    inbound.stop().await;
}
