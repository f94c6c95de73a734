//! The [`BatchStore`] on PostgreSQL (the simulation driver's store for `demo
//! --database-url`): commands through the [`BatchCommandBus`], a batch's new events read
//! back from the log.

use super::batch_store::BatchStore;
use super::command_bus::BatchCommandBus;
use super::metadata::CommandMetadata;
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchEvent};
use cj_projections::log::batch_events;
use sqlx::PgPool;

#[derive(Clone)]
pub struct PostgresBatchStore {
    pool: PgPool,
    bus: BatchCommandBus,
}

impl PostgresBatchStore {
    pub fn new(pool: PgPool) -> Self {
        PostgresBatchStore {
            bus: BatchCommandBus::new(pool.clone()),
            pool,
        }
    }

    pub fn bus(&self) -> &BatchCommandBus {
        &self.bus
    }
}

#[async_trait::async_trait]
impl BatchStore for PostgresBatchStore {
    async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> anyhow::Result<()> {
        Ok(self.bus.execute(batch_id, command, metadata).await?)
    }

    async fn events_since(
        &self,
        batch_id: BatchId,
        seen: usize,
    ) -> anyhow::Result<Vec<CjBatchEvent>> {
        let events = batch_events(&self.pool, batch_id.0, seen as i64).await?;
        Ok(events.into_iter().map(|logged| logged.event).collect())
    }
}
