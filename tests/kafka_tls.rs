//! The service on a secured Kafka: a broker reachable only through TLS (stunnel in front of
//! Tansu, certificates of a CA the test makes; see `support::tls`). Given the CA, a client
//! certificate and key as librdkafka properties, a whole batch runs through `serve`, the
//! simulated provider's callbacks and the runner's request, every one of them a TLS client.
//! Given the wrong CA, `serve` stops within its start-up check with one line that says so.

mod support;

use cj_aggregates::stats::grade_scale::GradeScale;
use cj_assessment::cli::LogFormat;
use cj_assessment::config::KafkaClientProperties;
use cj_assessment::kafka::connectivity::{verify_brokers, BrokerCheckError};
use cj_assessment::kafka::properties::KafkaProperties;
use cj_assessment::lab::harness::service_process::{ServiceLaunch, ServiceProcess};
use cj_assessment::lab::harness::HarnessError;
use std::time::Duration;
use support::kafka::settings_for_test_on;
use support::pipeline::{pipeline_settings_on, run_one_batch, RunningService};
use support::service::service_settings_on;
use support::tls::{SecuredBroker, TestPki};
use support::TestDatabase;

/// Where the test's certificates, broker storage and logs go.
fn scratch() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kafka-tls")
}

fn with_properties(properties: KafkaProperties) -> KafkaClientProperties {
    KafkaClientProperties {
        inline: Some(properties),
        file: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_whole_batch_runs_through_a_tls_proxy_with_client_certificates() {
    let pki = TestPki::generate(&scratch());
    let broker = SecuredBroker::start(&pki, true);
    let mut kafka = settings_for_test_on(broker.address.to_string());
    kafka.properties = with_properties(pki.client_properties("ca", true));

    let db = TestDatabase::create().await;
    let settings = pipeline_settings_on(&db.url, kafka, (1, 10)).await;
    let service = RunningService::start(&settings).await;
    let outcome = run_one_batch(&settings, GradeScale::Swedish8Anchor).await;
    service.stop().await.expect("clean stop");
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.projections, 20);
}

#[tokio::test]
async fn without_its_client_certificate_a_client_is_refused() {
    let pki = TestPki::generate(&scratch());
    let broker = SecuredBroker::start(&pki, true);
    let mut kafka = settings_for_test_on(broker.address.to_string());
    kafka.properties = with_properties(pki.client_properties("ca", false));

    let refused = verify_brokers(&kafka, Duration::from_secs(30)).await;
    assert!(
        matches!(
            refused,
            Err(BrokerCheckError::TlsHandshake {
                summary: "the broker requires a client certificate",
                ..
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_wrong_ca_serve_stops_with_one_clear_line() {
    let pki = TestPki::generate(&scratch());
    let broker = SecuredBroker::start(&pki, false);
    let mut kafka = settings_for_test_on(broker.address.to_string());
    let secret = "never-logged-7f3a";
    let mut properties = pki.client_properties("other-ca", false);
    properties = KafkaProperties::parse(&format!(
        "{};sasl.password={secret}",
        properties.to_environment_value()
    ))
    .unwrap();
    kafka.properties = with_properties(properties);
    let db = TestDatabase::create().await;
    let log_path = pki.directory.join("serve.log");
    let service = ServiceProcess::start(
        ServiceLaunch {
            binary: env!("CARGO_BIN_EXE_cj-assessment").into(),
            log_path: log_path.clone(),
            log_filter: "info".into(),
            log_format: LogFormat::Text,
        },
        service_settings_on(&db.url, kafka),
    )
    .expect("serve starts");

    let ended = service.wait_ready(Duration::from_secs(60)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        matches!(ended, Err(HarnessError::Exited { .. })),
        "serve exits instead of waiting: {ended:?}\n{log}"
    );
    let errors: Vec<&str> = log
        .lines()
        .filter(|line| line.to_ascii_lowercase().contains("error"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line:\n{log}");
    assert!(
        errors[0].starts_with(
            "error: Kafka TLS handshake failed: certificate verify failed (check ssl.ca.location)"
        ),
        "{log}"
    );
    assert!(!log.contains(secret), "a secret was logged:\n{log}");
}
