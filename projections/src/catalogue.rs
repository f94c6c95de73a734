//! Every projection the service maintains, by name. A new projection is added to [`all`];
//! the supervisor, replay and the lag figures pick it up.

use crate::assignment_scales::AssignmentScales;
use crate::batch_states::BatchStates;
use crate::comparison_pairs::ComparisonPairs;
use crate::dispatch_queue::DispatchQueue;
use crate::error::ProjectionError;
use crate::essays::Essays;
use crate::grade_projections::GradeProjections;
use crate::outbox::projection::Outbox;
use crate::projection::Projection;
use std::sync::Arc;

pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(BatchStates),
        Arc::new(ComparisonPairs),
        Arc::new(Essays),
        Arc::new(GradeProjections),
        Arc::new(DispatchQueue),
        Arc::new(Outbox),
        Arc::new(AssignmentScales),
    ]
}

/// The projection called `name`.
pub fn named(name: &str) -> Result<Arc<dyn Projection>, ProjectionError> {
    let projections = all();
    let known = projections
        .iter()
        .map(|p| p.name())
        .collect::<Vec<_>>()
        .join(", ");
    projections
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| ProjectionError::UnknownProjection {
            name: name.to_string(),
            known,
        })
}

/// Names of all projections (the tables a full replay rebuilds, in order).
pub fn names() -> Vec<&'static str> {
    all().iter().map(|p| p.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cj_aggregates::CjBatchEvent;

    #[test]
    fn every_event_type_a_projection_wants_exists() {
        for projection in all() {
            for wanted in projection.event_types().unwrap_or_default() {
                assert!(
                    CjBatchEvent::NAMES.contains(wanted),
                    "{} wants unknown event type {wanted}",
                    projection.name()
                );
            }
        }
    }
}
