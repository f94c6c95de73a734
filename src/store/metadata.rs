//! What every stored event says about why it was written: the correlation id of the flow
//! it belongs to (the original request's), the id of the message or command that caused it,
//! and who acted. Stored in the `metadata` column of each event.

use std::collections::HashMap;
use uuid::Uuid;

pub const CORRELATION_ID: &str = "correlation_id";
pub const CAUSATION_ID: &str = "causation_id";
pub const ACTOR: &str = "actor";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandMetadata {
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// Who acted: a consumer, the monitor, an operator, the simulation.
    pub actor: String,
}

impl CommandMetadata {
    pub fn new(correlation_id: Uuid, actor: impl Into<String>) -> Self {
        CommandMetadata {
            correlation_id,
            causation_id: None,
            actor: actor.into(),
        }
    }

    pub fn caused_by(mut self, causation_id: Uuid) -> Self {
        self.causation_id = Some(causation_id);
        self
    }

    /// The map cqrs-es stores with each event of the command.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            (CORRELATION_ID.to_string(), self.correlation_id.to_string()),
            (ACTOR.to_string(), self.actor.clone()),
        ]);
        if let Some(causation_id) = self.causation_id {
            map.insert(CAUSATION_ID.to_string(), causation_id.to_string());
        }
        map
    }
}
