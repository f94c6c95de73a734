//! `serve --log-format json` as a log pipeline reads it: a real batch runs through `serve`
//! (a child process, as deployed) and the simulated provider; every line the service wrote
//! is one JSON object with timestamp, level, target and message, and the lines logged while
//! a batch's callbacks were recorded carry that batch's id at `span.batch_id`.

mod support;

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::cli::LogFormat;
use cj_assessment::lab::commands::run_eng5::{run_once, RunArgs};
use cj_assessment::lab::harness::service_process::{ServiceLaunch, ServiceProcess};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use support::pipeline::pipeline_settings;
use support::TestDatabase;

/// The header line the harness writes before each start (not the service's output).
const HARNESS_HEADER: &str = "==== start ";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_log_lines_parse_and_a_callbacks_lines_carry_its_batch_id() {
    let db = TestDatabase::create().await;
    let settings = pipeline_settings(&db.url, (1, 10)).await;
    let log_path = std::env::temp_dir().join(format!("cj-json-logs-{}.log", db.name));
    let launch = ServiceLaunch {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_cj-assessment")),
        log_path: log_path.clone(),
        // Debug for the service's own modules: one "callbacks recorded" line per batch and poll.
        log_filter: "warn,cj_assessment=debug".into(),
        log_format: LogFormat::Json,
    };
    let mut service = ServiceProcess::start(launch, settings.clone()).expect("serve starts");
    service
        .wait_ready(Duration::from_secs(60))
        .await
        .expect("the service becomes ready");
    let run = RunArgs {
        settings: settings.clone(),
        scale: GradeScale::Swedish8Anchor,
        students: 8,
        request_max_comparisons: 30,
        timeout_secs: 120,
    };
    // Whether the batch is graded is the pipeline tests' business; here it must only end
    // after its callbacks were recorded.
    let outcome = run_once(&run, false).await.expect("the run ends");
    assert!(
        outcome.state == "COMPLETED" && outcome.comparisons > 0,
        "{outcome:?}"
    );
    let stopped = service.terminate().await.expect("serve stops on SIGTERM");
    assert!(stopped.success(), "serve exited with {stopped}");

    let log = std::fs::read_to_string(&log_path).expect("the service log");
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.starts_with(HARNESS_HEADER))
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
        })
        .collect();
    assert!(lines.len() > 10, "the service logged: {log}");
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line[field].is_string(), "no {field} in {line}");
        }
    }

    let batch_id = outcome.batch_id.to_string();
    let in_batch = |line: &&Value| line["span"]["batch_id"] == batch_id.as_str();
    let recorded: Vec<&Value> = lines
        .iter()
        .filter(in_batch)
        .filter(|line| line["message"] == "callbacks recorded")
        .collect();
    assert!(
        !recorded.is_empty(),
        "no \"callbacks recorded\" line with span.batch_id {batch_id}"
    );
    let callbacks: u64 = recorded
        .iter()
        .map(|line| line["recorded"].as_u64().expect("a count of callbacks"))
        .sum();
    assert!(
        callbacks >= outcome.comparisons as u64,
        "{callbacks} callbacks logged as recorded for {} comparisons",
        outcome.comparisons
    );
    for line in &recorded {
        assert_eq!(line["span"]["name"], "record_callbacks", "{line}");
        assert!(line["span"]["correlation_id"].is_string(), "{line}");
    }
    let registered = lines
        .iter()
        .filter(in_batch)
        .find(|line| line["message"] == "request registered")
        .expect("the request's line carries its batch id");
    assert!(
        registered["span"]["correlation_id"].is_string(),
        "{registered}"
    );
    let _ = std::fs::remove_file(&log_path);
}
