//! Capped exponential back-off: a first step that doubles per attempt up to a ceiling, with
//! the jitter each use needs. Each use names its own [`Backoff`] constant next to the code
//! that waits (why those numbers lives there): the command bus's conflict retries, the
//! dispatcher's provider retries, the consumer's transient-failure retries.

use rand::Rng;
use std::time::Duration;

/// How much of a step is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the step: the delay is stored or compared, not only slept.
    None,
    /// Uniformly between zero and the step (full jitter).
    Full,
    /// Uniformly between half the step and the step.
    Half,
}

/// A capped doubling schedule; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    ceiling: Duration,
    jitter: Jitter,
}

impl Backoff {
    pub const fn new(first: Duration, ceiling: Duration, jitter: Jitter) -> Self {
        Backoff {
            first,
            ceiling,
            jitter,
        }
    }

    /// The step after `doublings` doublings of the first: `first * 2^doublings`, at most the
    /// ceiling (doublings past 16 add nothing).
    pub fn step(&self, doublings: u32) -> Duration {
        self.first
            .saturating_mul(1 << doublings.min(16))
            .min(self.ceiling)
    }

    /// The delay after `doublings` doublings: the [`Backoff::step`] with this schedule's
    /// jitter.
    pub fn delay(&self, doublings: u32) -> Duration {
        let step = self.step(doublings);
        match self.jitter {
            Jitter::None => step,
            Jitter::Full => rand::thread_rng().gen_range(Duration::ZERO..=step),
            Jitter::Half => rand::thread_rng().gen_range(step / 2..=step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_step_doubles_from_the_first_up_to_the_ceiling() {
        let backoff = Backoff::new(MS(3), MS(20), Jitter::None);
        let steps: Vec<Duration> = (0..6).map(|d| backoff.step(d)).collect();
        assert_eq!(steps, [MS(3), MS(6), MS(12), MS(20), MS(20), MS(20)]);
        assert_eq!(backoff.step(u32::MAX), MS(20));
    }

    #[test]
    fn doublings_stop_at_sixteen_below_a_far_ceiling() {
        let backoff = Backoff::new(MS(1), Duration::MAX, Jitter::None);
        assert_eq!(backoff.step(16), MS(1 << 16));
        assert_eq!(backoff.step(40), MS(1 << 16));
    }

    #[test]
    fn jitter_keeps_the_delay_in_its_range() {
        let full = Backoff::new(MS(8), MS(64), Jitter::Full);
        let half = Backoff::new(MS(8), MS(64), Jitter::Half);
        let none = Backoff::new(MS(8), MS(64), Jitter::None);
        for doublings in 0..10 {
            for _ in 0..50 {
                let step = full.step(doublings);
                assert!(full.delay(doublings) <= step);
                let delay = half.delay(doublings);
                assert!(step / 2 <= delay && delay <= step);
                assert_eq!(none.delay(doublings), step);
            }
        }
    }
}
