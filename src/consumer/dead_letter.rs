//! The dead-letter topics: a message that can never be handled (undecodable, schema-invalid,
//! oversized, refused for good) is copied to `<topic>.dlq` with headers saying why and where
//! it came from, so the consumer can move on and an operator can look at it later.

use crate::kafka::producer::Publisher;
use crate::metrics::metrics;
use cj_contracts::topics::dead_letter_topic;
use rdkafka::message::Message;

/// Header names on every dead letter.
pub const HEADER_ERROR: &str = "error";
pub const HEADER_ORIGINAL_TOPIC: &str = "original_topic";
pub const HEADER_ORIGINAL_PARTITION: &str = "original_partition";
pub const HEADER_ORIGINAL_OFFSET: &str = "original_offset";
/// Set (to the original size in bytes) when the payload was cut to fit the producer's limit.
pub const HEADER_TRUNCATED_FROM: &str = "truncated_from_bytes";

/// Largest payload copied to a dead letter: below the producer's default `message.max.bytes`
/// (1,000,000) with room for headers. An oversized message is dead-lettered with its head,
/// enough to see what it was.
pub const MAX_DEAD_LETTER_PAYLOAD: usize = 900_000;

#[derive(Clone)]
pub struct DeadLetters {
    publisher: Publisher,
}

impl DeadLetters {
    pub fn new(publisher: Publisher) -> Self {
        DeadLetters { publisher }
    }

    /// Copies `message` to its topic's dead-letter topic; `Err` only when the broker did not
    /// take it (then the original is not done either).
    pub async fn send(&self, message: &impl Message, error: &str) -> anyhow::Result<()> {
        let topic = message.topic();
        let payload = message.payload().unwrap_or_default();
        let key = message
            .key()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let size = payload.len().to_string();
        let mut headers = vec![
            (HEADER_ERROR, error),
            (HEADER_ORIGINAL_TOPIC, topic),
            (HEADER_ORIGINAL_PARTITION, partition.as_str()),
            (HEADER_ORIGINAL_OFFSET, offset.as_str()),
        ];
        let copied = if payload.len() > MAX_DEAD_LETTER_PAYLOAD {
            headers.push((HEADER_TRUNCATED_FROM, size.as_str()));
            &payload[..MAX_DEAD_LETTER_PAYLOAD]
        } else {
            payload
        };
        self.publisher
            .send(&dead_letter_topic(topic), &key, copied, &headers)
            .await?;
        metrics().dead_lettered.with_label_values(&[topic]).inc();
        tracing::warn!(
            topic,
            partition = message.partition(),
            offset = message.offset(),
            error,
            "message dead-lettered"
        );
        Ok(())
    }
}
