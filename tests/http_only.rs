//! `serve --http-only`: no broker anywhere. A batch posted over HTTP with an assignment's
//! anchors is judged by a direct judge — OpenAI-compatible or Anthropic, the lab's fake
//! provider speaking each wire format — and ends with its report and history readable over
//! HTTP, its calls within the judge's requests-per-window limit as the provider saw them;
//! readiness does not ask for a broker. The OpenAI-compatible judge's verdicts carry
//! P(A wins) from its log-probabilities.

mod support;

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::commands::serve::serve;
use cj_assessment::http::auth::Role;
use cj_assessment::judges::settings::{JudgeKind, JudgeSettings, PriceTable};
use cj_assessment::lab::llm_sim::provider_fake::{FakeProvider, WireFormat};
use cj_assessment::lab::runner::assignment::register_assignment;
use serde_json::{json, Value};
use std::time::Duration;
use support::http::{get_json, serve as serve_router};
use support::kafka::settings_for_test_on;
use support::service::{service_settings_on, token_with, wait_until_ready};
use support::{eventually, TestDatabase};
use tokio_util::sync::CancellationToken;

const STUDENTS: usize = 30;
/// Requests the judge may send per window, and the window (a minute in production).
const REQUESTS_PER_WINDOW: u32 = 40;
const RATE_WINDOW: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_posted_over_http_is_judged_by_an_openai_compatible_judge_without_a_broker() {
    judged_over_http_only(JudgeKind::Openai).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_posted_over_http_is_judged_by_an_anthropic_judge_without_a_broker() {
    judged_over_http_only(JudgeKind::Anthropic).await;
}

/// The judge settings of `kind` at the fake provider served at `fake_url`.
fn direct_judge(kind: JudgeKind, fake_url: &str) -> JudgeSettings {
    let mut settings = JudgeSettings {
        default: kind,
        judge_timeout_secs: 5,
        judge_prices: PriceTable::parse("fake-llama-3=1.5:6,fake-claude=3:15").expect("prices"),
        rate_window: RATE_WINDOW,
        ..JudgeSettings::default()
    };
    match kind {
        JudgeKind::Openai => {
            settings.openai_base_url = format!("{fake_url}/v1");
            settings.openai_model = Some("fake-llama-3".into());
            settings.openai_api_key = Some("sk-test".into());
            settings.openai_rpm = Some(REQUESTS_PER_WINDOW);
        }
        JudgeKind::Anthropic => {
            settings.anthropic_base_url = format!("{fake_url}/v1");
            settings.anthropic_model = Some("fake-claude".into());
            settings.anthropic_api_key = Some("sk-ant-test".into());
            settings.anthropic_rpm = Some(REQUESTS_PER_WINDOW);
        }
        JudgeKind::LlmProviderService => unreachable!("HTTP-only needs a direct judge"),
    }
    settings
}

async fn judged_over_http_only(kind: JudgeKind) {
    let db = TestDatabase::create().await;
    let anchors = register_assignment(&db.pool, "essay-9c", GradeScale::Swedish8Anchor)
        .await
        .expect("the assignment is registered");
    let fake = FakeProvider::new();
    // Nothing listens on port 9: a service that tried Kafka would fail its start-up check.
    let mut settings = service_settings_on(&db.url, settings_for_test_on("127.0.0.1:9".into()));
    settings.http_only = true;
    settings.judge = direct_judge(kind, &serve_router(fake.router()).await);
    let base = format!("http://{}", settings.http_addr);
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(serve(settings, shutdown.clone()));

    let ready = wait_until_ready(&base).await;
    let checks: Vec<&str> = ready
        .as_array()
        .expect("a list of checks")
        .iter()
        .filter_map(|check| check["name"].as_str())
        .collect();
    assert_eq!(checks, ["database", "projector_lag"]);

    let essays: Vec<Value> = (0..STUDENTS)
        .map(|i| json!({"id": format!("s{i:02}"), "text": format!("Essay {i}. ").repeat(20 + i)}))
        .collect();
    let body = json!({
        "request_id": "class-9c-autumn",
        "essays": essays,
        "assignment_id": "essay-9c",
        "budget": {"comparisons_per_essay": 10},
    });
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/batches"))
        .bearer_auth(token_with(&[Role::Submitter]))
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 202);
    let accepted: Value = response.json().await.expect("a JSON body");
    let batch_id = accepted["batch_id"]
        .as_str()
        .expect("a batch id")
        .to_string();

    let reader = token_with(&[Role::Reader]);
    let state_url = format!("{base}/api/v1/batches/{batch_id}");
    eventually("the batch ends", || async {
        let state: Value = get_json(&state_url, Some(&reader)).await;
        !state["completed_at"].is_null()
    })
    .await;
    let state: Value = get_json(&state_url, Some(&reader)).await;
    assert_eq!(state["anchor_count"].as_i64(), Some(anchors.len() as i64));
    assert!(
        state["completed_comparisons"].as_i64().unwrap_or(0) > STUDENTS as i64,
        "{state}"
    );
    let wire = match kind {
        JudgeKind::Anthropic => WireFormat::Anthropic,
        _ => WireFormat::OpenAi,
    };
    let arrivals = fake.arrivals();
    assert!(!arrivals.is_empty(), "the direct judge was asked");
    assert!(
        arrivals.iter().all(|arrival| arrival.format == wire),
        "every call in the {wire:?} format"
    );
    // The requests-per-window limit holds where the calls arrive (a window slightly shorter
    // than the limiter's absorbs the network's jitter).
    let arrived: Vec<_> = arrivals.iter().map(|arrival| arrival.at).collect();
    let measured = RATE_WINDOW.mul_f64(0.8);
    for (i, start) in arrived.iter().enumerate() {
        let inside = arrived[i..]
            .iter()
            .take_while(|at| at.duration_since(*start) < measured)
            .count();
        assert!(
            inside <= REQUESTS_PER_WINDOW as usize,
            "{inside} requests within {measured:?}"
        );
    }
    assert!(
        arrived.len() > REQUESTS_PER_WINDOW as usize,
        "the limit was reached: {} calls",
        arrived.len()
    );

    let history: Vec<Value> = get_json(&format!("{state_url}/history"), Some(&reader)).await;
    let kinds: Vec<String> = history
        .iter()
        .filter_map(|entry| entry["event_type"].as_str().map(String::from))
        .collect();
    for kind in [
        "BatchRegistered",
        "AnchorsRegistered",
        "WavePlanned",
        "ComparisonRecorded",
        "BatchScored",
        "BatchCompleted",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    // The OpenAI-compatible judge returns log-probabilities: each verdict carries P(A wins),
    // which a new batch's fit reads; the Anthropic format has none.
    let probabilities = history
        .iter()
        .filter_map(|entry| entry["payload"].get("ComparisonRecorded"))
        .filter(|recorded| recorded["p_a_wins"].is_number())
        .count();
    match kind {
        JudgeKind::Openai => assert!(
            probabilities > STUDENTS,
            "{probabilities} verdicts with P(A wins)"
        ),
        _ => assert_eq!(
            probabilities, 0,
            "no log-probabilities in the Anthropic format"
        ),
    }
    let registered =
        history[0]["payload"]["BatchRegistered"]["settings"]["graded_outcomes"].clone();
    assert_eq!(registered, json!(true), "a new batch reads graded outcomes");
    let report = reqwest::Client::new()
        .get(format!("{state_url}/report"))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("answered");
    assert_eq!(report.status().as_u16(), 200);
    let page = report.text().await.expect("the report");
    assert!(
        page.contains("s00") && page.contains("s29"),
        "every student on the report"
    );
    let verdicts = kinds.iter().filter(|k| *k == "ComparisonRecorded").count();
    assert!(
        page.contains(&format!("({verdicts} of {verdicts} verdicts priced)")),
        "the report sums what the judge's {verdicts} verdicts cost: {page}"
    );

    shutdown.cancel();
    service
        .await
        .expect("serve's task")
        .expect("serve stops cleanly");
}
