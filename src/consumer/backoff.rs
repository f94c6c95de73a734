//! Capped exponential backoff with jitter for transient failures (database, content service,
//! broker down): the consumer waits longer after each failure of the same work, never spins,
//! and wakes at once when shutdown is requested.

use rand::Rng;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// First pause after a failure: long enough not to hammer a dependency that just dropped.
const FIRST: Duration = Duration::from_millis(100);
/// Longest pause: an outage is noticed within this much of its end.
const CAP: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: FIRST,
            failures: 0,
        }
    }
}

impl Backoff {
    /// Failures since the last [`Backoff::reset`].
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        *self = Backoff::default();
    }

    /// The next pause: between half and all of the current step (jitter spreads instances
    /// retrying against the same dependency), then the step doubles up to the cap.
    pub fn next_pause(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(CAP);
        self.failures += 1;
        rand::thread_rng().gen_range(step / 2..=step)
    }

    /// Sleeps the next pause; `false` when shutdown was requested instead.
    pub async fn wait(&mut self, shutdown: &CancellationToken) -> bool {
        let pause = self.next_pause();
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }
}

/// Shutdown was requested while work was still being retried: the work is not done, so the
/// messages it belongs to must not be marked done (their offsets are not stored and they are
/// redelivered). Not a failure: the caller stops and returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// Runs `attempt` until it succeeds, backing off after each failure (logged with `what`).
/// [`Interrupted`] when shutdown cut the retries short.
pub async fn until_done<T, F, Fut>(
    shutdown: &CancellationToken,
    what: &str,
    mut attempt: F,
) -> Result<T, Interrupted>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(done) => return Ok(done),
            Err(error) => {
                tracing::warn!(failures = backoff.failures() + 1, error = %format!("{error:#}"), "{what} failed; retrying");
                if !backoff.wait(shutdown).await {
                    return Err(Interrupted);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_stay_below_the_cap() {
        let mut backoff = Backoff::default();
        let pauses: Vec<Duration> = (0..20).map(|_| backoff.next_pause()).collect();
        assert!(pauses.iter().all(|p| *p <= CAP));
        assert!(pauses[19] >= CAP / 2, "the pause reaches the cap's range");
        assert!(pauses[0] <= FIRST);
    }

    #[tokio::test]
    async fn shutdown_interrupts_a_pause() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut backoff = Backoff::default();
        for _ in 0..10 {
            backoff.next_pause();
        }
        assert!(!backoff.wait(&shutdown).await);
    }
}
