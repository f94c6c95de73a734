//! librdkafka configurations of the service's clients.

use crate::config::KafkaSettings;
use rdkafka::ClientConfig;

/// How long a message may wait for the broker's acknowledgement before it fails. Short
/// enough that a missing topic or a dead broker surfaces in seconds, not librdkafka's
/// default five minutes.
const MESSAGE_TIMEOUT_MS: &str = "10000";

/// An idempotent producer: retries never duplicate or reorder within a partition.
pub fn producer(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.kafka_brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", MESSAGE_TIMEOUT_MS);
    config
}

/// A group consumer whose offsets are stored only after a message is fully handled
/// (`store_offset_from_message`), and committed in the background.
pub fn consumer(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.kafka_brokers)
        .set("group.id", &settings.consumer_group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("fetch.wait.max.ms", settings.fetch_wait_ms.to_string());
    config
}

/// The admin client (topic creation).
pub fn admin(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.kafka_brokers);
    config
}
