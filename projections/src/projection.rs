//! What a projection is: a name, the tables it alone writes, and how events change them.
//! `apply` and `apply_all` run inside the projector's transaction, which also advances the
//! checkpoint: they must write only through `conn` and take every time from the event
//! (`recorded_at`), never from a clock, so a rebuild equals the live tables row for row.

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

    /// Whether most of the log is events this projection does not want (it applies a
    /// batch's registration, scoring or end, where the log is mostly verdicts). Its
    /// projector then reads a span's types before a chunk and steps over a span without
    /// wanted events ([`crate::log::final_span_for`], [`crate::checkpoint::skip`]); that
    /// read costs more than the plain probe, so a projection whose spans are mostly wanted
    /// keeps the default. Needs [`Projection::event_types`].
    fn sparse(&self) -> bool {
        false
    }

    /// Applies one event. Events a projection does not care about are `Ok(())`.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &LoggedEvent,
    ) -> Result<(), ProjectionError>;

    /// Applies a chunk of events in log order, with the same result as applying them one
    /// by one (the default). The catalogue's projections fold a whole chunk in memory and
    /// write it with a few set-based statements ([`crate::fold`]); a chunk may hold event
    /// types beyond [`Projection::event_types`] (a replay feeding every projection from one
    /// read), which are ignored like any other.
    async fn apply_all(
        &self,
        conn: &mut PgConnection,
        events: &[LoggedEvent],
    ) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(&mut *conn, event).await?;
        }
        Ok(())
    }
}
