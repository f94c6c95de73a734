//! A calibration round of an assignment (ADR 0012): a batch of the assignment's registered
//! anchors only, compared with each other, registered through the same command bus as any
//! batch and judged by the same dispatcher, so its `BatchScored` folds into the assignment's
//! scale and the assignment's first real batch is graded from a settled scale.
//!
//! The round's budget is `anchors × comparisons per anchor / 2` comparisons (each comparison
//! counts for both its anchors), at most the service's `--max-comparisons`; it runs to its
//! budget (no early stop on stability: the point is the anchors' standard errors). The batch
//! id is derived from the assignment and the request id (UUIDv5), so asking twice with the
//! same request id — or twice with none, which is one round per assignment — changes
//! nothing. Called by `cj-assessment calibrate` and
//! `POST /admin/v1/assignments/{assignment_id}/calibration-rounds`.

use super::plan::{assignment_plan, Refusal};
use super::{planner_seed, Intake, IntakeError};
use crate::store::{BatchCommandBus, CommandError, CommandMetadata};
use cj_aggregates::batch::commands::{CloseIntake, RegisterBatch};
use cj_aggregates::batch::events::BatchPurpose;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchError};
use sqlx::PgPool;
use uuid::Uuid;

/// Comparisons each anchor takes part in on average when the request names no number: 16,
/// the size measured in both simulated scenarios (docs/quality.md, "A round linked with a
/// slope"); 8 measured alike in today's scenario only.
pub const DEFAULT_COMPARISONS_PER_ANCHOR: u32 = 16;
/// The request id of a round asked for without one: one such round per assignment.
pub const DEFAULT_REQUEST_ID: &str = "calibration";
/// The namespace round request ids are hashed in. Fixed forever: changing it would give a
/// repeated request a new round.
const ROUND_NAMESPACE: Uuid = Uuid::from_u128(0x8c1f_6a52_0d3e_4b77_9e15_a2c4_3f60_d819);

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRequest {
    pub assignment_id: String,
    pub comparisons_per_anchor: u32,
    /// `None`: [`DEFAULT_REQUEST_ID`].
    pub request_id: Option<String>,
    /// Who asked (the admin token's subject, or the CLI's user): the batch's `user_id`.
    pub requested_by: String,
}

impl RoundRequest {
    pub fn request_id(&self) -> &str {
        self.request_id.as_deref().unwrap_or(DEFAULT_REQUEST_ID)
    }

    /// The request event id the round is registered under: one per assignment and request id.
    pub fn request_event_id(&self) -> Uuid {
        let name = format!("{}\n{}", self.assignment_id, self.request_id());
        Uuid::new_v5(&ROUND_NAMESPACE, name.as_bytes())
    }

    pub fn batch_id(&self) -> BatchId {
        BatchId::for_request(self.request_event_id())
    }
}

/// A round registered (now, or by an earlier request with the same id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundAccepted {
    pub batch_id: BatchId,
    pub request_id: String,
    pub anchors: usize,
    pub max_comparisons: u32,
    /// True when this request id was asked before: nothing was changed.
    pub already_requested: bool,
}

/// Why a round cannot be run (the operator can fix it; HTTP 422, CLI exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundRefusal {
    #[error("assignment {0:?} is not registered (no instructions and no anchors)")]
    UnknownAssignment(String),
    #[error("assignment {assignment_id:?} has {anchors} anchor(s); a calibration round needs at least 2")]
    TooFewAnchors {
        assignment_id: String,
        anchors: usize,
    },
    #[error("comparisons per anchor must be at least 1")]
    NoComparisons,
    #[error(transparent)]
    Plan(#[from] Refusal),
}

/// The round's budget: `anchors × per_anchor / 2`, rounded up, within the service's maximum.
pub fn round_budget(
    anchors: usize,
    per_anchor: u32,
    maximum: ComparisonBudget,
) -> ComparisonBudget {
    let total = (anchors as u64 * u64::from(per_anchor)).div_ceil(2);
    ComparisonBudget::resolve(maximum, Some(u32::try_from(total).unwrap_or(u32::MAX)))
}

impl Intake {
    /// [`request_round`] with this intake's database, command bus and maximum budget.
    pub async fn request_calibration_round(
        &self,
        request: &RoundRequest,
    ) -> Result<Result<RoundAccepted, RoundRefusal>, IntakeError> {
        request_round(&self.pool, &self.bus, self.max_comparisons, request).await
    }
}

/// Registers the calibration round `request` asks for (assignment registry in `pool`,
/// commands through `bus`, at most `max_comparisons`) and closes its intake, which plans
/// its first wave; or says why it cannot be run.
pub async fn request_round(
    pool: &PgPool,
    bus: &BatchCommandBus,
    max_comparisons: ComparisonBudget,
    request: &RoundRequest,
) -> Result<Result<RoundAccepted, RoundRefusal>, IntakeError> {
    if request.comparisons_per_anchor == 0 {
        return Ok(Err(RoundRefusal::NoComparisons));
    }
    let assignment_id = request.assignment_id.as_str();
    let plan = match assignment_plan(pool, assignment_id, &[]).await? {
        Ok(plan) => plan,
        Err(refusal) => return Ok(Err(refusal.into())),
    };
    if plan.anchors.len() < 2 {
        let known = !plan.anchors.is_empty()
            || crate::registry::get_instructions(pool, assignment_id)
                .await?
                .is_some();
        return Ok(Err(if known {
            RoundRefusal::TooFewAnchors {
                assignment_id: assignment_id.to_string(),
                anchors: plan.anchors.len(),
            }
        } else {
            RoundRefusal::UnknownAssignment(assignment_id.to_string())
        }));
    }
    let batch_id = request.batch_id();
    let request_event_id = request.request_event_id();
    let budget = round_budget(
        plan.anchors.len(),
        request.comparisons_per_anchor,
        max_comparisons,
    );
    let mut settings = BatchSettings::with_budget(budget);
    settings.seed = planner_seed(batch_id);
    settings.stop_when_stable = false;
    let register = RegisterBatch {
        upstream_batch_id: format!("calibration:{assignment_id}:{}", request.request_id()),
        assignment_id: Some(assignment_id.to_string()),
        user_id: request.requested_by.clone(),
        grade_scale: plan.grade_scale,
        purpose: BatchPurpose::CalibrationRound,
        ..RegisterBatch::new(batch_id, request_event_id, Vec::new(), settings)
    };
    let metadata = CommandMetadata::new(request_event_id, ACTOR).caused_by(request_event_id);
    let registered = bus
        .execute_decided(
            batch_id,
            CjBatchCommand::RegisterBatch(Box::new(register)),
            &metadata,
        )
        .await
        .map_err(IntakeError::from_command)?;
    let anchors = plan.anchors.len();
    let close = CjBatchCommand::CloseIntake(CloseIntake {
        anchors: plan.anchors,
    });
    match bus.execute(batch_id, close, &metadata).await {
        Err(CommandError::Rejected(
            CjBatchError::IntakeClosed | CjBatchError::BatchTerminal { .. },
        ))
        | Ok(()) => {}
        Err(other) => return Err(IntakeError::from_command(other)),
    }
    Ok(Ok(RoundAccepted {
        batch_id,
        request_id: request.request_id().to_string(),
        anchors,
        max_comparisons: budget.get(),
        already_requested: registered.is_empty(),
    }))
}

/// `actor` of the events a calibration round's request causes.
pub const ACTOR: &str = "calibration-round";

#[cfg(test)]
mod tests {
    use super::*;

    fn request(assignment: &str, request_id: Option<&str>) -> RoundRequest {
        RoundRequest {
            assignment_id: assignment.into(),
            comparisons_per_anchor: 8,
            request_id: request_id.map(Into::into),
            requested_by: "operator".into(),
        }
    }

    #[test]
    fn a_round_is_one_batch_per_assignment_and_request_id() {
        assert_eq!(
            request("a-1", None).batch_id(),
            request("a-1", Some(DEFAULT_REQUEST_ID)).batch_id()
        );
        assert_ne!(
            request("a-1", Some("r1")).batch_id(),
            request("a-1", Some("r2")).batch_id()
        );
        assert_ne!(
            request("a-1", Some("r1")).batch_id(),
            request("a-2", Some("r1")).batch_id()
        );
    }

    #[test]
    fn the_budget_counts_each_comparison_for_both_its_anchors_within_the_maximum() {
        let max = ComparisonBudget::new(1000).unwrap();
        assert_eq!(round_budget(10, 8, max).get(), 40);
        assert_eq!(round_budget(5, 3, max).get(), 8);
        assert_eq!(round_budget(100, 40, max).get(), 1000);
    }
}
