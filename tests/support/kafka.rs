//! A real Kafka-protocol broker for integration tests. `CJ_TEST_KAFKA_BROKERS` names one
//! (CI starts Tansu and sets it); otherwise the tests start their own throwaway in-memory
//! Tansu (`tansu` on PATH: `cargo install tansu --locked --features postgres,dynostore`),
//! once per test binary, killed when the test process exits.
#![allow(dead_code)]

use cj_assessment::config::{KafkaSettings, TopicNames};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Bootstrap address of the test broker.
pub fn broker() -> String {
    static BROKER: OnceLock<String> = OnceLock::new();
    BROKER
        .get_or_init(|| match std::env::var("CJ_TEST_KAFKA_BROKERS") {
            Ok(brokers) if !brokers.is_empty() => brokers,
            _ => start_tansu(),
        })
        .clone()
}

fn start_tansu() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    let url = format!("tcp://{address}");
    let mut command = Command::new("tansu");
    command
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the broker when its
    // parent dies, so no broker outlives its tests.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    // The death signal fires when the spawning *thread* exits, not the process: a test's
    // thread would take the broker down with it when that test ends. So a thread that lives
    // as long as the test process spawns the broker and then waits for it.
    let (spawned, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || match command.spawn() {
        Ok(mut broker) => {
            let _ = spawned.send(Ok(()));
            let _ = broker.wait();
        }
        Err(error) => {
            let _ = spawned.send(Err(error));
        }
    });
    outcome
        .recv()
        .expect("the broker thread reports")
        .expect("tansu on PATH (cargo install tansu --locked --features postgres,dynostore), or CJ_TEST_KAFKA_BROKERS set");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline, "tansu did not open {address}");
        std::thread::sleep(Duration::from_millis(20));
    }
    address
}

/// Kafka settings for one test: its own topic names and consumer group, so tests sharing
/// a broker never see each other's messages.
pub fn settings_for_test() -> KafkaSettings {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let topic = |name: &str| format!("{name}.{suffix}");
    KafkaSettings {
        kafka_brokers: broker(),
        consumer_group: format!("cj-test-{suffix}"),
        fetch_wait_ms: 10,
        partitions: 2,
        topics: TopicNames {
            requests: topic("requests"),
            callbacks: topic("callbacks"),
            completed: topic("completed"),
            results: topic("results"),
            failed: topic("failed"),
            resources: topic("resources"),
        },
    }
}

/// Reads a topic from its beginning, every partition, without joining a consumer group.
pub struct TopicReader {
    consumer: rdkafka::consumer::StreamConsumer,
}

impl TopicReader {
    pub fn new(settings: &KafkaSettings, topic: &str) -> TopicReader {
        use rdkafka::consumer::Consumer;
        let consumer: rdkafka::consumer::StreamConsumer =
            cj_assessment::kafka::client_config::consumer(settings)
                .create()
                .expect("a consumer");
        let mut partitions = rdkafka::TopicPartitionList::new();
        for partition in 0..settings.partitions {
            partitions
                .add_partition_offset(topic, partition, rdkafka::Offset::Beginning)
                .expect("a partition offset");
        }
        consumer.assign(&partitions).expect("assign partitions");
        TopicReader { consumer }
    }

    /// The next message as (key, payload), or `None` after 30 s without one.
    pub async fn next(&self) -> Option<(String, Vec<u8>)> {
        use rdkafka::message::Message;
        let message = tokio::time::timeout(Duration::from_secs(30), self.consumer.recv())
            .await
            .ok()?
            .expect("no consumer error");
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        Some((key, message.payload().unwrap_or_default().to_vec()))
    }
}

/// How many messages `topic` holds (the sum over partitions of high − low watermark):
/// exact, without waiting for messages that might still come.
pub fn messages_on(settings: &KafkaSettings, topic: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = cj_assessment::kafka::client_config::consumer(settings)
        .create()
        .expect("a consumer");
    (0..settings.partitions)
        .map(|partition| {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, Duration::from_secs(10))
                .expect("watermarks");
            high - low
        })
        .sum()
}

/// Every message on `topic`, as (key, payload).
pub async fn read_topic(settings: &KafkaSettings, topic: &str) -> Vec<(String, Vec<u8>)> {
    let total = tokio::task::block_in_place(|| messages_on(settings, topic));
    let reader = TopicReader::new(settings, topic);
    let mut messages = Vec::new();
    while (messages.len() as i64) < total {
        let message = reader.next().await.unwrap_or_else(|| {
            panic!(
                "{topic}: only {} of {total} messages arrived",
                messages.len()
            )
        });
        messages.push(message);
    }
    messages
}
