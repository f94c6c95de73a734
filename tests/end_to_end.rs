//! The whole pipeline on real parts: `serve` + the simulated LLM provider (HTTP 202, verdicts
//! on the callback topic) + PostgreSQL + a Kafka-protocol broker. A request for 20 essays
//! with anchors is produced by **kafka-python** (an independent client) from the contract
//! sample's shape; both completion events are read back by kafka-python and checked field by
//! field against the contract samples.

mod support;

use cj_aggregates::grade_scale::GradeScale;
use cj_assessment::commands::serve::serve;
use cj_assessment::content::client::ContentClient;
use cj_assessment::content::store::put_text;
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::llm_sim::judge::TextJudge;
use cj_assessment::llm_sim::kafka_sink::KafkaCallbackSink;
use cj_assessment::llm_sim::server::{router, SimulatorSettings};
use cj_assessment::registry::{add_anchor, upsert_instructions, InstructionsUpdate, NewAnchor};
use serde_json::Value;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use support::http::serve as serve_http;
use support::service::{no_admin_tokens, service_settings, wait_until_ready};
use support::TestDatabase;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// An essay whose length and vocabulary grow with `quality` (what llm-sim's judge reads).
fn essay_text(quality: usize, salt: &str) -> String {
    const WORDS: [&str; 24] = [
        "argument",
        "evidence",
        "however",
        "therefore",
        "analysis",
        "perspective",
        "moreover",
        "illustrates",
        "nuanced",
        "structure",
        "claim",
        "counterpoint",
        "conclusion",
        "context",
        "significant",
        "consequently",
        "demonstrates",
        "furthermore",
        "implication",
        "contrast",
        "synthesis",
        "interpretation",
        "coherent",
        "rhetorical",
    ];
    let mut text = format!("Essay {salt}. ");
    for sentence in 0..(4 + quality) {
        let words: Vec<&str> = (0..(6 + quality % 5))
            .map(|w| WORDS[(sentence * 7 + w * (1 + quality % 4)) % (8 + quality.min(16))])
            .collect();
        text.push_str(&words.join(" "));
        text.push_str(". ");
    }
    text
}

fn python(args: &[&str]) -> (bool, String, String) {
    let output = Command::new("python3")
        .arg("scripts/kafka_client.py")
        .args(args)
        .output()
        .expect("python3 with kafka-python (pip install kafka-python)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_from_a_stock_client_ends_as_both_completion_events() {
    let db = TestDatabase::create().await;
    let mut settings = service_settings(&db.url);
    let kafka = settings.kafka.clone();
    ensure_topics(&kafka, &kafka.topics.all()).await.unwrap();

    // The simulated provider publishes verdicts to the callback topic.
    let simulator = router(
        SimulatorSettings {
            judge: TextJudge {
                error_rate: 0.02,
                ..TextJudge::default()
            },
            latency_ms: (1, 20),
            duplicate_rate: 0.02,
            seed: 9,
        },
        Arc::new(KafkaCallbackSink::new(Publisher::new(&kafka).unwrap())),
    );
    settings.llm_provider_url = serve_http(simulator).await;

    // The assignment: Swedish scale, four anchors of known grade.
    let assignment = format!("e2e-{}", Uuid::new_v4().simple());
    upsert_instructions(
        &db.pool,
        &InstructionsUpdate {
            assignment_id: assignment.clone(),
            grade_scale: GradeScale::Swedish8Anchor,
            instructions_text: Some("Judge the argument and the language.".into()),
            student_prompt: None,
            judge_rubric: None,
        },
    )
    .await
    .unwrap();
    for (grade, quality) in [("E", 2), ("D", 5), ("C", 9), ("A", 15)] {
        let text = essay_text(quality, &format!("anchor {grade}"));
        let stored = put_text(&db.pool, &text).await.unwrap();
        add_anchor(
            &db.pool,
            &NewAnchor {
                assignment_id: &assignment,
                label: &format!("anchor-{grade}"),
                grade,
                text: &text,
            },
            &stored,
        )
        .await
        .unwrap();
    }

    let base = format!("http://{}", settings.http_addr);
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(serve(settings.clone(), no_admin_tokens(), shutdown.clone()));
    wait_until_ready(&base).await;

    // Twenty student essays in the built-in content store.
    let content = ContentClient::new(&settings.content_service_url).unwrap();
    let mut essays = Vec::new();
    for i in 0..20 {
        let storage_id = content
            .store(&essay_text(i % 17, &format!("student {i}")))
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
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(20), service).await;
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
        cj_projections::contracts::topics::CJ_ASSESSMENT_COMPLETED,
        "event_type names the contract's topic, whatever the deployment calls it"
    );
    let summary = &thin["value"]["data"]["processing_summary"];
    assert_eq!(summary["total_essays"], 20);
    assert_eq!(
        summary["successful_essay_ids"].as_array().unwrap().len(),
        20
    );
    let results = rich["value"]["data"]["essay_results"].as_array().unwrap();
    assert_eq!(results.len(), 24, "students and anchors");
    for anchor in results.iter().filter(|r| r["is_anchor"] == true) {
        let grade = anchor["letter_grade"].as_str().unwrap();
        assert!(
            ["E", "D", "C", "A"].contains(&grade),
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
