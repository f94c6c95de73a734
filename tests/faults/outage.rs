//! Riding out an outage of a dependency: with batches in flight, the outage begins; the
//! service's readiness must turn red (503), stay red while it lasts and turn green (200)
//! after it ends, with no help; then the run must settle and pass the audit. The readiness
//! answers are watched all along and printed as a timeline.

use crate::audit::audit;
use crate::rig::{simulator, Rig};
use crate::serial::one_fault_at_a_time;
use crate::settle::{progress, settle};
use crate::workload::{publish, Workload};
use cj_assessment::lab::harness::readiness::{Change, ReadinessWatch};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

/// A dependency of the rig's service that can be taken away and given back.
pub trait Outage {
    fn begin(&mut self, rig: &mut Rig);
    fn end(&mut self, rig: &mut Rig);
}

/// How often readiness is probed during the run.
const PROBE_EVERY: Duration = Duration::from_millis(200);
/// How long readiness may take to turn red once the outage began.
const RED_PATIENCE: Duration = Duration::from_secs(30);
/// How long readiness may take to turn green once the outage ended.
const GREEN_PATIENCE: Duration = Duration::from_secs(120);
/// How long the run may take to settle after the outage.
const SETTLE_PATIENCE: Duration = Duration::from_secs(120);

/// The readiness answers as `at: answer` (`None`: no answer within the probe's timeout).
fn timeline(watch: &ReadinessWatch) -> String {
    let changes: Vec<String> = watch
        .changes()
        .iter()
        .map(|change| format!("{:.1?}: {:?}", change.at, change.answer))
        .collect();
    changes.join(", ")
}

/// Waits until some of `requested` have ended and others are still running, so the
/// outage hits batches in flight.
async fn wait_until_in_flight(rig: &Rig, requested: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = progress(&rig.db.pool, requested).await.expect("progress");
        if now.terminal >= 2 {
            assert!(
                now.terminal < requested.len() as i64,
                "batches still in flight when the outage begins ({now})"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the batches got under way ({now})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many batches ride out each outage.
const BATCHES: usize = 40;

/// The whole test of an outage: a rig named `name`, [`BATCHES`] batches requested, `outage`
/// for at least `lasting` (and until readiness is red) while they run, then recovery and
/// the audit.
pub async fn ride_out(name: &str, seed: u64, outage: &mut dyn Outage, lasting: Duration) {
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let mut rig = Rig::start(name, simulator(seed)).await;
    let mut workload = Workload::prepare(&rig.db.pool, name, 8, 24).await;
    for request in workload.requests(BATCHES) {
        publish(&rig.publisher, &rig.kafka().topics.requests, &request).await;
    }
    let requested = workload.requested().clone();
    let watch = ReadinessWatch::start(&rig.service.base_url(), PROBE_EVERY);
    wait_until_in_flight(&rig, &requested).await;
    let before = progress(&rig.db.pool, &requested).await.expect("progress");
    let at = |instant: Instant| {
        instant
            .into_std()
            .saturating_duration_since(watch.started())
    };
    let stopping = Instant::now();
    outage.begin(&mut rig);
    let down = Instant::now();
    eprintln!(
        "{name}: outage begins at {:.1?}, down at {:.1?} ({before})",
        at(stopping),
        at(down)
    );
    let red = answer_after(name, &watch, 503, stopping, RED_PATIENCE).await;
    tokio::time::sleep_until(down + lasting).await;
    let restoring = Instant::now();
    let green_while_down: Vec<Change> = watch
        .changes()
        .into_iter()
        .filter(|change| change.at > red.at && change.at < at(restoring))
        .filter(|change| change.answer == Some(200))
        .collect();
    assert!(
        green_while_down.is_empty(),
        "{name}: readiness stays red while the outage lasts; timeline {}",
        timeline(&watch)
    );
    outage.end(&mut rig);
    let restored = Instant::now();
    let green = answer_after(name, &watch, 200, restoring, GREEN_PATIENCE).await;
    eprintln!(
        "{name}: down {:.1?} to {:.1?}, back at {:.1?}; readiness red {:.1?} after the outage \
         began, green {:.1?} after it ended; readiness timeline {}",
        at(down),
        at(restoring),
        at(restored),
        red.at.saturating_sub(at(stopping)),
        green.at.saturating_sub(at(restoring)),
        timeline(&watch)
    );
    let settled_in = settle(name, &rig, &requested, SETTLE_PATIENCE).await;
    eprintln!("{name}: settled {settled_in:.1?} after readiness was green again");
    drop(watch);
    rig.stop_gracefully().await;
    let figures = audit(name, &rig.db.pool, rig.kafka(), &requested).await;
    assert_eq!(figures.batches, BATCHES);
    eprintln!("{name}: {figures}");
    eprintln!("{name}: wall time {:.1?}", test_started.elapsed());
}

/// Waits until readiness answers `status` at or after `since`; fails with the timeline.
async fn answer_after(
    name: &str,
    watch: &ReadinessWatch,
    status: u16,
    since: Instant,
    within: Duration,
) -> Change {
    watch
        .wait_for(Some(status), since.into_std(), within)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "{name}: readiness answers {status} on its own ({error}); timeline {}",
                timeline(watch)
            )
        })
}
