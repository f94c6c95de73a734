//! Dispatch leases on the injected clock: a lease its holder renews is never claimed by
//! another dispatcher, however long the send takes; a holder that stops renewing (dead)
//! loses its comparisons to the next claimer one lease length later, and its late notes no
//! longer touch them. Time moves only when the test moves the manual clock; the renewals
//! run on a short real-time heartbeat.

use super::{correlation_id_of, first_wave, requests_per_comparison, scenario, submitted};
use super::{Running, Wave};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use cj_aggregates::batch::settings::LlmSettings;
use cj_aggregates::ids::BatchId;
use cj_assessment::clock::{Clock, ManualClock};
use cj_assessment::dispatcher::lease::{HeldLeases, LeaseSettings};
use cj_assessment::dispatcher::sent_notes::SentNotes;
use cj_assessment::dispatcher::Dispatcher;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::eventually;
use crate::support::http::recording;
use crate::support::kafka::settings_for_test;

/// Lease length in the tests, on the manual clock.
const LEASE: Duration = Duration::from_secs(10);

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// A manual clock well past the moment the test's rows were planned (the database's now):
/// planned rows are due at once.
fn clock_ahead() -> ManualClock {
    ManualClock::starting_at(Utc::now() + chrono::Duration::hours(1))
}

/// A registered batch whose first wave is in the dispatch queue, no dispatcher running.
async fn queued_batch() -> (Running, BatchId, Wave) {
    let running = Running::projecting().await;
    let batch_id = running.register(&scenario(), LlmSettings::default()).await;
    let wave = first_wave(&running, batch_id).await;
    eventually("the first wave is queued", || async {
        queue(&running).await.len() == wave.len()
    })
    .await;
    (running, batch_id, wave)
}

/// The queue's rows: (correlation id, status, holder, due at).
async fn queue(running: &Running) -> Vec<(Uuid, String, Option<Uuid>, DateTime<Utc>)> {
    sqlx::query_as(
        "SELECT correlation_id, status, holder, due_at FROM cj_dispatch_queue ORDER BY 1",
    )
    .fetch_all(&running.db.pool)
    .await
    .expect("the dispatch queue")
}

fn ids(claimed: &[cj_assessment::dispatcher::queue::ClaimedComparison]) -> BTreeSet<Uuid> {
    claimed.iter().map(|c| c.correlation_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_lease_stays_with_its_holder_and_an_unrenewed_one_goes_to_the_next_claimer() {
    let (running, _, wave) = queued_batch().await;
    let pool = &running.db.pool;
    let clock = clock_ahead();
    let settings = LeaseSettings::of_length(LEASE);
    let holder = HeldLeases::new(Arc::new(clock.clone()), settings);
    let other = HeldLeases::new(Arc::new(clock.clone()), settings);
    let everything: BTreeSet<Uuid> = wave.keys().copied().collect();

    // Given the holder claimed the whole wave,
    let claimed = holder.claim(pool, 100).await.expect("claim");
    assert_eq!(ids(&claimed), everything);
    assert!(everything.iter().all(|id| holder.holds(*id)));

    // when it renews before the lease runs out, another claimer gets nothing — even well
    // past the first lease's end.
    clock.advance(seconds(9));
    assert!(other.claim(pool, 100).await.expect("claim").is_empty());
    assert_eq!(holder.renew(pool).await.expect("renewal"), 0, "none lost");
    clock.advance(seconds(9));
    assert!(
        other.claim(pool, 100).await.expect("claim").is_empty(),
        "18 s after the claim, 8 s past the first lease's end: renewed, still held"
    );
    assert!(everything.iter().all(|id| holder.holds(*id)));

    // When it stops renewing (dead, or cut off from the database), the lease runs out: the
    // holder itself no longer sends on it, and the next claimer takes everything.
    clock.advance(seconds(2));
    assert!(
        everything.iter().all(|id| !holder.holds(*id)),
        "past the confirmed end, the holder does not send"
    );
    let taken = other.claim(pool, 100).await.expect("claim");
    assert_eq!(ids(&taken), everything);
    assert!(queue(&running)
        .await
        .iter()
        .all(|(_, _, owner, _)| *owner == Some(other.holder())));

    // The old holder's renewal finds them lost, and its late note changes nothing.
    assert_eq!(
        holder.renew(pool).await.expect("renewal"),
        everything.len(),
        "every lease lost"
    );
    assert_eq!(holder.count(), 0);
    let all: Vec<Uuid> = everything.iter().copied().collect();
    holder.marker().sent(pool, &all).await.expect("a note");
    assert!(queue(&running)
        .await
        .iter()
        .all(|(_, status, _, _)| status == "pending"));
    other.marker().sent(pool, &all).await.expect("a note");
    assert!(queue(&running)
        .await
        .iter()
        .all(|(_, status, _, _)| status == "sent"));
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_in_flight_is_never_claimed_again_by_its_sender_and_an_accepted_one_stays_sent(
) {
    let (running, _, wave) = queued_batch().await;
    let pool = &running.db.pool;
    let clock = clock_ahead();
    let sender = HeldLeases::new(Arc::new(clock.clone()), LeaseSettings::of_length(LEASE));
    let everything: BTreeSet<Uuid> = wave.keys().copied().collect();

    // Given a sender claimed the wave and its renewals did not get through (its requests
    // outlived the lease),
    let claimed = sender.claim(pool, 100).await.expect("claim");
    assert_eq!(ids(&claimed), everything);
    clock.advance(seconds(11));

    // when it claims again while those requests are still in flight, it gets none of them:
    // a second request for one comparison would be a second paid LLM call.
    assert!(sender.claim(pool, 100).await.expect("claim").is_empty());

    // Given it renews and notes them accepted, when recording one fails for a passing reason
    // and it is postponed, the row stays `sent`: claimed again, it is recorded, not re-sent.
    sender.renew(pool).await.expect("renewal");
    let all: Vec<Uuid> = everything.iter().copied().collect();
    sender.marker().sent(pool, &all).await.expect("a note");
    let postponed = all[0];
    sender
        .marker()
        .postpone(
            pool,
            postponed,
            "the prompt context is unavailable",
            Duration::ZERO,
        )
        .await
        .expect("a note");
    assert!(queue(&running)
        .await
        .iter()
        .all(|(_, status, _, _)| status == "sent"));
    running.stop().await;
}

/// A provider that takes every request and answers 202 only once `open` is true.
fn gated_provider(open: watch::Receiver<bool>) -> Router {
    Router::new().route(
        "/comparison",
        post(move |Json(_): Json<Value>| {
            let mut open = open.clone();
            async move {
                let _ = open.wait_for(|open| *open).await;
                let queued = json!({"queue_id": Uuid::new_v4(), "status": "queued"});
                (StatusCode::ACCEPTED, Json(queued))
            }
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_dispatcher_keeps_its_comparisons_through_long_sends_and_a_dead_ones_are_sent_by_another_after_one_lease(
) {
    let (running, batch_id, wave) = queued_batch().await;
    let clock = clock_ahead();
    let quick = LeaseSettings {
        length: LEASE,
        renew_every: Duration::from_millis(50),
    };
    let dispatcher = |provider: Router| {
        let (running, clock) = (&running, clock.clone());
        async move {
            let mut settings = running
                .settings(settings_for_test(), &scenario(), provider)
                .await;
            settings.dispatch_concurrency = 16;
            Dispatcher::from_settings(&settings)
                .expect("a dispatcher")
                .with_leases(Arc::new(clock.clone()), quick)
        }
    };
    // Given dispatcher A, whose provider holds every request, has sent the whole wave,
    let (_never_open, closed) = watch::channel(false);
    let (provider_a, asked_a) = recording(gated_provider(closed));
    let a = dispatcher(provider_a).await;
    let a_holder = a.holder();
    let a_stop = CancellationToken::new();
    let a_task = running.spawn(a, a_stop.clone());
    eventually("A has sent the whole wave", || async {
        asked_a.all().len() == wave.len()
    })
    .await;
    // and dispatcher B runs beside it,
    let (provider_b, asked_b) = recording(gated_provider(watch::channel(true).1));
    let b = dispatcher(provider_b).await;
    let b_stop = CancellationToken::new();
    let b_task = running.spawn(b, b_stop.clone());

    // when three lease lengths pass while A waits for its provider, A renews each time and
    // B never gets a comparison.
    for _ in 0..6 {
        clock.advance(seconds(5));
        let now = clock.now();
        eventually("A renews its leases", || async {
            queue(&running).await.iter().all(|(_, _, holder, due_at)| {
                *holder == Some(a_holder) && *due_at > now + seconds(5)
            })
        })
        .await;
    }
    assert!(asked_b.all().is_empty(), "B sent nothing A held");

    // When A dies (its task gone, renewals with it), one lease length later B sends every
    // comparison, once, and each is submitted once.
    a_task.abort();
    let _ = a_task.await;
    clock.advance(seconds(11));
    eventually("B has submitted the whole wave", || async {
        submitted(&running.events(batch_id).await).len() >= wave.len()
    })
    .await;
    let log = running.events(batch_id).await;
    assert_eq!(submitted(&log).len(), wave.len(), "each submitted once");
    let everything: BTreeSet<Uuid> = wave.keys().copied().collect();
    for asked in [&asked_a, &asked_b] {
        let per_comparison = requests_per_comparison(asked);
        assert_eq!(
            per_comparison.keys().copied().collect::<BTreeSet<_>>(),
            everything
        );
        assert!(
            per_comparison.values().all(|&n| n == 1),
            "{per_comparison:?}"
        );
    }
    assert!(asked_b
        .all()
        .iter()
        .all(|body| wave.contains_key(&correlation_id_of(body))));
    b_stop.cancel();
    b_task.await.expect("B's task").expect("B stops cleanly");
    a_stop.cancel();
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_of_concurrent_sends_are_all_written_and_grouped_into_fewer_statements() {
    let (running, _, wave) = queued_batch().await;
    let pool = &running.db.pool;
    let holder = HeldLeases::new(Arc::new(clock_ahead()), LeaseSettings::of_length(LEASE));
    let claimed = holder.claim(pool, 100).await.expect("claim");
    assert!(claimed.len() >= 3, "a wave to note: {}", claimed.len());
    let notes = SentNotes::default();

    // When every claimed comparison is noted at once, as concurrent sends note them,
    let noted = futures::future::join_all(
        claimed
            .iter()
            .map(|c| notes.note(pool, &holder, c.correlation_id)),
    )
    .await;

    // then each note returned written, and the notes took fewer statements than notes.
    assert!(noted.iter().all(Result::is_ok), "{noted:?}");
    let rows = queue(&running).await;
    assert_eq!(rows.len(), wave.len());
    assert!(
        rows.iter().all(|(_, status, _, _)| status == "sent"),
        "{rows:?}"
    );
    let statements: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::text) FROM cj_dispatch_queue WHERE status = 'sent'",
    )
    .fetch_one(pool)
    .await
    .expect("the notes' transactions");
    assert!(
        statements <= 2,
        "the first note alone, then the rest together: {statements} transactions for {} notes",
        claimed.len()
    );
}
