//! Runs every projector of a process until shutdown: each in its own task, woken by
//! [`crate::wake`] and by a polling fallback, retrying after errors with a pause.

use crate::projection::Projection;
use crate::runner::Projector;
use crate::wake;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Polling fallback: how long an idle projector waits without a notification. Events
/// held back by a transaction that rolled back (which notifies nobody) are picked up then.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Pause after a failed chunk before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Projectors running in the background; [`RunningProjectors::stop`] ends them.
pub struct RunningProjectors {
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts one projector task per projection.
pub async fn start(
    pool: &PgPool,
    projections: Vec<Arc<dyn Projection>>,
) -> Result<RunningProjectors, sqlx::Error> {
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (woken, listener) = wake::listen(pool, shutdown_rx.clone()).await?;
    let mut tasks = vec![listener];
    for projection in projections {
        let projector = Projector::new(pool.clone(), projection);
        tasks.push(tokio::spawn(run(
            projector,
            woken.clone(),
            shutdown_rx.clone(),
        )));
    }
    Ok(RunningProjectors { shutdown, tasks })
}

impl RunningProjectors {
    /// Signals shutdown and waits for every task; a chunk in flight finishes or rolls back.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "projector task panicked");
            }
        }
    }
}

async fn run(
    projector: Projector,
    mut woken: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let pause = match projector.catch_up().await {
            Ok(_) => POLL_INTERVAL,
            Err(error) => {
                tracing::error!(projector = projector.name(), %error, "projector failed; retrying");
                ERROR_PAUSE
            }
        };
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = woken.changed() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
