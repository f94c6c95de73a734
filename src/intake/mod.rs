//! Intake: an assessment request becomes a batch. The batch id is derived from the request
//! envelope's `event_id` ([`BatchId::for_request`]), so a redelivered request lands on the
//! same aggregate and changes nothing.
//!
//! - [`plan`] — what the request asks for, checked against the assignment's registry entry
//!   (grade scale, anchors); a request that cannot be assessed is refused with a reason.
//! - [`essays`] — each essay's text fetched from the Content Service and hashed; an essay
//!   whose text is missing becomes a failed essay, reported with the batch's results.
//! - [`refusal`] — the `CJAssessmentFailedV1` a refused request is answered with.
//! - [`submission`] — a batch submitted over HTTP, turned into the same request envelope.
//! - [`calibration`] — a calibration round of an assignment's anchors, asked for by an
//!   operator (ADR 0012).
//!
//! Entered through [`Intake::handle`], called by the request consumer and by
//! `POST /api/v1/batches`.

pub mod calibration;
pub mod essays;
pub mod plan;
pub mod refusal;
pub mod submission;

use crate::config::ServiceSettings;
use crate::content::client::ContentClient;
use crate::kafka::producer::Publisher;
use crate::registry::RegistryError;
use crate::store::{BatchCommandBus, CommandError, CommandMetadata};
use anyhow::Context;
use cj_aggregates::batch::commands::{CloseIntake, RegisterBatch};
use cj_aggregates::batch::events::BatchPurpose;
use cj_aggregates::batch::settings::{BatchSettings, ComparisonBudget};
use cj_aggregates::ids::BatchId;
use cj_aggregates::{CjBatchCommand, CjBatchError};
use cj_contracts::RequestEnvelope;
use plan::{BatchPlan, Refusal};
use sqlx::PgPool;
use std::sync::Arc;

/// `actor` of the events intake causes.
pub const ACTOR: &str = "request-consumer";

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// The batch is registered (now or by an earlier delivery) and intake is closed.
    Registered {
        batch_id: BatchId,
        essays: usize,
        failed_essays: usize,
        anchors: usize,
    },
    /// The request cannot be assessed; `CJAssessmentFailedV1` was published.
    Refused { batch_id: BatchId, reason: String },
}

/// Why a request was not handled.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// A dependency (database, content service, broker) is unavailable: try again later.
    #[error("intake dependency unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// The aggregate refused the batch for a reason a retry cannot change.
    #[error("the batch refused the request: {0}")]
    Rejected(CjBatchError),
}

impl IntakeError {
    /// A refusal by the batch is final; anything else is a dependency to try again.
    fn from_command(error: CommandError) -> Self {
        match error {
            CommandError::Rejected(rejection) => IntakeError::Rejected(rejection),
            other => IntakeError::Unavailable(other.into()),
        }
    }
}

impl From<RegistryError> for IntakeError {
    fn from(error: RegistryError) -> Self {
        IntakeError::Unavailable(error.into())
    }
}

/// Everything a request needs to become a batch.
#[derive(Clone)]
pub struct Intake {
    pub pool: PgPool,
    pub bus: Arc<BatchCommandBus>,
    /// Where refusals are published; `None` when the service runs without Kafka
    /// (`--http-only`): a refusal is then answered only to the HTTP client that asked.
    pub publisher: Option<Publisher>,
    pub content: ContentClient,
    /// The largest budget a batch may have; requests may lower it.
    pub max_comparisons: ComparisonBudget,
    /// Where refusals are published.
    pub failed_topic: String,
}

impl Intake {
    /// The intake of a service run with `settings`.
    pub fn for_service(
        settings: &ServiceSettings,
        pool: PgPool,
        bus: Arc<BatchCommandBus>,
        publisher: Option<Publisher>,
        content: ContentClient,
    ) -> anyhow::Result<Intake> {
        Ok(Intake {
            pool,
            bus,
            publisher,
            content,
            max_comparisons: ComparisonBudget::new(settings.max_comparisons)
                .context("--max-comparisons must be at least 1")?,
            failed_topic: settings.kafka.topics.failed.clone(),
        })
    }

    pub async fn handle(&self, envelope: &RequestEnvelope) -> Result<IntakeOutcome, IntakeError> {
        let batch_id = BatchId::for_request(envelope.event_id);
        let plan = match plan::plan(&self.pool, envelope).await? {
            Ok(plan) => plan,
            Err(refusal) => return self.refuse(envelope, batch_id, refusal).await,
        };
        let fetched = essays::fetch_all(&self.content, &envelope.data.essays_for_cj)
            .await
            .map_err(|error| IntakeError::Unavailable(error.into()))?;
        let metadata =
            CommandMetadata::new(envelope.correlation_id, ACTOR).caused_by(envelope.event_id);
        let outcome = IntakeOutcome::Registered {
            batch_id,
            essays: fetched.essays.len(),
            failed_essays: fetched.failed.len(),
            anchors: plan.anchors.len(),
        };
        let register = self.register_command(envelope, batch_id, &plan, fetched);
        self.execute(batch_id, register, &metadata).await?;
        let anchors = CjBatchCommand::CloseIntake(CloseIntake {
            anchors: plan.anchors,
        });
        match self.execute(batch_id, anchors, &metadata).await {
            // A redelivered request finds intake closed (or the batch already ended).
            Err(IntakeError::Rejected(
                CjBatchError::IntakeClosed | CjBatchError::BatchTerminal { .. },
            )) => Ok(outcome),
            other => other.map(|()| outcome),
        }
    }

    fn register_command(
        &self,
        envelope: &RequestEnvelope,
        batch_id: BatchId,
        plan: &BatchPlan,
        fetched: essays::FetchedEssays,
    ) -> CjBatchCommand {
        let request = &envelope.data;
        let requested = envelope.metadata.as_ref().and_then(|m| m.max_comparisons);
        let mut settings =
            BatchSettings::with_budget(ComparisonBudget::resolve(self.max_comparisons, requested));
        settings.seed = planner_seed(batch_id);
        CjBatchCommand::RegisterBatch(Box::new(RegisterBatch {
            batch_id,
            upstream_batch_id: request.header.entity_id.clone(),
            request_event_id: envelope.event_id,
            request_correlation_id: envelope.correlation_id,
            essays: fetched.essays,
            failed_essays: fetched.failed,
            language: request.language.clone(),
            course_code: request.course_code.as_str().to_string(),
            assignment_id: request.assignment_id.clone(),
            user_id: request.user_id.clone(),
            org_id: request.org_id.clone(),
            grade_scale: plan.grade_scale,
            settings,
            llm: request.llm_config_overrides.clone().unwrap_or_default(),
            purpose: BatchPurpose::Assessment,
        }))
    }

    async fn execute(
        &self,
        batch_id: BatchId,
        command: CjBatchCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), IntakeError> {
        self.bus
            .execute(batch_id, command, metadata)
            .await
            .map_err(IntakeError::from_command)
    }

    async fn refuse(
        &self,
        envelope: &RequestEnvelope,
        batch_id: BatchId,
        refusal: Refusal,
    ) -> Result<IntakeOutcome, IntakeError> {
        let message =
            refusal::failed_event(envelope, &refusal, &self.failed_topic, chrono::Utc::now())
                .map_err(|error| IntakeError::Unavailable(error.into()))?;
        match &self.publisher {
            Some(publisher) => {
                publisher
                    .send(&self.failed_topic, &message.key, &message.payload, &[])
                    .await
                    .map_err(IntakeError::Unavailable)?;
                tracing::warn!(%batch_id, reason = %refusal, "request refused; CJAssessmentFailedV1 published");
            }
            None => {
                tracing::warn!(%batch_id, reason = %refusal, "request refused; no broker (HTTP-only), the refusal is answered to the client only");
            }
        }
        Ok(IntakeOutcome::Refused {
            batch_id,
            reason: refusal.to_string(),
        })
    }
}

/// The pair planner's seed: from the batch id, so the same request always plans the same
/// pairs.
fn planner_seed(batch_id: BatchId) -> u64 {
    let bytes = batch_id.0.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}
