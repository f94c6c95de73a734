//! What a projection is: a name, the tables it alone writes, and how one event changes
//! them. `apply` runs inside the projector's transaction, which also advances the
//! checkpoint: it must write only through `conn` and take every time from the event
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

    /// Applies one event. Events a projection does not care about are `Ok(())`.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &LoggedEvent,
    ) -> Result<(), ProjectionError>;
}
