//! How fast one learner, one client address, one WebSocket connection and
//! the whole server may publish.
//!
//! The playground invites poking, and a runaway script in one tab must not
//! flood everybody else's streams. Publishing (`POST /api/events`,
//! `POST /api/chat`, WebSocket `publish` and `chat`) draws from token buckets:
//! one per learner, shared by all their requests and sockets; one per client
//! address, because a learner id is whatever the client says and a script can
//! make up a new one per request; one for the whole server, so that many
//! sources together cannot roll the replay window away; and one per WebSocket
//! connection. An empty bucket answers `429` with `Retry-After` (HTTP) or an
//! `error` message with `retry_after_ms` (WebSocket).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::problem::ApiError;

/// Past this many tracked learners, buckets that are full again are forgotten.
const FORGET_IDLE_AFTER: usize = 10_000;

/// How long a caller has to wait before its next publish may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header (at least 1).
    pub fn secs(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }

    pub fn millis(self) -> u64 {
        (self.0.as_millis() as u64).max(1)
    }

    /// The `429` problem for HTTP callers.
    pub fn into_problem(self, what: &str) -> ApiError {
        tracing::debug!(wait_ms = self.millis(), "refused: {what} too fast");
        ApiError::too_many_requests(
            format!(
                "You are {what} too fast: wait {} ms (see the publish rate limits in \
                 `--help`).",
                self.millis()
            ),
            self.secs(),
        )
    }
}

/// A bucket that refills at `per_second` and holds twice that.
fn quota(per_second: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
    Quota::per_second(rate).allow_burst(burst)
}

fn wait_of(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> RetryAfter {
    RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))
}

/// Who is publishing: the learner the request names and the address it came from.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub learner: Arc<str>,
    pub address: IpAddr,
}

impl Publisher {
    /// A client that reached no IP address (not over TCP) counts as "unspecified".
    pub fn new(learner: Arc<str>, address: Option<IpAddr>) -> Self {
        Publisher {
            learner,
            address: address.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        }
    }
}

/// The shared buckets: per learner, per address and for the whole server.
pub struct PublishLimits {
    per_learner: DefaultKeyedRateLimiter<Arc<str>>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    total: DefaultDirectRateLimiter,
    per_connection: u32,
}

impl PublishLimits {
    pub fn new(config: &Config) -> Self {
        PublishLimits {
            per_learner: RateLimiter::keyed(quota(config.publish_rate_per_learner)),
            per_address: RateLimiter::keyed(quota(config.publish_rate_per_address)),
            total: RateLimiter::direct(quota(config.publish_rate_total)),
            per_connection: config.publish_rate_per_connection,
        }
    }

    /// Takes one token from the learner's, the address's and the server's
    /// buckets, in that order; a refusal by one leaves the later ones untouched.
    pub fn check(&self, who: &Publisher) -> Result<(), RetryAfter> {
        if self.per_learner.len() > FORGET_IDLE_AFTER {
            self.per_learner.retain_recent();
            self.per_learner.shrink_to_fit();
        }
        if self.per_address.len() > FORGET_IDLE_AFTER {
            self.per_address.retain_recent();
            self.per_address.shrink_to_fit();
        }
        self.per_learner.check_key(&who.learner).map_err(wait_of)?;
        self.per_address.check_key(&who.address).map_err(wait_of)?;
        self.total.check().map_err(wait_of)
    }

    /// A fresh bucket for one WebSocket connection.
    pub fn for_connection(&self) -> ConnectionLimit {
        ConnectionLimit(RateLimiter::direct(quota(self.per_connection)))
    }
}

/// One WebSocket connection's own bucket.
pub struct ConnectionLimit(DefaultDirectRateLimiter);

impl ConnectionLimit {
    pub fn check(&self) -> Result<(), RetryAfter> {
        self.0.check().map_err(wait_of)
    }
}

/// How many bad messages (invalid, unknown, rate-limited) a WebSocket may send
/// before the server gives up on it with close code 1008. The budget refills
/// by a tenth per second, so an occasional typo never runs it dry.
pub struct ErrorBudget(DefaultDirectRateLimiter);

impl ErrorBudget {
    pub fn new(size: u32) -> Self {
        let burst = NonZeroU32::new(size.max(1)).unwrap_or(NonZeroU32::MIN);
        let refill = NonZeroU32::new((size / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        ErrorBudget(RateLimiter::direct(
            Quota::per_second(refill).allow_burst(burst),
        ))
    }

    /// Spends one; `false` once the budget is exhausted.
    pub fn spend(&self) -> bool {
        self.0.check().is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_learner: u32) -> PublishLimits {
        let config = Config {
            publish_rate_per_learner: per_learner,
            publish_rate_per_connection: 1,
            ..Config::for_tests()
        };
        PublishLimits::new(&config)
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    fn by(learner: &Arc<str>, address: IpAddr) -> Publisher {
        Publisher::new(learner.clone(), Some(address))
    }

    #[test]
    fn a_learner_gets_a_burst_of_twice_the_rate_then_waits() {
        let limits = limits(5);
        let me: Arc<str> = Arc::from("me");
        for _ in 0..10 {
            assert!(limits.check(&by(&me, HOME)).is_ok());
        }
        let wait = limits
            .check(&by(&me, HOME))
            .expect_err("the 11th in a burst is refused");
        assert!(wait.0 <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(wait.secs(), 1);
        // Somebody else is not affected.
        assert!(limits.check(&by(&Arc::from("you"), HOME)).is_ok());
    }

    #[test]
    fn new_learner_names_do_not_escape_the_address_bucket() {
        let config = Config {
            publish_rate_per_address: 5,
            ..Config::for_tests()
        };
        let limits = PublishLimits::new(&config);
        let accepted = (0..100)
            .filter(|i| {
                limits
                    .check(&by(&Arc::from(format!("fresh-{i}")), HOME))
                    .is_ok()
            })
            .count();
        assert_eq!(
            accepted, 10,
            "a burst of twice the address rate, whatever the names"
        );
        // Another address still publishes.
        assert!(limits.check(&by(&Arc::from("fresh-0"), ELSEWHERE)).is_ok());
    }

    #[test]
    fn the_server_wide_budget_holds_for_many_addresses() {
        let config = Config {
            publish_rate_total: 5,
            ..Config::for_tests()
        };
        let limits = PublishLimits::new(&config);
        let accepted = (0..100u8)
            .filter(|i| {
                let address = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, *i));
                limits
                    .check(&by(&Arc::from(format!("l-{i}")), address))
                    .is_ok()
            })
            .count();
        assert_eq!(accepted, 10);
    }

    #[test]
    fn a_connection_has_its_own_bucket() {
        let limits = limits(1000);
        let conn = limits.for_connection();
        assert!(conn.check().is_ok());
        assert!(conn.check().is_ok());
        assert!(conn.check().is_err());
        assert!(limits.for_connection().check().is_ok());
    }

    #[test]
    fn the_error_budget_runs_dry() {
        let budget = ErrorBudget::new(3);
        assert!(budget.spend() && budget.spend() && budget.spend());
        assert!(!budget.spend());
    }
}
