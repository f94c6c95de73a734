//! The gauges read from the database rather than from logged decisions: projector lag (per
//! projector) and batches per state, refreshed every [`GAUGE_REFRESH`] by a worker of
//! `serve`. The figures come from the projections' own functions.

use crate::metrics::metrics;
use crate::worker::Worker;
use cj_projections::{batch_states, catalogue, lag};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the gauges refresh: often enough for a dashboard's scrape, one cheap query per
/// projector and one grouped count each time.
pub const GAUGE_REFRESH: Duration = Duration::from_secs(5);

/// The refresher as one of `serve`'s workers.
pub fn worker(pool: PgPool) -> Worker {
    Worker::new("gauges", move |shutdown| refresh_gauges(pool, shutdown))
}

/// Keeps the gauges current until `shutdown`. A failed read leaves its gauge as it was.
pub async fn refresh_gauges(pool: PgPool, shutdown: CancellationToken) -> anyhow::Result<()> {
    loop {
        for name in catalogue::names() {
            if let Ok(lag) = lag::projector_lag(&pool, name).await {
                metrics().projector_lag.with_label_values(&[name]).set(lag);
            }
        }
        let states = batch_states::count_by_state(&pool)
            .await
            .unwrap_or_default();
        for (state, count) in states {
            metrics()
                .batch_state
                .with_label_values(&[&state])
                .set(count);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(GAUGE_REFRESH) => {}
        }
    }
}
