//! Fetching the request's essay texts from the Content Service. Each text is hashed (the log
//! keeps the hash of what was judged, never the text). An essay whose text is missing or
//! empty is a failed essay with its reason; an unavailable Content Service fails the whole
//! fetch, so the request is tried again later rather than registered with holes.

use crate::content::client::{ContentClient, ContentError};
use crate::content::hash::sha256_hex;
use cj_aggregates::batch::commands::{EssayRef, FailedEssay};
use cj_contracts::EssayForCj;
use futures::stream::{self, StreamExt};

/// The essays of a request after fetching their texts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchedEssays {
    pub essays: Vec<EssayRef>,
    pub failed: Vec<FailedEssay>,
}

/// Texts fetched at once: a class of essays arrives in the time of a few round trips
/// rather than one per essay, without flooding the Content Service.
const FETCH_CONCURRENCY: usize = 8;

/// Fetches every essay's text (in the request's order). `Err` only when the Content
/// Service is unavailable.
pub async fn fetch_all(
    content: &ContentClient,
    requested: &[EssayForCj],
) -> Result<FetchedEssays, ContentError> {
    let storage_ids: Vec<String> = requested
        .iter()
        .map(|e| e.text_storage_id.clone())
        .collect();
    let texts: Vec<Result<String, ContentError>> = stream::iter(storage_ids)
        .map(|storage_id| async move { content.fetch(&storage_id).await })
        .buffered(FETCH_CONCURRENCY)
        .collect()
        .await;
    let mut fetched = FetchedEssays::default();
    for (essay, text) in requested.iter().zip(texts) {
        match text {
            Ok(text) => fetched.essays.push(EssayRef {
                essay_id: essay.essay_id.clone(),
                text_storage_id: essay.text_storage_id.clone(),
                content_sha256: sha256_hex(&text),
            }),
            Err(error @ (ContentError::NotFound { .. } | ContentError::Empty { .. })) => {
                tracing::warn!(essay_id = %essay.essay_id, %error, "essay text unavailable; the essay is reported as failed");
                fetched.failed.push(FailedEssay {
                    essay_id: essay.essay_id.clone(),
                    reason: error.to_string(),
                });
            }
            Err(unavailable @ ContentError::Unavailable { .. }) => return Err(unavailable),
        }
    }
    Ok(fetched)
}
