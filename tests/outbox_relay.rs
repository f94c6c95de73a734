//! The outbox relay against real PostgreSQL and a real broker: a finished batch's thin,
//! rich and resource events reach their topics once, keyed by the upstream batch id; a
//! relay that crashes between the broker's acknowledgement and its note re-sends the same
//! `event_id`s and loses none; of two relays only the one holding the lock publishes, and
//! the other takes over when it stops.

mod support;

use cj_aggregates::ids::BatchId;
use cj_aggregates::CjBatchEvent;
use cj_assessment::config::KafkaSettings;
use cj_assessment::kafka::admin::ensure_topics;
use cj_assessment::kafka::producer::Publisher;
use cj_assessment::lab::simulation::driver::BatchRun;
use cj_assessment::metrics::metrics;
use cj_assessment::outbox_relay::{rows, run_outbox_relay, OutboxRelay};
use cj_assessment::store::BatchCommandBus;
use cj_contracts::{
    topics, AssessmentResultV1, CjAssessmentCompletedV1, EventEnvelope, ResourceConsumptionV1,
};
use cj_projections::outbox::MessageKind;
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use std::collections::BTreeSet;
use support::kafka::{messages_on, read_topic, settings_for_test};
use support::{count, drain_projections, eventually, run_simulated_batch, TestDatabase};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The Kafka settings of a test, its topics created.
async fn kafka() -> KafkaSettings {
    let settings = settings_for_test();
    ensure_topics(&settings, &settings.topics.all())
        .await
        .expect("topics created");
    settings
}

/// Runs a batch to completion and brings the projections (the outbox among them) up to it.
async fn completed_batch(pool: &PgPool, seed: u64) -> BatchRun {
    let run = run_simulated_batch(&BatchCommandBus::new(pool.clone()), seed).await;
    assert!(run.completed.is_some(), "the simulated batch completes");
    drain_projections(pool).await;
    run
}

/// The upstream batch id and request correlation id a batch registered with.
fn registration(run: &BatchRun) -> (String, Uuid) {
    run.events
        .iter()
        .find_map(|event| match event {
            CjBatchEvent::BatchRegistered(registered) => Some((
                registered.upstream_batch_id.clone(),
                registered.request_correlation_id,
            )),
            _ => None,
        })
        .expect("the batch was registered")
}

async fn published(pool: &PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM cj_outbox_published").await
}

fn start_relay(
    kafka: &KafkaSettings,
    pool: &PgPool,
) -> (CancellationToken, JoinHandle<anyhow::Result<()>>) {
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn({
        let (kafka, pool, shutdown) = (kafka.clone(), pool.clone(), shutdown.clone());
        async move {
            let publisher = Publisher::new(&kafka)?;
            run_outbox_relay(&kafka, pool, publisher, shutdown).await
        }
    });
    (shutdown, relay)
}

async fn stop(relay: (CancellationToken, JoinHandle<anyhow::Result<()>>)) {
    relay.0.cancel();
    relay
        .1
        .await
        .expect("relay task")
        .expect("relay stops cleanly");
}

/// Messages of one topic as (key, envelope JSON).
type Messages = Vec<(String, Vec<u8>)>;

/// Each completion topic's messages.
async fn completion_messages(kafka: &KafkaSettings) -> Vec<(MessageKind, Messages)> {
    let mut messages = Vec::new();
    for (kind, topic) in [
        (MessageKind::Completed, &kafka.topics.completed),
        (MessageKind::AssessmentResult, &kafka.topics.results),
        (MessageKind::ResourceConsumption, &kafka.topics.resources),
    ] {
        messages.push((kind, read_topic(kafka, topic).await));
    }
    messages
}

/// The payload of the one message of `kind`.
fn only(messages: &[(MessageKind, Messages)], kind: MessageKind) -> &[u8] {
    let (_, on_topic) = messages
        .iter()
        .find(|(k, _)| *k == kind)
        .expect("the kind's topic was read");
    &on_topic[0].1
}

fn envelope<D: DeserializeOwned>(payload: &[u8]) -> EventEnvelope<D> {
    serde_json::from_slice(payload).expect("an envelope of the contract")
}

fn event_id(payload: &[u8]) -> Uuid {
    envelope::<serde_json::Value>(payload).event_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_batch_publishes_its_thin_rich_and_resource_events_keyed_by_upstream_id() {
    let db = TestDatabase::create().await;
    let kafka = kafka().await;
    let run = completed_batch(&db.pool, 5).await;
    let (upstream_batch_id, request_correlation_id) = registration(&run);
    let outbox = count(&db.pool, "SELECT count(*) FROM cj_outbox").await;
    assert_eq!(outbox, 3, "thin, rich and resource events derived");
    let latencies_before = metrics()
        .completion_latency
        .with_label_values(&["completed"])
        .get_sample_count();

    let relay = start_relay(&kafka, &db.pool);
    eventually("all three are published", || async {
        published(&db.pool).await == 3
    })
    .await;
    stop(relay).await;

    let messages = completion_messages(&kafka).await;
    for (kind, on_topic) in &messages {
        assert_eq!(on_topic.len(), 1, "{kind:?}: exactly one message");
        let (key, payload) = &on_topic[0];
        assert_eq!(
            key, &upstream_batch_id,
            "{kind:?}: keyed by the upstream batch id"
        );
        let raw = envelope::<serde_json::Value>(payload);
        assert_eq!(raw.event_id, kind.event_id(run.batch_id.0));
        assert_eq!(raw.event_type, kind.topic());
        assert_eq!(raw.correlation_id, request_correlation_id);
    }
    let thin = envelope::<CjAssessmentCompletedV1>(only(&messages, MessageKind::Completed));
    assert_eq!(thin.data.cj_assessment_job_id, run.batch_id.to_string());
    let rich = envelope::<AssessmentResultV1>(only(&messages, MessageKind::AssessmentResult));
    assert_eq!(rich.data.batch_id, upstream_batch_id);
    assert_eq!(rich.data.essay_results.len(), 14, "students and anchors");
    let resource =
        envelope::<ResourceConsumptionV1>(only(&messages, MessageKind::ResourceConsumption));
    let made = run.completed.as_ref().map(|c| c.comparisons_made);
    assert_eq!(
        Some(resource.data.quantity),
        made,
        "the real comparison count"
    );
    assert_eq!(
        messages_on(&kafka, &kafka.topics.failed),
        0,
        "nothing failed"
    );
    assert_eq!(thin.event_type, topics::CJ_ASSESSMENT_COMPLETED);
    assert!(
        metrics()
            .completion_latency
            .with_label_values(&["completed"])
            .get_sample_count()
            > latencies_before,
        "the completion latency is observed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_crashing_between_publish_and_note_resends_the_same_event_ids_and_loses_none() {
    let db = TestDatabase::create().await;
    let kafka = kafka().await;
    let run = completed_batch(&db.pool, 6).await;

    // The first relay publishes two messages and crashes before noting either.
    let crashed = OutboxRelay::new(
        kafka.topics.clone(),
        Publisher::new(&kafka).expect("producer"),
    );
    let mut conn = db.pool.acquire().await.expect("a connection");
    let pending = rows::pending(&mut conn, rows::OutboxPosition::default(), 100)
        .await
        .expect("pending rows");
    assert_eq!(pending.len(), 3);
    for row in &pending[..2] {
        crashed.publish(row).await.expect("acknowledged");
    }
    drop((crashed, conn));
    assert_eq!(
        published(&db.pool).await,
        0,
        "nothing noted before the crash"
    );

    let relay = start_relay(&kafka, &db.pool);
    eventually("the restarted relay publishes everything", || async {
        published(&db.pool).await == 3
    })
    .await;
    stop(relay).await;

    let resent: BTreeSet<Uuid> = pending[..2].iter().map(|row| row.event_id).collect();
    for (kind, on_topic) in completion_messages(&kafka).await {
        let expected = kind.event_id(run.batch_id.0);
        let ids: Vec<Uuid> = on_topic
            .iter()
            .map(|(_, payload)| event_id(payload))
            .collect();
        let distinct: BTreeSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(
            distinct,
            BTreeSet::from([expected]),
            "{kind:?}: one event id, the derived one"
        );
        let copies = if resent.contains(&expected) { 2 } else { 1 };
        assert_eq!(
            ids.len(),
            copies,
            "{kind:?}: re-sent only if published before the crash"
        );
    }
}

/// The backend holding the relay's advisory lock in this test's database, if any.
async fn lock_holder(pool: &PgPool) -> Option<i32> {
    let holders: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_locks
          WHERE locktype = 'advisory' AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(pool)
    .await
    .expect("pg_locks");
    assert!(
        holders.len() <= 1,
        "at most one relay holds the lock: {holders:?}"
    );
    holders.first().copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_relays_only_the_lock_holder_publishes_and_the_other_takes_over() {
    let db = TestDatabase::create().await;
    let kafka = kafka().await;
    let first = start_relay(&kafka, &db.pool);
    eventually("the first relay leads", || async {
        lock_holder(&db.pool).await.is_some()
    })
    .await;
    let leader = lock_holder(&db.pool).await;
    let second = start_relay(&kafka, &db.pool);

    let one = completed_batch(&db.pool, 7).await;
    eventually("the first batch is published", || async {
        published(&db.pool).await == 3
    })
    .await;
    assert_eq!(
        lock_holder(&db.pool).await,
        leader,
        "the leader kept the lock"
    );

    stop(first).await;
    eventually("the second relay takes over", || async {
        lock_holder(&db.pool)
            .await
            .is_some_and(|holder| Some(holder) != leader)
    })
    .await;
    let two = completed_batch(&db.pool, 8).await;
    eventually("the second batch is published", || async {
        published(&db.pool).await == 6
    })
    .await;
    stop(second).await;

    let batches = [one.batch_id, two.batch_id];
    let keys: BTreeSet<String> = [&one, &two]
        .into_iter()
        .map(|run| registration(run).0)
        .collect();
    for (kind, on_topic) in completion_messages(&kafka).await {
        let ids: Vec<Uuid> = on_topic
            .iter()
            .map(|(_, payload)| event_id(payload))
            .collect();
        let expected: BTreeSet<Uuid> = batches
            .iter()
            .map(|b: &BatchId| kind.event_id(b.0))
            .collect();
        assert_eq!(
            ids.len(),
            2,
            "{kind:?}: each batch's message once, never twice"
        );
        assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
        let on_keys: BTreeSet<String> = on_topic.into_iter().map(|(key, _)| key).collect();
        assert_eq!(on_keys, keys);
    }
}
