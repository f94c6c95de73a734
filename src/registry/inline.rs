//! An assignment carried inline in a batch submission (`POST /api/v1/batches` with
//! `assignment`): a school or researcher without an admin can bring its grade scale,
//! instructions and anchor essays with the batch. The first submission registers it; every
//! later one must carry the same assignment (same scale, texts and anchors, compared by the
//! anchors' labels, grades and SHA-256), because the anchors of an assignment are what makes
//! its batches' grades comparable. A submission that differs is refused rather than
//! silently changing — or silently ignoring — the anchors other batches were graded by; an
//! admin changes a registered assignment through the admin routes.

use super::anchors::MIN_ANCHOR_CHARS;
use super::{
    add_anchor, get_instructions, list_anchors, upsert_instructions, InstructionsUpdate, NewAnchor,
    RegistryError,
};
use crate::content::hash::sha256_hex;
use crate::content::store::{put_text, StoreError};
use cj_aggregates::stats::grade_scale::GradeScale;
use serde::Deserialize;
use sqlx::PgPool;
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// An assignment as a submission carries it.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineAssignment {
    /// The assignment's id: batches that name it share its anchors.
    pub id: String,
    /// A grade scale id (`eng5_np_legacy`, `swedish_8_anchor`, …); default the service's.
    #[serde(default)]
    pub grade_scale: Option<String>,
    /// What the judge is told about the task.
    #[serde(default)]
    pub instructions: Option<String>,
    /// The prompt the students answered.
    #[serde(default)]
    pub student_prompt: Option<String>,
    /// How the judge should weigh the essays.
    #[serde(default)]
    pub rubric: Option<String>,
    /// Essays of known grade that place the batch's scale on the grade scale.
    #[serde(default)]
    pub anchors: Vec<InlineAnchor>,
}

/// One anchor essay of known grade, its text inline.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineAnchor {
    pub label: String,
    pub grade: String,
    pub text: String,
}

/// Why an inline assignment is not used.
#[derive(Debug, thiserror::Error)]
pub enum InlineAssignmentError {
    /// Not a usable assignment on its own terms (unknown scale, grade off it, short text…).
    #[error("assignment: {0}")]
    Invalid(String),
    /// Registered before with something else.
    #[error("assignment {assignment_id} is registered with different {what}; submit it as registered (or name it by assignment_id), or give this one a new id")]
    Differs {
        assignment_id: String,
        what: &'static str,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl InlineAssignment {
    /// Checks the assignment on its own: id, scale, and each anchor's label, grade and text.
    pub fn validate(&self) -> Result<GradeScale, InlineAssignmentError> {
        let invalid = |why: String| Err(InlineAssignmentError::Invalid(why));
        if self.id.trim().is_empty() {
            return invalid("id must not be empty".into());
        }
        let scale = match self.grade_scale.as_deref().map(str::parse::<GradeScale>) {
            None => GradeScale::default(),
            Some(Ok(scale)) => scale,
            Some(Err(error)) => return invalid(error.to_string()),
        };
        let mut labels = BTreeSet::new();
        for anchor in &self.anchors {
            if anchor.label.trim().is_empty() {
                return invalid("an anchor has an empty label".into());
            }
            if !labels.insert(anchor.label.as_str()) {
                return invalid(format!("anchor label {:?} is used twice", anchor.label));
            }
            if scale.index_of(&anchor.grade).is_none() {
                return invalid(format!(
                    "anchor {:?} has grade {:?}, which is not on scale {} (grades: {})",
                    anchor.label,
                    anchor.grade,
                    scale.id(),
                    scale.grades().join(", ")
                ));
            }
            let chars = anchor.text.trim().chars().count();
            if chars < MIN_ANCHOR_CHARS {
                return invalid(format!(
                    "anchor {:?} has {chars} characters; at least {MIN_ANCHOR_CHARS} are required",
                    anchor.label
                ));
            }
        }
        Ok(scale)
    }

    fn instructions(&self, scale: GradeScale) -> InstructionsUpdate {
        InstructionsUpdate {
            assignment_id: self.id.clone(),
            grade_scale: scale,
            instructions_text: self.instructions.clone(),
            student_prompt: self.student_prompt.clone(),
            judge_rubric: self.rubric.clone(),
        }
    }

    /// (label, grade, SHA-256 of the text) of every anchor: what "the same anchors" means.
    fn anchor_keys(&self) -> BTreeSet<(String, String, String)> {
        self.anchors
            .iter()
            .map(|a| (a.label.clone(), a.grade.clone(), sha256_hex(&a.text)))
            .collect()
    }
}

/// Registers `assignment` if its id is new; otherwise checks it is what was registered.
pub async fn ensure_registered(
    pool: &PgPool,
    assignment: &InlineAssignment,
) -> Result<(), InlineAssignmentError> {
    let scale = assignment.validate()?;
    let wanted = assignment.instructions(scale);
    match get_instructions(pool, &assignment.id).await? {
        Some(_) => {}
        None => {
            upsert_instructions(pool, &wanted).await?;
            for anchor in &assignment.anchors {
                let stored = put_text(pool, &anchor.text).await?;
                let new = NewAnchor {
                    assignment_id: &assignment.id,
                    label: &anchor.label,
                    grade: &anchor.grade,
                    text: &anchor.text,
                };
                match add_anchor(pool, &new, &stored).await {
                    // A submission racing this one registered it first: compared below.
                    Ok(_) | Err(RegistryError::DuplicateLabel { .. }) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            tracing::info!(
                assignment_id = %assignment.id,
                anchors = assignment.anchors.len(),
                "assignment registered from a batch submission"
            );
        }
    }
    matches_registration(pool, assignment, &wanted).await
}

async fn matches_registration(
    pool: &PgPool,
    assignment: &InlineAssignment,
    wanted: &InstructionsUpdate,
) -> Result<(), InlineAssignmentError> {
    let differs = |what| {
        Err(InlineAssignmentError::Differs {
            assignment_id: assignment.id.clone(),
            what,
        })
    };
    let Some(registered) = get_instructions(pool, &assignment.id).await? else {
        return differs("instructions (they were deleted meanwhile)");
    };
    if registered.grade_scale != wanted.grade_scale.id() {
        return differs("grade scale");
    }
    if (
        &registered.instructions_text,
        &registered.student_prompt,
        &registered.judge_rubric,
    ) != (
        &wanted.instructions_text,
        &wanted.student_prompt,
        &wanted.judge_rubric,
    ) {
        return differs("instructions, student prompt or rubric");
    }
    let registered_anchors: BTreeSet<(String, String, String)> = list_anchors(pool, &assignment.id)
        .await?
        .into_iter()
        .map(|a| (a.label, a.grade, a.content_sha256))
        .collect();
    if registered_anchors != assignment.anchor_keys() {
        return differs("anchors");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(label: &str, grade: &str) -> InlineAnchor {
        InlineAnchor {
            label: label.into(),
            grade: grade.into(),
            text: format!("An anchor essay graded {grade}. ").repeat(8),
        }
    }

    fn assignment(anchors: Vec<InlineAnchor>) -> InlineAssignment {
        InlineAssignment {
            id: "a1".into(),
            grade_scale: Some("swedish_8_anchor".into()),
            instructions: None,
            student_prompt: None,
            rubric: None,
            anchors,
        }
    }

    #[test]
    fn a_well_formed_assignment_names_its_scale() {
        let scale = assignment(vec![anchor("low", "F"), anchor("high", "A")])
            .validate()
            .expect("valid");
        assert_eq!(scale.id(), "swedish_8_anchor");
    }

    #[test]
    fn each_broken_rule_is_refused_with_its_reason() {
        let short = InlineAnchor {
            text: "too short".into(),
            ..anchor("s", "A")
        };
        let cases = [
            (
                assignment(vec![anchor("x", "A"), anchor("x", "B")]),
                "twice",
            ),
            (assignment(vec![anchor("x", "Z")]), "not on scale"),
            (assignment(vec![anchor(" ", "A")]), "empty label"),
            (assignment(vec![short]), "at least"),
            (
                InlineAssignment {
                    grade_scale: Some("no_such_scale".into()),
                    ..assignment(vec![])
                },
                "no_such_scale",
            ),
            (
                InlineAssignment {
                    id: "".into(),
                    ..assignment(vec![])
                },
                "id must not be empty",
            ),
        ];
        for (assignment, reason) in cases {
            let error = assignment.validate().expect_err("refused").to_string();
            assert!(error.contains(reason), "{reason}: {error}");
        }
    }
}
