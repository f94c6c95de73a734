//! `cj-assessment`: an event-sourced comparative-judgement assessment service.
//!
//! # Layout
//!
//! - [`cli`] — the command line: one subcommand per module under [`commands`]; `main.rs` only
//!   parses and dispatches.
//! - [`commands`] — `demo` (a whole batch, in memory or on PostgreSQL), `simulate` (quality
//!   across many seeds), `fit` (the statistics on anyone's comparison data), and the
//!   database commands `migrate`, `replay`, `history`, `inspect`.
//! - [`clock`] — the injected clock every timeout and sweep reads; [`config`] — every
//!   setting of the running service, each a flag with a `CJ_` environment variable.
//! - [`kafka`] — client configuration, topic creation, the shared producer; [`content`] —
//!   the Content Service client.
//! - [`dispatcher`] — sends every planned comparison to the LLM Provider Service once in
//!   effect (`run_dispatcher`); [`outbox_relay`] — publishes the outbox's completion
//!   events to Kafka, one active relay at a time (`run_outbox_relay`).
//! - [`http`] — liveness, readiness and Prometheus metrics routes; [`metrics`] declares them.
//! - [`llm`] — the comparison prompt and the LLM Provider Service client; [`llm_sim`] — a
//!   simulated provider with the same HTTP contract (`cj-assessment llm-sim`).
//! - [`simulation`] — the simulated judge, generated batches with known truth, an in-memory
//!   content store, and the driver that runs a batch through the real aggregate on any
//!   [`simulation::driver::BatchStore`].
//! - [`store`] — PostgreSQL: connection and migrations, the command bus every command goes
//!   through (conflict retries, event metadata), and the driver's store on it.
//! - The domain itself (the `CjBatch` aggregate, Bradley–Terry, pair planning, completion
//!   policy, grading) lives in the `cj-aggregates` crate; read models in `cj-projections`.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod content;
pub mod dispatcher;
pub mod http;
pub mod kafka;
pub mod llm;
pub mod llm_sim;
pub mod metrics;
pub mod outbox_relay;
pub mod simulation;
pub mod store;
