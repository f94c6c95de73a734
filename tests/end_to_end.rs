//! The whole pipeline on real parts: `serve` + the simulated LLM provider (HTTP 202, verdicts
//! on the callback topic) + PostgreSQL + a Kafka-protocol broker. A request for 20 essays
//! with anchors is produced by **kafka-python** (an independent client) from the contract
//! sample's shape; both completion events are read back by kafka-python and checked field by
//! field against the contract samples.

mod support;

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::content::client::ContentClient;
use cj_assessment::lab::runner::assignment::{essay_text, register_assignment};
use serde_json::Value;
use std::process::Command;
use support::pipeline::{pipeline_settings, RunningService};
use support::prerequisites::{is_not_found, missing};
use support::TestDatabase;
use uuid::Uuid;

/// The Python with kafka-python: `CJ_TEST_PYTHON`, else `python3` on PATH (scripts/test.sh
/// puts its venv's first).
fn python_with_kafka() -> String {
    let python = std::env::var("CJ_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = Command::new(&python).args(["-c", "import kafka"]).output();
    match imports {
        Ok(output) if output.status.success() => python,
        Err(error) if !is_not_found(&error) => panic!("{python} does not start: {error}"),
        _ => missing(
            "python3 with kafka-python",
            "set CJ_TEST_PYTHON to a python that has it (pip install kafka-python)",
        ),
    }
}

fn python(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(python_with_kafka())
        .arg("scripts/kafka_client.py")
        .args(args)
        .output()
        .expect("the python that imported kafka starts again");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_from_a_stock_client_ends_as_both_completion_events() {
    let db = TestDatabase::create().await;
    let settings = pipeline_settings(&db.url, (1, 20)).await;
    let kafka = settings.kafka.clone();
    let assignment = format!("e2e-{}", Uuid::new_v4().simple());
    let anchors = register_assignment(&db.pool, &assignment, GradeScale::Swedish8Anchor)
        .await
        .unwrap();
    let service = RunningService::start(&settings).await;

    // Twenty student essays in the built-in content store.
    let content = ContentClient::for_service(&settings).unwrap();
    let mut essays = Vec::new();
    for i in 0..20 {
        let storage_id = content
            .store(&essay_text((i * 7) % 17, &format!("student {i}")))
            .await
            .unwrap();
        essays.push(serde_json::json!({
            "essay_id": format!("e{i}"), "text_storage_id": storage_id, "spellcheck_metrics": null
        }));
    }
    let mut request: Value = serde_json::from_str(
        &std::fs::read_to_string("tests/fixtures/contracts/request_envelope.json").unwrap(),
    )
    .unwrap();
    let upstream = format!("bos-e2e-{}", Uuid::new_v4().simple());
    let correlation_id = Uuid::new_v4().to_string();
    request["event_id"] = Value::String(Uuid::new_v4().to_string());
    request["correlation_id"] = Value::String(correlation_id.clone());
    request["data"]["entity_id"] = Value::String(upstream.clone());
    request["data"]["system_metadata"]["entity_id"] = Value::String(upstream.clone());
    request["data"]["essays_for_cj"] = Value::Array(essays);
    request["data"]["assignment_id"] = Value::String(assignment.clone());
    request["metadata"]["max_comparisons"] = Value::from(80);
    let request_file = std::env::temp_dir().join(format!("{upstream}.json"));
    std::fs::write(&request_file, request.to_string()).unwrap();

    let (ok, _, stderr) = python(&[
        "produce",
        "--brokers",
        &kafka.kafka_brokers,
        "--topic",
        &kafka.topics.requests,
        "--key",
        &upstream,
        "--file",
        request_file.to_str().unwrap(),
    ]);
    assert!(ok, "kafka-python could not produce: {stderr}");

    let expected_completed = format!(
        "{}=tests/fixtures/contracts/completed_thin.json",
        kafka.topics.completed
    );
    let expected_result = format!(
        "{}=tests/fixtures/contracts/assessment_result_rich.json",
        kafka.topics.results
    );
    let expect = {
        let brokers = kafka.kafka_brokers.clone();
        tokio::task::spawn_blocking(move || {
            python(&[
                "expect",
                "--brokers",
                &brokers,
                "--group",
                &format!("e2e-reader-{}", Uuid::new_v4().simple()),
                "--timeout",
                "150",
                "--topic",
                &expected_completed,
                "--topic",
                &expected_result,
            ])
        })
    };
    let (ok, stdout, stderr) = expect.await.unwrap();
    service.stop().await.expect("a clean stop");
    assert!(
        ok,
        "the completion events do not match the contract:\n{stderr}\n{stdout}"
    );

    let received: Value = serde_json::from_str(stdout.trim()).unwrap();
    let thin = &received[kafka.topics.completed.as_str()][0];
    let rich = &received[kafka.topics.results.as_str()][0];
    assert_eq!(
        thin["key"],
        upstream.as_str(),
        "keyed by the upstream batch id"
    );
    assert_eq!(thin["value"]["correlation_id"], correlation_id.as_str());
    assert_eq!(rich["value"]["correlation_id"], correlation_id.as_str());
    assert_eq!(
        thin["value"]["event_type"],
        cj_contracts::topics::CJ_ASSESSMENT_COMPLETED,
        "event_type names the contract's topic, whatever the deployment calls it"
    );
    let summary = &thin["value"]["data"]["processing_summary"];
    assert_eq!(summary["total_essays"], 20);
    assert_eq!(
        summary["successful_essay_ids"].as_array().unwrap().len(),
        20
    );
    let results = rich["value"]["data"]["essay_results"].as_array().unwrap();
    assert_eq!(results.len(), 20 + anchors.len(), "students and anchors");
    let known: Vec<&str> = anchors.iter().map(|(grade, _)| *grade).collect();
    for anchor in results.iter().filter(|r| r["is_anchor"] == true) {
        let grade = anchor["letter_grade"].as_str().unwrap();
        assert!(
            known.contains(&grade),
            "anchor keeps its grade, got {grade}"
        );
        assert_eq!(anchor["display_name"], format!("ANCHOR GRADE {grade}"));
    }
    let comparisons = rich["value"]["data"]["assessment_metadata"]["comparison_count"]
        .as_u64()
        .unwrap();
    assert!(
        comparisons > 0 && comparisons <= 80,
        "real comparison count: {comparisons}"
    );
}
