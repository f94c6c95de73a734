//! Making sure the consumer holds partitions. After a `kill -9` and an immediate restart,
//! Tansu 0.6 was seen to leave the restarted member alone in its group, its leader, with no
//! partition assigned and no rebalance to come: it heartbeats, reports ready, and reads
//! nothing, for good (the fault test `kill_nine`). A consumer that has held no partition for
//! longer than the watch's patience leaves the group and joins it again, which makes the
//! coordinator assign the partitions. The patience doubles each time — an instance beyond
//! the partition count holds none by right, and must not start a rebalance every minute.

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaResult;
use std::time::Duration;
use tokio::time::Instant;

/// How long a consumer may hold no partition before it re-joins: three session timeouts
/// (`client_config::consumer`), time for any ordinary rebalance to finish.
pub const FIRST_PATIENCE: Duration = Duration::from_secs(30);
/// The longest the patience grows to.
pub const MAX_PATIENCE: Duration = Duration::from_secs(600);
/// How often the consumer's assignment is looked at.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// What the watch makes of one look at the assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Partitions are assigned.
    Assigned,
    /// None assigned, not for long enough to act.
    Waiting,
    /// None assigned for longer than the patience: leave and join again.
    Rejoin,
}

#[derive(Debug)]
pub struct AssignmentWatch {
    empty_since: Option<Instant>,
    patience: Duration,
    next_check: Instant,
}

impl AssignmentWatch {
    pub fn new(now: Instant) -> Self {
        AssignmentWatch {
            empty_since: None,
            patience: FIRST_PATIENCE,
            next_check: now + CHECK_INTERVAL,
        }
    }

    /// When the assignment should next be looked at.
    pub fn next_check(&self) -> Instant {
        self.next_check
    }

    /// Judges `assigned` partitions seen at `now`.
    pub fn observe(&mut self, assigned: usize, now: Instant) -> Verdict {
        self.next_check = now + CHECK_INTERVAL;
        if assigned > 0 {
            self.empty_since = None;
            self.patience = FIRST_PATIENCE;
            return Verdict::Assigned;
        }
        let since = *self.empty_since.get_or_insert(now);
        if now.duration_since(since) < self.patience {
            return Verdict::Waiting;
        }
        self.empty_since = Some(now);
        self.patience = (self.patience * 2).min(MAX_PATIENCE);
        Verdict::Rejoin
    }

    /// Looks at `consumer`'s assignment and re-subscribes it to `topics` when it has been
    /// empty too long; returns whether it re-joined.
    pub fn check(
        &mut self,
        consumer: &impl Consumer,
        topics: &[&str],
        now: Instant,
    ) -> KafkaResult<bool> {
        let assigned = consumer.assignment()?.count();
        if self.observe(assigned, now) != Verdict::Rejoin {
            return Ok(false);
        }
        tracing::warn!(?topics, patience = ?self.patience, "the consumer has held no partition for too long; leaving and re-joining the group");
        consumer.unsubscribe();
        consumer.subscribe(topics)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_without_partitions_rejoins_after_its_patience_and_then_waits_longer() {
        let start = Instant::now();
        let mut watch = AssignmentWatch::new(start);
        assert_eq!(watch.observe(0, start), Verdict::Waiting);
        assert_eq!(
            watch.observe(0, start + FIRST_PATIENCE / 2),
            Verdict::Waiting
        );
        assert_eq!(watch.observe(0, start + FIRST_PATIENCE), Verdict::Rejoin);
        let rejoined = start + FIRST_PATIENCE;
        assert_eq!(
            watch.observe(0, rejoined + FIRST_PATIENCE),
            Verdict::Waiting,
            "patience doubled"
        );
        assert_eq!(
            watch.observe(0, rejoined + 2 * FIRST_PATIENCE),
            Verdict::Rejoin
        );
    }

    #[test]
    fn partitions_reset_the_watch() {
        let start = Instant::now();
        let mut watch = AssignmentWatch::new(start);
        watch.observe(0, start);
        assert_eq!(watch.observe(0, start + FIRST_PATIENCE), Verdict::Rejoin);
        assert_eq!(
            watch.observe(3, start + FIRST_PATIENCE * 2),
            Verdict::Assigned
        );
        let later = start + FIRST_PATIENCE * 3;
        assert_eq!(watch.observe(0, later), Verdict::Waiting);
        assert_eq!(
            watch.observe(0, later + FIRST_PATIENCE),
            Verdict::Rejoin,
            "back to the first patience"
        );
    }

    #[test]
    fn the_patience_never_exceeds_its_ceiling() {
        let mut now = Instant::now();
        let mut watch = AssignmentWatch::new(now);
        watch.observe(0, now);
        for _ in 0..20 {
            now += MAX_PATIENCE;
            watch.observe(0, now);
        }
        assert!(watch.patience <= MAX_PATIENCE);
    }
}
