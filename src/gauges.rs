//! The gauges read from the database rather than from logged decisions: projector lag (per
//! projector) and batches per state, refreshed every [`GAUGE_REFRESH`] by a worker of
//! `serve`. The figures come from the projections' own functions.

use crate::metrics::metrics;
use crate::worker::Worker;
use cj_aggregates::batch::status::BatchState;
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
        if let Ok(counted) = batch_states::count_by_state(&pool).await {
            for (state, count) in every_state(&counted) {
                metrics().batch_state.with_label_values(&[state]).set(count);
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(GAUGE_REFRESH) => {}
        }
    }
}

/// Every state with its count: the grouped count has no row for a state no batch is in, and
/// that state's gauge must fall to 0, not keep its last value.
fn every_state(counted: &[(String, i64)]) -> Vec<(&'static str, i64)> {
    BatchState::ALL
        .iter()
        .map(|state| {
            let count = counted
                .iter()
                .find(|(name, _)| name == state.as_str())
                .map_or(0, |(_, count)| *count);
            (state.as_str(), count)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_no_batch_is_in_any_more_counts_zero() {
        let counted = vec![("WAITING_CALLBACKS".to_string(), 3)];
        let all = every_state(&counted);
        assert_eq!(all.len(), BatchState::ALL.len());
        assert!(all.contains(&("WAITING_CALLBACKS", 3)));
        assert!(all
            .iter()
            .filter(|(state, _)| *state != "WAITING_CALLBACKS")
            .all(|(_, count)| *count == 0));
    }
}
