//! Making sure every partition is read. After a `kill -9` and an immediate restart, Tansu
//! 0.6 was seen to keep the dead member in the group with its partitions, and no rebalance
//! to come: the restarted member heartbeats, reports ready, and reads nothing — when the
//! ghost kept every partition — or only some of them — when the two were split (the fault
//! test `kill_nine`). So the consumer watches two things: that it holds a partition, and
//! that no partition it does not hold stands still behind its high watermark (the group's
//! committed offset unchanged between looks). When either has lasted longer than the
//! watch's patience it leaves the group and joins again, and the rebalance that follows
//! drops members that do not re-join. The patience doubles each time: an instance beyond
//! the partition count holds none by right, and a partition another live instance is slow
//! on must not start a rebalance every minute.

use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long each look at the group's offsets and the watermarks may take.
const LOOK_TIMEOUT: Duration = Duration::from_millis(500);

/// Partitions of the subscribed topics this member does not hold and that have messages
/// past the group's committed offset, with that offset.
type Behind = BTreeMap<(String, i32), i64>;

/// How long a consumer may go without partitions (or watch one held elsewhere stand still)
/// before it re-joins, in session timeouts (`CJ_KAFKA_SESSION_TIMEOUT_MS`, 10 s by default:
/// 30 s): time for the broker to drop a dead member and for any ordinary rebalance to
/// finish. This bounds how soon partitions move on a broker that keeps a dead member.
pub const PATIENCE_IN_SESSION_TIMEOUTS: u32 = 3;
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
    /// What [`behind_elsewhere`] found at the last look.
    behind: Behind,
    first_patience: Duration,
    patience: Duration,
    next_check: Instant,
}

impl AssignmentWatch {
    /// A watch of a consumer with `session_timeout`.
    pub fn new(now: Instant, session_timeout: Duration) -> Self {
        let first_patience = session_timeout * PATIENCE_IN_SESSION_TIMEOUTS;
        AssignmentWatch {
            empty_since: None,
            behind: Behind::new(),
            first_patience,
            patience: first_patience,
            next_check: now + CHECK_INTERVAL,
        }
    }

    /// When the assignment should next be looked at.
    pub fn next_check(&self) -> Instant {
        self.next_check
    }

    /// Judges a look at `now`: `assigned` partitions held, and the partitions held elsewhere
    /// that are `behind`.
    pub fn observe(&mut self, assigned: usize, behind: Behind, now: Instant) -> Verdict {
        self.next_check = now + CHECK_INTERVAL;
        // Standing still: behind at the last look, and its committed offset unchanged since.
        let standing_still = behind
            .iter()
            .any(|(partition, offset)| self.behind.get(partition) == Some(offset));
        // A look without partitions (a rebalance under way) says nothing about the others:
        // the last look's offsets stay the reference, so a rebalance that leaves a dead
        // member's partition standing still does not restart the patience (the two-instance
        // fault test: Tansu dropped the dead member's session, rebalanced, and handed its
        // partitions back to it).
        if assigned > 0 {
            self.behind = behind;
        }
        if assigned > 0 && !standing_still {
            self.empty_since = None;
            self.patience = self.first_patience;
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

    /// Looks at `consumer`'s assignment (and, when it holds some, at the partitions it does
    /// not) and re-subscribes it to `topics` when something has been unread too long;
    /// returns whether it re-joined.
    pub fn check<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
        topics: &[&str],
        now: Instant,
    ) -> KafkaResult<bool> {
        let held = consumer.assignment()?;
        let behind = if held.count() > 0 {
            behind_elsewhere(consumer, topics, &held)?
        } else {
            Behind::new()
        };
        let partitions_behind = behind.len();
        if self.observe(held.count(), behind, now) != Verdict::Rejoin {
            return Ok(false);
        }
        tracing::warn!(?topics, held = held.count(), partitions_behind, patience = ?self.patience, "partitions have gone unread for too long (none held, or one held elsewhere standing still); leaving and re-joining the group");
        consumer.unsubscribe();
        consumer.subscribe(topics)?;
        Ok(true)
    }
}

/// The partitions of `topics` not in `held` with messages past the group's committed
/// offset (none committed counts as the partition's start).
fn behind_elsewhere<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    topics: &[&str],
    held: &TopicPartitionList,
) -> KafkaResult<Behind> {
    let metadata = consumer.fetch_metadata(None, LOOK_TIMEOUT)?;
    let mut elsewhere = TopicPartitionList::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| topics.contains(&t.name()))
    {
        for partition in topic.partitions() {
            if held.find_partition(topic.name(), partition.id()).is_none() {
                elsewhere.add_partition(topic.name(), partition.id());
            }
        }
    }
    if elsewhere.count() == 0 {
        return Ok(Behind::new());
    }
    let committed = consumer.committed_offsets(elsewhere, LOOK_TIMEOUT)?;
    let mut behind = Behind::new();
    for element in committed.elements() {
        let (low, high) =
            consumer.fetch_watermarks(element.topic(), element.partition(), LOOK_TIMEOUT)?;
        let offset = match element.offset() {
            Offset::Offset(offset) => offset,
            _ => low,
        };
        if high > offset {
            behind.insert((element.topic().to_string(), element.partition()), offset);
        }
    }
    Ok(behind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default session timeout's patience.
    const FIRST_PATIENCE: Duration = Duration::from_secs(30);

    fn watch_from(start: Instant) -> AssignmentWatch {
        AssignmentWatch::new(start, Duration::from_secs(10))
    }

    #[test]
    fn a_consumer_without_partitions_rejoins_after_its_patience_and_then_waits_longer() {
        let start = Instant::now();
        let mut watch = watch_from(start);
        assert_eq!(watch.observe(0, Behind::new(), start), Verdict::Waiting);
        assert_eq!(
            watch.observe(0, Behind::new(), start + FIRST_PATIENCE / 2),
            Verdict::Waiting
        );
        assert_eq!(
            watch.observe(0, Behind::new(), start + FIRST_PATIENCE),
            Verdict::Rejoin
        );
        let rejoined = start + FIRST_PATIENCE;
        assert_eq!(
            watch.observe(0, Behind::new(), rejoined + FIRST_PATIENCE),
            Verdict::Waiting,
            "patience doubled"
        );
        assert_eq!(
            watch.observe(0, Behind::new(), rejoined + 2 * FIRST_PATIENCE),
            Verdict::Rejoin
        );
    }

    #[test]
    fn partitions_reset_the_watch() {
        let start = Instant::now();
        let mut watch = watch_from(start);
        watch.observe(0, Behind::new(), start);
        assert_eq!(
            watch.observe(0, Behind::new(), start + FIRST_PATIENCE),
            Verdict::Rejoin
        );
        assert_eq!(
            watch.observe(3, Behind::new(), start + FIRST_PATIENCE * 2),
            Verdict::Assigned
        );
        let later = start + FIRST_PATIENCE * 3;
        assert_eq!(watch.observe(0, Behind::new(), later), Verdict::Waiting);
        assert_eq!(
            watch.observe(0, Behind::new(), later + FIRST_PATIENCE),
            Verdict::Rejoin,
            "back to the first patience"
        );
    }

    #[test]
    fn a_partition_held_elsewhere_that_stands_still_makes_it_rejoin() {
        let start = Instant::now();
        let mut watch = watch_from(start);
        let behind = |offset: i64| Behind::from([(("callbacks".to_string(), 1), offset)]);
        assert_eq!(
            watch.observe(1, behind(1280), start),
            Verdict::Assigned,
            "first seen"
        );
        assert_eq!(
            watch.observe(1, behind(1280), start + CHECK_INTERVAL),
            Verdict::Waiting,
            "standing still"
        );
        assert_eq!(
            watch.observe(1, behind(1280), start + CHECK_INTERVAL + FIRST_PATIENCE),
            Verdict::Rejoin
        );
    }

    #[test]
    fn a_rebalance_that_leaves_a_partition_standing_still_does_not_restart_the_patience() {
        let start = Instant::now();
        let mut watch = watch_from(start);
        let behind = Behind::from([(("callbacks".to_string(), 1), 1280)]);
        watch.observe(1, behind.clone(), start);
        let still = start + CHECK_INTERVAL;
        assert_eq!(watch.observe(1, behind.clone(), still), Verdict::Waiting);
        assert_eq!(
            watch.observe(0, Behind::new(), still + CHECK_INTERVAL),
            Verdict::Waiting,
            "mid-rebalance"
        );
        let reassigned = still + CHECK_INTERVAL * 2;
        assert_eq!(
            watch.observe(1, behind.clone(), reassigned),
            Verdict::Waiting,
            "still standing still after the rebalance"
        );
        assert_eq!(
            watch.observe(1, behind, still + FIRST_PATIENCE),
            Verdict::Rejoin,
            "patience counted from the first look that saw it standing still"
        );
    }

    #[test]
    fn a_partition_held_elsewhere_that_moves_is_left_alone() {
        let start = Instant::now();
        let mut watch = watch_from(start);
        let behind = |offset: i64| Behind::from([(("callbacks".to_string(), 1), offset)]);
        for look in 0..20 {
            let now = start + CHECK_INTERVAL * look;
            assert_eq!(
                watch.observe(1, behind(1000 + i64::from(look)), now),
                Verdict::Assigned
            );
        }
    }

    #[test]
    fn the_patience_never_exceeds_its_ceiling() {
        let mut now = Instant::now();
        let mut watch = watch_from(now);
        watch.observe(0, Behind::new(), now);
        for _ in 0..20 {
            now += MAX_PATIENCE;
            watch.observe(0, Behind::new(), now);
        }
        assert!(watch.patience <= MAX_PATIENCE);
    }
}
