//! Reading topics outside any consumer group: every partition of the named topics assigned
//! from a chosen offset. What a benchmark or a test reads the service's output with, and
//! what `run-eng5`-style tools would use to watch a topic without disturbing the group.

use super::client_config;
use crate::config::KafkaSettings;
use anyhow::Context;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};

/// A consumer assigned to every partition of `topics`, each read from `offset`.
pub fn assigned_reader(
    settings: &KafkaSettings,
    topics: &[&str],
    offset: Offset,
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = client_config::consumer(settings)
        .create()
        .context("creating a topic reader")?;
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..settings.partitions {
            partitions
                .add_partition_offset(topic, partition, offset)
                .with_context(|| format!("assigning {topic}/{partition}"))?;
        }
    }
    consumer
        .assign(&partitions)
        .context("assigning partitions")?;
    Ok(consumer)
}
