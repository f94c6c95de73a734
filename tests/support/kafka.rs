//! A real Kafka-protocol broker for integration tests. `CJ_TEST_KAFKA_BROKERS` names one
//! (CI starts Tansu and sets it); otherwise the tests start their own throwaway in-memory
//! Tansu (the harness's [`Broker`]; `tansu` on PATH, or `CJ_TEST_TANSU` naming the binary;
//! `scripts/test.sh` builds one with the features the tests use), once per test binary, killed when the test process exits. Tests that need messages to survive or to be
//! sent concurrently start a broker of their own with SQLite storage ([`start_broker`]).
#![allow(dead_code)]

use super::prerequisites::started_or_missing;
use cj_assessment::config::{KafkaSettings, TopicNames};
use cj_assessment::kafka::topic_reader::assigned_reader;
use cj_assessment::lab::harness::broker::{Broker, BrokerLaunch, BrokerStorage};
use cj_assessment::lab::harness::HarnessError;
use rdkafka::message::{Message, OwnedMessage};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Bootstrap address of the test broker.
pub fn broker() -> String {
    static BROKER: OnceLock<String> = OnceLock::new();
    BROKER
        .get_or_init(|| match std::env::var("CJ_TEST_KAFKA_BROKERS") {
            Ok(brokers) if !brokers.is_empty() => brokers,
            _ => shared_broker().address(),
        })
        .clone()
}

/// The `tansu` executable tests start: `CJ_TEST_TANSU`, else `tansu` on PATH.
pub fn tansu_binary() -> PathBuf {
    std::env::var_os("CJ_TEST_TANSU")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tansu"))
}

/// A broker of this test binary's own with `storage`.
pub fn start_broker(storage: BrokerStorage, log_path: Option<PathBuf>) -> Broker {
    started(Broker::start(BrokerLaunch {
        binary: tansu_binary(),
        storage,
        log_path,
    }))
}

/// A broker of this test binary's own with `storage`, advertising `proxy` (in front of it).
pub fn start_broker_behind(storage: BrokerStorage, proxy: std::net::SocketAddr) -> Broker {
    let launch = BrokerLaunch {
        binary: tansu_binary(),
        storage,
        log_path: None,
    };
    started(Broker::start_behind(launch, proxy))
}

/// The broker, or the test fails with one line (how to get tansu when it is missing).
fn started(broker: Result<Broker, HarnessError>) -> Broker {
    started_or_missing(
        broker,
        "tansu",
        "set CJ_TEST_TANSU to a tansu built with --features libsql",
    )
}

/// The broker every test of the binary shares, started on first use. It lives as long as
/// the process (the harness kills it when the process ends). It stores in SQLite: Tansu
/// 0.6's memory engine delivers every record but reports watermarks that count only part
/// of a multi-record batch (1,000 records produced, high watermark 1), and the tests count
/// what a topic holds by its watermarks.
fn shared_broker() -> &'static Broker {
    static SHARED: OnceLock<Broker> = OnceLock::new();
    SHARED.get_or_init(|| {
        let storage = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("brokers")
            .join(format!(
                "{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
        start_broker(BrokerStorage::Sqlite(storage), None)
    })
}

/// Kafka settings for one test: its own topic names and consumer group, so tests sharing
/// a broker never see each other's messages.
pub fn settings_for_test() -> KafkaSettings {
    settings_for_test_on(broker())
}

/// [`settings_for_test`] on the broker at `brokers`.
pub fn settings_for_test_on(brokers: String) -> KafkaSettings {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    KafkaSettings {
        kafka_brokers: brokers,
        consumer_group: format!("cj-test-{suffix}"),
        fetch_wait_ms: 10,
        session_timeout_ms: 10_000,
        partitions: 2,
        kafka_debug: std::env::var("CJ_TEST_KAFKA_DEBUG").ok(),
        properties: Default::default(),
        topics: TopicNames::suffixed(&suffix),
    }
}

/// Reads a topic from its beginning, every partition, without joining a consumer group.
pub struct TopicReader {
    consumer: rdkafka::consumer::StreamConsumer,
}

impl TopicReader {
    pub fn new(settings: &KafkaSettings, topic: &str) -> TopicReader {
        let consumer =
            assigned_reader(settings, &[topic], rdkafka::Offset::Beginning).expect("a reader");
        TopicReader { consumer }
    }

    /// The next message as (key, payload), or `None` after 30 s without one.
    pub async fn next(&self) -> Option<(String, Vec<u8>)> {
        self.next_message()
            .await
            .map(|message| key_and_payload(&message))
    }

    /// The next message whole (headers, partition, offset), or `None` after 30 s without one.
    pub async fn next_message(&self) -> Option<OwnedMessage> {
        let message = tokio::time::timeout(Duration::from_secs(30), self.consumer.recv())
            .await
            .ok()?
            .expect("no consumer error");
        Some(message.detach())
    }
}

fn key_and_payload(message: &OwnedMessage) -> (String, Vec<u8>) {
    let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
    (key, message.payload().unwrap_or_default().to_vec())
}

/// How many messages `topic` holds (the sum over partitions of high − low watermark):
/// exact, without waiting for messages that might still come.
pub fn messages_on(settings: &KafkaSettings, topic: &str) -> i64 {
    watermarks(settings, topic)
        .iter()
        .map(|(low, high)| high - low)
        .sum()
}

/// (low, high) watermark of each partition of `topic`.
pub fn watermarks(settings: &KafkaSettings, topic: &str) -> Vec<(i64, i64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = cj_assessment::kafka::client_config::consumer(settings)
        .create()
        .expect("a consumer");
    (0..settings.partitions)
        .map(|partition| {
            consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .expect("watermarks")
        })
        .collect()
}

/// Every message on `topic`, as (key, payload).
pub async fn read_topic(settings: &KafkaSettings, topic: &str) -> Vec<(String, Vec<u8>)> {
    read_topic_messages(settings, topic)
        .await
        .iter()
        .map(key_and_payload)
        .collect()
}

/// Every message on `topic`, whole: per partition, each offset from the low to the high
/// watermark exactly once.
pub async fn read_topic_messages(settings: &KafkaSettings, topic: &str) -> Vec<OwnedMessage> {
    let watermarks = tokio::task::block_in_place(|| watermarks(settings, topic));
    let total: i64 = watermarks.iter().map(|(low, high)| high - low).sum();
    let reader = TopicReader::new(settings, topic);
    let mut messages = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while (seen.len() as i64) < total {
        let message = reader.next_message().await.unwrap_or_else(|| {
            panic!(
                "{topic}: only {} of {total} messages arrived (watermarks {watermarks:?})",
                seen.len()
            )
        });
        let (low, high) = watermarks[message.partition() as usize];
        if message.offset() < low || message.offset() >= high {
            continue; // written after the watermarks were taken
        }
        if seen.insert((message.partition(), message.offset())) {
            messages.push(message);
        }
    }
    messages
}

/// Where the consumer group of `settings` stands on `topic`: per partition, the committed
/// offset (`None`: nothing committed) and the high watermark. Read without joining the group.
pub fn group_position(settings: &KafkaSettings, topic: &str) -> Vec<(Option<i64>, i64)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = cj_assessment::kafka::client_config::consumer(settings)
        .create()
        .expect("a consumer");
    let mut partitions = rdkafka::TopicPartitionList::new();
    for partition in 0..settings.partitions {
        partitions.add_partition(topic, partition);
    }
    let committed = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .expect("the group's committed offsets");
    let highs = watermarks(settings, topic);
    (0..settings.partitions)
        .map(|partition| {
            let offset =
                committed
                    .find_partition(topic, partition)
                    .and_then(|element| match element.offset() {
                        rdkafka::Offset::Offset(offset) => Some(offset),
                        _ => None,
                    });
            (offset, highs[partition as usize].1)
        })
        .collect()
}
