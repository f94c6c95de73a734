//! The readiness checks `serve` registers, in the order `/healthz/ready` reports them: the
//! database answers a query, the brokers answer the producer (when the service runs with
//! Kafka), and no projector is further
//! behind the log than [`MAX_READY_PROJECTOR_LAG`] events.

use super::{NotReady, Readiness, ReadinessCheck};
use crate::kafka::producer::Publisher;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

/// Readiness fails when any projector is further behind than this many events.
pub const MAX_READY_PROJECTOR_LAG: i64 = 10_000;

/// How long the broker check waits for the brokers' metadata.
const BROKER_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The service's readiness: database, broker (unless it runs without one), projector lag.
pub fn service_readiness(pool: PgPool, publisher: Option<Publisher>) -> Readiness {
    let readiness = Readiness::default().with_check("database", database(pool.clone()));
    let readiness = match publisher {
        Some(publisher) => readiness.with_check("broker", broker(publisher)),
        None => readiness,
    };
    readiness.with_check("projector_lag", projector_lag(pool))
}

/// Ready when the database answers `SELECT 1`.
pub fn database(pool: PgPool) -> ReadinessCheck {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map(|_| ())
                .map_err(NotReady::from)
        })
    })
}

/// Ready when the brokers answer the producer.
pub fn broker(publisher: Publisher) -> ReadinessCheck {
    Arc::new(move || {
        let publisher = publisher.clone();
        Box::pin(async move {
            publisher
                .check_brokers(BROKER_CHECK_TIMEOUT)
                .await
                .map_err(NotReady::Broker)
        })
    })
}

/// Ready when every projector of the catalogue is at most [`MAX_READY_PROJECTOR_LAG`]
/// events behind.
pub fn projector_lag(pool: PgPool) -> ReadinessCheck {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            for name in cj_projections::catalogue::names() {
                let lag = cj_projections::lag::projector_lag(&pool, name).await?;
                if lag > MAX_READY_PROJECTOR_LAG {
                    return Err(NotReady::ProjectorBehind { name, lag });
                }
            }
            Ok(())
        })
    })
}
