//! Handling one assessment request message: decode it (dead-lettering what cannot be
//! decoded) and hand it to [`crate::intake`]. A refusal of the aggregate that no retry can
//! change is dead-lettered too; an unavailable dependency is an error, so the caller retries.

use super::dead_letter::DeadLetters;
use crate::intake::{Intake, IntakeError, IntakeOutcome};
use cj_projections::contracts::decode_request;
use rdkafka::message::Message;

#[derive(Clone)]
pub struct RequestHandler {
    pub intake: Intake,
    pub dead_letters: DeadLetters,
}

impl RequestHandler {
    /// Handles one request message; `Err` means "not done, try again".
    pub async fn handle<M: Message + Sync>(&self, message: &M) -> anyhow::Result<()> {
        let envelope = match decode_request(message.payload().unwrap_or_default()) {
            Ok(envelope) => envelope,
            Err(error) => return self.dead_letters.send(message, &error.to_string()).await,
        };
        match self.intake.handle(&envelope).await {
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
