//! Handling one assessment request message: decode it (dead-lettering what cannot be
//! decoded) and hand it to [`crate::intake`]. A refusal of the aggregate that no retry can
//! change is dead-lettered too; an unavailable dependency is an error, so the caller retries.

use super::dead_letter::DeadLetters;
use crate::intake::{Intake, IntakeError, IntakeOutcome};
use cj_aggregates::ids::BatchId;
use cj_contracts::{decode_request, RequestEnvelope};
use rdkafka::message::Message;
use tracing::{info_span, Instrument};

#[derive(Clone)]
pub struct RequestHandler {
    pub intake: Intake,
    pub dead_letters: DeadLetters,
}

impl RequestHandler {
    /// Handles one request message; `Err` means "not done, try again". Everything after
    /// decoding is logged inside a span with the batch's id and the request's correlation id.
    pub async fn handle<M: Message + Sync>(&self, message: &M) -> anyhow::Result<()> {
        let envelope = match decode_request(message.payload().unwrap_or_default()) {
            Ok(envelope) => envelope,
            Err(error) => return self.dead_letters.send(message, &error.to_string()).await,
        };
        let span = info_span!(
            "handle_request",
            batch_id = %BatchId::for_request(envelope.event_id),
            correlation_id = %envelope.correlation_id
        );
        self.handle_decoded(message, &envelope)
            .instrument(span)
            .await
    }

    async fn handle_decoded<M: Message + Sync>(
        &self,
        message: &M,
        envelope: &RequestEnvelope,
    ) -> anyhow::Result<()> {
        match self.intake.handle(envelope).await {
            Ok(IntakeOutcome::Registered {
                batch_id,
                essays,
                failed_essays,
                anchors,
            }) => {
                tracing::info!(%batch_id, upstream = %envelope.data.header.entity_id, essays, failed_essays, anchors, "request registered");
                Ok(())
            }
            Ok(IntakeOutcome::Refused { .. }) => Ok(()),
            Err(IntakeError::Unavailable(error)) => Err(error),
            Err(IntakeError::Rejected(rejection)) => {
                let reason = format!("the batch refused the request: {rejection}");
                self.dead_letters.send(message, &reason).await
            }
        }
    }
}
