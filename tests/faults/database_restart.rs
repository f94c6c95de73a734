//! PostgreSQL restarted in the middle of a run — every connection of the service dropped,
//! the server refusing new ones for a while: readiness turns red and then green on its own,
//! the batches in flight all end, nothing is lost or doubled.

use crate::outage::{ride_out, Outage};
use crate::postgres_server::{self, StoppedServer};
use crate::rig::Rig;
use std::time::Duration;

/// How long the server stays down (at least; until readiness is red).
const DOWN_FOR: Duration = Duration::from_secs(5);

/// The server stopped and started again.
struct DatabaseOutage(Option<StoppedServer>);

impl Outage for DatabaseOutage {
    fn begin(&mut self, _: &mut Rig) {
        self.0 = Some(postgres_server::stop());
    }

    fn end(&mut self, _: &mut Rig) {
        if let Some(stopped) = self.0.take() {
            stopped.start();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_run_turns_readiness_red_then_green_and_loses_nothing() {
    ride_out("postgres-restart", 31, &mut DatabaseOutage(None), DOWN_FOR).await;
}
