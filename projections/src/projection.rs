//! What a projection is: a name, the tables it alone writes, and how events change them.
//! `apply` and `apply_all` run inside the projector's transaction, which also advances the
//! checkpoint: they must write only through `conn` and take every time from the event
//! (`recorded_at`), never from a clock, so a rebuild equals the live tables row for row.

use crate::chunk::{is_callback_or_submission, steps, Step};
use crate::error::ProjectionError;
use crate::log::LoggedEvent;
use sqlx::PgConnection;

#[async_trait::async_trait]
pub trait Projection: Send + Sync {
    /// The projector's name: its checkpoint row and `replay --projection NAME`.
    fn name(&self) -> &'static str;

    /// The tables this projection alone writes; replay truncates them.
    fn tables(&self) -> &'static [&'static str];

    /// The event types (`CjBatchEvent::name`) `apply` does anything with; the others are
    /// skipped without being read whole or decoded. `None`: every type.
    fn event_types(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Applies one event. Events a projection does not care about are `Ok(())`.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &LoggedEvent,
    ) -> Result<(), ProjectionError>;

    /// Applies a run of callbacks and submissions ([`crate::chunk`]) together. By default
    /// one by one; a projection whose writes for them commute overrides it with set-based
    /// statements, with the same result.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        run: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        for event in run {
            self.apply(&mut *conn, event).await?;
        }
        Ok(())
    }

    /// Applies a chunk of events in log order: runs through [`Projection::apply_run`], every
    /// other event through [`Projection::apply`].
    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        for step in steps(events, is_callback_or_submission) {
            match step {
                Step::One(event) => self.apply(&mut *conn, event).await?,
                Step::Run(run) => self.apply_run(&mut *conn, run).await?,
            }
        }
        Ok(())
    }
}
