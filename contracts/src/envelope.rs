//! The EventEnvelope every Kafka message travels in, and the header fields (`event_name`,
//! `entity_id`, …) that every event's `data` starts with (the old service's `BaseEventData`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// `source_service` of every envelope this service publishes.
pub const SOURCE_SERVICE: &str = "cj_assessment_service";
/// `schema_version` of every envelope this service publishes (and the default when an
/// incoming envelope omits it, as the old service's model does).
pub const SCHEMA_VERSION: u32 = 1;

/// An event on Kafka: transport metadata around the event's `data`. `M` is the type of the
/// free-form `metadata` object (the request carries hints there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<D, M = Map<String, Value>> {
    pub event_id: Uuid,
    /// The topic name the event is published on.
    pub event_type: String,
    pub event_timestamp: DateTime<Utc>,
    pub source_service: String,
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    pub correlation_id: Uuid,
    #[serde(default)]
    pub data_schema_uri: Option<String>,
    pub data: D,
    #[serde(default)]
    pub metadata: Option<M>,
}

fn default_schema_version() -> u32 {
    SCHEMA_VERSION
}

/// The fields every event's `data` opens with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventHeader {
    /// The event's name without topic prefix and version (`cj_assessment.completed`).
    pub event_name: String,
    /// The upstream (BOS) batch id for every batch-level event.
    pub entity_id: String,
    pub entity_type: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub timestamp: DateTime<Utc>,
}

/// `entity_type` of every batch-level event.
pub const ENTITY_TYPE_BATCH: &str = "batch";

impl EventHeader {
    /// The header of a batch-level event this service publishes.
    pub fn for_batch(event_name: &str, upstream_batch_id: &str, at: DateTime<Utc>) -> Self {
        EventHeader {
            event_name: event_name.to_string(),
            entity_id: upstream_batch_id.to_string(),
            entity_type: ENTITY_TYPE_BATCH.to_string(),
            parent_id: None,
            timestamp: at,
        }
    }
}
