//! How a dropped client waits before it reconnects: the whole difference
//! between a thundering herd and a gentle return.

use std::time::Duration;

use poem_openapi::Enum;

/// Longest single wait of the back-off (its cap).
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// A reconnect strategy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Strategy {
    /// Every client waits the same `retry_ms`, every time, as `EventSource`
    /// does with the server's `retry:` field: they all come back together.
    #[default]
    Fixed,
    /// Exponential back-off with full jitter: attempt n waits a random time
    /// between 0 and min(10 s, `retry_ms` × 2ⁿ), so the returns spread out.
    BackoffJitter,
}

impl Strategy {
    /// The name the API uses (`fixed`, `backoff_jitter`).
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Fixed => "fixed",
            Strategy::BackoffJitter => "backoff_jitter",
        }
    }

    /// The wait before reconnect attempt `attempt` (1 for the first).
    pub fn wait(self, attempt: u32, retry: Duration, rng: &mut fastrand::Rng) -> Duration {
        match self {
            Strategy::Fixed => retry,
            Strategy::BackoffJitter => {
                let window = retry
                    .saturating_mul(1 << attempt.clamp(1, 16))
                    .min(MAX_WAIT);
                Duration::from_micros(rng.u64(0..=window.as_micros() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_waits_the_retry_and_jitter_spreads_within_a_growing_window() {
        let retry = Duration::from_millis(1000);
        let mut rng = fastrand::Rng::with_seed(7);
        assert_eq!(Strategy::Fixed.wait(1, retry, &mut rng), retry);
        assert_eq!(Strategy::Fixed.wait(5, retry, &mut rng), retry);
        let first: Vec<Duration> = (0..1000)
            .map(|_| Strategy::BackoffJitter.wait(1, retry, &mut rng))
            .collect();
        assert!(first.iter().all(|w| *w <= 2 * retry));
        let early = first.iter().filter(|w| **w < retry).count();
        assert!(
            (400..600).contains(&early),
            "uniform over [0, 2 s]: {early} below 1 s"
        );
        let late = Strategy::BackoffJitter.wait(30, retry, &mut rng);
        assert!(late <= MAX_WAIT, "capped");
    }

    #[test]
    fn the_same_seed_draws_the_same_waits() {
        let retry = Duration::from_millis(500);
        let draw = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (1..5)
                .map(|a| Strategy::BackoffJitter.wait(a, retry, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }
}
