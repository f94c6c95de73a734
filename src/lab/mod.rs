//! The lab: what demonstrates, measures and drives the service from outside. Nothing in
//! production imports it (`tests/layout.rs` fails if anything does); it may use anything.
//!
//! - [`simulation`] — the simulated judge over hidden essay qualities, generated batches with
//!   known truth, an in-memory content store, and the driver that runs a batch through the
//!   service's [`crate::store::BatchCommandBus`] on any event log.
//! - [`llm_sim`] — a simulated LLM Provider Service with the real HTTP contract
//!   (`cj-assessment llm-sim`).
//! - [`runner`] — the end-to-end runner's pieces (`run-eng5`): assignment, request, follow.
//! - [`harness`] — the service and its broker as child processes for fault tests and
//!   benchmarks: `kill -9`, SIGTERM, restart, readiness probes, peak memory.
//! - [`bench`](mod@bench) — the benchmarks (`cj-assessment bench <name>`): each figure next to an
//!   anchor measured in the same run.
//! - [`commands`] — the lab's subcommands: `demo`, `simulate`, `bench`, `run-eng5`, `llm-sim`.

pub mod bench;
pub mod commands;
pub mod harness;
pub mod llm_sim;
pub mod runner;
pub mod simulation;
