//! Watching one instance take over from another that died: from the kill on, the
//! survivor's `/metrics` (partitions assigned, which singleton roles it leads) is polled
//! until every part has moved; a trigger in the test's database notes every dispatch lease
//! that changes holder, with the database's time, so a lease claimed and answered between
//! two looks is not missed. How long each took is kept for the test to print. Figures only:
//! nothing here asserts a time.

use chrono::{DateTime, Utc};
use cj_assessment::lab::harness::service_process::ServiceProcess;
use sqlx::PgPool;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// How often the watch looks.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// The instance's `/metrics` page; `None` while it does not answer (killed, starting).
async fn metrics_page(http: &reqwest::Client, service: &ServiceProcess) -> Option<String> {
    http.get(format!("{}/metrics", service.base_url()))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()
}

/// A series' value on an instance's `/metrics` (`series` as printed, labels included).
pub async fn metric(http: &reqwest::Client, service: &ServiceProcess, series: &str) -> Option<f64> {
    metrics_page(http, service)
        .await?
        .lines()
        .filter_map(|line| line.strip_prefix(series))
        .find_map(|rest| rest.strip_prefix(' ')?.trim().parse().ok())
}

/// Whether the instance leads `role` (`monitor`, `relay`).
pub async fn leads(http: &reqwest::Client, service: &ServiceProcess, role: &str) -> bool {
    metric(http, service, &format!("cj_leader{{role=\"{role}\"}}")).await == Some(1.0)
}

/// The instance id its dispatcher writes into the leases it holds.
pub async fn dispatch_holder(http: &reqwest::Client, service: &ServiceProcess) -> Option<Uuid> {
    metrics_page(http, service)
        .await?
        .lines()
        .find_map(|line| line.strip_prefix("cj_dispatch_holder{holder=\""))
        .and_then(|rest| rest.split('"').next())
        .and_then(|holder| holder.parse().ok())
}

/// Comparisons `holder` has leased now (its lease not yet over), and of them how many the
/// provider had not yet accepted (`pending`).
pub async fn leased_by(pool: &PgPool, holder: Uuid) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM cj_dispatch_queue
          WHERE holder = $1 AND due_at > now()",
    )
    .bind(holder)
    .fetch_one(pool)
    .await
    .expect("the dispatch queue")
}

/// A moment after the kill, or that it was not seen.
fn at(moment: Option<Duration>) -> String {
    match moment {
        Some(after) => format!("{after:.1?}"),
        None => "not seen".into(),
    }
}

/// How long, after the kill, each part took to move to the survivor (`None`: not seen
/// within the watch's patience).
#[derive(Debug, Default, Clone)]
pub struct Takeover {
    /// The survivor holds every partition of the inbound topics.
    pub partitions: Option<Duration>,
    pub monitor: Option<Duration>,
    pub relay: Option<Duration>,
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "all partitions {}, monitor {}, relay {} after the kill",
            at(self.partitions),
            at(self.monitor),
            at(self.relay)
        )
    }
}

/// Watches until every part has moved to `survivor` (it holds all `partitions`) or
/// `within` has passed since `killed_at`.
pub async fn watch_takeover(
    survivor: &ServiceProcess,
    killed_at: Instant,
    partitions: usize,
    within: Duration,
) -> Takeover {
    let http = reqwest::Client::new();
    let mut takeover = Takeover::default();
    let since = |moment: &mut Option<Duration>, seen: bool| {
        if seen && moment.is_none() {
            *moment = Some(killed_at.elapsed());
        }
    };
    loop {
        let held = metric(&http, survivor, "cj_consumer_assigned_partitions").await;
        since(&mut takeover.partitions, held == Some(partitions as f64));
        since(
            &mut takeover.monitor,
            leads(&http, survivor, "monitor").await,
        );
        since(&mut takeover.relay, leads(&http, survivor, "relay").await);
        let done = [takeover.partitions, takeover.monitor, takeover.relay]
            .iter()
            .all(Option::is_some);
        if done || killed_at.elapsed() >= within {
            return takeover;
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}

/// Installs the trigger that notes every change of a dispatch lease's holder.
pub async fn note_lease_moves(pool: &PgPool) {
    for statement in [
        "CREATE TABLE test_lease_moves
             (correlation_id uuid, old_holder uuid, new_holder uuid, status text,
              at timestamptz)",
        "CREATE FUNCTION test_note_lease_move() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF OLD.holder IS DISTINCT FROM NEW.holder THEN
                 INSERT INTO test_lease_moves
                 VALUES (NEW.correlation_id, OLD.holder, NEW.holder, OLD.status,
                         clock_timestamp());
             END IF;
             RETURN NEW;
         END $$",
        "CREATE TRIGGER test_lease_moves AFTER UPDATE OF holder ON cj_dispatch_queue
             FOR EACH ROW EXECUTE FUNCTION test_note_lease_move()",
    ] {
        sqlx::query(statement)
            .execute(pool)
            .await
            .expect("the lease-move trigger");
    }
}

/// The database's clock now.
pub async fn database_now(pool: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await
        .expect("the database's clock")
}

/// The dead instance's leases taken over by another instance, as the trigger noted them.
#[derive(Debug)]
pub struct LeaseMoves {
    /// Claimed again: (how many, of them `sent` — accepted, only the command to record).
    pub claimed: i64,
    pub claimed_sent: i64,
    pub first: Option<Duration>,
    pub last: Option<Duration>,
}

impl std::fmt::Display for LeaseMoves {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of its leases claimed by the survivor ({} of them already accepted by the \
             provider, only the command re-recorded), first {}, last {} after the kill",
            self.claimed,
            self.claimed_sent,
            at(self.first),
            at(self.last)
        )
    }
}

/// What the trigger noted of `dead`'s leases after `killed_at` (the database's clock).
pub async fn lease_moves(pool: &PgPool, dead: Uuid, killed_at: DateTime<Utc>) -> LeaseMoves {
    let (claimed, claimed_sent, first, last): (i64, i64, Option<f64>, Option<f64>) =
        sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status = 'sent'),
                    extract(epoch FROM min(at) - $2)::float8,
                    extract(epoch FROM max(at) - $2)::float8
               FROM test_lease_moves WHERE old_holder = $1",
        )
        .bind(dead)
        .bind(killed_at)
        .fetch_one(pool)
        .await
        .expect("the noted lease moves");
    LeaseMoves {
        claimed,
        claimed_sent,
        first: first.map(|s| Duration::from_secs_f64(s.max(0.0))),
        last: last.map(|s| Duration::from_secs_f64(s.max(0.0))),
    }
}
