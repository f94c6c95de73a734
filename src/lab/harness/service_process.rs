//! `cj-assessment serve` as a child process, configured only through `CJ_*` environment
//! variables ([`service_environment`], the one place settings become variables), its output
//! appended to a log file. It can be killed (`kill -9`), terminated (SIGTERM, the graceful
//! stop), restarted with the same settings, probed for readiness, and asked for its peak
//! memory. Dropped, it is killed.

use super::child::{redirect_output, ChildProcess};
use super::error::HarnessError;
use super::readiness::{probe, probe_client, wait_ready, Answer};
use super::signals::Signal;
use crate::cli::LogFormat;
use crate::config::ServiceSettings;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// How long a killed service may take to be reaped.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond its own grace period, how long a terminated service may take to exit.
const EXIT_MARGIN: Duration = Duration::from_secs(10);

/// How to run the service.
#[derive(Debug, Clone)]
pub struct ServiceLaunch {
    /// The `cj-assessment` executable.
    pub binary: PathBuf,
    /// Where stdout and stderr go (appended; each start writes a header line first).
    pub log_path: PathBuf,
    /// `RUST_LOG` of the service.
    pub log_filter: String,
    /// `CJ_LOG_FORMAT` of the service.
    pub log_format: LogFormat,
}

/// The service's settings as the environment `serve` reads them from.
pub fn service_environment(settings: &ServiceSettings) -> Vec<(&'static str, String)> {
    let kafka = &settings.kafka;
    let topics = &kafka.topics;
    vec![
        ("CJ_DATABASE_URL", settings.database_url.clone()),
        ("CJ_KAFKA_BROKERS", kafka.kafka_brokers.clone()),
        ("CJ_CONSUMER_GROUP", kafka.consumer_group.clone()),
        ("CJ_KAFKA_FETCH_WAIT_MS", kafka.fetch_wait_ms.to_string()),
        (
            "CJ_KAFKA_SESSION_TIMEOUT_MS",
            kafka.session_timeout_ms.to_string(),
        ),
        ("CJ_KAFKA_PARTITIONS", kafka.partitions.to_string()),
        ("CJ_TOPIC_REQUESTS", topics.requests.clone()),
        ("CJ_TOPIC_CALLBACKS", topics.callbacks.clone()),
        ("CJ_TOPIC_COMPLETED", topics.completed.clone()),
        ("CJ_TOPIC_RESULTS", topics.results.clone()),
        ("CJ_TOPIC_FAILED", topics.failed.clone()),
        ("CJ_TOPIC_RESOURCES", topics.resources.clone()),
        ("CJ_LLM_PROVIDER_URL", settings.llm_provider_url.clone()),
        (
            "CJ_CONTENT_SERVICE_URL",
            settings.content_service_url.clone(),
        ),
        ("CJ_HTTP_ADDR", settings.http_addr.to_string()),
        (
            "CJ_INSECURE_NO_READ_AUTH",
            settings.insecure_no_read_auth.to_string(),
        ),
        ("CJ_HTTP_ONLY", settings.http_only.to_string()),
        ("CJ_JWT_ISSUER", settings.auth.jwt_issuer.clone()),
        ("CJ_JWT_AUDIENCE", settings.auth.jwt_audience.clone()),
        ("CJ_MAX_COMPARISONS", settings.max_comparisons.to_string()),
        (
            "CJ_DISPATCH_CONCURRENCY",
            settings.dispatch_concurrency.to_string(),
        ),
        (
            "CJ_DISPATCH_LEASE_SECS",
            settings.dispatch_lease_secs.to_string(),
        ),
        (
            "CJ_MONITOR_INTERVAL_SECS",
            settings.monitor_interval_secs.to_string(),
        ),
        (
            "CJ_STUCK_TIMEOUT_SECS",
            settings.stuck_timeout_secs.to_string(),
        ),
        (
            "CJ_SHUTDOWN_GRACE_SECS",
            settings.shutdown_grace_secs.to_string(),
        ),
    ]
    .into_iter()
    .chain(
        kafka
            .kafka_debug
            .clone()
            .map(|contexts| ("CJ_KAFKA_DEBUG", contexts)),
    )
    .chain(
        [
            ("CJ_JWT_SECRET", &settings.auth.jwt_secret),
            ("CJ_JWT_PUBLIC_KEY", &settings.auth.jwt_public_key),
            ("CJ_CONTENT_SERVICE_TOKEN", &settings.content_service_token),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.clone()?))),
    )
    .chain(
        kafka
            .properties
            .inline
            .as_ref()
            .map(|inline| ("CJ_KAFKA_PROPERTIES", inline.to_environment_value())),
    )
    .chain(kafka.properties.file.as_ref().map(|file| {
        let path = file.path.to_string_lossy().into_owned();
        ("CJ_KAFKA_PROPERTIES_FILE", path)
    }))
    .chain(settings.judge.environment())
    .collect()
}

/// A `serve` process this process started.
pub struct ServiceProcess {
    launch: ServiceLaunch,
    settings: ServiceSettings,
    process: Option<ChildProcess>,
    starts: u32,
    http: reqwest::Client,
}

impl ServiceProcess {
    /// Starts `serve` (without waiting for it to become ready: see [`Self::wait_ready`]).
    pub fn start(
        launch: ServiceLaunch,
        settings: ServiceSettings,
    ) -> Result<ServiceProcess, HarnessError> {
        let mut service = ServiceProcess {
            launch,
            settings,
            process: None,
            starts: 0,
            http: probe_client(),
        };
        service.restart()?;
        Ok(service)
    }

    /// Starts `serve` again with the same settings; it must not be running.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        if self.is_running() {
            return Err(HarnessError::AlreadyRunning { what: self.name() });
        }
        self.starts += 1;
        self.write_log_header()?;
        let mut command = Command::new(&self.launch.binary);
        command.arg("serve").stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CJ_") {
                command.env_remove(name);
            }
        }
        command
            .envs(service_environment(&self.settings))
            .env("RUST_LOG", &self.launch.log_filter)
            .env("CJ_LOG_FORMAT", self.launch.log_format.as_arg());
        redirect_output(&mut command, Some(&self.launch.log_path))?;
        self.process = Some(ChildProcess::spawn(&self.name(), command)?);
        Ok(())
    }

    /// `kill -9`, then waits until the process is reaped.
    pub fn kill_9(&mut self) -> Result<(), HarnessError> {
        let process = self.take_running()?;
        process.kill_and_reap(KILL_TIMEOUT)?;
        Ok(())
    }

    /// SIGTERM, then waits for the exit (the service's grace period plus a margin).
    pub async fn terminate(&mut self) -> Result<ExitStatus, HarnessError> {
        let process = self.take_running()?;
        process.signal(Signal::Terminate)?;
        process
            .wait(self.settings.shutdown_grace() + EXIT_MARGIN)
            .await
    }

    /// Waits until `/healthz/ready` answers 200; returns how long that took. Fails early
    /// when the process exits meanwhile.
    pub async fn wait_ready(&self, within: Duration) -> Result<Duration, HarnessError> {
        let base_url = self.base_url();
        let ready = wait_ready(&self.http, &base_url, within);
        tokio::pin!(ready);
        loop {
            tokio::select! {
                outcome = &mut ready => return outcome,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if let Some(status) = self.process.as_ref().and_then(ChildProcess::exit_status) {
                        return Err(HarnessError::Exited { what: self.name(), status, expected: "became ready" });
                    }
                }
            }
        }
    }

    /// What `/healthz/ready` answers now.
    pub async fn readiness(&self) -> Answer {
        probe(&self.http, &self.base_url()).await
    }

    /// `http://<CJ_HTTP_ADDR>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.settings.http_addr)
    }

    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    pub fn log_path(&self) -> &std::path::Path {
        &self.launch.log_path
    }

    pub fn is_running(&self) -> bool {
        self.process.as_ref().is_some_and(ChildProcess::is_running)
    }

    /// How many times the process was started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ChildProcess::pid)
    }

    /// Peak resident set size of the running process (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.process.as_ref().and_then(ChildProcess::peak_rss_kib)
    }

    fn take_running(&mut self) -> Result<ChildProcess, HarnessError> {
        match self.process.take() {
            Some(process) if process.is_running() => Ok(process),
            _ => Err(HarnessError::NotRunning { what: self.name() }),
        }
    }

    fn name(&self) -> String {
        format!("cj-assessment serve on {}", self.settings.http_addr)
    }

    fn write_log_header(&self) -> Result<(), HarnessError> {
        let path = &self.launch.log_path;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut log| {
                writeln!(
                    log,
                    "==== start {} of {} at {} ====",
                    self.starts,
                    self.name(),
                    chrono::Utc::now().to_rfc3339()
                )
            })
            .map_err(|source| HarnessError::Log {
                path: path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        settings: ServiceSettings,
    }

    #[test]
    fn every_setting_of_serve_survives_the_trip_through_the_environment() {
        let properties_file = std::env::temp_dir().join(format!(
            "cj-service-environment-{}.properties",
            std::process::id()
        ));
        std::fs::write(&properties_file, "client.id=cj\nsasl.password=a;b\n").unwrap();
        let original = Serve::parse_from([
            "serve",
            "--database-url",
            "postgres://localhost/cj",
            "--max-comparisons",
            "77",
            "--topic-failed",
            "failed.elsewhere",
            "--fetch-wait-ms",
            "10",
            "--kafka-debug",
            "cgrp",
            "--jwt-secret",
            "a-secret",
            "--jwt-public-key",
            "a-pem",
            "--content-service-token",
            "a-token",
            "--insecure-no-read-auth",
            "--kafka-properties",
            "security.protocol=SSL;ssl.key.password=secret",
            "--kafka-properties-file",
            properties_file.to_str().unwrap(),
            "--judge",
            "openai",
            "--openai-model",
            "a-model",
            "--openai-api-key",
            "a-key",
            "--openai-rpm",
            "60",
            "--openai-tpm",
            "90000",
            "--anthropic-model",
            "another-model",
            "--anthropic-api-key",
            "another-key",
            "--anthropic-rpm",
            "50",
            "--anthropic-tpm",
            "80000",
            "--judge-prices",
            "a-model=0.15:0.6",
        ])
        .settings;
        let flag_of: BTreeMap<String, String> = Serve::command()
            .get_arguments()
            .filter_map(|argument| {
                let variable = argument.get_env()?.to_string_lossy().into_owned();
                Some((variable, argument.get_long()?.to_string()))
            })
            .collect();
        let environment = service_environment(&original);
        let written: BTreeSet<&str> = environment.iter().map(|(name, _)| *name).collect();
        let declared: BTreeSet<&str> = flag_of.keys().map(String::as_str).collect();
        assert_eq!(written, declared, "one variable per setting");

        let mut arguments = vec!["serve".to_string()];
        for (variable, value) in environment {
            arguments.push(format!("--{}", flag_of[variable]));
            arguments.push(value);
        }
        let parsed = Serve::parse_from(arguments).settings;
        let _ = std::fs::remove_file(&properties_file);
        assert_eq!(format!("{parsed:?}"), format!("{original:?}"));
        // Debug hides the secrets; they must survive the trip all the same.
        assert_eq!(parsed.auth.jwt_secret.as_deref(), Some("a-secret"));
        assert_eq!(parsed.auth.jwt_public_key.as_deref(), Some("a-pem"));
        assert_eq!(parsed.content_service_token.as_deref(), Some("a-token"));
        assert!(parsed.insecure_no_read_auth);
        assert_eq!(
            parsed.kafka.properties.inline, original.kafka.properties.inline,
            "secrets too (Debug hides them)"
        );
    }
}
