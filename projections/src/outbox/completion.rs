//! The thin completion event of a completed batch: which student essays were assessed and
//! which failed at intake. Anchors are not the pipeline's essays and are left out.

use crate::outbox::history::FinishedBatch;
use cj_aggregates::batch::events::BatchScored;
use cj_contracts::completed::{self, CjAssessmentCompletedV1, ProcessingSummary};
use cj_contracts::system_metadata::{BatchStatus, ProcessingStage, SystemMetadata};
use serde_json::Map;

pub fn thin_completion(batch: &FinishedBatch, scored: &BatchScored) -> CjAssessmentCompletedV1 {
    let registration = &batch.registration;
    let header = batch.header(completed::EVENT_NAME);
    let successful_essay_ids: Vec<String> = scored
        .essays
        .iter()
        .filter(|essay| !essay.is_anchor)
        .map(|essay| essay.essay_id.to_string())
        .collect();
    let failed_essay_ids: Vec<String> = registration
        .failed_essays
        .iter()
        .map(|failed| failed.essay_id.to_string())
        .collect();
    let successful = successful_essay_ids.len() as u32;
    let failed = failed_essay_ids.len() as u32;
    CjAssessmentCompletedV1 {
        system_metadata: SystemMetadata::terminal(
            &header,
            ProcessingStage::Completed,
            batch.registered_at,
            Map::new(),
        ),
        header,
        status: BatchStatus::CompletedSuccessfully,
        cj_assessment_job_id: registration.batch_id.to_string(),
        processing_summary: ProcessingSummary {
            total_essays: successful + failed,
            successful,
            failed,
            successful_essay_ids,
            failed_essay_ids,
            processing_time_seconds: batch.duration_seconds(),
            single_essay_batch: successful < 2,
        },
    }
}
