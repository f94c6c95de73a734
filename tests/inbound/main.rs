//! The inbound side against real PostgreSQL and a real Kafka-protocol broker: the consumer
//! runs in-process as a task, requests and callbacks are produced to Kafka, and the tests
//! read the event log, the dead-letter topics and the metrics. One module per property.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod callbacks;
mod content_store;
mod dead_letters;
mod registry;
mod requests;
