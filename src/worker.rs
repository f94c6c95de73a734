//! The one shape of every long-running part of `serve`: a [`Worker`] is a name and the work
//! it does until a shutdown token is cancelled. Each part's module says how to build its
//! worker (`monitor::worker`, `Dispatcher::into_worker`, …); `serve` lists them in
//! [`Stage`]s and [`run_in_stages`] starts them all the same way and stops them stage by
//! stage, in the order listed.
//!
//! A stage is stopped by cancelling its token and waiting for its workers, for at most its
//! grace period when it has one (what is still running then is abandoned, like the tasks of
//! a process killed at the end of its grace); the next stage is stopped only after that.
//! So work that needs another worker while it finishes (the service's parts need the
//! projectors, which keep the dispatch queue and the batch states current) goes in an
//! earlier stage than the worker it needs.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What a worker's run returns: it ends when its shutdown token is cancelled (or on an
/// error it cannot get past).
pub type WorkerRun = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A named long-running part of the service.
pub struct Worker {
    name: &'static str,
    run: Box<dyn FnOnce(CancellationToken) -> WorkerRun + Send>,
}

impl Worker {
    /// A worker called `name` that does `run(shutdown)`.
    pub fn new<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Worker {
            name,
            run: Box::new(move |shutdown| Box::pin(run(shutdown))),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs until `shutdown` is cancelled.
    pub fn run(self, shutdown: CancellationToken) -> WorkerRun {
        (self.run)(shutdown)
    }
}

/// Workers stopped together: after the stages before, and before the stages after.
pub struct Stage {
    workers: Vec<Worker>,
    grace: Option<Duration>,
}

impl Stage {
    /// Workers given `grace` to finish once told to stop.
    pub fn within(grace: Duration, workers: Vec<Worker>) -> Self {
        Stage {
            workers,
            grace: Some(grace),
        }
    }

    /// Workers waited for however long they take to stop.
    pub fn to_the_end(workers: Vec<Worker>) -> Self {
        Stage {
            workers,
            grace: None,
        }
    }
}

/// A stage's workers, running.
struct RunningStage {
    stop: CancellationToken,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
    grace: Option<Duration>,
}

/// Starts every worker of every stage now, then, once `shutdown` is cancelled, stops the
/// stages one after another in order. A worker ending early (an error it could not get
/// past) is logged when the stages are collected; the others run on.
pub async fn run_in_stages(stages: Vec<Stage>, shutdown: CancellationToken) {
    let mut running = Vec::with_capacity(stages.len());
    for (index, stage) in stages.into_iter().enumerate() {
        // The first stage stops with `shutdown` itself; the later ones when their turn comes.
        let stop = if index == 0 {
            shutdown.child_token()
        } else {
            CancellationToken::new()
        };
        let mut tasks = JoinSet::new();
        for worker in stage.workers {
            let name = worker.name();
            let run = worker.run(stop.clone());
            tasks.spawn(async move { (name, run.await) });
        }
        running.push(RunningStage {
            stop,
            tasks,
            grace: stage.grace,
        });
    }
    shutdown.cancelled().await;
    for stage in running {
        stage.stop_and_wait().await;
    }
}

impl RunningStage {
    async fn stop_and_wait(mut self) {
        self.stop.cancel();
        let tasks = &mut self.tasks;
        let drained = async move {
            while let Some(finished) = tasks.join_next().await {
                match finished {
                    Ok((_, Ok(()))) => {}
                    Ok((worker, Err(error))) => {
                        tracing::error!(worker, error = %format!("{error:#}"), "worker ended with an error")
                    }
                    Err(error) => tracing::error!(%error, "worker panicked"),
                }
            }
        };
        match self.grace {
            None => drained.await,
            Some(grace) => {
                if tokio::time::timeout(grace, drained).await.is_err() {
                    tracing::warn!(
                        ?grace,
                        "grace period over; abandoning workers still running"
                    );
                    self.tasks.abort_all();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A worker that notes its name in `stopped` once it has seen its shutdown.
    fn noting(name: &'static str, stopped: &Arc<Mutex<Vec<&'static str>>>) -> Worker {
        let stopped = Arc::clone(stopped);
        Worker::new(name, move |shutdown| async move {
            shutdown.cancelled().await;
            stopped.lock().unwrap().push(name);
            Ok(())
        })
    }

    #[tokio::test]
    async fn a_later_stage_is_told_to_stop_only_after_the_earlier_one_has_stopped() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let slow_first = {
            let stopped = Arc::clone(&stopped);
            Worker::new("slow", move |shutdown| async move {
                shutdown.cancelled().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                stopped.lock().unwrap().push("slow");
                Ok(())
            })
        };
        let stages = vec![
            Stage::within(
                Duration::from_secs(10),
                vec![slow_first, noting("fast", &stopped)],
            ),
            Stage::to_the_end(vec![noting("last", &stopped)]),
        ];
        let running = tokio::spawn(run_in_stages(stages, shutdown.clone()));
        tokio::task::yield_now().await;
        assert!(
            stopped.lock().unwrap().is_empty(),
            "nothing stops before shutdown"
        );
        shutdown.cancel();
        running.await.unwrap();
        assert_eq!(*stopped.lock().unwrap(), ["fast", "slow", "last"]);
    }

    #[tokio::test]
    async fn a_worker_past_its_grace_is_abandoned_and_the_next_stage_still_stops() {
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let stuck = Worker::new("stuck", |_| std::future::pending());
        let failing = Worker::new("failing", |_| async { anyhow::bail!("broken") });
        let stages = vec![
            Stage::within(Duration::from_millis(20), vec![stuck, failing]),
            Stage::to_the_end(vec![noting("last", &stopped)]),
        ];
        shutdown.cancel();
        run_in_stages(stages, shutdown).await;
        assert_eq!(*stopped.lock().unwrap(), ["last"]);
    }
}
