//! `kill -9` five times at random moments (seeded: `CJ_FAULT_SEED`, printed) while 200
//! batches run, restarting the service at once each time: every batch ends, every callback
//! is in the log exactly once, and every completion message is published with one event id.

use crate::audit::audit;
use crate::rig::{simulator, Rig, READY_PATIENCE};
use crate::serial::one_fault_at_a_time;
use crate::settle::{progress, settle};
use crate::workload::{publish_evenly, Workload};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;
use tokio::time::Instant;

const BATCHES: usize = 200;
const STUDENTS: usize = 8;
const MAX_COMPARISONS: u32 = 24;
const KILLS: u32 = 5;
/// Requests are published evenly over this long; the kills fall inside it.
const PUBLISH_OVER: Duration = Duration::from_secs(60);
/// Longest the run may take to settle after the last request.
const SETTLE_PATIENCE: Duration = Duration::from_secs(420);

/// The seed of the kill moments: `CJ_FAULT_SEED`, or a fresh one.
pub fn fault_seed() -> u64 {
    std::env::var("CJ_FAULT_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen())
}

/// One moment in each of `count` equal slots of `window`, after a first second.
fn moments_spread_over(rng: &mut ChaCha8Rng, count: u32, window: Duration) -> Vec<Duration> {
    let slot = window / count;
    (0..count)
        .map(|n| {
            slot * n + Duration::from_secs(1) + (slot - Duration::from_secs(1)).mul_f64(rng.gen())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_five_times_loses_no_callback_and_publishes_each_completion_once() {
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let seed = fault_seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let moments = moments_spread_over(&mut rng, KILLS, PUBLISH_OVER);
    eprintln!("kill -9: seed {seed} (set CJ_FAULT_SEED to repeat); kills at {moments:.1?}");

    let mut rig = Rig::start("kill-9", simulator(seed)).await;
    let mut workload = Workload::prepare(&rig.db.pool, "kill9", STUDENTS, MAX_COMPARISONS).await;
    let requests = workload.requests(BATCHES);
    let run_started = Instant::now();
    let publishing = tokio::spawn(publish_evenly(
        rig.publisher.clone(),
        rig.kafka().topics.requests.clone(),
        requests,
        PUBLISH_OVER,
    ));
    for (n, moment) in moments.iter().enumerate() {
        tokio::time::sleep_until(run_started + *moment).await;
        let before = progress(&rig.db.pool, workload.requested())
            .await
            .expect("progress");
        rig.service.kill_9().expect("kill -9");
        let killed_at = run_started.elapsed();
        rig.service.restart().expect("restart");
        let ready_in = rig
            .service
            .wait_ready(READY_PATIENCE)
            .await
            .expect("ready again after kill -9");
        eprintln!(
            "kill -9: kill {} at {killed_at:.1?} ({before}); restarted, ready after {ready_in:.1?}",
            n + 1
        );
    }
    publishing.await.expect("every request published");
    let settled_in = settle("kill -9", &rig, workload.requested(), SETTLE_PATIENCE).await;
    eprintln!(
        "kill -9: settled {settled_in:.1?} after the last request ({:.1?} after the first)",
        run_started.elapsed()
    );
    rig.stop_gracefully().await;

    let figures = audit("kill -9", &rig.db.pool, rig.kafka(), workload.requested()).await;
    assert_eq!(figures.batches, BATCHES);
    assert_eq!(rig.service.starts(), 1 + KILLS);
    eprintln!("kill -9: {figures}");
    eprintln!("kill -9: wall time {:.1?}", test_started.elapsed());
}
