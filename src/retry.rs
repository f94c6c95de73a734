//! Capped exponential backoff with jitter for transient failures (database, content service,
//! broker down): the consumer waits longer after each failure of the same work, never spins,
//! and wakes at once when shutdown is requested.

use crate::backoff::Jitter;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The pause after each failure of the same work. The first step (100 ms) is long enough not
/// to hammer a dependency that just dropped; the longest (10 s) means an outage is noticed
/// within that much of its end. The pause is between half and all of the step (jitter
/// spreads instances retrying against the same dependency).
const RETRY_BACKOFF: crate::backoff::Backoff = crate::backoff::Backoff::new(
    Duration::from_millis(100),
    Duration::from_secs(10),
    Jitter::Half,
);

/// The retries of one piece of work: how many failed since the last reset.
#[derive(Debug, Clone, Default)]
pub struct Retries {
    failures: u32,
}

impl Retries {
    /// Failures since the last [`Retries::reset`].
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn reset(&mut self) {
        *self = Retries::default();
    }

    /// The next pause (`RETRY_BACKOFF` after as many doublings as failures so far); the
    /// step doubles per failure up to the cap.
    pub fn next_pause(&mut self) -> Duration {
        let pause = RETRY_BACKOFF.delay(self.failures);
        self.failures += 1;
        pause
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
    let mut backoff = Retries::default();
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
    fn steps_double_from_100_ms_to_10_s() {
        let ms = Duration::from_millis;
        let steps: Vec<Duration> = (0..10).map(|d| RETRY_BACKOFF.step(d)).collect();
        let expected = [
            100, 200, 400, 800, 1_600, 3_200, 6_400, 10_000, 10_000, 10_000,
        ];
        assert_eq!(steps, expected.map(ms));
        assert_eq!(RETRY_BACKOFF.step(u32::MAX), ms(10_000));
    }

    #[test]
    fn each_pause_is_between_half_and_all_of_its_step() {
        for _ in 0..20 {
            let mut backoff = Retries::default();
            for failures in 0..20 {
                assert_eq!(backoff.failures(), failures);
                let step = RETRY_BACKOFF.step(failures);
                let pause = backoff.next_pause();
                assert!(step / 2 <= pause && pause <= step, "{pause:?} for {step:?}");
            }
            backoff.reset();
            assert_eq!(backoff.failures(), 0);
            assert!(backoff.next_pause() <= Duration::from_millis(100));
        }
    }

    #[tokio::test]
    async fn shutdown_interrupts_a_pause() {
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        let mut backoff = Retries::default();
        for _ in 0..10 {
            backoff.next_pause();
        }
        assert!(!backoff.wait(&shutdown).await);
    }
}
