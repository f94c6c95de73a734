//! `cj-assessment`: an event-sourced comparative-judgement assessment service.
//!
//! # Layout
//!
//! The crate is the service and, in [`lab`], what demonstrates and measures it. The domain
//! (the `CjBatch` aggregate and its statistics) is the `cj-aggregates` crate, the wire
//! contracts `cj-contracts`, the read models `cj-projections`. `docs/architecture.md` traces
//! the four flows through these files.
//!
//! **Work arriving** — [`consumer`] polls Kafka (requests and callbacks), decodes,
//! dead-letters, retries and commits offsets. [`intake`] turns a request — from Kafka or
//! `POST /api/v1/batches` — into a batch (essays, anchors, the first wave); [`callbacks`] turns the LLM provider's verdicts into
//! one `RecordCallbacks` per batch. [`registry`] holds each assignment's grade scale,
//! instructions and anchors; [`content`] the essay texts (client and built-in store).
//!
//! **Deciding and recording** — [`store`]: PostgreSQL, migrations, and the one command bus
//! every command goes through (aggregate cache, append, conflict retries), over
//! PostgreSQL's event log or an in-memory one (the demo and the simulation).
//!
//! **Work leaving** — [`dispatcher`] sends each planned comparison to a judge once in
//! effect: the LLM Provider Service ([`llm`]: the prompt and the client) or a direct
//! OpenAI-compatible or Anthropic judge ([`judges`]: wire formats, strict answers, rate
//! and token limits, usage and cost); [`outbox_relay`] publishes
//! the completion events, one relay at a time; [`monitor`] recovers stuck batches, one
//! instance at a time. Both lead through [`leader`].
//!
//! **Seeing it** — [`http`] (health, readiness, metrics, the batch API and report),
//! [`metrics`] (declarations), [`metrics_tap`] (logged decisions → metrics) and [`gauges`]
//! (figures read from the database).
//!
//! **Running it** — [`worker`]: the one shape (a name and `run(shutdown)`) every
//! long-running part of `serve` takes, and the staged start and stop of a list of them.
//!
//! **Shared** — [`config`] (every setting, a flag with a `CJ_` variable), [`clock`] (the
//! injected clock), [`backoff`] and [`retry`] (retry schedules and retry-until-done),
//! [`kafka`] (clients, topics, producer).
//!
//! **Commands** — [`cli`] parses and dispatches; [`commands`] holds the operator commands
//! (`serve`, `migrate`, `replay`, `history`, `inspect`, `fit`, `token`, `anchors`,
//! `instructions`); the lab's (`demo`, `simulate`, `bench`, `run-eng5`, `llm-sim`) are in
//! [`lab::commands`].

pub mod backoff;
pub mod callbacks;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod consumer;
pub mod content;
pub mod dispatcher;
pub mod gauges;
pub mod http;
pub mod intake;
pub mod judges;
pub mod kafka;
pub mod lab;
pub mod leader;
pub mod llm;
pub mod metrics;
pub mod metrics_tap;
pub mod monitor;
pub mod outbox_relay;
pub mod registry;
pub mod retry;
pub mod store;
pub mod worker;
