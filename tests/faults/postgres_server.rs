//! The shared PostgreSQL server, stopped and started the way an operator does
//! (`pg_ctlcluster --skip-systemctl-redirect <version> <cluster> stop|start`). The cluster
//! is `CJ_TEST_PG_CLUSTER` ("15 main"), else the first version under /etc/postgresql with
//! `main`. A [`StoppedServer`] starts the server again when dropped, so a failing test never
//! leaves it down for the next.

use std::process::Command;

/// The server, stopped; started again by [`StoppedServer::start`] or on drop.
pub struct StoppedServer {
    started: bool,
}

/// Stops the server (fast shutdown: every connection is dropped).
pub fn stop() -> StoppedServer {
    control("stop");
    StoppedServer { started: false }
}

impl StoppedServer {
    pub fn start(mut self) {
        control("start");
        self.started = true;
    }
}

impl Drop for StoppedServer {
    fn drop(&mut self) {
        if !self.started {
            control("start");
        }
    }
}

fn cluster() -> Vec<String> {
    if let Ok(named) = std::env::var("CJ_TEST_PG_CLUSTER") {
        return named.split_whitespace().map(String::from).collect();
    }
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("/etc/postgresql lists the installed versions (or set CJ_TEST_PG_CLUSTER)")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .min()
        .expect("a PostgreSQL version under /etc/postgresql");
    vec![version, "main".into()]
}

fn control(action: &str) {
    let status = Command::new("pg_ctlcluster")
        .arg("--skip-systemctl-redirect")
        .args(cluster())
        .arg(action)
        .status()
        .expect("pg_ctlcluster runs");
    assert!(status.success(), "pg_ctlcluster {action} failed: {status}");
}
