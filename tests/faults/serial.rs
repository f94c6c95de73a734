//! One fault at a time: every test of this binary holds [`one_fault_at_a_time`]'s guard
//! for its whole run, so no test's PostgreSQL restart or held transaction lands in another.

use tokio::sync::{Mutex, MutexGuard};

static TURN: Mutex<()> = Mutex::const_new(());

/// Waits for the turn; hold the guard until the test ends.
pub async fn one_fault_at_a_time() -> MutexGuard<'static, ()> {
    TURN.lock().await
}
