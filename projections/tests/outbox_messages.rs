//! The messages the outbox derives from real batch histories (built by the aggregate): their
//! shape against the contract samples, their ids, keys and correlation, and the values the
//! old service got wrong (anchor grades, numeric ENG5 grades, the comparison count).

mod common;

use cj_aggregates::batch::commands::{FailedEssay, Position, RegisterBatch};
use cj_aggregates::batch::events::{BatchCompleted, CjBatchEvent};
use cj_aggregates::ids::BatchId;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_contracts::topics;
use cj_projections::outbox::{derive_outgoing, MessageKind, OutgoingMessage};
use common::aggregate::{error, record, settings, verdict, History};
use common::*;
use serde_json::{json, Value};
use uuid::Uuid;

const STUDENTS: usize = 6;
const BUDGET: u32 = 20;
const REQUEST_CORRELATION_ID: Uuid = Uuid::from_u128(0x2222);

fn no_change(_: &mut RegisterBatch) {}

fn message(messages: &[OutgoingMessage], kind: MessageKind) -> &Value {
    &messages
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} message"))
        .payload
}

fn completed_event(history: &History) -> BatchCompleted {
    history
        .events
        .iter()
        .find_map(|e| match e {
            CjBatchEvent::BatchCompleted(c) => Some(c.clone()),
            _ => None,
        })
        .expect("batch completed")
}

fn derive(history: &History) -> Vec<OutgoingMessage> {
    derive_outgoing(&recorded(history)).expect("derives")
}

fn essay_results(messages: &[OutgoingMessage]) -> Vec<Value> {
    message(messages, MessageKind::AssessmentResult)["data"]["essay_results"]
        .as_array()
        .unwrap()
        .clone()
}

/// The batch of most tests: six students, three Swedish anchors, twenty comparisons.
fn swedish_batch() -> History {
    finished_batch(STUDENTS, BUDGET, &["E", "C", "A"], |r| {
        r.llm.temperature_override = Some(0.0);
    })
}

/// ResourceConsumptionV1 as the README describes it (there is no sample file).
fn resource_sample() -> Value {
    json!({
        "event_name": "resource.consumption.reported",
        "entity_id": "bos-batch-1",
        "entity_type": "batch",
        "parent_id": null,
        "timestamp": "2026-01-01T12:00:00Z",
        "user_id": "user-1",
        "org_id": null,
        "resource_type": "cj_comparison",
        "quantity": 20,
        "service_name": "cj_assessment_service",
        "processing_id": "42",
        "consumed_at": "2026-01-01T12:00:00Z"
    })
}

#[test]
fn a_completed_batch_publishes_thin_rich_and_resource_messages_keyed_by_upstream_batch() {
    let messages = derive(&swedish_batch());
    let kinds: Vec<_> = messages.iter().map(|m| (m.kind, m.topic)).collect();
    assert_eq!(
        kinds,
        [
            (MessageKind::Completed, topics::CJ_ASSESSMENT_COMPLETED),
            (
                MessageKind::AssessmentResult,
                topics::ASSESSMENT_RESULT_PUBLISHED
            ),
            (
                MessageKind::ResourceConsumption,
                topics::RESOURCE_CONSUMPTION
            ),
        ]
    );
    for m in &messages {
        assert_eq!(m.key, "bos-batch-1");
        assert_eq!(m.payload["event_type"], m.topic);
        assert_eq!(m.payload["source_service"], "cj_assessment_service");
        assert_eq!(m.payload["schema_version"], 1);
        assert_eq!(m.payload["event_id"], m.event_id.to_string());
    }
}

#[test]
fn completed_messages_match_the_samples_field_by_field() {
    let messages = derive(&swedish_batch());
    assert_same_shape(
        message(&messages, MessageKind::Completed),
        &envelope_sample(fixture("completed_thin.json")),
    );
    assert_same_shape(
        message(&messages, MessageKind::AssessmentResult),
        &envelope_sample(fixture("assessment_result_rich.json")),
    );
    assert_same_shape(
        message(&messages, MessageKind::ResourceConsumption),
        &envelope_sample(resource_sample()),
    );
}

#[test]
fn every_message_carries_the_original_requests_correlation_id() {
    let mut messages = derive(&swedish_batch());
    messages.extend(derive(&low_success_rate_batch()));
    for m in messages {
        assert_eq!(
            m.payload["correlation_id"],
            REQUEST_CORRELATION_ID.to_string(),
            "{:?}",
            m.kind
        );
    }
}

#[test]
fn deriving_again_gives_the_same_ids_and_payloads() {
    let history = swedish_batch();
    let first = derive(&history);
    let second = derive(&history);
    assert_eq!(first, second);
    let batch_id = BatchId::for_request(common::aggregate::REQUEST_EVENT_ID);
    for m in &first {
        assert_eq!(m.event_id, m.kind.event_id(batch_id.0));
    }
    let mut ids: Vec<_> = first.iter().map(|m| m.event_id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each kind has its own id");
}

#[test]
fn late_events_after_the_end_change_nothing_published() {
    let mut history = swedish_batch();
    let before = derive(&history);
    let late = history.events.last().cloned().unwrap();
    history.events.push(late);
    assert_eq!(derive(&history), before);
}

#[test]
fn a_running_batch_publishes_nothing() {
    let mut history = History::started(4, settings(BUDGET), &[]);
    history.answer_all_by_index();
    assert!(!history.batch.is_terminal());
    assert!(derive(&history).is_empty());
}

#[test]
fn timestamps_are_utc_with_z_and_duration_spans_registration_to_completion() {
    let history = swedish_batch();
    let messages = derive(&history);
    let thin = &message(&messages, MessageKind::Completed)["data"];
    let ended = registered_at() + chrono::Duration::seconds(history.events.len() as i64 - 1);
    let ended = ended.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(thin["timestamp"], ended);
    assert_eq!(thin["system_metadata"]["completed_at"], ended);
    assert_eq!(
        thin["system_metadata"]["started_at"],
        "2026-01-01T12:00:00Z"
    );
    let seconds = (history.events.len() - 1) as f64;
    assert_eq!(
        thin["processing_summary"]["processing_time_seconds"],
        seconds
    );
    let rich = &message(&messages, MessageKind::AssessmentResult)["data"];
    assert_eq!(
        rich["assessment_metadata"]["processing_duration_seconds"],
        seconds
    );
    assert_eq!(rich["assessed_at"], ended);
}

#[test]
fn the_thin_event_lists_students_only_and_the_essays_that_failed_at_intake() {
    let history = finished_batch(STUDENTS, BUDGET, &["E", "C", "A"], with_a_lost_essay);
    let messages = derive(&history);
    let summary = &message(&messages, MessageKind::Completed)["data"]["processing_summary"];
    assert_eq!(
        summary["successful_essay_ids"],
        json!(["s0", "s1", "s2", "s3", "s4", "s5"])
    );
    assert_eq!(summary["failed_essay_ids"], json!(["lost-1"]));
    assert_eq!(summary["total_essays"], 7);
    assert_eq!(summary["successful"], 6);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["single_essay_batch"], false);
    let data = &message(&messages, MessageKind::Completed)["data"];
    assert_eq!(data["status"], "completed_successfully");
    assert_eq!(
        data["cj_assessment_job_id"],
        BatchId::for_request(common::aggregate::REQUEST_EVENT_ID).to_string()
    );
}

/// Registration with one essay whose text could not be fetched at intake.
fn with_a_lost_essay(register: &mut RegisterBatch) {
    register.failed_essays.push(FailedEssay {
        essay_id: common::aggregate::essay_id("lost-1"),
        reason: "empty content".into(),
    });
}

#[test]
fn a_single_essay_batch_is_reported_as_such() {
    let history = finished_batch(1, BUDGET, &["C"], no_change);
    let messages = derive(&history);
    let summary = &message(&messages, MessageKind::Completed)["data"]["processing_summary"];
    assert_eq!(summary["single_essay_batch"], true);
    assert_eq!(summary["successful_essay_ids"], json!(["s0"]));
}

#[test]
fn anchors_are_published_with_their_known_grade_never_u() {
    let messages = derive(&swedish_batch());
    let anchors: Vec<_> = essay_results(&messages)
        .into_iter()
        .filter(|e| e["is_anchor"] == true)
        .collect();
    assert_eq!(anchors.len(), 3);
    for anchor in anchors {
        // The aggregate's test anchors are named `anchor-<grade>-<i>`.
        let id = anchor["essay_id"].as_str().unwrap();
        let grade = id.split('-').nth(1).unwrap();
        assert_eq!(anchor["letter_grade"], grade);
        assert_eq!(anchor["display_name"], format!("ANCHOR GRADE {grade}"));
        assert_eq!(
            anchor["normalized_score"],
            GradeScale::Swedish8Anchor.normalized_score(grade).unwrap()
        );
    }
    let distribution = &message(&messages, MessageKind::AssessmentResult)["data"]
        ["assessment_metadata"]["anchor_grade_distribution"];
    assert_eq!(
        distribution,
        &json!({"F": 0, "E": 1, "D": 0, "D+": 0, "C": 1, "C+": 0, "B": 0, "A": 1})
    );
}

#[test]
fn students_carry_their_projection_and_results_are_ordered_by_rank() {
    let messages = derive(&swedish_batch());
    let results = essay_results(&messages);
    let ranks: Vec<_> = results
        .iter()
        .map(|e| e["rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, (1..=9).collect::<Vec<_>>());
    for student in results.iter().filter(|e| e["is_anchor"] == false) {
        let grade = student["letter_grade"].as_str().unwrap();
        assert_ne!(grade, "U", "anchors calibrated this batch");
        assert_eq!(
            student["normalized_score"],
            GradeScale::Swedish8Anchor.normalized_score(grade).unwrap()
        );
        assert!(["HIGH", "MID", "LOW"].contains(&student["confidence_label"].as_str().unwrap()));
        assert_eq!(student["display_name"], Value::Null);
    }
    let metadata =
        &message(&messages, MessageKind::AssessmentResult)["data"]["assessment_metadata"];
    assert_eq!(metadata["calibration_method"], "anchor");
    assert_eq!(metadata["anchor_essays_used"], 3);
}

#[test]
fn numeric_eng5_national_grades_are_published_as_they_are() {
    let history = finished_batch(STUDENTS, BUDGET, &["3", "5", "7"], national_scale);
    let results = essay_results(&derive(&history));
    for essay in &results {
        let grade = essay["letter_grade"].as_str().unwrap();
        let number: u32 = grade
            .parse()
            .unwrap_or_else(|_| panic!("{grade} is not numeric"));
        assert!(number <= 9);
        let expected = f64::from(number) / 9.0;
        assert!((essay["normalized_score"].as_f64().unwrap() - expected).abs() < 1e-12);
    }
    let anchor_grades: Vec<_> = results
        .iter()
        .filter(|e| e["is_anchor"] == true)
        .map(|e| e["letter_grade"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = anchor_grades.clone();
    sorted.sort();
    assert_eq!(sorted, ["3", "5", "7"]);
}

#[test]
fn students_without_a_projection_get_u_with_low_confidence() {
    let history = finished_batch(STUDENTS, BUDGET, &[], no_change);
    let messages = derive(&history);
    for student in essay_results(&messages) {
        assert_eq!(student["letter_grade"], "U");
        assert_eq!(student["normalized_score"], 0.0);
        assert_eq!(student["confidence_score"], 0.0);
        assert_eq!(student["confidence_label"], "LOW");
    }
    let metadata =
        &message(&messages, MessageKind::AssessmentResult)["data"]["assessment_metadata"];
    assert_eq!(metadata["calibration_method"], "default");
    assert_eq!(metadata["anchor_essays_used"], 0);
}

#[test]
fn comparison_count_and_quantity_are_the_comparisons_really_made() {
    let history = swedish_batch();
    let made = completed_event(&history).comparisons_made;
    let essays = (STUDENTS + 3) as u32;
    assert_eq!(made, BUDGET);
    assert_ne!(made, essays * (essays - 1) / 2);
    let messages = derive(&history);
    let rich = &message(&messages, MessageKind::AssessmentResult)["data"];
    assert_eq!(rich["assessment_metadata"]["comparison_count"], made);
    let resource = &message(&messages, MessageKind::ResourceConsumption)["data"];
    assert_eq!(resource["quantity"], made);
    assert_eq!(resource["user_id"], "user-1");
    assert_eq!(resource["resource_type"], "cj_comparison");
}

#[test]
fn model_and_temperature_come_from_the_batch() {
    let messages = derive(&swedish_batch());
    let rich = &message(&messages, MessageKind::AssessmentResult)["data"];
    assert_eq!(rich["model_used"], "gpt-5.1");
    assert_eq!(rich["model_provider"], "openai");
    assert_eq!(rich["assessment_metadata"]["llm_temperature"], 0.0);
    assert_eq!(rich["assessment_metadata"]["course_code"], "ENG5");
    assert_eq!(rich["assignment_id"], "assign-1");
    assert_eq!(rich["batch_id"], "bos-batch-1");
}

/// Four students, six comparisons: two verdicts and four errors fail the batch.
fn low_success_rate_batch() -> History {
    let mut settings = settings(6);
    settings.wave_size = Some(6);
    settings.max_retries = 0;
    let mut history = History::started(4, settings, &[]);
    let callbacks = history
        .pending()
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            if i < 2 {
                verdict(id, Position::A)
            } else {
                error(id)
            }
        })
        .collect();
    history.run(record(callbacks)).unwrap();
    assert!(history.batch.is_terminal());
    history
}

#[test]
fn a_failed_batch_publishes_the_failure_and_what_it_consumed() {
    let messages = derive(&low_success_rate_batch());
    let kinds: Vec<_> = messages.iter().map(|m| m.kind).collect();
    assert_eq!(
        kinds,
        [MessageKind::Failed, MessageKind::ResourceConsumption]
    );
    let failed = message(&messages, MessageKind::Failed);
    assert_same_shape(failed, &envelope_sample(fixture("failed.json")));
    let data = &failed["data"];
    assert_eq!(data["status"], "failed_critically");
    assert_eq!(data["system_metadata"]["processing_stage"], "failed");
    let error_info = &data["system_metadata"]["error_info"];
    assert_eq!(error_info["reason"], "low_success_rate");
    assert_eq!(error_info["details"]["completed_comparisons"], 2);
    assert_eq!(error_info["details"]["failed_comparisons"], 4);
    let resource = message(&messages, MessageKind::ResourceConsumption);
    assert_same_shape(resource, &envelope_sample(resource_sample()));
    assert_eq!(resource["data"]["quantity"], 6);
}

#[test]
fn a_batch_that_failed_before_comparing_consumed_nothing() {
    let mut history = History::default();
    history
        .run(register_with(0, settings(BUDGET), with_a_lost_essay))
        .unwrap();
    history.run(common::aggregate::anchors(&[])).unwrap();
    let messages = derive(&history);
    let kinds: Vec<_> = messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageKind::Failed]);
    assert_eq!(
        messages[0].payload["data"]["system_metadata"]["error_info"]["reason"],
        "no_essay_content"
    );
}

#[test]
fn a_calibration_round_publishes_nothing_to_the_platform() {
    let round = finished_batch(0, 12, &["E", "C", "A"], |r| {
        r.purpose = cj_aggregates::batch::events::BatchPurpose::CalibrationRound;
    });
    assert!(round.batch.is_terminal(), "the round ended");
    assert!(
        derive(&round).is_empty(),
        "no completion, result or resource message"
    );
}
