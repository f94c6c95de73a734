//! Two `serve` instances on one database and one broker, each with its own HTTP port and
//! its own built-in content store URL, while 100 batches run:
//! - one is killed (`kill -9`, at a seeded moment: `CJ_FAULT_SEED`) and not restarted —
//!   the one leading the outbox relay, so the singleton roles have to move too. The
//!   survivor takes over the partitions, the dead instance's dispatch leases, the monitor
//!   and the relay (printed: how long each took after the kill);
//! - a rolling restart: one is stopped gracefully (SIGTERM) while the other runs, then
//!   started again.
//!
//! Either way every batch ends and the audit over the log and the topics finds nothing lost
//! and nothing doubled.

use crate::audit::audit;
use crate::kill_nine::fault_seed;
use crate::rig::{simulator, Rig, READY_PATIENCE};
use crate::serial::one_fault_at_a_time;
use crate::settle::{progress, settle};
use crate::takeover::{
    database_now, dispatch_holder, leads, lease_moves, leased_by, note_lease_moves, watch_takeover,
};
use crate::workload::{publish_evenly, Workload};
use cj_assessment::lab::harness::service_process::ServiceProcess;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::PgPool;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const BATCHES: usize = 100;
/// Small batches (six students, the assignment's anchors, a budget of 16), so 100 of them
/// settle in about a minute on a CI runner.
const STUDENTS: usize = 6;
const MAX_COMPARISONS: u32 = 16;
/// Requests are published evenly over this long; the fault falls inside it.
const PUBLISH_OVER: Duration = Duration::from_secs(20);
/// No fault in the first seconds: both instances have work in hand.
const QUIET_START: Duration = Duration::from_secs(3);
/// Longest the run may take to settle after the last request.
const SETTLE_PATIENCE: Duration = Duration::from_secs(300);
/// Longest the takeover is watched.
const TAKEOVER_PATIENCE: Duration = Duration::from_secs(180);

/// Two instances running, their batches being published.
struct TwoInstances {
    rig: Rig,
    b: ServiceProcess,
    workload: Workload,
    run_started: Instant,
    publishing: JoinHandle<()>,
}

/// A rig named `name` (its service is instance A), instance B beside it, and the 100
/// requests being published; `prepare` runs on the database before the workload.
async fn two_instances(name: &str, seed: u64, prepare: impl AsyncFnOnce(&PgPool)) -> TwoInstances {
    let rig = Rig::start(name, simulator(seed)).await;
    let b = rig.another_instance("b").await;
    prepare(&rig.db.pool).await;
    let mut workload = Workload::prepare(&rig.db.pool, name, STUDENTS, MAX_COMPARISONS).await;
    let run_started = Instant::now();
    let publishing = tokio::spawn(publish_evenly(
        rig.publisher.clone(),
        rig.kafka().topics.requests.clone(),
        workload.requests(BATCHES),
        PUBLISH_OVER,
    ));
    TwoInstances {
        rig,
        b,
        workload,
        run_started,
        publishing,
    }
}

/// The seeded moment of the fault, within the publishing.
fn fault_moment(seed: u64) -> Duration {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    QUIET_START + (PUBLISH_OVER - QUIET_START * 2).mul_f64(rng.gen())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_one_killed_the_survivor_takes_over_and_nothing_is_lost_or_doubled() {
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let seed = fault_seed();
    let kill_after = fault_moment(seed);
    eprintln!(
        "two instances: seed {seed} (set CJ_FAULT_SEED to repeat); kill -9 at {kill_after:.1?}"
    );

    let TwoInstances {
        mut rig,
        mut b,
        workload,
        run_started,
        publishing,
    } = two_instances("twoinst", seed, note_lease_moves).await;
    tokio::time::sleep_until(run_started + kill_after).await;

    let http = reqwest::Client::new();
    let a_is_victim = leads(&http, &rig.service, "relay").await;
    let victim = if a_is_victim { &rig.service } else { &b };
    let dead_holder = dispatch_holder(&http, victim)
        .await
        .expect("the victim's dispatcher names its holder id");
    let before = progress(&rig.db.pool, workload.requested())
        .await
        .expect("progress");
    let (leased, unsent) = leased_by(&rig.db.pool, dead_holder).await;
    let killing = if a_is_victim {
        &mut rig.service
    } else {
        &mut b
    };
    killing.kill_9().expect("kill -9");
    let killed_at = Instant::now();
    let killed_at_database = database_now(&rig.db.pool).await;
    let (victim, survivor) = if a_is_victim {
        ("A", &b)
    } else {
        ("B", &rig.service)
    };
    eprintln!(
        "two instances: killed {victim} (the relay's leader, {leased} comparisons leased, \
         {unsent} of them not yet noted as accepted by the provider) at {:.1?} ({before})",
        run_started.elapsed()
    );
    let partitions = 2 * rig.kafka().partitions as usize;
    let (takeover, settled_in) = tokio::join!(
        watch_takeover(survivor, killed_at, partitions, TAKEOVER_PATIENCE),
        async {
            publishing.await.expect("every request published");
            settle("two instances", &rig, workload.requested(), SETTLE_PATIENCE).await
        }
    );
    let all_done = killed_at.elapsed();
    let moves = lease_moves(&rig.db.pool, dead_holder, killed_at_database).await;
    eprintln!("two instances: takeover: {takeover}; {moves}; every batch done {all_done:.1?} after the kill (settled {settled_in:.1?} after the last request)");

    let survivor = if a_is_victim {
        &mut b
    } else {
        &mut rig.service
    };
    let status = survivor.terminate().await.expect("the survivor exits");
    assert!(status.success(), "the survivor stopped with {status}");
    assert!(
        takeover.monitor.is_some() && takeover.relay.is_some(),
        "the survivor took over the monitor and the relay: {takeover}"
    );
    let left_with_the_dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cj_dispatch_queue WHERE holder = $1")
            .bind(dead_holder)
            .fetch_one(&rig.db.pool)
            .await
            .expect("the dispatch queue");
    assert_eq!(
        left_with_the_dead, 0,
        "no comparison stays with the dead instance"
    );

    let figures = audit(
        "two instances",
        &rig.db.pool,
        rig.kafka(),
        workload.requested(),
    )
    .await;
    assert_eq!(figures.batches, BATCHES);
    eprintln!("two instances: {figures}");
    eprintln!("two instances: wall time {:.1?}", test_started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_two_instances_loses_nothing_and_doubles_nothing() {
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let seed = fault_seed();
    let stop_after = fault_moment(seed);
    eprintln!(
        "rolling restart: seed {seed} (set CJ_FAULT_SEED to repeat); A stopped at {stop_after:.1?}"
    );

    let TwoInstances {
        mut rig,
        mut b,
        workload,
        run_started,
        publishing,
    } = two_instances("rolling", seed, async |_| {}).await;
    tokio::time::sleep_until(run_started + stop_after).await;
    let before = progress(&rig.db.pool, workload.requested())
        .await
        .expect("progress");
    let stopping = Instant::now();
    rig.stop_gracefully().await;
    let stopped_in = stopping.elapsed();
    rig.service.restart().expect("A starts again");
    let ready_in = rig
        .service
        .wait_ready(READY_PATIENCE)
        .await
        .expect("A is ready again");
    eprintln!("rolling restart: A stopped (SIGTERM) at {:.1?} ({before}) in {stopped_in:.1?}; started again, ready after {ready_in:.1?}", stop_after);

    publishing.await.expect("every request published");
    let settled_in = settle(
        "rolling restart",
        &rig,
        workload.requested(),
        SETTLE_PATIENCE,
    )
    .await;
    eprintln!("rolling restart: settled {settled_in:.1?} after the last request");
    let status = b.terminate().await.expect("B exits");
    assert!(status.success(), "B stopped with {status}");
    rig.stop_gracefully().await;

    let figures = audit(
        "rolling restart",
        &rig.db.pool,
        rig.kafka(),
        workload.requested(),
    )
    .await;
    assert_eq!(figures.batches, BATCHES);
    assert_eq!(rig.service.starts(), 2);
    eprintln!("rolling restart: {figures}");
    eprintln!("rolling restart: wall time {:.1?}", test_started.elapsed());
}
