//! The simulated provider's callbacks on Kafka: each is published with the shared producer
//! to the topic the comparison request named, keyed by the comparison's correlation id.

use super::server::CallbackSink;
use crate::kafka::producer::Publisher;
use async_trait::async_trait;

pub struct KafkaCallbackSink {
    publisher: Publisher,
}

impl KafkaCallbackSink {
    pub fn new(publisher: Publisher) -> Self {
        KafkaCallbackSink { publisher }
    }
}

#[async_trait]
impl CallbackSink for KafkaCallbackSink {
    async fn publish(&self, topic: &str, key: &str, payload: Vec<u8>) -> anyhow::Result<()> {
        self.publisher.send(topic, key, &payload, &[]).await?;
        Ok(())
    }
}
