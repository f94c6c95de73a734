//! A transaction held open — in another database of the same server: the xmin horizon is
//! server-wide — while commands append events. The projectors stall and never skip: no
//! checkpoint moves, nothing past the horizon is applied, the lag grows with every event.
//! Once the transaction ends they catch up, every event applied exactly once, and the
//! tables equal a fresh replay.

use crate::audit::audit;
use crate::rig::{simulator, Rig};
use crate::serial::one_fault_at_a_time;
use crate::settle::settle;
use crate::support::{count, server_url, table_rows, PROJECTION_TABLES};
use crate::workload::{publish, Workload};
use cj_assessment::metrics_tap::MetricsTap;
use cj_projections::lag::{projector_lag, wait_until_caught_up};
use cj_projections::replay::replay;
use cj_projections::Projection;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::Instant;

const HELD_BATCHES: usize = 5;
/// How many polling intervals of the projectors the stall is watched for.
const PASSES_WATCHED: u32 = 10;

/// (projector, last tx, last seq, events applied) of every checkpoint.
type Checkpoint = (String, String, i64, i64);

async fn checkpoints(pool: &PgPool) -> Vec<Checkpoint> {
    sqlx::query_as(
        "SELECT projector, last_tx::text, last_seq, events_applied FROM projector_checkpoints
          ORDER BY projector",
    )
    .fetch_all(pool)
    .await
    .expect("the checkpoints")
}

/// Every projection table's rows, without the columns the dispatcher writes as it works
/// the queue (a lease, attempts, the last error: not derived from the log, so not rebuilt).
async fn projection_rows(pool: &PgPool) -> Vec<(&'static str, Vec<String>)> {
    let mut tables = Vec::new();
    for (table, order_by) in PROJECTION_TABLES {
        let rows = if table == "cj_dispatch_queue" {
            sqlx::query_scalar(&format!(
                "SELECT (to_jsonb(t) - 'due_at' - 'dispatch_attempts' - 'last_error')::text
                   FROM {table} t ORDER BY {order_by}"
            ))
            .fetch_all(pool)
            .await
            .expect("the queue's rows")
        } else {
            table_rows(pool, table, order_by).await
        };
        tables.push((table, rows));
    }
    tables
}

/// Every projector the service runs: the catalogue and the metrics tap.
fn projector_names() -> Vec<&'static str> {
    let mut names = cj_projections::catalogue::names();
    names.push(MetricsTap::default().name());
    names
}

/// Waits until the holder is the oldest transaction running and every event below it has
/// been applied: from then on, only events above the horizon are written.
async fn wait_until_only_the_horizon_holds_back(pool: &PgPool, horizon: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let xmin: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(pool)
                .await
                .expect("the horizon");
        let below_unapplied = count(
            pool,
            &format!(
                "SELECT count(*) FROM events e, projector_checkpoints c
                  WHERE (e.tx, e.global_seq) > (c.last_tx, c.last_seq)
                    AND e.tx < '{horizon}'::xid8"
            ),
        )
        .await;
        if xmin == horizon && below_unapplied == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "events below the horizon were applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_stalls_the_projectors_without_skipping_and_they_catch_up_once_it_ends()
{
    let _turn = one_fault_at_a_time().await;
    let test_started = Instant::now();
    let mut rig = Rig::start("long-transaction", simulator(5)).await;
    let pool = rig.db.pool.clone();
    let requests_topic = rig.kafka().topics.requests.clone();
    let mut workload = Workload::prepare(&pool, "longtx", 8, 24).await;

    // One batch to its end first, so every projector has a checkpoint to hold still.
    let warm_up = workload.request();
    publish(&rig.publisher, &requests_topic, &warm_up).await;
    settle(
        "long transaction",
        &rig,
        &BTreeSet::from([warm_up.upstream_batch_id.clone()]),
        Duration::from_secs(120),
    )
    .await;

    let mut holder = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("a connection to another database of the server");
    sqlx::query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    let horizon: i64 = sqlx::query_scalar("SELECT pg_current_xact_id()::text::bigint")
        .fetch_one(&mut holder)
        .await
        .expect("the holder's transaction id");
    wait_until_only_the_horizon_holds_back(&pool, horizon).await;
    let held = checkpoints(&pool).await;
    let hold_began = Instant::now();
    let events_before = count(&pool, "SELECT count(*) FROM events").await;
    eprintln!(
        "long transaction: holding xid {horizon} in database postgres; {events_before} events applied by {} projectors",
        held.len()
    );

    let held_batches = workload.requests(HELD_BATCHES);
    for request in &held_batches {
        publish(&rig.publisher, &requests_topic, request).await;
    }
    let registered_while_held = 1 + HELD_BATCHES as i64;
    crate::support::eventually("the held batches' requests are in the log", || async {
        count(
            &pool,
            "SELECT count(*) FROM events WHERE event_type = 'AnchorsRegistered'",
        )
        .await
            == registered_while_held
    })
    .await;

    let mut lag_seen = 0;
    for pass in 0..PASSES_WATCHED {
        tokio::time::sleep(cj_projections::supervisor::POLL_INTERVAL).await;
        let events = count(&pool, "SELECT count(*) FROM events").await;
        let appended = events - events_before;
        assert!(
            appended > 0,
            "commands appended events while the transaction was open"
        );
        assert_eq!(
            checkpoints(&pool).await,
            held,
            "pass {pass}: no checkpoint moves while the transaction is open"
        );
        let above_horizon = count(
            &pool,
            &format!("SELECT count(*) FROM events WHERE tx > '{horizon}'::xid8"),
        )
        .await;
        assert_eq!(
            above_horizon, appended,
            "every event since is above the horizon"
        );
        for name in projector_names() {
            let lag = projector_lag(&pool, name).await.expect("lag");
            assert_eq!(
                lag, appended,
                "pass {pass}: {name} lags by every event since"
            );
            lag_seen = lag;
        }
        let state_rows = count(&pool, "SELECT count(*) FROM cj_batch_states").await;
        assert_eq!(
            state_rows, 1,
            "pass {pass}: only the warm-up batch has a state row"
        );
    }
    eprintln!(
        "long transaction: {PASSES_WATCHED} projector passes held still at lag {lag_seen}; readiness {:?}",
        rig.service.readiness().await
    );

    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("end the transaction");
    holder.close().await.expect("close the holder");
    let released = Instant::now();
    let lags = wait_until_caught_up(&pool, &projector_names(), Duration::from_secs(60))
        .await
        .expect("lags");
    assert!(lags.iter().all(|(_, lag)| *lag == 0), "caught up: {lags:?}");
    eprintln!(
        "long transaction: held {:.1?}; every projector caught up {:.1?} after it ended",
        released - hold_began,
        released.elapsed()
    );
    settle(
        "long transaction",
        &rig,
        workload.requested(),
        Duration::from_secs(180),
    )
    .await;
    rig.stop_gracefully().await;

    let events = count(&pool, "SELECT count(*) FROM events").await;
    for (projector, _, _, applied) in checkpoints(&pool).await {
        assert_eq!(
            applied, events,
            "{projector} applied every event exactly once"
        );
    }
    let live = projection_rows(&pool).await;
    for projection in cj_projections::catalogue::all() {
        replay(&pool, projection.as_ref(), |_, _| {})
            .await
            .expect("replay");
    }
    assert!(
        live == projection_rows(&pool).await,
        "the caught-up tables equal a fresh replay row for row"
    );
    let figures = audit("long transaction", &pool, rig.kafka(), workload.requested()).await;
    eprintln!("long transaction: {figures}");
    eprintln!("long transaction: wall time {:.1?}", test_started.elapsed());
}
