//! One provider's limits: at most `concurrency` calls at once, at most `requests` calls and
//! `tokens` tokens in any window (a minute in production: requests and tokens per minute),
//! and a pause for everyone after the provider answered 429 with `Retry-After`. The window
//! is a log of the calls it holds, each with its tokens (estimated when admitted, settled
//! to what the provider counted). Time comes from the injected [`Clock`]; waiting re-reads
//! it, so a test's manual clock decides when a call is admitted.

use crate::clock::Clock;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Longest single sleep while waiting to be admitted: the clock is read again after it.
const RECHECK: Duration = Duration::from_millis(250);

/// The limits of one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub concurrency: usize,
    /// Calls per window; `None`: no limit.
    pub requests: Option<u32>,
    /// Tokens per window; `None`: no limit.
    pub tokens: Option<u64>,
    pub window: Duration,
}

/// Calls admitted in the current window.
#[derive(Debug, Default)]
struct Window {
    /// (admitted at, tokens, ticket), oldest first.
    admitted: VecDeque<(DateTime<Utc>, u64, u64)>,
    paused_until: Option<DateTime<Utc>>,
    next_ticket: u64,
}

/// A call's place in the window, to settle its tokens by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// The limits of one provider, shared by all its calls.
pub struct ProviderLimits {
    settings: LimitSettings,
    clock: Arc<dyn Clock>,
    in_flight: Arc<Semaphore>,
    window: Mutex<Window>,
}

/// A call in flight: holds one of the provider's concurrency slots until dropped.
pub struct Admitted {
    pub ticket: Ticket,
    _slot: OwnedSemaphorePermit,
}

fn chrono_of(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl ProviderLimits {
    pub fn new(settings: LimitSettings, clock: Arc<dyn Clock>) -> Self {
        ProviderLimits {
            in_flight: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            clock,
            window: Mutex::new(Window::default()),
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a concurrency slot and room in the window for one call of about
    /// `tokens` tokens, then admits it.
    pub async fn admit(&self, tokens: u64) -> Admitted {
        let slot = Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            match self.try_admit(self.clock.now(), tokens) {
                Ok(ticket) => {
                    return Admitted {
                        ticket,
                        _slot: slot,
                    }
                }
                Err(wait) => tokio::time::sleep(wait.min(RECHECK)).await,
            }
        }
    }

    /// Admits a call at `now`, or says how long until there may be room.
    pub fn try_admit(&self, now: DateTime<Utc>, tokens: u64) -> Result<Ticket, Duration> {
        let window = chrono_of(self.settings.window);
        let mut state = self.window();
        if let Some(until) = state.paused_until.filter(|until| now < *until) {
            return Err((until - now).to_std().unwrap_or_default());
        }
        while state
            .admitted
            .front()
            .is_some_and(|(at, _, _)| *at + window <= now)
        {
            state.admitted.pop_front();
        }
        let full_of_requests = self
            .settings
            .requests
            .is_some_and(|limit| state.admitted.len() >= limit as usize);
        let used: u64 = state.admitted.iter().map(|(_, t, _)| t).sum();
        let full_of_tokens = self
            .settings
            .tokens
            .is_some_and(|limit| !state.admitted.is_empty() && used + tokens > limit);
        if full_of_requests || full_of_tokens {
            let oldest = state.admitted.front().map_or(now, |(at, _, _)| *at);
            return Err((oldest + window - now).to_std().unwrap_or_default());
        }
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.admitted.push_back((now, tokens, ticket));
        Ok(Ticket(ticket))
    }

    /// Replaces the estimate of an admitted call with the tokens it used.
    pub fn settle(&self, ticket: Ticket, tokens: u64) {
        if let Some(entry) = self
            .window()
            .admitted
            .iter_mut()
            .find(|(_, _, t)| *t == ticket.0)
        {
            entry.1 = tokens;
        }
    }

    /// Admits nothing for `wait` from now (the provider said `Retry-After`).
    pub fn pause_for(&self, wait: Duration) {
        let until = self.clock.now() + chrono_of(wait);
        let mut state = self.window();
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limits(requests: Option<u32>, tokens: Option<u64>) -> (ProviderLimits, ManualClock) {
        let clock = ManualClock::starting_at(Utc::now());
        let settings = LimitSettings {
            concurrency: 4,
            requests,
            tokens,
            window: Duration::from_secs(60),
        };
        (
            ProviderLimits::new(settings, Arc::new(clock.clone())),
            clock,
        )
    }

    #[test]
    fn no_more_calls_in_a_window_than_the_limit_and_room_again_as_the_oldest_leaves() {
        let (limits, clock) = limits(Some(3), None);
        for _ in 0..3 {
            limits.try_admit(clock.now(), 10).expect("room");
            clock.advance(chrono::Duration::seconds(10));
        }
        let wait = limits.try_admit(clock.now(), 10).expect_err("full");
        assert_eq!(wait, Duration::from_secs(30));
        clock.advance(chrono::Duration::seconds(30));
        limits
            .try_admit(clock.now(), 10)
            .expect("the first left the window");
        assert!(limits.try_admit(clock.now(), 10).is_err());
    }

    #[test]
    fn tokens_count_as_settled_and_a_lone_large_call_is_still_admitted() {
        let (limits, clock) = limits(None, Some(1000));
        let first = limits.try_admit(clock.now(), 900).expect("room");
        assert!(limits.try_admit(clock.now(), 200).is_err());
        limits.settle(first, 300);
        limits
            .try_admit(clock.now(), 200)
            .expect("room after settling");
        let (alone, clock) = self::limits(None, Some(1000));
        alone
            .try_admit(clock.now(), 5000)
            .expect("an empty window admits");
    }

    #[test]
    fn a_retry_after_pauses_every_call_until_it_has_passed() {
        let (limits, clock) = limits(None, None);
        limits.pause_for(Duration::from_secs(7));
        assert_eq!(
            limits.try_admit(clock.now(), 1).expect_err("paused"),
            Duration::from_secs(7)
        );
        clock.advance(chrono::Duration::seconds(7));
        limits.try_admit(clock.now(), 1).expect("the pause is over");
    }
}
