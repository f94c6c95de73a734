//! Settings of the running service: every one a flag with an environment variable
//! (prefix `CJ_`), shared by `serve`, `llm-sim` and the runner. Defaults suit a local run
//! against the built-in content store; production sets the URLs and brokers.

use crate::http::auth::AuthSettings;
use crate::kafka::properties::{KafkaProperties, PropertiesError};
use cj_contracts::topics;
use clap::Args;
use rdkafka::ClientConfig;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The service's default comparison budget per batch (`--max-comparisons`): about 18
/// comparisons per essay for a class of 30 with 8 anchors; requests may lower it. `demo`
/// runs its batch with the same budget.
pub const DEFAULT_MAX_COMPARISONS: u32 = 350;

/// Kafka topic names (the contract's by default).
#[derive(Debug, Clone, Args)]
pub struct TopicNames {
    /// Assessment requests (consumed).
    #[arg(long = "topic-requests", env = "CJ_TOPIC_REQUESTS", default_value = topics::CJ_ASSESSMENT_REQUESTED)]
    pub requests: String,
    /// LLM comparison callbacks (consumed).
    #[arg(long = "topic-callbacks", env = "CJ_TOPIC_CALLBACKS", default_value = topics::LLM_COMPARISON_RESULT)]
    pub callbacks: String,
    /// Thin completion events (to the lifecycle service).
    #[arg(long = "topic-completed", env = "CJ_TOPIC_COMPLETED", default_value = topics::CJ_ASSESSMENT_COMPLETED)]
    pub completed: String,
    /// Rich result events (to the result aggregator).
    #[arg(long = "topic-results", env = "CJ_TOPIC_RESULTS", default_value = topics::ASSESSMENT_RESULT_PUBLISHED)]
    pub results: String,
    /// Failure events.
    #[arg(long = "topic-failed", env = "CJ_TOPIC_FAILED", default_value = topics::CJ_ASSESSMENT_FAILED)]
    pub failed: String,
    /// Resource-consumption events.
    #[arg(long = "topic-resources", env = "CJ_TOPIC_RESOURCES", default_value = topics::RESOURCE_CONSUMPTION)]
    pub resources: String,
}

impl TopicNames {
    /// `requests.{suffix}`, `callbacks.{suffix}`, …: topics of a run (a test, a benchmark)
    /// of its own on a shared broker.
    pub fn suffixed(suffix: &str) -> TopicNames {
        let topic = |name: &str| format!("{name}.{suffix}");
        TopicNames {
            requests: topic("requests"),
            callbacks: topic("callbacks"),
            completed: topic("completed"),
            results: topic("results"),
            failed: topic("failed"),
            resources: topic("resources"),
        }
    }

    /// The topics the service consumes.
    pub fn inbound(&self) -> [&str; 2] {
        [&self.requests, &self.callbacks]
    }

    /// The configured name of a contract topic (`None` for a topic the service does not
    /// know). Deployments and tests may rename topics; derived messages name the
    /// contract's.
    pub fn for_contract(&self, contract_topic: &str) -> Option<&str> {
        let configured = match contract_topic {
            topics::CJ_ASSESSMENT_REQUESTED => &self.requests,
            topics::LLM_COMPARISON_RESULT => &self.callbacks,
            topics::CJ_ASSESSMENT_COMPLETED => &self.completed,
            topics::ASSESSMENT_RESULT_PUBLISHED => &self.results,
            topics::CJ_ASSESSMENT_FAILED => &self.failed,
            topics::RESOURCE_CONSUMPTION => &self.resources,
            _ => return None,
        };
        Some(configured)
    }

    /// Every topic the service reads or writes, dead-letter topics included: created at
    /// start-up when missing.
    pub fn all(&self) -> Vec<String> {
        let mut names = vec![
            self.requests.clone(),
            self.callbacks.clone(),
            self.completed.clone(),
            self.results.clone(),
            self.failed.clone(),
            self.resources.clone(),
        ];
        names.extend(self.inbound().map(topics::dead_letter_topic));
        names
    }
}

/// Kafka connection settings.
#[derive(Debug, Clone, Args)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma-separated.
    #[arg(long, env = "CJ_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub kafka_brokers: String,
    /// Consumer group of the service's consumers.
    #[arg(
        long,
        env = "CJ_CONSUMER_GROUP",
        default_value = "cj_assessment_consumer_group"
    )]
    pub consumer_group: String,
    /// Longest a fetch waits for data (ms). Brokers that do not answer a fetch early when
    /// data arrives (Tansu) make this the end-to-end latency; real Kafka does not.
    #[arg(long, env = "CJ_KAFKA_FETCH_WAIT_MS", default_value_t = 50)]
    pub fetch_wait_ms: u32,
    /// Consumer session timeout (ms): how long the broker waits for a silent member (a
    /// killed instance) before its partitions go to the others. The consumer's assignment
    /// watch waits three times this long before re-joining on its own (brokers that keep a
    /// dead member: Tansu). Shorter moves partitions sooner after a death but drops a
    /// member that stalls (a long pause) sooner too; most brokers refuse below 6000.
    #[arg(long, env = "CJ_KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000)]
    pub session_timeout_ms: u32,
    /// Partitions of topics the service creates.
    #[arg(long, env = "CJ_KAFKA_PARTITIONS", default_value_t = 3)]
    pub partitions: i32,
    /// librdkafka debug contexts for the service's clients (e.g. `cgrp,metadata`), logged
    /// at the `librdkafka` target; off by default.
    #[arg(long, env = "CJ_KAFKA_DEBUG")]
    pub kafka_debug: Option<String>,
    #[command(flatten)]
    pub properties: KafkaClientProperties,
    #[command(flatten)]
    pub topics: TopicNames,
}

/// Parses `--kafka-properties` / `CJ_KAFKA_PROPERTIES` without ever quoting the raw value:
/// clap's own value-parser errors repeat the whole argument, and it may hold a password.
#[derive(Debug, Clone, Copy)]
struct InlinePropertiesParser;

impl clap::builder::TypedValueParser for InlinePropertiesParser {
    type Value = KafkaProperties;

    fn parse_ref(
        &self,
        _command: &clap::Command,
        _argument: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<KafkaProperties, clap::Error> {
        let refuse = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid --kafka-properties / CJ_KAFKA_PROPERTIES (value not shown): {message}\n"),
            )
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("not UTF-8".to_string()))?;
        KafkaProperties::parse(text).map_err(|error| refuse(error.to_string()))
    }
}

/// librdkafka properties the operator adds to every Kafka client of the service (TLS, SASL,
/// …), after the service's own settings; checked when read ([`KafkaProperties`]).
#[derive(Debug, Clone, Default, Args)]
pub struct KafkaClientProperties {
    /// librdkafka properties for every client, `key=value` pairs separated by `;` or new
    /// lines (e.g. `security.protocol=SASL_SSL;sasl.mechanism=SCRAM-SHA-512`). Applied after
    /// the file's. Secret values are never shown; prefer the variable or the file to the flag
    /// (a command line is visible to every user of the machine).
    #[arg(
        long = "kafka-properties",
        env = "CJ_KAFKA_PROPERTIES",
        value_parser = InlinePropertiesParser,
        hide_env_values = true
    )]
    pub inline: Option<KafkaProperties>,
    /// A Java-style `.properties` file of librdkafka properties for every client (`key=value`
    /// lines, `#` comments).
    #[arg(
        long = "kafka-properties-file",
        env = "CJ_KAFKA_PROPERTIES_FILE",
        value_parser = PropertiesFile::read
    )]
    pub file: Option<PropertiesFile>,
}

impl KafkaClientProperties {
    /// Sets the file's properties, then the inline ones, on `config`.
    pub fn apply_to(&self, config: &mut ClientConfig) {
        let file = self.file.as_ref().map(|file| &file.properties);
        for properties in file.into_iter().chain(self.inline.as_ref()) {
            properties.apply_to(config);
        }
    }
}

/// A properties file and what it holds (read once, when the settings are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertiesFile {
    pub path: PathBuf,
    pub properties: KafkaProperties,
}

impl PropertiesFile {
    pub fn read(path: &str) -> Result<PropertiesFile, PropertiesError> {
        let path = PathBuf::from(path);
        let properties = KafkaProperties::read_file(&path)?;
        Ok(PropertiesFile { path, properties })
    }
}

/// Everything `serve` needs.
#[derive(Clone, Args)]
pub struct ServiceSettings {
    /// PostgreSQL URL of the event store and read models (TLS: `?sslmode=verify-full&
    /// sslrootcert=FILE`). Its value is not shown in `--help`: it may hold a password.
    #[arg(long, env = "CJ_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    #[command(flatten)]
    pub kafka: KafkaSettings,
    /// Base URL of the LLM Provider Service (`POST {url}/comparison`).
    #[arg(
        long,
        env = "CJ_LLM_PROVIDER_URL",
        default_value = "http://llm_provider_service:8080/api/v1"
    )]
    pub llm_provider_url: String,
    /// Base URL of the Content Service (`GET {url}/{storage_id}`); by default the
    /// built-in content store this service serves.
    #[arg(
        long,
        env = "CJ_CONTENT_SERVICE_URL",
        default_value = "http://127.0.0.1:8090/api/v1/content"
    )]
    pub content_service_url: String,
    /// Which judge answers comparisons, and the direct judges' settings.
    #[command(flatten)]
    pub judge: crate::judges::settings::JudgeSettings,
    /// Bearer token sent to the content service. Unset, a short-lived service token is
    /// minted per request from CJ_JWT_SECRET (right for the built-in store); set it for an
    /// external Content Service, or when tokens are RS256 (the service cannot sign those).
    #[arg(long, env = "CJ_CONTENT_SERVICE_TOKEN", hide_env_values = true)]
    pub content_service_token: Option<String>,
    /// INSECURE, a local demo only: batches, history, reports and stored texts answer
    /// without a token (admin routes still need one); `serve` warns at start.
    #[arg(
        long,
        env = "CJ_INSECURE_NO_READ_AUTH",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub insecure_no_read_auth: bool,
    /// Run without Kafka: no request or callback consumer, no outbox relay, no broker check.
    /// Batches arrive by `POST /api/v1/batches` and are judged by a direct judge
    /// (`--judge openai|anthropic`); results are read over HTTP. Completion events wait in
    /// the outbox and are published by the first `serve` that runs with a broker.
    #[arg(
        long,
        env = "CJ_HTTP_ONLY",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub http_only: bool,
    /// Token settings of the HTTP API (and of minted content-store tokens).
    #[command(flatten)]
    pub auth: AuthSettings,
    /// Where the HTTP API listens.
    #[arg(long, env = "CJ_HTTP_ADDR", default_value = "127.0.0.1:8090")]
    pub http_addr: SocketAddr,
    /// Largest comparison budget of a batch; requests may lower it.
    #[arg(long, env = "CJ_MAX_COMPARISONS", default_value_t = DEFAULT_MAX_COMPARISONS)]
    pub max_comparisons: u32,
    /// Comparisons sent to the provider at once.
    #[arg(long, env = "CJ_DISPATCH_CONCURRENCY", default_value_t = 16)]
    pub dispatch_concurrency: usize,
    /// Seconds a dispatcher's lease on a comparison lasts; the holder renews it three times
    /// per length while it works, so this is how soon a dead instance's comparisons are
    /// sent by another (see docs/deploy.md).
    #[arg(long, env = "CJ_DISPATCH_LEASE_SECS", default_value_t = crate::dispatcher::lease::DEFAULT_LEASE.as_secs())]
    pub dispatch_lease_secs: u64,
    /// Seconds between batch-monitor sweeps. Also how often an instance that does not run
    /// the monitor tries to take it over.
    #[arg(long, env = "CJ_MONITOR_INTERVAL_SECS", default_value_t = 300)]
    pub monitor_interval_secs: u64,
    /// Seconds without activity after which a batch counts as stuck.
    #[arg(long, env = "CJ_STUCK_TIMEOUT_SECS", default_value_t = 4 * 3600)]
    pub stuck_timeout_secs: u64,
    /// Seconds `serve` waits for in-flight work after SIGTERM/SIGINT.
    #[arg(long, env = "CJ_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
}

/// Settings are printed (tests compare them, an operator may log them) without their
/// secrets: the database URL's password and the content-service token show as `***`. The
/// destructuring names every field, so a new one cannot be forgotten here.
impl std::fmt::Debug for ServiceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ServiceSettings {
            database_url,
            kafka,
            llm_provider_url,
            content_service_url,
            judge,
            content_service_token,
            insecure_no_read_auth,
            http_only,
            auth,
            http_addr,
            max_comparisons,
            dispatch_concurrency,
            dispatch_lease_secs,
            monitor_interval_secs,
            stuck_timeout_secs,
            shutdown_grace_secs,
        } = self;
        f.debug_struct("ServiceSettings")
            .field("database_url", &redact_url_password(database_url))
            .field("kafka", kafka)
            .field("llm_provider_url", llm_provider_url)
            .field("content_service_url", content_service_url)
            .field("judge", judge)
            .field(
                "content_service_token",
                &content_service_token.as_ref().map(|_| "***"),
            )
            .field("insecure_no_read_auth", insecure_no_read_auth)
            .field("http_only", http_only)
            .field("auth", auth)
            .field("http_addr", http_addr)
            .field("max_comparisons", max_comparisons)
            .field("dispatch_concurrency", dispatch_concurrency)
            .field("dispatch_lease_secs", dispatch_lease_secs)
            .field("monitor_interval_secs", monitor_interval_secs)
            .field("stuck_timeout_secs", stuck_timeout_secs)
            .field("shutdown_grace_secs", shutdown_grace_secs)
            .finish()
    }
}

/// `postgres://user:secret@host/db?password=secret` → `postgres://user:***@host/db?password=***`.
pub fn redact_url_password(url: &str) -> String {
    let mut redacted = url.to_string();
    if let Some(scheme_end) = redacted.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = redacted[authority_start..]
            .find(['/', '?'])
            .map_or(redacted.len(), |i| authority_start + i);
        if let Some(at) = redacted[authority_start..authority_end].rfind('@') {
            let userinfo = &redacted[authority_start..authority_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = authority_start + colon + 1;
                redacted.replace_range(start..authority_start + at, "***");
            }
        }
    }
    if let Some(query_start) = redacted.find('?') {
        let (head, query) = redacted.split_at(query_start + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        redacted = format!("{head}{}", query.join("&"));
    }
    redacted
}

impl ServiceSettings {
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn dispatch_lease(&self) -> Duration {
        Duration::from_secs(self.dispatch_lease_secs.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_properties_value_is_refused_without_quoting_its_secrets() {
        #[derive(clap::Parser, Debug)]
        struct Serve {
            #[command(flatten)]
            properties: KafkaClientProperties,
        }
        let error = <Serve as clap::Parser>::try_parse_from([
            "serve",
            "--kafka-properties",
            "sasl.password=hunter2;not.a.real.property=1",
        ])
        .expect_err("an unknown property is refused");
        let shown = error.to_string();
        assert!(shown.contains("not.a.real.property"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn printed_settings_hide_the_database_password_and_the_content_token() {
        assert_eq!(
            redact_url_password("postgres://cj:s3cret@db:5432/cj?sslmode=verify-full"),
            "postgres://cj:***@db:5432/cj?sslmode=verify-full"
        );
        assert_eq!(
            redact_url_password("postgres://db/cj?user=cj&password=s3cret"),
            "postgres://db/cj?user=cj&password=***"
        );
        assert_eq!(
            redact_url_password("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        #[derive(clap::Parser)]
        struct Serve {
            #[command(flatten)]
            settings: ServiceSettings,
        }
        let settings = <Serve as clap::Parser>::parse_from([
            "serve",
            "--database-url",
            "postgres://cj:s3cret@db/cj",
            "--content-service-token",
            "tok3n",
        ])
        .settings;
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("tok3n"),
            "{printed}"
        );
    }

    #[test]
    fn the_variables_properties_win_over_the_files_and_both_over_the_services() {
        let properties = KafkaClientProperties {
            inline: Some(KafkaProperties::parse("client.id=from-variable").unwrap()),
            file: Some(PropertiesFile {
                path: PathBuf::from("kafka.properties"),
                properties: KafkaProperties::parse_file_text(
                    "kafka.properties",
                    "client.id=from-file\nmessage.timeout.ms=30000\n",
                )
                .unwrap(),
            }),
        };
        let mut config = ClientConfig::new();
        config.set("message.timeout.ms", "120000");
        properties.apply_to(&mut config);
        assert_eq!(config.get("client.id"), Some("from-variable"));
        assert_eq!(config.get("message.timeout.ms"), Some("30000"));
    }
}
