//! Kafka plumbing shared by the consumers, the dispatcher's callbacks (llm-sim), and the
//! outbox relay: client configuration (with the operator's properties, [`properties`]), the
//! start-up connectivity check ([`connectivity`]), topic creation, a shared producer, and
//! readers of whole topics outside any group ([`topic_reader`]). Settings were chosen against a real
//! Kafka-protocol broker (Tansu) and rdkafka's bundled librdkafka; see `docs/kafka.md`.

pub mod admin;
pub mod client_config;
pub mod connectivity;
pub mod producer;
pub mod properties;
pub mod topic_reader;
