//! The whole service for a pipeline benchmark: a scratch database, a broker (the one given,
//! or a Tansu of the run's own), topics of the run's own, and `cj-assessment serve` as a
//! child process of this very binary — so its memory is its own and a figure includes every
//! hop a deployment has. The benchmark starts what feeds it (the simulated provider, a
//! producer of callbacks) between [`Pipeline::prepare`] and [`Pipeline::start_service`].

use super::scratch_database::ScratchDatabase;
use super::BenchEnvironment;
use crate::cli::LogFormat;
use crate::config::{KafkaSettings, ServiceSettings, TopicNames};
use crate::http::auth::AuthSettings;
use crate::kafka::admin::ensure_topics;
use crate::kafka::producer::Publisher;
use crate::lab::harness::broker::{Broker, BrokerLaunch, BrokerStorage};
use crate::lab::harness::free_local_address;
use crate::lab::harness::service_process::{ServiceLaunch, ServiceProcess};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;
use uuid::Uuid;

/// Tansu answers a fetch only when `fetch.wait.max.ms` expires (real Kafka answers as soon
/// as data arrives), so this bounds every hop's latency; the tests use the same.
pub const FETCH_WAIT_MS: u32 = 10;
/// How long the service may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Pipeline {
    pub db: ScratchDatabase,
    pub kafka: KafkaSettings,
    pub publisher: Publisher,
    service: Option<ServiceProcess>,
    log_path: PathBuf,
    /// Kept for its lifetime: dropping it stops the broker.
    _broker: Option<Broker>,
}

impl Pipeline {
    /// Database, broker and topics; the service is not started yet.
    pub async fn prepare(env: &BenchEnvironment, name: &str) -> anyhow::Result<Pipeline> {
        let db = ScratchDatabase::create(
            &env.database_url,
            &name.replace('-', "_"),
            env.keep_database,
        )
        .await?;
        let (brokers, broker) = match &env.kafka_brokers {
            Some(brokers) => (brokers.clone(), None),
            None => {
                let broker = Broker::start(BrokerLaunch {
                    binary: std::env::var_os("CJ_TANSU")
                        .map_or_else(|| "tansu".into(), PathBuf::from),
                    storage: BrokerStorage::Memory,
                    log_path: None,
                })
                .context("starting Tansu (set --kafka-brokers, or put tansu on PATH: scripts/test.sh installs it in ~/.cache/cj-tools/tansu-0.6.0/bin)")?;
                (broker.address(), Some(broker))
            }
        };
        let suffix = format!("bench-{name}-{}", &db.name[db.name.len() - 8..]);
        let kafka = KafkaSettings {
            kafka_brokers: brokers,
            consumer_group: format!("cj-{suffix}"),
            fetch_wait_ms: FETCH_WAIT_MS,
            session_timeout_ms: 10_000,
            partitions: 3,
            kafka_debug: None,
            properties: Default::default(),
            topics: TopicNames::suffixed(&suffix),
        };
        ensure_topics(&kafka, &kafka.topics.all())
            .await
            .context("creating topics")?;
        let publisher = Publisher::new(&kafka)?;
        let log_path = std::env::temp_dir().join(format!("cj-{suffix}.log"));
        Ok(Pipeline {
            db,
            kafka,
            publisher,
            service: None,
            log_path,
            _broker: broker,
        })
    }

    /// Starts `serve` with the provider at `provider_url`, after `tune` adjusted the
    /// settings; returns how long it took to become ready.
    pub async fn start_service(
        &mut self,
        provider_url: &str,
        tune: impl FnOnce(&mut ServiceSettings),
    ) -> anyhow::Result<Duration> {
        let http_addr = free_local_address()?;
        let mut settings = ServiceSettings {
            database_url: self.db.url.clone(),
            kafka: self.kafka.clone(),
            llm_provider_url: provider_url.to_string(),
            content_service_url: format!("http://{http_addr}/api/v1/content"),
            judge: Default::default(),
            content_service_token: None,
            insecure_no_read_auth: false,
            http_only: false,
            auth: AuthSettings::with_secret(&format!("bench-{}", Uuid::new_v4())),
            http_addr,
            max_comparisons: 350,
            dispatch_concurrency: 16,
            monitor_interval_secs: 300,
            stuck_timeout_secs: 4 * 3600,
            shutdown_grace_secs: 10,
            dispatch_lease_secs: crate::dispatcher::lease::DEFAULT_LEASE.as_secs(),
        };
        tune(&mut settings);
        let launch = ServiceLaunch {
            binary: std::env::current_exe().context("locating this binary")?,
            log_path: self.log_path.clone(),
            log_filter: std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            log_format: LogFormat::Text,
        };
        let service = ServiceProcess::start(launch, settings)?;
        let ready = service.wait_ready(READY_TIMEOUT).await.with_context(|| {
            format!(
                "the service did not become ready (log: {})",
                self.log_path.display()
            )
        })?;
        self.service = Some(service);
        Ok(ready)
    }

    /// The running service.
    pub fn service(&self) -> anyhow::Result<&ServiceProcess> {
        self.service.as_ref().context("the service was not started")
    }

    /// The service's base URL (`http://host:port`).
    pub fn base_url(&self) -> anyhow::Result<String> {
        Ok(self.service()?.base_url())
    }

    /// Stops the service (SIGTERM), then drops the database and the broker.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        if let Some(mut service) = self.service.take() {
            if service.is_running() {
                service.terminate().await?;
            }
        }
        self.db.finish().await
    }
}
