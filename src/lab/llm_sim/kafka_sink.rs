//! The simulated provider's callbacks on Kafka: each is published with the shared producer
//! to the topic the comparison request named, keyed by the comparison's correlation id. Like
//! a real provider's queue, a callback the broker does not take (broker down) is tried
//! again, every [`RETRY_PAUSE`], for up to [`GIVE_UP_AFTER`]: an outage delays callbacks
//! instead of losing them.

use super::server::CallbackSink;
use crate::kafka::producer::Publisher;
use async_trait::async_trait;
use std::time::Duration;
use tokio::time::Instant;

/// Pause between attempts to publish one callback.
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// How long one callback is retried before it is given up (and the error returned).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

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
        let give_up = Instant::now() + GIVE_UP_AFTER;
        loop {
            match self.publisher.send(topic, key, &payload, &[]).await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() < give_up => {
                    tracing::warn!(error = %format!("{error:#}"), correlation_id = key, "publishing a callback failed; trying again");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
