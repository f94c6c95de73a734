//! Waking the projectors: an append through the service's log is announced on their channel
//! once it has committed — by the service, from a transaction of its own, not by a trigger
//! inside the append, whose commits PostgreSQL would serialise (ADR 0015).

use crate::support::{count, register_command, TestDatabase};
use cj_aggregates::ids::BatchId;
use cj_assessment::store::{BatchCommandBus, CommandMetadata};
use cj_projections::wake::CHANNEL;
use sqlx::postgres::PgListener;
use std::time::Duration;
use uuid::Uuid;

/// Far longer than a wake-up takes; the projectors' own poll (200 ms) plays no part here,
/// the test listens on the channel itself.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_append_is_announced_on_the_projectors_channel_by_the_service() {
    // Given a listener on the projectors' channel, and a log with no trigger of its own
    let db = TestDatabase::create().await;
    let mut listener = PgListener::connect_with(&db.pool).await.expect("listener");
    listener.listen(CHANNEL).await.expect("listen");
    let triggers = count(
        &db.pool,
        "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal",
    )
    .await;
    assert_eq!(triggers, 0, "no trigger notifies from inside an append");
    // When a batch is registered through the service's bus
    let bus = BatchCommandBus::new(db.pool.clone());
    let batch_id = BatchId(Uuid::new_v4());
    let metadata = CommandMetadata::new(Uuid::new_v4(), "wake-test");
    bus.execute(batch_id, register_command(batch_id, 4, 20), &metadata)
        .await
        .expect("registered");
    // Then the channel hears of it
    let notification = tokio::time::timeout(PATIENCE, listener.recv())
        .await
        .expect("a wake-up after the append")
        .expect("the notification");
    assert_eq!(notification.channel(), CHANNEL);
}
