//! The Kafka plumbing against a real broker: topics are created (and creating them again is
//! harmless), and the shared idempotent producer's messages arrive with key and headers.

mod support;

use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::client_config;
use cj_assessment::kafka::producer::Publisher;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use std::time::Duration;
use support::kafka::settings_for_test;

#[tokio::test]
async fn topics_are_created_once_and_messages_arrive_with_key_and_headers() {
    let settings = settings_for_test();
    let topics = settings.topics.all();
    ensure_topics(&settings, &topics)
        .await
        .expect("topics created");
    ensure_topics(&settings, &topics)
        .await
        .expect("creating again is harmless");

    let publisher = Publisher::new(&settings).unwrap();
    let delivered = publisher
        .send(
            &settings.topics.completed,
            "bos-batch-1",
            b"{\"x\":1}",
            &[("error", "none")],
        )
        .await
        .expect("acknowledged");
    assert!(delivered.offset >= 0);

    let consumer: StreamConsumer = client_config::consumer(&settings).create().unwrap();
    consumer.subscribe(&[&settings.topics.completed]).unwrap();
    let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
        .await
        .expect("a message within 30 s")
        .expect("no consumer error");
    assert_eq!(message.key(), Some(&b"bos-batch-1"[..]));
    assert_eq!(message.payload(), Some(&b"{\"x\":1}"[..]));
    let header = message.headers().expect("headers").get(0);
    assert_eq!(header.key, "error");
    assert_eq!(header.value, Some(&b"none"[..]));
}
