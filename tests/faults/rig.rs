//! The service under test: a fresh database, a broker of the test's own, the simulated
//! provider served by this process, and `cj-assessment serve` as a child process (the
//! harness); logs and broker storage under `target/tmp/faults/`.
//!
//! The broker stores in SQLite, not in memory: Tansu 0.6's memory engine acknowledges every
//! record of a multi-record produce batch but keeps only the first (measured: 60 concurrent
//! sends from one producer, all acknowledged, 2 stored), and concurrent callbacks and
//! completion messages are batched. SQLite keeps them all, and survives a broker restart.

use crate::support::kafka::{settings_for_test_on, start_broker};
use crate::support::service::{free_address, service_settings_on};
use crate::support::TestDatabase;
use cj_assessment::cli::LogFormat;
use cj_assessment::config::{KafkaSettings, ServiceSettings};
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::harness::broker::{Broker, BrokerStorage};
use cj_assessment::lab::harness::llm_sim::serve_llm_sim;
use cj_assessment::lab::harness::service_process::{ServiceLaunch, ServiceProcess};
use cj_assessment::lab::llm_sim::judge::TextJudge;
use cj_assessment::lab::llm_sim::server::SimulatorSettings;
use std::path::PathBuf;
use std::time::Duration;

/// `RUST_LOG` of the services under test.
const LOG_FILTER: &str = "warn,cj_assessment=info";

/// How long a (re)started service may take to report ready.
pub const READY_PATIENCE: Duration = Duration::from_secs(60);

/// Dropped in this order: the service, the producer, the broker, the database, the storage.
pub struct Rig {
    pub service: ServiceProcess,
    /// A producer for the test's requests.
    pub publisher: Publisher,
    pub broker: Broker,
    pub db: TestDatabase,
    _storage: Scratch,
}

/// A directory removed when dropped — kept, for a look, when the test failed.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping {} of the failed test", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The provider every fault test runs against: verdicts after a few milliseconds, 3 % of
/// them errors (retried by the batches), 3 % of callbacks published twice.
pub fn simulator(seed: u64) -> SimulatorSettings {
    SimulatorSettings {
        judge: TextJudge {
            error_rate: 0.03,
            ..TextJudge::default()
        },
        latency_ms: (2, 10),
        duplicate_rate: 0.03,
        seed,
    }
}

impl Rig {
    /// Everything up and the service ready; `name` names the log files.
    pub async fn start(name: &str, simulator: SimulatorSettings) -> Rig {
        let run = format!("{name}-{}", uuid::Uuid::new_v4().simple());
        let storage = Scratch(faults_directory().join(&run));
        let broker = start_broker(
            BrokerStorage::Sqlite(storage.0.clone()),
            Some(faults_directory().join(format!("{run}.broker.log"))),
        );
        let kafka = settings_for_test_on(broker.address());
        let db = TestDatabase::create().await;
        ensure_topics(&kafka, &kafka.topics.all())
            .await
            .expect("the test's topics");
        let provider = serve_llm_sim(&kafka, simulator)
            .await
            .expect("the simulated provider serves");
        let mut settings = service_settings_on(&db.url, kafka);
        settings.llm_provider_url = provider.url;
        let publisher = Publisher::new(&settings.kafka).expect("a producer");
        let log_path = faults_directory().join(format!("{run}.log"));
        eprintln!(
            "{name}: broker {} (SQLite in {}), service log {}",
            broker.address(),
            storage.0.display(),
            log_path.display()
        );
        let service = start_ready(name, log_path, settings).await;
        Rig {
            service,
            publisher,
            broker,
            db,
            _storage: storage,
        }
    }

    /// Another `serve` on the same database, broker and provider: a port of its own, and
    /// its own built-in content store (the texts are in the shared database, so it needs
    /// no other instance alive). Its log sits beside the first one's, `.{label}.log`.
    pub async fn another_instance(&self, label: &str) -> ServiceProcess {
        let mut settings = self.service.settings().clone();
        settings.http_addr = free_address();
        settings.content_service_url = format!("http://{}/api/v1/content", settings.http_addr);
        let log_path = self
            .service
            .log_path()
            .with_extension(format!("{label}.log"));
        eprintln!("instance {label}: service log {}", log_path.display());
        start_ready(&format!("instance {label}"), log_path, settings).await
    }

    pub fn kafka(&self) -> &KafkaSettings {
        &self.service.settings().kafka
    }

    /// SIGTERM, and the graceful stop must succeed.
    pub async fn stop_gracefully(&mut self) {
        let status = self.service.terminate().await.expect("serve exits");
        assert!(status.success(), "serve stopped with {status}");
    }
}

/// `serve` with `settings`, its log at `log_path`, started and ready.
async fn start_ready(name: &str, log_path: PathBuf, settings: ServiceSettings) -> ServiceProcess {
    let launch = ServiceLaunch {
        binary: PathBuf::from(env!("CARGO_BIN_EXE_cj-assessment")),
        log_path,
        log_filter: LOG_FILTER.into(),
        log_format: LogFormat::Text,
    };
    let service = ServiceProcess::start(launch, settings).expect("serve starts");
    let ready_in = service
        .wait_ready(READY_PATIENCE)
        .await
        .expect("the service becomes ready");
    eprintln!("{name}: service ready after {ready_in:.1?}");
    service
}

/// Where the fault tests keep logs and broker storage.
fn faults_directory() -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("faults");
    std::fs::create_dir_all(&directory).expect("the faults directory");
    directory
}
