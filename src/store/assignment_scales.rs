//! Where the command bus reads an assignment's current anchor scale before deciding a
//! command that can score one of its batches (ADR 0012): on PostgreSQL the latest version
//! of the `cj_assignment_scales` projection ([`ProjectedAssignmentScales`]); in memory (the
//! demo, the simulation) there is none, and every batch grades from its own anchors
//! ([`NoAssignmentScales`]).
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

/// No scales: every batch grades from its own anchors.
pub struct NoAssignmentScales;

#[async_trait::async_trait]
impl AssignmentScales for NoAssignmentScales {
    async fn current(&self, _assignment_id: &str) -> Result<AssignmentScale, LogError> {
        Ok(AssignmentScale::default())
    }
}
