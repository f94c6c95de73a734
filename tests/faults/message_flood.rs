//! A flood of 10,000 messages the service can never handle — garbage bytes, JSON of the
//! wrong shape, wrong types, contract rules broken, twenty larger than 1 MiB — on the
//! request and callback topics, with a valid batch requested in the middle: the service
//! stays up and ready, every bad message ends on its topic's dead-letter topic with the
//! headers saying why and where from, and the valid batch completes.

use crate::audit::audit;
use crate::rig::{simulator, Rig};
use crate::serial::one_fault_at_a_time;
use crate::settle::settle;
use crate::support::inbound_messages::{malformed, InboundTopic};
use crate::support::kafka::{messages_on, read_topic_messages};
use crate::workload::{publish, Workload};
use cj_assessment::consumer::dead_letter::{
    HEADER_ERROR, HEADER_ORIGINAL_OFFSET, HEADER_ORIGINAL_PARTITION, HEADER_ORIGINAL_TOPIC,
    HEADER_TRUNCATED_FROM,
};
use cj_assessment::kafka::client_config;
use cj_contracts::topics::dead_letter_topic;
use cj_contracts::MAX_MESSAGE_BYTES;
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::time::Instant;

const FLOOD: usize = 10_000;
/// One bad message in this many (per topic) is larger than 1 MiB: 10 per topic.
const OVERSIZED_EVERY: usize = 500;
/// Deliveries awaited together.
const IN_FLIGHT: usize = 500;

/// Where each bad message was stored: topic → (partition, offset).
type Stored = BTreeMap<String, BTreeSet<(i32, i64)>>;

async fn await_deliveries(pending: &mut Vec<(String, DeliveryFuture)>, stored: &mut Stored) {
    for (topic, delivery) in pending.drain(..) {
        let delivered = delivery
            .await
            .expect("the delivery is reported")
            .map_err(|(error, _)| error)
            .expect("the broker takes the message");
        stored
            .entry(topic)
            .or_default()
            .insert((delivered.partition, delivered.offset));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_malformed_messages_are_all_dead_lettered_while_a_valid_batch_completes() {
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let rig = Rig::start("message-flood", simulator(23)).await;
    let kafka = rig.kafka().clone();
    let topics = kafka.topics.clone();
    let mut workload = Workload::prepare(&rig.db.pool, "flood", 8, 24).await;
    let valid = workload.request();
    let producer: FutureProducer = client_config::producer(&kafka)
        .set("message.max.bytes", (4 * MAX_MESSAGE_BYTES).to_string())
        .create()
        .expect("a producer for large messages");

    let mut stored = Stored::new();
    let mut pending = Vec::new();
    for n in 0..FLOOD {
        if n == FLOOD / 2 {
            await_deliveries(&mut pending, &mut stored).await;
            publish(&rig.publisher, &topics.requests, &valid).await;
        }
        let (topic, kind) = if n % 2 == 0 {
            (&topics.requests, InboundTopic::Requests)
        } else {
            (&topics.callbacks, InboundTopic::Callbacks)
        };
        let payload = malformed(n / 2, kind, OVERSIZED_EVERY);
        let key = format!("flood-{n}");
        loop {
            let record = FutureRecord::to(topic).key(&key).payload(&payload);
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push((topic.clone(), delivery));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    await_deliveries(&mut pending, &mut stored).await;
                }
                Err((error, _)) => panic!("producing the flood: {error}"),
            }
        }
        if pending.len() >= IN_FLIGHT {
            await_deliveries(&mut pending, &mut stored).await;
        }
    }
    await_deliveries(&mut pending, &mut stored).await;
    let produced_in = test_started.elapsed();

    let dead_letter_topics = [&topics.requests, &topics.callbacks].map(|t| dead_letter_topic(t));
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let dead_lettered: i64 = tokio::task::block_in_place(|| {
            dead_letter_topics
                .iter()
                .map(|topic| messages_on(&kafka, topic))
                .sum()
        });
        if dead_lettered >= FLOOD as i64 {
            break;
        }
        assert!(
            rig.service.is_running(),
            "the service is still running ({dead_lettered} dead letters so far)"
        );
        assert!(
            Instant::now() < deadline,
            "only {dead_lettered} of {FLOOD} messages were dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dead_lettered_in = test_started.elapsed();
    settle(
        "message flood",
        &rig,
        workload.requested(),
        Duration::from_secs(120),
    )
    .await;
    assert!(
        rig.service.is_running(),
        "the flood did not bring the service down"
    );
    assert_eq!(rig.service.readiness().await, Some(200), "still ready");

    let mut truncated = 0;
    let mut copies = 0;
    let mut originals = Stored::new();
    for topic in &dead_letter_topics {
        for message in read_topic_messages(&kafka, topic).await {
            let headers: BTreeMap<String, String> = message
                .headers()
                .expect("dead letters carry headers")
                .iter()
                .map(|header| {
                    let value = header
                        .value
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    (header.key.to_string(), value.into_owned())
                })
                .collect();
            let original_topic = headers[HEADER_ORIGINAL_TOPIC].clone();
            assert_eq!(*topic, dead_letter_topic(&original_topic));
            assert!(!headers[HEADER_ERROR].is_empty(), "the error is named");
            let partition: i32 = headers[HEADER_ORIGINAL_PARTITION]
                .parse()
                .expect("the original partition");
            let offset: i64 = headers[HEADER_ORIGINAL_OFFSET]
                .parse()
                .expect("the original offset");
            truncated += usize::from(headers.contains_key(HEADER_TRUNCATED_FROM));
            copies += 1;
            originals
                .entry(original_topic)
                .or_default()
                .insert((partition, offset));
        }
    }
    assert_eq!(
        originals, stored,
        "every bad message, and nothing else, was dead-lettered"
    );
    let oversized = 2 * (FLOOD / 2).div_ceil(OVERSIZED_EVERY);
    assert!(
        truncated >= oversized,
        "the {oversized} oversized messages were cut to fit ({truncated} truncated copies)"
    );
    let figures = audit("message flood", &rig.db.pool, &kafka, workload.requested()).await;
    assert_eq!(figures.completed, 1, "the valid batch completed");
    eprintln!(
        "message flood: {FLOOD} bad messages ({oversized} over 1 MiB) produced in {produced_in:.1?}, \
         all dead-lettered by {dead_lettered_in:.1?} ({copies} dead letters, {} re-deliveries); {figures}",
        copies - FLOOD
    );
    eprintln!("message flood: wall time {:.1?}", test_started.elapsed());
}
