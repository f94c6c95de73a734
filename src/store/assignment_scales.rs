//! Where the command bus reads an assignment's current anchor scale before deciding a
//! command that can score one of its batches (ADR 0012): on PostgreSQL the latest version
//! of the `cj_assignment_scales` projection ([`ProjectedAssignmentScales`]); in memory one
//! given scale for every assignment ([`FixedAssignmentScale`]): none in the demo, so every
//! batch grades from its own anchors, and the simulation's learned or oracle scale when it
//! runs batches of one assignment in sequence.
//!
//! The projection may lag the log by a moment: a batch finishing right after another of its
//! assignment may read the scale without that one. Its `BatchScored` names the version it
//! used, so what it was graded from is never in doubt.

use super::event_log::LogError;
use cj_aggregates::stats::assignment_scale::AssignmentScale;
use sqlx::PgPool;

/// The source of assignments' current scales.
#[async_trait::async_trait]
pub trait AssignmentScales: Send + Sync {
    /// The assignment's latest scale; empty (version 0) before any batch is folded.
    async fn current(&self, assignment_id: &str) -> Result<AssignmentScale, LogError>;
}

/// The scales of the `cj_assignment_scales` projection.
pub struct ProjectedAssignmentScales {
    pool: PgPool,
}

impl ProjectedAssignmentScales {
    pub fn new(pool: PgPool) -> Self {
        ProjectedAssignmentScales { pool }
    }
}

#[async_trait::async_trait]
impl AssignmentScales for ProjectedAssignmentScales {
    async fn current(&self, assignment_id: &str) -> Result<AssignmentScale, LogError> {
        cj_projections::assignment_scales::current(&self.pool, assignment_id)
            .await
            .map_err(LogError::new)
    }
}

/// One scale for every assignment; the default (empty) grades every batch from its own
/// anchors.
#[derive(Debug, Clone, Default)]
pub struct FixedAssignmentScale(pub AssignmentScale);

#[async_trait::async_trait]
impl AssignmentScales for FixedAssignmentScale {
    async fn current(&self, _assignment_id: &str) -> Result<AssignmentScale, LogError> {
        Ok(self.0.clone())
    }
}
