//! The process's one Kafka producer (idempotent; creating one costs a producer-id round
//! trip, so it is made once and shared).

use super::client_config;
use crate::config::KafkaSettings;
use anyhow::Context;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use std::time::Duration;

#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
}

/// Where the broker stored an acknowledged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

impl Publisher {
    pub fn new(settings: &KafkaSettings) -> anyhow::Result<Self> {
        let producer = client_config::producer(settings)
            .create()
            .context("creating the Kafka producer")?;
        Ok(Publisher { producer })
    }

    /// Sends one message and waits for the broker's acknowledgement.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Delivered> {
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(owned);
        let delivery = self
            .producer
            .send(record, Timeout::Never)
            .await
            .map_err(|(error, _)| anyhow::anyhow!("publishing to {topic} failed: {error}"))?;
        Ok(Delivered {
            partition: delivery.partition,
            offset: delivery.offset,
        })
    }

    /// Whether the brokers answer a metadata request within `within` (readiness).
    pub async fn check_brokers(&self, within: Duration) -> anyhow::Result<()> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Timeout::After(within))
                .map(|_| ())
                .context("the Kafka brokers do not answer")
        })
        .await?
    }

    /// Waits for every queued message to be acknowledged (shutdown).
    pub fn flush(&self, within: Duration) -> anyhow::Result<()> {
        self.producer
            .flush(Timeout::After(within))
            .context("flushing the Kafka producer")
    }
}
