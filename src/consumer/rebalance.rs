//! What the consumer holds, as it changes: after every rebalance the number of partitions
//! assigned goes to `cj_consumer_assigned_partitions` and the log, so an operator (and the
//! two-instance fault test) sees when a survivor has taken over a dead instance's
//! partitions. Called by librdkafka's rebalance callback, on its own thread.

use crate::metrics::metrics;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

/// The consumer context of the service's group consumer.
pub struct AssignmentReport;

impl ClientContext for AssignmentReport {}

impl ConsumerContext for AssignmentReport {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let held = partitions.count();
                metrics().consumer_assigned_partitions.set(held as i64);
                tracing::info!(held, "partitions assigned");
            }
            Rebalance::Revoke(_) => {
                metrics().consumer_assigned_partitions.set(0);
                tracing::info!("partitions revoked");
            }
            Rebalance::Error(error) => tracing::warn!(%error, "rebalance failed"),
        }
    }
}
