//! The broker unavailable in the middle of a run: readiness turns red and then green on its
//! own, the batches in flight all end, nothing is lost or doubled. Two outages:
//!
//! - the broker killed and started again 30 s later on the same port and storage (SQLite,
//!   so topics, messages and committed offsets survive);
//! - the broker frozen (SIGSTOP: its connections stay open and go unanswered) for 5 s.
//!
//! What made the 30 s outage survivable: producers keep unacknowledged messages for 120 s
//! (`kafka::client_config`), so an outage delays them. With the earlier 10 s, messages timed
//! out, librdkafka bumped the idempotent producer's epoch on its own (as Kafka allows), and
//! Tansu 0.6's SQLite engine panicked on the epoch it never issued
//! (`idempotent_message_check`) and answered no produce request again. A broker stopped with
//! SIGTERM still ends that way: while it shuts down it answers produce requests with errors,
//! which bump the epoch too — so the outage here is a kill, as a crash or a lost host is.

use crate::outage::{ride_out, Outage};
use crate::rig::Rig;
use cj_assessment::lab::harness::signals::Signal;
use std::time::Duration;

/// The rig's broker frozen and thawed.
struct BrokerFreeze;

impl Outage for BrokerFreeze {
    fn begin(&mut self, rig: &mut Rig) {
        rig.broker
            .signal(Signal::Freeze)
            .expect("the broker freezes");
    }

    fn end(&mut self, rig: &mut Rig) {
        rig.broker.signal(Signal::Thaw).expect("the broker thaws");
    }
}

/// The rig's broker killed and started again on its port and storage.
struct BrokerRestart;

impl Outage for BrokerRestart {
    fn begin(&mut self, rig: &mut Rig) {
        rig.broker.stop(Signal::Kill).expect("the broker stops");
    }

    fn end(&mut self, rig: &mut Rig) {
        rig.broker.start_again().expect("the broker starts again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_unresponsive_mid_run_turns_readiness_red_then_green_and_loses_nothing() {
    ride_out(
        "broker-freeze",
        19,
        &mut BrokerFreeze,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_stopped_for_30_s_mid_run_turns_readiness_red_then_green_and_loses_nothing() {
    ride_out(
        "broker-restart",
        17,
        &mut BrokerRestart,
        Duration::from_secs(30),
    )
    .await;
}
