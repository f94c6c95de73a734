//! The assessment registry: per assignment, its grade scale and judging instructions
//! ([`instructions`]) and its anchor essays of known grade ([`anchors`]). Intake reads it to
//! give each batch its scale and anchors; the CLI, the admin API and a batch submission that
//! carries its assignment inline ([`inline`]) fill it.

pub mod anchors;
pub mod inline;
pub mod instructions;

pub use anchors::{add_anchor, list_anchors, validate_anchor, AnchorEssay, NewAnchor};
pub use instructions::{
    delete_instructions, get_instructions, grade_scale_of, list_instructions, upsert_instructions,
    AssessmentInstructions, InstructionsUpdate,
};

use cj_aggregates::stats::grade_scale::UnknownGradeScale;

/// Why the registry refuses or cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    UnknownScale(#[from] UnknownGradeScale),
    #[error("grade {grade:?} is not on scale {scale} (grades: {grades})")]
    GradeNotOnScale {
        grade: String,
        scale: String,
        grades: String,
    },
    #[error("anchor text has {chars} characters; at least {min} are required")]
    AnchorTextTooShort { chars: usize, min: usize },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("assignment {assignment_id} already has an anchor labelled {label:?}")]
    DuplicateLabel {
        assignment_id: String,
        label: String,
    },
    #[error("registry database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The dispatcher's prompt context from the registry: an assignment's instructions, student
/// prompt and judging rubric.
pub struct RegistryPromptContext {
    pub pool: sqlx::PgPool,
}

#[async_trait::async_trait]
impl crate::dispatcher::prompt_context::PromptContextSource for RegistryPromptContext {
    async fn context_for(
        &self,
        assignment_id: Option<&str>,
    ) -> anyhow::Result<crate::dispatcher::prompt_context::PromptContext> {
        let Some(assignment_id) = assignment_id else {
            return Ok(Default::default());
        };
        Ok(match get_instructions(&self.pool, assignment_id).await? {
            Some(found) => crate::dispatcher::prompt_context::PromptContext {
                instructions: found.instructions_text,
                student_prompt: found.student_prompt,
                rubric: found.judge_rubric,
            },
            None => Default::default(),
        })
    }
}
