//! A flood of malformed messages on both inbound topics ends in the dead-letter topics with
//! headers saying why and where from; the consumer stays up and handles the next valid
//! request.

use crate::harness::{batch_of, borrowed, is_wave_planned, request, Inbound, PATIENCE};
use crate::support::inbound_messages::{malformed, InboundTopic};
use cj_assessment::consumer::dead_letter::{
    HEADER_ERROR, HEADER_ORIGINAL_OFFSET, HEADER_ORIGINAL_PARTITION, HEADER_ORIGINAL_TOPIC,
    HEADER_TRUNCATED_FROM,
};
use cj_assessment::kafka::client_config;
use cj_assessment::metrics::metrics;
use cj_contracts::topics::dead_letter_topic;
use cj_contracts::MAX_MESSAGE_BYTES;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

const PER_TOPIC: usize = 500;

/// One message in this many is larger than 1 MiB.
const OVERSIZED_EVERY: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_malformed_messages_are_dead_lettered_and_the_consumer_carries_on() {
    let inbound = Inbound::start().await;
    let topics = inbound.settings.kafka.topics.clone();
    let producer: FutureProducer = client_config::producer(&inbound.settings.kafka)
        .set("message.max.bytes", (4 * MAX_MESSAGE_BYTES).to_string())
        .create()
        .expect("producer for large messages");
    for n in 0..PER_TOPIC {
        for topic in topics.inbound() {
            let kind = if topic == topics.requests {
                InboundTopic::Requests
            } else {
                InboundTopic::Callbacks
            };
            let payload = malformed(n, kind, OVERSIZED_EVERY);
            let key = format!("k{n}");
            producer
                .send(
                    FutureRecord::to(topic).key(&key).payload(&payload),
                    Timeout::Never,
                )
                .await
                .map_err(|(error, _)| error)
                .expect("broker acknowledged");
        }
    }

    let reader: StreamConsumer = client_config::consumer(&inbound.settings.kafka)
        .set("group.id", format!("dlq-reader-{}", uuid::Uuid::new_v4()))
        .create()
        .expect("reader");
    let dead_letter_topics = topics.inbound().map(dead_letter_topic);
    let names: Vec<&str> = dead_letter_topics.iter().map(String::as_str).collect();
    reader.subscribe(&names).expect("subscribed");
    let mut originals = BTreeSet::new();
    let mut per_topic: BTreeMap<String, usize> = BTreeMap::new();
    let mut truncated = 0;
    let deadline = Instant::now() + PATIENCE * 2;
    while originals.len() < 2 * PER_TOPIC {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(remaining, reader.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} dead letters arrived", originals.len()))
            .expect("no consumer error");
        let headers: BTreeMap<String, String> = message
            .headers()
            .expect("dead letters carry headers")
            .iter()
            .map(|h| {
                let value = h.value.map(String::from_utf8_lossy).unwrap_or_default();
                (h.key.to_string(), value.into_owned())
            })
            .collect();
        let original_topic = headers[HEADER_ORIGINAL_TOPIC].clone();
        assert_eq!(message.topic(), dead_letter_topic(&original_topic));
        assert!(!headers[HEADER_ERROR].is_empty());
        let partition: i32 = headers[HEADER_ORIGINAL_PARTITION]
            .parse()
            .expect("partition");
        let offset: i64 = headers[HEADER_ORIGINAL_OFFSET].parse().expect("offset");
        truncated += usize::from(headers.contains_key(HEADER_TRUNCATED_FROM));
        if originals.insert((original_topic.clone(), partition, offset)) {
            *per_topic.entry(original_topic).or_default() += 1;
        }
    }
    assert_eq!(per_topic[&topics.requests], PER_TOPIC);
    assert_eq!(per_topic[&topics.callbacks], PER_TOPIC);
    assert_eq!(
        truncated,
        2 * PER_TOPIC / OVERSIZED_EVERY,
        "oversized messages, cut to fit"
    );
    assert!(inbound.consumer_is_running());
    assert_eq!(
        metrics()
            .dead_lettered
            .with_label_values(&[topics.requests.as_str()])
            .get(),
        PER_TOPIC as u64
    );

    let essays = inbound.store_essays(2).await;
    let valid = request(&borrowed(&essays), None);
    inbound.produce_request(&valid).await;
    inbound
        .wait_for_event(
            batch_of(&valid),
            "the valid request's batch",
            is_wave_planned,
        )
        .await;
    inbound.stop().await;
}
