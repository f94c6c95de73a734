//! What a comparison prompt says besides the two essays: the assessment instructions, the
//! student prompt and the rubric of the batch's assignment. They come from a
//! [`PromptContextSource`]; until a registry of assessment instructions is wired in,
//! [`NoPromptContext`] leaves them out and the prompt uses its default rubric.

use async_trait::async_trait;

/// The assignment-specific parts of a prompt; each may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptContext {
    pub instructions: Option<String>,
    pub student_prompt: Option<String>,
    pub rubric: Option<String>,
}

/// Where the prompt context of an assignment comes from.
#[async_trait]
pub trait PromptContextSource: Send + Sync + 'static {
    /// The context of `assignment_id` (`None`: the batch names no assignment). An error is
    /// treated as passing: the comparison is tried again later.
    async fn context_for(&self, assignment_id: Option<&str>) -> anyhow::Result<PromptContext>;
}

/// No instructions, student prompt or rubric for any assignment.
pub struct NoPromptContext;

#[async_trait]
impl PromptContextSource for NoPromptContext {
    async fn context_for(&self, _assignment_id: Option<&str>) -> anyhow::Result<PromptContext> {
        Ok(PromptContext::default())
    }
}
