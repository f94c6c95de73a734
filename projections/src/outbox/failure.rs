//! The failure event of a failed batch, and the resource consumption event either ending
//! reports (the comparisons really made: first asks and retries, whatever their outcome).

use crate::outbox::history::FinishedBatch;
use cj_aggregates::batch::events::BatchFailed;
use cj_contracts::envelope::SOURCE_SERVICE;
use cj_contracts::failed::{self, CjAssessmentFailedV1};
use cj_contracts::resource::{self, ResourceConsumptionV1, RESOURCE_TYPE_CJ_COMPARISON};
use cj_contracts::system_metadata::{BatchStatus, ProcessingStage, SystemMetadata};
use serde_json::{Map, Value};

pub fn failure(batch: &FinishedBatch, failed: &BatchFailed) -> CjAssessmentFailedV1 {
    let header = batch.header(failed::EVENT_NAME);
    let mut error_info = Map::new();
    error_info.insert("reason".into(), Value::from(failed.reason.as_str()));
    error_info.insert("details".into(), Value::Object(failed.details.clone()));
    CjAssessmentFailedV1 {
        system_metadata: SystemMetadata::terminal(
            &header,
            ProcessingStage::Failed,
            batch.registered_at,
            error_info,
        ),
        header,
        status: BatchStatus::FailedCritically,
        cj_assessment_job_id: batch.registration.batch_id.to_string(),
    }
}

pub fn resource_consumption(batch: &FinishedBatch, comparisons_made: u32) -> ResourceConsumptionV1 {
    let registration = &batch.registration;
    ResourceConsumptionV1 {
        header: batch.header(resource::EVENT_NAME),
        user_id: registration.user_id.clone(),
        org_id: registration.org_id.clone(),
        resource_type: RESOURCE_TYPE_CJ_COMPARISON.to_string(),
        quantity: comparisons_made,
        service_name: SOURCE_SERVICE.to_string(),
        processing_id: registration.batch_id.to_string(),
        consumed_at: batch.ended_at,
    }
}
