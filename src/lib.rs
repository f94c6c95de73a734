//! `cj-assessment`: an event-sourced comparative-judgement assessment service.
//!
//! # Layout
//!
//! - [`backoff`] — one capped doubling back-off type; the command bus's conflict retries,
//!   the dispatcher's provider retries and the consumer's transient retries each name a
//!   schedule of it. [`retry`] — work retried until done or shutdown (`until_done`,
//!   `Retries`, `Interrupted`), shared by the consumer and the callbacks' room.
//! - [`bench`] — the benchmarks (`cj-assessment bench <name>`): each figure next to an
//!   anchor measured in the same run.
//! - [`cli`] — the command line: one subcommand per module under [`commands`]; `main.rs` only
//!   parses and dispatches.
//! - [`commands`] — `demo` (a whole batch, in memory or on PostgreSQL), `simulate` (quality
//!   across many seeds), `fit` (the statistics on anyone's comparison data), and the
//!   database commands `migrate`, `replay`, `history`, `inspect`.
//! - [`clock`] — the injected clock every timeout and sweep reads; [`config`] — every
//!   setting of the running service, each a flag with a `CJ_` environment variable.
//! - [`kafka`] — client configuration, topic creation, the shared producer; [`content`] —
//!   the Content Service client and the built-in content store (`/api/v1/content`).
//! - [`consumer`] — the Kafka consumer of requests and callbacks: polls, decodes, dispatches,
//!   dead-letters, retries, commits offsets; entered through [`consumer::run_consumer`].
//!   [`intake`] turns a request into a batch; [`callbacks`] turns the LLM provider's
//!   callbacks into one `RecordCallbacks` per batch (routing, orphans, duplicates);
//!   [`registry`] holds each assignment's grade scale, instructions and anchors.
//! - [`dispatcher`] — sends every planned comparison to the LLM Provider Service once in
//!   effect (`run_dispatcher`); [`outbox_relay`] — publishes the outbox's completion
//!   events to Kafka, one active relay at a time (`run_outbox_relay`).
//! - [`harness`] — the service and its broker as child processes for fault tests and
//!   benchmarks: `kill -9`, SIGTERM, restart, readiness probes, peak memory.
//! - [`http`] — liveness, readiness and Prometheus metrics routes; [`metrics`] declares them.
//! - [`leader`] — the advisory-lock try the singletons ([`monitor`], [`outbox_relay`])
//!   lead by, each under its own key.
//! - [`llm`] — the comparison prompt and the LLM Provider Service client; [`llm_sim`] — a
//!   simulated provider with the same HTTP contract (`cj-assessment llm-sim`).
//! - [`metrics_tap`] — a table-less projector that turns logged decisions into metrics.
//! - [`monitor`] — the batch monitor: recovery of stuck batches and the completion sweep,
//!   one instance at a time.
//! - [`runner`] — the end-to-end runner's pieces (`run-eng5`): assignment, request, follow.
//! - [`simulation`] — the simulated judge, generated batches with known truth, an in-memory
//!   content store, and the driver that runs a batch through the real aggregate on any
//!   [`store::BatchStore`].
//! - [`store`] — PostgreSQL: connection and migrations, the command bus every command goes
//!   through (conflict retries, event metadata), the [`store::BatchStore`] interface the
//!   driver runs on, and its PostgreSQL implementation.
//! - The domain itself (the `CjBatch` aggregate, Bradley–Terry, pair planning, completion
//!   policy, grading) lives in the `cj-aggregates` crate; read models in `cj-projections`.

pub mod backoff;
pub mod bench;
pub mod callbacks;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod consumer;
pub mod content;
pub mod dispatcher;
pub mod harness;
pub mod http;
pub mod intake;
pub mod kafka;
pub mod leader;
pub mod llm;
pub mod llm_sim;
pub mod metrics;
pub mod metrics_tap;
pub mod monitor;
pub mod outbox_relay;
pub mod registry;
pub mod retry;
pub mod runner;
pub mod simulation;
pub mod store;
