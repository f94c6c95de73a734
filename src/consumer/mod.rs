//! The Kafka consumer of the service's two inbound topics: assessment requests and LLM
//! comparison callbacks. It polls, decodes, dispatches — a request to [`crate::intake`]
//! (through [`requests`]), a poll's callbacks together to [`crate::callbacks`] —
//! dead-letters, and commits offsets; what a request or a callback means is decided there.
//!
//! - The loop ([`run_consumer`]) takes what one poll has ready (up to [`POLL_MAX_MESSAGES`]
//!   or [`POLL_WINDOW`]), handles its requests ([`requests`], several at once) and then its
//!   callbacks together, one command per batch ([`crate::callbacks`]), and stores each
//!   message's offset only once it is fully handled. Offsets are committed in the background.
//! - A message that can never be handled — one that cannot be decoded, or a request the
//!   aggregate refuses for good — goes to its dead-letter topic ([`dead_letter`]).
//! - A transient failure (database, content service, broker) retries the same work with
//!   capped backoff (`crate::backoff`) without storing the offset: the loop never spins and never
//!   crashes.
//! - A consumer left without partitions too long re-joins its group ([`assignment_watch`]);
//!   what it holds is reported after every rebalance ([`rebalance`]).
//! - Shutdown (a [`CancellationToken`]): stop taking messages, finish the poll in hand, store
//!   its offsets, commit, return.

pub mod assignment_watch;
pub mod dead_letter;
pub mod rebalance;
pub mod requests;

use crate::callbacks::routing::InboundCallback;
use crate::callbacks::CallbackHandler;
use crate::config::ServiceSettings;
use crate::content::client::ContentClient;
use crate::intake::Intake;
use crate::kafka::client_config;
use crate::kafka::producer::Publisher;
use crate::metrics::metrics;
use crate::retry::{until_done, Interrupted};
use crate::store::{BatchCommandBus, RECORD_CONCURRENCY};
use crate::worker::Worker;
use anyhow::Context;
use assignment_watch::AssignmentWatch;
use cj_contracts::decode_callback;
use dead_letter::DeadLetters;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaErrorCode;
use rebalance::AssignmentReport;
use requests::RequestHandler;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Most messages handled as one poll: bounds the size of one batch's `RecordCallbacks` and
/// the work redone when a poll is interrupted.
pub const POLL_MAX_MESSAGES: usize = 500;
/// How long a poll keeps collecting after its first message: callbacks of one batch that
/// arrive together are recorded with one command (one aggregate load) instead of many.
pub const POLL_WINDOW: Duration = Duration::from_millis(20);

/// The service's group consumer, reporting its assignment after each rebalance.
type GroupConsumer = StreamConsumer<AssignmentReport>;

/// The pause after librdkafka reports an error instead of a message. Short and fixed, not
/// a growing back-off: these errors (broker connection lost, all brokers down) are reports;
/// librdkafka reconnects on its own schedule and queues one report per attempt. A back-off
/// growing to seconds per report let the reports of a 30 s broker outage pile up, and the
/// consumer was still working through them, one every 10 s, minutes after the broker was
/// back (found by the broker-outage fault test).
const RECEIVE_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The consumer as one of `serve`'s workers: [`run_consumer`] with its shutdown.
pub fn worker(
    settings: ServiceSettings,
    pool: PgPool,
    bus: Arc<BatchCommandBus>,
    publisher: Publisher,
    content: ContentClient,
) -> Worker {
    Worker::new("consumer", move |shutdown| async move {
        run_consumer(&settings, pool, bus, publisher, content, shutdown).await
    })
}

/// Consumes requests and callbacks until `shutdown` is cancelled. Errors only when the
/// consumer cannot be created or subscribed; everything after that is retried or logged.
pub async fn run_consumer(
    settings: &ServiceSettings,
    pool: PgPool,
    bus: Arc<BatchCommandBus>,
    publisher: Publisher,
    content: ContentClient,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let dead_letters = DeadLetters::new(publisher.clone());
    let handlers = Handlers {
        topics: settings.kafka.topics.inbound().map(String::from).to_vec(),
        session_timeout: Duration::from_millis(u64::from(settings.kafka.session_timeout_ms)),
        request_topic: settings.kafka.topics.requests.clone(),
        requests: RequestHandler {
            intake: Intake::for_service(
                settings,
                pool.clone(),
                Arc::clone(&bus),
                Some(publisher),
                content,
            )?,
            dead_letters: dead_letters.clone(),
        },
        callbacks: CallbackHandler { pool, bus },
        dead_letters,
    };
    let consumer: GroupConsumer = client_config::consumer(&settings.kafka)
        .create_with_context(AssignmentReport)
        .context("creating the Kafka consumer")?;
    consumer
        .subscribe(&settings.kafka.topics.inbound())
        .context("subscribing to the inbound topics")?;
    tracing::info!(topics = ?settings.kafka.topics.inbound(), group = %settings.kafka.consumer_group, "consumer started");

    handlers.consume(&consumer, &shutdown).await;

    // Closing the consumer commits the stored offsets and leaves the group; it blocks, so
    // it runs off the async workers.
    tokio::task::spawn_blocking(move || {
        if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(%error, "final commit (nothing stored is fine)");
        }
        drop(consumer);
    })
    .await
    .context("closing the consumer")?;
    tracing::info!("consumer stopped");
    Ok(())
}

struct Handlers {
    /// The topics the consumer is subscribed to.
    topics: Vec<String>,
    /// The consumer's session timeout: the assignment watch's patience is measured in it.
    session_timeout: Duration,
    request_topic: String,
    requests: RequestHandler,
    callbacks: CallbackHandler,
    /// Where the callbacks that cannot be decoded go.
    dead_letters: DeadLetters,
}

impl Handlers {
    async fn consume(&self, consumer: &GroupConsumer, shutdown: &CancellationToken) {
        let mut assignment = AssignmentWatch::new(Instant::now(), self.session_timeout);
        loop {
            if Instant::now() >= assignment.next_check() {
                self.watch_assignment(consumer, &mut assignment);
            }
            let received = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return,
                received = consumer.recv() => received,
                _ = tokio::time::sleep_until(assignment.next_check()) => continue,
            };
            let first = match received {
                Ok(message) => message,
                Err(error) => {
                    log_receive_error(&error);
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(RECEIVE_ERROR_PAUSE) => continue,
                    }
                }
            };
            let poll = collect_poll(consumer, first).await;
            if let Err(Interrupted) = self.handle_poll(consumer, &poll, shutdown).await {
                tracing::info!("shutdown interrupted a retry; the poll's unfinished messages will be redelivered");
                return;
            }
        }
    }

    /// Handles a poll: requests first (callbacks may belong to the batches they open), then
    /// the callbacks together. [`Interrupted`] when shutdown cut the work short: the
    /// unfinished messages' offsets are not stored.
    async fn handle_poll(
        &self,
        consumer: &GroupConsumer,
        poll: &[BorrowedMessage<'_>],
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let (requests, callbacks): (Vec<_>, Vec<_>) = poll
            .iter()
            .partition(|message| message.topic() == self.request_topic);
        // Requests open different batches (a redelivered one finds its batch registered),
        // so several are taken in at once; offsets are stored only when all are done.
        // Boxed: a closure here would trip rustc's higher-ranked `Send` check of the
        // spawned consumer task.
        let mut handling: Vec<BoxFuture<'_, Result<(), Interrupted>>> =
            Vec::with_capacity(requests.len());
        for message in &requests {
            handling.push(Box::pin(self.handle_request(message, shutdown)));
        }
        let handled: Vec<Result<(), Interrupted>> = stream::iter(handling)
            .buffered(RECORD_CONCURRENCY)
            .collect()
            .await;
        handled.into_iter().collect::<Result<(), Interrupted>>()?;
        for message in requests {
            store_offset(consumer, message);
        }
        if !callbacks.is_empty() {
            let decoded = self.decode_callbacks(&callbacks, shutdown).await?;
            self.callbacks.record_poll(&decoded, shutdown).await?;
            for message in callbacks {
                store_offset(consumer, message);
            }
        }
        Ok(())
    }
}

impl Handlers {
    fn watch_assignment(&self, consumer: &GroupConsumer, watch: &mut AssignmentWatch) {
        let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        match watch.check(consumer, &topics, Instant::now()) {
            Ok(true) => metrics().consumer_rejoins.inc(),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "looking at the consumer's assignment failed"),
        }
    }

    /// The poll's callback messages decoded, in order; those that cannot be decoded (or
    /// converted to a report) are dead-lettered instead. [`Interrupted`] when shutdown cut a
    /// dead-lettering retry short.
    async fn decode_callbacks<M: Message + Sync>(
        &self,
        messages: &[&M],
        shutdown: &CancellationToken,
    ) -> Result<Vec<InboundCallback>, Interrupted> {
        let mut callbacks = Vec::with_capacity(messages.len());
        for message in messages {
            let message: &M = message;
            let decoded = decode_callback(message.payload().unwrap_or_default())
                .map_err(|e| e.to_string())
                .and_then(|envelope| {
                    InboundCallback::from_envelope(&envelope).map_err(|e| e.to_string())
                });
            match decoded {
                Ok(callback) => callbacks.push(callback),
                Err(error) => {
                    until_done(shutdown, "dead-lettering a callback", || {
                        self.dead_letters.send(message, &error)
                    })
                    .await?
                }
            }
        }
        Ok(callbacks)
    }

    /// One request, retried until done; [`Interrupted`] when shutdown cut the retries short.
    async fn handle_request(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        until_done(shutdown, "handling a request", || {
            self.requests.handle(message)
        })
        .await
    }
}

/// The poll that starts with `first`: whatever else is ready within [`POLL_WINDOW`], up to
/// [`POLL_MAX_MESSAGES`].
async fn collect_poll<'c>(
    consumer: &'c GroupConsumer,
    first: BorrowedMessage<'c>,
) -> Vec<BorrowedMessage<'c>> {
    let mut poll = vec![first];
    let closes = Instant::now() + POLL_WINDOW;
    while poll.len() < POLL_MAX_MESSAGES {
        match tokio::time::timeout_at(closes, consumer.recv()).await {
            Ok(Ok(message)) => poll.push(message),
            Ok(Err(error)) => {
                log_receive_error(&error);
                break;
            }
            Err(_window_closed) => break,
        }
    }
    poll
}

fn store_offset(consumer: &GroupConsumer, message: &BorrowedMessage<'_>) {
    if let Err(error) = consumer.store_offset_from_message(message) {
        // The partition was revoked meanwhile: its new owner handles the message again,
        // which every handler tolerates.
        tracing::warn!(topic = message.topic(), partition = message.partition(), offset = message.offset(), %error, "could not store offset");
    }
}

fn log_receive_error(error: &KafkaError) {
    match error {
        KafkaError::MessageConsumption(RDKafkaErrorCode::UnknownTopicOrPartition) => {
            tracing::warn!(%error, "subscribed topic does not exist (yet); skipping");
        }
        other => tracing::warn!(error = %other, "receiving from Kafka failed"),
    }
}
