//! Billable usage for the Entitlements Service (`ResourceConsumptionV1` on
//! [`topics::RESOURCE_CONSUMPTION`](super::topics)): the comparisons a batch really made.

use crate::envelope::EventHeader;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `event_name` of the resource consumption event.
pub const EVENT_NAME: &str = "resource.consumption.reported";
/// The billable metric of one LLM comparison.
pub const RESOURCE_TYPE_CJ_COMPARISON: &str = "cj_comparison";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceConsumptionV1 {
    #[serde(flatten)]
    pub header: EventHeader,
    pub user_id: String,
    #[serde(default)]
    pub org_id: Option<String>,
    pub resource_type: String,
    /// Comparisons asked of the judge (first asks and retries), not n(n-1)/2.
    pub quantity: u32,
    pub service_name: String,
    /// The CJ batch id.
    pub processing_id: String,
    pub consumed_at: DateTime<Utc>,
}
