//! Waking projectors: one LISTEN connection per process on the channel the service notifies
//! after each append has committed (`src/store/append_wake.rs`: from a transaction of its
//! own, not the append's, whose commits a notification would serialise). Each notification
//! bumps a `watch` counter; a projector that was busy when it arrived still sees the change
//! on its next wait, so no wake-up is lost. Notifications are an optimisation only:
//! projectors also poll.

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The channel the service notifies after an append.
pub const CHANNEL: &str = "cj_events";

/// Pause before listening again after the connection failed.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// Starts listening; the receiver changes whenever events were committed.
pub async fn listen(
    pool: &PgPool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(watch::Receiver<u64>, JoinHandle<()>), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let (wake, woken) = watch::channel(0u64);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                received = listener.recv() => match received {
                    Ok(_) => {
                        wake.send_modify(|n| *n += 1);
                    }
                    Err(error) => {
                        // recv() reconnects on the next call; events committed meanwhile
                        // are found by the wake below or by polling.
                        tracing::warn!(%error, "event listener lost its connection");
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        wake.send_modify(|n| *n += 1);
                    }
                },
            }
        }
    });
    Ok((woken, task))
}
