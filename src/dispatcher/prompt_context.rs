//! What a comparison prompt says besides the two essays: the assessment instructions, the
//! student prompt and the rubric of the batch's assignment. They come from a
//! [`PromptContextSource`]: `serve` reads the assessment registry
//! (`crate::registry::RegistryPromptContext`); without one, [`NoPromptContext`] leaves them
//! out and the prompt uses its default rubric.
//!
//! [`ClaimContexts`] reads each assignment's context once per claim, not once per
//! comparison: a claim's comparisons leave within the same few milliseconds, so a read per
//! comparison bought no freshness, and at `bench scale`'s pace it was 28 % of all the
//! statements the service ran (41,005 of 145,343 for 40,000 comparisons). A change to an
//! assignment's instructions reaches every comparison claimed after it, as before; no
//! cache outlives the claim.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

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

/// A comparison's prompt context as its claim read it, or why the read failed.
pub type ClaimedContext = Result<Arc<PromptContext>, String>;

/// The prompt contexts of one claim's comparisons, each assignment's read once; a failed
/// read is kept as its message, so every comparison of that assignment is tried again later.
#[derive(Debug, Default)]
pub struct ClaimContexts {
    by_assignment: HashMap<Option<String>, ClaimedContext>,
}

impl ClaimContexts {
    /// Reads the context of every distinct assignment in `assignments`, all at once (a
    /// claim of many batches may name many assignments; a slow read of one does not
    /// queue the others behind it).
    pub async fn read<'a>(
        source: &dyn PromptContextSource,
        assignments: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Self {
        let mut distinct: Vec<Option<&str>> = Vec::new();
        for assignment in assignments {
            if !distinct.contains(&assignment) {
                distinct.push(assignment);
            }
        }
        let reads = distinct.iter().map(|assignment| async move {
            let context = source
                .context_for(*assignment)
                .await
                .map(Arc::new)
                .map_err(|error| format!("prompt context: {error:#}"));
            (assignment.map(str::to_owned), context)
        });
        ClaimContexts {
            by_assignment: futures::future::join_all(reads).await.into_iter().collect(),
        }
    }

    /// The context of `assignment`, or why it could not be read. An assignment this claim
    /// did not read is a caller's mistake, answered as a passing failure.
    pub fn of(&self, assignment: Option<&str>) -> ClaimedContext {
        self.by_assignment
            .get(&assignment.map(str::to_owned))
            .cloned()
            .unwrap_or_else(|| Err("prompt context: not read with this claim".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its reads; `broken` fails to read.
    #[derive(Default)]
    struct CountingSource {
        reads: AtomicUsize,
    }

    #[async_trait]
    impl PromptContextSource for CountingSource {
        async fn context_for(&self, assignment_id: Option<&str>) -> anyhow::Result<PromptContext> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            match assignment_id {
                Some("broken") => anyhow::bail!("registry down"),
                other => Ok(PromptContext {
                    instructions: other.map(|id| format!("instructions of {id}")),
                    ..PromptContext::default()
                }),
            }
        }
    }

    #[tokio::test]
    async fn a_claim_reads_each_assignment_once_however_many_comparisons_name_it() {
        // Given a claim of five comparisons: three of assignment a, one of b, one of none
        let source = CountingSource::default();
        let claim = [Some("a"), Some("a"), Some("b"), None, Some("a")];
        // When its contexts are read
        let contexts = ClaimContexts::read(&source, claim).await;
        // Then each assignment was read once and each comparison finds its own
        assert_eq!(source.reads.load(Ordering::SeqCst), 3);
        let instructions = |id| contexts.of(id).unwrap().instructions.clone();
        assert_eq!(
            instructions(Some("a")).as_deref(),
            Some("instructions of a")
        );
        assert_eq!(
            instructions(Some("b")).as_deref(),
            Some("instructions of b")
        );
        assert_eq!(instructions(None), None);
    }

    #[tokio::test]
    async fn a_failed_read_is_the_failure_of_that_assignment_only() {
        // Given a claim naming an assignment whose context cannot be read, and one that can
        let source = CountingSource::default();
        // When its contexts are read
        let contexts = ClaimContexts::read(&source, [Some("broken"), Some("a")]).await;
        // Then the broken one carries its reason and the other its context
        let error = contexts.of(Some("broken")).unwrap_err();
        assert!(error.contains("registry down"), "{error}");
        assert!(contexts.of(Some("a")).is_ok());
        // And an assignment the claim never named is not invented
        assert!(contexts.of(Some("c")).is_err());
    }
}
