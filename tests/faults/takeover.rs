//! Watching one instance take over from another that died: from the kill on, the
//! survivor's `/metrics` (partitions assigned, which singleton roles it leads) and the
//! dispatch queue (the dead instance's leases) are polled until every part has moved, and
//! how long each took is kept for the test to print. Figures only: nothing here asserts a
//! time.

use cj_assessment::harness::service_process::ServiceProcess;
use sqlx::PgPool;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// How often the watch looks.
const LOOK_EVERY: Duration = Duration::from_millis(100);

/// A series' value on an instance's `/metrics` (`series` as printed, labels included).
pub async fn metric(http: &reqwest::Client, service: &ServiceProcess, series: &str) -> Option<f64> {
    let text = http
        .get(format!("{}/metrics", service.base_url()))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .filter_map(|line| line.strip_prefix(series))
        .find_map(|rest| rest.strip_prefix(' ')?.trim().parse().ok())
}

/// Whether the instance leads `role` (`monitor`, `relay`).
pub async fn leads(http: &reqwest::Client, service: &ServiceProcess, role: &str) -> bool {
    metric(http, service, &format!("cj_leader{{role=\"{role}\"}}")).await == Some(1.0)
}

/// The instance id its dispatcher writes into the leases it holds.
pub async fn dispatch_holder(http: &reqwest::Client, service: &ServiceProcess) -> Option<Uuid> {
    let text = http
        .get(format!("{}/metrics", service.base_url()))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("cj_dispatch_holder{holder=\""))
        .and_then(|rest| rest.split('"').next())
        .and_then(|holder| holder.parse().ok())
}

/// Comparisons `holder` has leased now (its lease not yet over).
pub async fn leased_by(pool: &PgPool, holder: Uuid) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT correlation_id FROM cj_dispatch_queue WHERE holder = $1 AND due_at > now()",
    )
    .bind(holder)
    .fetch_all(pool)
    .await
    .expect("the dispatch queue")
}

/// How long, after the kill, each part took to move to the survivor (`None`: not seen
/// within the watch's patience).
#[derive(Debug, Default, Clone)]
pub struct Takeover {
    /// The dead instance's leases at the kill.
    pub leases_at_kill: usize,
    /// The survivor holds every partition of the inbound topics.
    pub partitions: Option<Duration>,
    /// One of the dead instance's leased comparisons is claimed by another instance or
    /// gone from the queue (answered: the dead instance had recorded its submission).
    pub first_lease_moved: Option<Duration>,
    /// None of the dead instance's leases is left (each claimed again or answered).
    pub all_leases_moved: Option<Duration>,
    pub monitor: Option<Duration>,
    pub relay: Option<Duration>,
}

impl std::fmt::Display for Takeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = |moment: Option<Duration>| match moment {
            Some(after) => format!("{after:.1?}"),
            None => "not seen".into(),
        };
        write!(
            f,
            "all partitions {}, first of its {} leased comparisons moved {} (all moved {}), \
             monitor {}, relay {} after the kill",
            at(self.partitions),
            self.leases_at_kill,
            at(self.first_lease_moved),
            at(self.all_leases_moved),
            at(self.monitor),
            at(self.relay)
        )
    }
}

/// What the watch needs to know at the kill.
pub struct AtKill {
    pub killed_at: Instant,
    /// The dead instance's leases then.
    pub leased: Vec<Uuid>,
    pub dead_holder: Uuid,
    /// Partitions of the inbound topics.
    pub partitions: usize,
}

/// Watches until every part has moved to `survivor` or `within` has passed.
pub async fn watch_takeover(
    pool: &PgPool,
    survivor: &ServiceProcess,
    at_kill: AtKill,
    within: Duration,
) -> Takeover {
    let http = reqwest::Client::new();
    let mut takeover = Takeover {
        leases_at_kill: at_kill.leased.len(),
        ..Takeover::default()
    };
    if at_kill.leased.is_empty() {
        takeover.first_lease_moved = Some(Duration::ZERO);
        takeover.all_leases_moved = Some(Duration::ZERO);
    }
    let since = |moment: &mut Option<Duration>, seen: bool| {
        if seen && moment.is_none() {
            *moment = Some(at_kill.killed_at.elapsed());
        }
    };
    loop {
        let held = metric(&http, survivor, "cj_consumer_assigned_partitions").await;
        since(
            &mut takeover.partitions,
            held == Some(at_kill.partitions as f64),
        );
        since(
            &mut takeover.monitor,
            leads(&http, survivor, "monitor").await,
        );
        since(&mut takeover.relay, leads(&http, survivor, "relay").await);
        if !at_kill.leased.is_empty() {
            let still_dead: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM cj_dispatch_queue
                  WHERE correlation_id = ANY($1) AND holder = $2",
            )
            .bind(&at_kill.leased)
            .bind(at_kill.dead_holder)
            .fetch_one(pool)
            .await
            .expect("the dispatch queue");
            let moved = at_kill.leased.len() as i64 - still_dead;
            since(&mut takeover.first_lease_moved, moved > 0);
            since(&mut takeover.all_leases_moved, still_dead == 0);
        }
        let done = [
            takeover.partitions,
            takeover.all_leases_moved,
            takeover.monitor,
            takeover.relay,
        ]
        .iter()
        .all(Option::is_some);
        if done || at_kill.killed_at.elapsed() >= within {
            return takeover;
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
}
