//! What can go wrong when the harness starts, signals or waits for a process.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("no free local port: {0}")]
    NoFreePort(#[source] std::io::Error),
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the log file {path}: {source}")]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the storage directory {path}: {source}")]
    Storage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot signal {what}: {source}")]
    Signal {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is not running")]
    NotRunning { what: String },
    #[error("{what} is already running")]
    AlreadyRunning { what: String },
    #[error("{what} exited with {status} before it {expected}")]
    Exited {
        what: String,
        status: std::process::ExitStatus,
        expected: &'static str,
    },
    #[error("{what} did not {expected} within {within:?}")]
    TimedOut {
        what: String,
        expected: &'static str,
        within: Duration,
    },
}
