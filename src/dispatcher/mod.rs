//! The dispatcher: sends every comparison the batches planned to the LLM Provider Service,
//! once in effect. The `cj_dispatch_queue` projection lists what the log planned and not
//! yet saw submitted or answered; the dispatcher claims due rows ([`queue`]), sends up to
//! `dispatch_concurrency` at a time ([`send`]: texts from the content store, each read once
//! and then kept in a [`TextCache`]; the prompt; `POST {provider}/comparison`), and records
//! the answers as commands ([`record`]): 202 → `SubmitPairs` (one per batch for what arrived
//! together), refusal → a failed comparison, 429/5xx/network → back off and try again. Several instances may run side by side: each
//! holds short leases on what it works on and renews them while it does ([`lease`]).
//!
//! - [`prompt_context`] — the assignment's instructions and rubric for the prompt, read once
//!   per claim for each assignment it names.
//! - [`request`] — the request body the provider receives.
//! - [`sent_notes`] — each accepted comparison noted `sent` before its send returns,
//!   concurrent sends' notes written with one statement.
//! - [`direct`] — a comparison judged by a direct judge (OpenAI-compatible or Anthropic),
//!   answered at once and recorded like a callback.

pub mod direct;
pub mod lease;
pub mod prompt_context;
pub mod queue;
pub mod record;
pub mod request;
pub mod send;
pub mod sent_notes;

use crate::callbacks::CallbackHandler;
use crate::clock::{Clock, SystemClock};
use crate::config::ServiceSettings;
use crate::content::cache::{TextCache, DISPATCH_TEXT_CACHE_BYTES};
use crate::content::client::ContentClient;
use crate::judges::Judges;
use crate::llm::client::LlmProviderClient;
use crate::metrics::metrics;
use crate::store::BatchCommandBus;
use crate::worker::Worker;
use anyhow::Context;
use lease::{keep_renewing, HeldLeases, LeaseSettings};
use prompt_context::{ClaimContexts, NoPromptContext, PromptContextSource};
use record::Recorder;
use send::{Dispatched, Sender};
use sent_notes::SentNotes;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How often an idle dispatcher looks for due comparisons. A new wave waits at most this
/// long (plus projector lag) before its first request leaves.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Pause after the queue could not be read (database down).
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The dispatcher of one process.
pub struct Dispatcher {
    sender: Sender,
    /// Read once per claim for the assignments it names ([`ClaimContexts`]).
    prompts: Arc<dyn PromptContextSource>,
    concurrency: usize,
}

/// How a dispatcher's leases are timed: on which clock, how long, renewed how often.
fn leases(clock: Arc<dyn Clock>, settings: LeaseSettings) -> Arc<HeldLeases> {
    Arc::new(HeldLeases::new(clock, settings))
}

impl Dispatcher {
    pub fn from_settings(settings: &ServiceSettings) -> anyhow::Result<Self> {
        Ok(Dispatcher {
            sender: Sender {
                provider: LlmProviderClient::new(&settings.llm_provider_url)
                    .context("creating the LLM provider client")?,
                judges: Judges::from_settings(&settings.judge, Arc::new(SystemClock))
                    .context("creating the direct judges")?,
                content: ContentClient::for_service(settings)
                    .context("creating the content client")?
                    .with_cache(Arc::new(TextCache::new(DISPATCH_TEXT_CACHE_BYTES))),
                callback_topic: settings.kafka.topics.callbacks.clone(),
                leases: leases(
                    Arc::new(SystemClock),
                    LeaseSettings::of_length(settings.dispatch_lease()),
                ),
                sent_notes: SentNotes::default(),
            },
            prompts: Arc::new(NoPromptContext),
            concurrency: settings.dispatch_concurrency.max(1),
        })
    }

    /// Times leases on `clock` with `settings` (tests: a manual clock, quick renewals).
    pub fn with_leases(mut self, clock: Arc<dyn Clock>, settings: LeaseSettings) -> Self {
        self.sender.leases = leases(clock, settings);
        self
    }

    /// The instance id this dispatcher's leases carry.
    pub fn holder(&self) -> uuid::Uuid {
        self.sender.leases.holder()
    }

    /// Takes prompt instructions and rubrics from `source`.
    pub fn with_prompt_context(mut self, source: Arc<dyn PromptContextSource>) -> Self {
        self.prompts = source;
        self
    }

    /// The dispatcher as one of `serve`'s workers: [`Dispatcher::run`] with its shutdown.
    pub fn into_worker(self, pool: PgPool, bus: Arc<BatchCommandBus>) -> Worker {
        Worker::new("dispatcher", move |shutdown| self.run(pool, bus, shutdown))
    }

    pub async fn run(
        self,
        pool: PgPool,
        bus: Arc<BatchCommandBus>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let leases = Arc::clone(&self.sender.leases);
        tracing::info!(holder = %leases.holder(), lease = ?leases.settings(), "dispatcher started");
        metrics()
            .dispatch_holder
            .with_label_values(&[&leases.holder().to_string()])
            .set(1);
        let (results, recorded) = mpsc::unbounded_channel();
        let recorder = tokio::spawn(record_as_they_come(
            Recorder {
                pool: pool.clone(),
                callbacks: CallbackHandler {
                    pool: pool.clone(),
                    bus: Arc::clone(&bus),
                },
                bus,
                leases: Arc::clone(&leases),
                shutdown: shutdown.clone(),
            },
            recorded,
        ));
        // Renewals stop with this future: dropped (the task aborted), it leaves its leases
        // to expire as a killed process's do.
        let stop_renewing = CancellationToken::new();
        let mut renewing = JoinSet::new();
        renewing.spawn(keep_renewing(
            Arc::clone(&leases),
            pool.clone(),
            stop_renewing.clone(),
        ));
        let sender = Arc::new(self.sender);
        let mut in_flight: JoinSet<Dispatched> = JoinSet::new();
        // Task → the comparison it sends, to release the lease of a send that panicked.
        let mut sending: HashMap<tokio::task::Id, uuid::Uuid> = HashMap::new();
        while !shutdown.is_cancelled() {
            let free = self.concurrency.saturating_sub(in_flight.len());
            let mut pause = POLL_INTERVAL;
            if free > 0 {
                match leases.claim(&pool, free).await {
                    Ok(claimed) => {
                        let assignments: Vec<Option<&str>> =
                            claimed.iter().map(|c| c.assignment_id.as_deref()).collect();
                        let contexts = ClaimContexts::read(&*self.prompts, assignments).await;
                        for comparison in claimed {
                            let id = comparison.correlation_id;
                            let context = contexts.of(comparison.assignment_id.as_deref());
                            let (sender, pool) = (Arc::clone(&sender), pool.clone());
                            let task = in_flight.spawn(async move {
                                sender.send_and_note(&pool, comparison, context).await
                            });
                            sending.insert(task.id(), id);
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "claiming comparisons failed");
                        pause = ERROR_PAUSE;
                    }
                }
            }
            metrics().dispatch_leases_held.set(leases.count() as i64);
            tokio::select! {
                _ = shutdown.cancelled() => {}
                finished = join_finished(&mut in_flight), if !in_flight.is_empty() => {
                    for done in finished {
                        forward(&results, &leases, &mut sending, done);
                    }
                }
                _ = tokio::time::sleep(pause) => {}
            }
        }
        while let Some(done) = in_flight.join_next_with_id().await {
            forward(&results, &leases, &mut sending, done);
        }
        drop(results);
        recorder.await.context("the dispatch recorder panicked")?;
        stop_renewing.cancel();
        while renewing.join_next().await.is_some() {}
        metrics().dispatch_leases_held.set(0);
        Ok(())
    }
}

/// A finished send: its task's id and what it dispatched, or how the task failed.
type Finished = Result<(tokio::task::Id, Dispatched), tokio::task::JoinError>;

/// Waits for one send to finish and takes with it every other send already finished, so
/// all their slots are free at the next claim. Joined one at a time, a provider answering
/// at once would free one slot per claim, and the claim's round trip, not the provider or
/// the concurrency, would set the pace: one comparison per claim.
async fn join_finished<T: 'static>(
    in_flight: &mut JoinSet<T>,
) -> Vec<Result<(tokio::task::Id, T), tokio::task::JoinError>> {
    let mut finished: Vec<_> = in_flight.join_next_with_id().await.into_iter().collect();
    while let Some(done) = in_flight.try_join_next_with_id() {
        finished.push(done);
    }
    finished
}

fn forward(
    results: &mpsc::UnboundedSender<Dispatched>,
    leases: &HeldLeases,
    sending: &mut HashMap<tokio::task::Id, uuid::Uuid>,
    done: Finished,
) {
    match done {
        // The recorder outlives every send; a closed channel only means it panicked.
        Ok((task, dispatched)) => {
            sending.remove(&task);
            let _ = results.send(dispatched);
        }
        Err(error) => {
            leases.release(sending.remove(&error.id()));
            tracing::error!(%error, "a comparison send panicked; it returns after its lease")
        }
    }
}

/// Records results as they arrive, together whatever arrived together (so one batch's
/// accepted comparisons become one `SubmitPairs`), until the sending side closes.
async fn record_as_they_come(recorder: Recorder, mut results: mpsc::UnboundedReceiver<Dispatched>) {
    while let Some(first) = results.recv().await {
        let mut arrived = vec![first];
        while let Ok(more) = results.try_recv() {
            arrived.push(more);
        }
        recorder.record(&arrived).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_send_already_finished_frees_its_slot_at_once() {
        // Given five sends that have all finished (on this one-thread runtime they run to
        // their end while the test yields)
        let mut in_flight = JoinSet::new();
        for n in 0..5 {
            in_flight.spawn(async move { n });
        }
        tokio::task::yield_now().await;
        // When the dispatcher joins what finished
        let finished = join_finished(&mut in_flight).await;
        // Then all five come back together and no slot stays taken
        let mut values: Vec<i32> = finished.into_iter().map(|d| d.unwrap().1).collect();
        values.sort_unstable();
        assert_eq!(values, vec![0, 1, 2, 3, 4]);
        assert!(in_flight.is_empty());
    }

    #[tokio::test]
    async fn a_send_still_running_keeps_its_slot() {
        // Given one send finished and one that waits an hour
        let mut in_flight = JoinSet::new();
        in_flight.spawn(async { 1 });
        in_flight.spawn(async {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            2
        });
        // When the dispatcher joins what finished
        let finished = join_finished(&mut in_flight).await;
        // Then only the first comes back
        assert_eq!(finished.len(), 1);
        assert_eq!(in_flight.len(), 1);
    }
}
