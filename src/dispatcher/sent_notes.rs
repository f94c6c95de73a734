//! Noting accepted comparisons `sent`, the notes of concurrent sends in one statement.
//!
//! Each send notes its comparison as soon as the provider accepted it: a death between the
//! provider's 202 and the note is what makes the comparison go out again (one LLM call paid
//! twice), so the note must be durable and prompt. One statement per note made each a
//! durable commit of its own: with 64 sends in flight, `bench scale` found most of
//! PostgreSQL's active backends waiting on those notes' WAL flushes (`LWLock:WALWrite`),
//! each holding a send slot while it waited.
//!
//! So notes are grouped the way PostgreSQL groups commits: a note joins the pending list;
//! whoever holds the flush turn writes everything pending with one statement and hands each
//! note its result. A note waits for at most the flush in progress and its own, and every
//! note is still durable before its send returns.

use super::lease::HeldLeases;
use sqlx::PgPool;
use std::sync::Mutex;
use tokio::sync::oneshot;
use uuid::Uuid;

/// A note was not written (its send reports it unnoted; the recorder notes it again).
#[derive(Debug, Clone, thiserror::Error)]
#[error("noting comparisons sent: {0}")]
pub struct NoteError(String);

type Waiting = (Uuid, oneshot::Sender<Result<(), NoteError>>);

/// The pending notes and the one flush turn. One instance belongs to one lease holder (a
/// dispatcher's `Sender`): a flush writes every pending note under the holder of the note
/// that flushes.
#[derive(Default)]
pub struct SentNotes {
    pending: Mutex<Vec<Waiting>>,
    turn: tokio::sync::Mutex<()>,
}

impl SentNotes {
    /// Notes `id` sent under `leases`' holder, with whatever other notes are pending.
    pub async fn note(
        &self,
        pool: &PgPool,
        leases: &HeldLeases,
        id: Uuid,
    ) -> Result<(), NoteError> {
        let (done, mut outcome) = oneshot::channel();
        self.pending_notes().push((id, done));
        let _turn = self.turn.lock().await;
        // The flush before this turn may have carried this note already.
        match outcome.try_recv() {
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => {
                return Err(NoteError("the flush carrying it was cancelled".into()))
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let flushing = std::mem::take(&mut *self.pending_notes());
        let ids: Vec<Uuid> = flushing.iter().map(|(id, _)| *id).collect();
        let result = leases
            .marker()
            .sent(pool, &ids)
            .await
            .map_err(|error| NoteError(error.to_string()));
        // This note is among them: it was pending when the turn came, and only a flush
        // takes pending notes.
        for (_, done) in flushing {
            // A note whose send is gone has nobody to tell.
            let _ = done.send(result.clone());
        }
        result
    }

    fn pending_notes(&self) -> std::sync::MutexGuard<'_, Vec<Waiting>> {
        // Only pushed to and taken from: a panic cannot leave it half-changed.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}
