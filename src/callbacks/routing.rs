//! Which batch each callback of a poll belongs to. A callback names its batch in
//! `request_metadata.cj_batch_id` (the dispatcher sends it, the provider echoes it); when
//! that is missing or not a batch id, the comparison's correlation id is looked up in the
//! `cj_comparison_pairs` projection. A callback found by neither is an orphan.

use chrono::{DateTime, Utc};
use cj_aggregates::batch::commands::CallbackReport;
use cj_aggregates::ids::BatchId;
use cj_contracts::{ContractViolation, EventEnvelope, LlmComparisonResultV1};
use cj_projections::comparison_pairs;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// The `request_metadata` field naming the comparison's CJ batch.
pub const CJ_BATCH_ID_FIELD: &str = "cj_batch_id";

/// One decoded callback, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundCallback {
    pub report: CallbackReport,
    /// The batch the callback names, when it names a valid one.
    pub named_batch: Option<BatchId>,
    pub requested_at: DateTime<Utc>,
    /// The envelope's ids: the causation of the events the callback leads to.
    pub event_id: Uuid,
    pub correlation_id: Uuid,
}

impl InboundCallback {
    pub fn from_envelope(
        envelope: &EventEnvelope<LlmComparisonResultV1>,
    ) -> Result<Self, ContractViolation> {
        let result = &envelope.data;
        Ok(InboundCallback {
            report: result.to_report()?,
            named_batch: result
                .request_metadata
                .get(CJ_BATCH_ID_FIELD)
                .and_then(Value::as_str)
                .and_then(|id| id.parse().ok()),
            requested_at: result.requested_at,
            event_id: envelope.event_id,
            correlation_id: envelope.correlation_id,
        })
    }
}

/// A poll's callbacks grouped by batch.
#[derive(Debug, Default)]
pub struct Routed {
    pub by_batch: BTreeMap<BatchId, Vec<InboundCallback>>,
    pub orphans: Vec<InboundCallback>,
}

/// Groups `callbacks` by batch, looking up (in one query) those that name none.
pub async fn route(pool: &PgPool, callbacks: &[InboundCallback]) -> Result<Routed, sqlx::Error> {
    let unnamed: Vec<Uuid> = callbacks
        .iter()
        .filter(|c| c.named_batch.is_none())
        .map(|c| c.report.correlation_id.0)
        .collect();
    let looked_up: HashMap<Uuid, Uuid> = if unnamed.is_empty() {
        HashMap::new()
    } else {
        comparison_pairs::batches_of(pool, &unnamed)
            .await?
            .into_iter()
            .collect()
    };
    let mut routed = Routed::default();
    for callback in callbacks {
        let batch = callback.named_batch.or_else(|| {
            looked_up
                .get(&callback.report.correlation_id.0)
                .map(|batch| BatchId(*batch))
        });
        match batch {
            Some(batch) => routed
                .by_batch
                .entry(batch)
                .or_default()
                .push(callback.clone()),
            None => routed.orphans.push(callback.clone()),
        }
    }
    Ok(routed)
}
