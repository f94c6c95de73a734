//! Dispatch leases held by this dispatcher, and their renewal. A claimed row is leased to
//! this instance (its `holder` id) for a short [`LeaseSettings::length`]; while the
//! comparison is being sent and its result recorded, a heartbeat renews every lease still
//! held, every [`LeaseSettings::renew_every`]. A live instance therefore never loses a
//! comparison it is working on, and a dead one's come back to the others one lease length
//! after its last heartbeat — seconds, not minutes.
//!
//! Before each `POST` the sender asks [`HeldLeases::holds`]: a lease whose last confirmed
//! end has passed (renewals failed: the database unreachable from here) or that another
//! instance took over is not sent on. A request already on its way when that happens can
//! reach the provider twice; its second callback is a duplicate the aggregate ignores.
//! Expiry is judged on the injected clock, the same one the claims are written with.

use super::queue;
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Default lease length: three renewals fit in it, so two may fail (a slow database, a
/// long pause) before the lease is in danger; short enough that a dead instance's
/// comparisons are sent by another within seconds.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// How many renewals a lease length holds.
const RENEWALS_PER_LEASE: u32 = 3;

/// How long leases last and how often they are renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSettings {
    pub length: Duration,
    pub renew_every: Duration,
}

impl LeaseSettings {
    /// Leases of `length`, renewed three times per length.
    pub fn of_length(length: Duration) -> Self {
        LeaseSettings {
            length,
            renew_every: length / RENEWALS_PER_LEASE,
        }
    }
}

impl Default for LeaseSettings {
    fn default() -> Self {
        LeaseSettings::of_length(DEFAULT_LEASE)
    }
}

/// The leases this dispatcher holds: correlation id → the lease's end as last confirmed
/// by the database.
pub struct HeldLeases {
    holder: Uuid,
    clock: Arc<dyn Clock>,
    settings: LeaseSettings,
    held: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl HeldLeases {
    /// Leases of a new holder (a fresh instance id).
    pub fn new(clock: Arc<dyn Clock>, settings: LeaseSettings) -> Self {
        HeldLeases {
            holder: Uuid::new_v4(),
            clock,
            settings,
            held: Mutex::default(),
        }
    }

    /// This dispatcher's instance id, written into the rows it claims.
    pub fn holder(&self) -> Uuid {
        self.holder
    }

    pub fn settings(&self) -> LeaseSettings {
        self.settings
    }

    /// Now, on the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Notes made now, on rows this holder still holds.
    pub fn marker(&self) -> queue::Marker {
        queue::Marker {
            holder: self.holder,
            now: self.now(),
            lease: self.settings,
        }
    }

    /// Claims up to `limit` due comparisons and holds their leases.
    pub async fn claim(
        &self,
        pool: &PgPool,
        limit: usize,
    ) -> sqlx::Result<Vec<queue::ClaimedComparison>> {
        let in_flight: Vec<Uuid> = self.lock().keys().copied().collect();
        let claimed = queue::claim(
            pool,
            self.holder,
            limit,
            self.now(),
            self.settings,
            &in_flight,
        )
        .await?;
        let mut held = self.lock();
        for comparison in &claimed {
            held.insert(comparison.correlation_id, comparison.leased_until);
        }
        Ok(claimed)
    }

    /// Forgets leases no longer worked on; they are renewed no more.
    pub fn release(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut held = self.lock();
        for id in ids {
            held.remove(&id);
        }
    }

    /// Whether the lease on `id` is held and not past its confirmed end.
    pub fn holds(&self, id: Uuid) -> bool {
        let now = self.now();
        self.lock().get(&id).is_some_and(|until| *until > now)
    }

    /// How many leases are held.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// Renews every held lease once; returns how many were lost to another instance.
    pub async fn renew(&self, pool: &PgPool) -> sqlx::Result<usize> {
        let asked: Vec<Uuid> = self.lock().keys().copied().collect();
        if asked.is_empty() {
            return Ok(0);
        }
        let renewed = queue::renew(pool, self.holder, &asked, self.now(), self.settings).await?;
        let renewed_ids: HashSet<Uuid> = renewed.iter().map(|(id, _)| *id).collect();
        {
            let mut held = self.lock();
            for (id, until) in &renewed {
                if let Some(end) = held.get_mut(id) {
                    *end = *until;
                }
            }
        }
        let missing: Vec<Uuid> = asked
            .into_iter()
            .filter(|id| !renewed_ids.contains(id))
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        // Not renewed: skipped (locked right now: renewed next time), done (gone from the
        // queue), or claimed by another instance after this one's lease ran out — lost.
        let lost = queue::held_elsewhere(pool, self.holder, &missing).await?;
        let mut held = self.lock();
        let mut lost_here = 0;
        for id in &lost {
            lost_here += usize::from(held.remove(id).is_some());
        }
        tracing::debug!(
            renewed = renewed_ids.len(),
            lost = lost_here,
            "dispatch leases renewed"
        );
        Ok(lost_here)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, DateTime<Utc>>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The heartbeat: renews the held leases every `renew_every` until `shutdown`.
pub async fn keep_renewing(leases: Arc<HeldLeases>, pool: PgPool, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(leases.settings().renew_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match leases.renew(&pool).await {
            Ok(0) => {}
            Ok(lost) => {
                crate::metrics::metrics()
                    .dispatch_leases_lost
                    .inc_by(lost as u64);
                tracing::warn!(lost, "dispatch leases taken over by another instance (renewals came too late); they are not sent from here")
            }
            Err(error) => {
                tracing::warn!(%error, held = leases.count(), "renewing dispatch leases failed; they expire unless the next renewal succeeds")
            }
        }
    }
}
