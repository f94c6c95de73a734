//! What a request asks for, checked against the assignment's registry entry before anything
//! is registered: the grade scale, the anchors (their grades on that scale, their ids clear
//! of the students'), and that there is something to assess. A request that fails a check is
//! refused with a [`Refusal`], never half-registered.

use crate::registry::{self, AnchorEssay, RegistryError};
use cj_aggregates::batch::commands::AnchorRef;
use cj_aggregates::stats::grade_scale::GradeScale;
use cj_contracts::{EssayForCj, RequestEnvelope};
use sqlx::PgPool;

/// The scale and anchors a request's batch is registered with.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    pub grade_scale: GradeScale,
    pub anchors: Vec<AnchorRef>,
}

/// Why a request cannot be assessed. The failure event carries [`Refusal::code`] as its
/// `reason` and the message in its details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request lists no essays to assess")]
    NoEssays,
    #[error("assignment {assignment_id} is registered with grade scale {scale:?}, which this service does not know")]
    UnknownGradeScale {
        assignment_id: String,
        scale: String,
    },
    #[error("anchor {label:?} of assignment {assignment_id} has grade {grade:?}, which is not on scale {scale}")]
    AnchorGradeNotOnScale {
        assignment_id: String,
        label: String,
        grade: String,
        scale: String,
    },
    #[error("anchor {label:?} of assignment {assignment_id} cannot be given a valid essay id")]
    InvalidAnchor {
        assignment_id: String,
        label: String,
    },
    #[error("essay id {essay_id} is also the id of one of the assignment's anchors")]
    EssayIdIsAnAnchorId { essay_id: String },
}

impl Refusal {
    /// The machine-readable reason (`system_metadata.error_info.reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NoEssays => "no_essays",
            Refusal::UnknownGradeScale { .. } => "unknown_grade_scale",
            Refusal::AnchorGradeNotOnScale { .. } => "anchor_grade_not_on_scale",
            Refusal::InvalidAnchor { .. } => "invalid_anchor",
            Refusal::EssayIdIsAnAnchorId { .. } => "essay_id_is_an_anchor_id",
        }
    }
}

/// The plan of a request, or why it is refused. Only an unreadable registry is an error.
pub async fn plan(
    pool: &PgPool,
    envelope: &RequestEnvelope,
) -> Result<Result<BatchPlan, Refusal>, RegistryError> {
    let request = &envelope.data;
    if request.essays_for_cj.is_empty() {
        return Ok(Err(Refusal::NoEssays));
    }
    let Some(assignment_id) = request.assignment_id.as_deref() else {
        return Ok(Ok(BatchPlan {
            grade_scale: GradeScale::default(),
            anchors: Vec::new(),
        }));
    };
    assignment_plan(pool, assignment_id, &request.essays_for_cj).await
}

/// The plan of a batch of `students` for assignment `assignment_id` (its grade scale and
/// anchors), or why it cannot be assessed. A calibration round asks with no students.
pub async fn assignment_plan(
    pool: &PgPool,
    assignment_id: &str,
    students: &[EssayForCj],
) -> Result<Result<BatchPlan, Refusal>, RegistryError> {
    let grade_scale = match registry::get_instructions(pool, assignment_id).await {
        Ok(None) => GradeScale::default(),
        Ok(Some(instructions)) => match instructions.scale() {
            Ok(scale) => scale,
            Err(_) => {
                return Ok(Err(Refusal::UnknownGradeScale {
                    assignment_id: assignment_id.to_string(),
                    scale: instructions.grade_scale,
                }))
            }
        },
        Err(error) => return Err(error),
    };
    let registered = registry::list_anchors(pool, assignment_id).await?;
    Ok(
        anchors_on_scale(&registered, grade_scale, students).map(|anchors| BatchPlan {
            grade_scale,
            anchors,
        }),
    )
}

fn anchors_on_scale(
    registered: &[AnchorEssay],
    scale: GradeScale,
    students: &[EssayForCj],
) -> Result<Vec<AnchorRef>, Refusal> {
    let mut anchors = Vec::with_capacity(registered.len());
    for anchor in registered {
        if scale.index_of(&anchor.grade).is_none() {
            return Err(Refusal::AnchorGradeNotOnScale {
                assignment_id: anchor.assignment_id.clone(),
                label: anchor.label.clone(),
                grade: anchor.grade.clone(),
                scale: scale.id().to_string(),
            });
        }
        let anchor_ref = anchor.to_anchor_ref().map_err(|_| Refusal::InvalidAnchor {
            assignment_id: anchor.assignment_id.clone(),
            label: anchor.label.clone(),
        })?;
        if let Some(clash) = students
            .iter()
            .find(|essay| essay.essay_id == anchor_ref.essay_id)
        {
            return Err(Refusal::EssayIdIsAnAnchorId {
                essay_id: clash.essay_id.to_string(),
            });
        }
        anchors.push(anchor_ref);
    }
    Ok(anchors)
}
