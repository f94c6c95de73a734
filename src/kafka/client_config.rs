//! librdkafka configurations of the service's clients: the service's own settings, then the
//! operator's properties (`CJ_KAFKA_PROPERTIES[_FILE]`, [`super::properties`]: TLS, SASL, …),
//! which win over everything the service does not reserve.

use crate::config::KafkaSettings;
use rdkafka::ClientConfig;

/// How long a message may wait for the broker's acknowledgement before it fails: longer
/// than a broker restart, so an outage delays messages instead of failing them. (A failed
/// message also makes librdkafka bump the idempotent producer's epoch on its own, which
/// Tansu 0.6's SQLite engine cannot take: it stops answering produce requests for good.)
/// Shorter than librdkafka's default five minutes, so a broker gone for good surfaces.
const MESSAGE_TIMEOUT_MS: &str = "120000";

/// An idempotent producer: retries never duplicate or reorder within a partition.
pub fn producer(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.kafka_brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "0")
        .set("message.timeout.ms", MESSAGE_TIMEOUT_MS);
    with_operator_settings(config, settings)
}

/// librdkafka's own debug logging when the settings ask for it, then the operator's
/// properties.
fn with_operator_settings(mut config: ClientConfig, settings: &KafkaSettings) -> ClientConfig {
    if let Some(contexts) = settings.kafka_debug.as_deref().filter(|c| !c.is_empty()) {
        config.set("debug", contexts);
    }
    settings.properties.apply_to(&mut config);
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
        .set(
            "session.timeout.ms",
            settings.session_timeout_ms.to_string(),
        )
        .set("heartbeat.interval.ms", "1000")
        .set("fetch.wait.max.ms", settings.fetch_wait_ms.to_string());
    with_operator_settings(config, settings)
}

/// The admin client (topic creation, the start-up connectivity check).
pub fn admin(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &settings.kafka_brokers);
    with_operator_settings(config, settings)
}
