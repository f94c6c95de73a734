//! The store interface the simulation driver runs a batch on: anything that executes
//! commands and gives back a batch's events. PostgreSQL implements it
//! ([`super::postgres_batch_store`]), and so does the simulation's in-memory store.

use super::metadata::CommandMetadata;
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};

/// Where the driver sends commands and reads back what the batch decided.
#[async_trait::async_trait]
pub trait BatchStore: Send + Sync {
    async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> anyhow::Result<()>;

    /// The batch's events after the first `seen`, in order.
    async fn events_since(
        &self,
        batch_id: BatchId,
        seen: usize,
    ) -> anyhow::Result<Vec<CjBatchEvent>>;
}
