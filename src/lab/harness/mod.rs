//! The harness: the service and its broker as child processes a test or a benchmark starts,
//! disturbs and stops — `kill -9`, SIGTERM, restart on the same port and storage — and
//! the probes that watch them recover.
//!
//! - [`child`] — a child process that dies with its parent, is reaped by a thread of its
//!   own (no zombies) and is killed when dropped; [`signals`] — the signals it is sent.
//! - [`broker`] — a Tansu broker on a free port with memory or SQLite storage, stopped and
//!   started again on the same port and storage.
//! - [`service_process`] — `cj-assessment serve` from a binary and [`ServiceSettings`]
//!   (turned into `CJ_*` variables in one place), stderr to a log file, peak RSS.
//! - [`readiness`] — `GET /healthz/ready`: one probe, waiting for green, and a watch that
//!   records every change of the answer while a fault runs.
//! - [`llm_sim`] — the simulated LLM provider served in-process on a free port.
//!
//! [`ServiceSettings`]: crate::config::ServiceSettings

pub mod broker;
pub mod child;
pub mod error;
pub mod llm_sim;
pub mod readiness;
pub mod service_process;
pub mod signals;

pub use error::HarnessError;

use std::net::{SocketAddr, TcpListener};

/// A local address no one listens on right now (the port is free until someone binds it).
pub fn free_local_address() -> Result<SocketAddr, HarnessError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(HarnessError::NoFreePort)
}
