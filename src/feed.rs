//! Built-in publishers, so there is always something live to watch.
//!
//! A feed is a background task that publishes through the [`Backplane`] at a steady
//! average rate, at random moments (each wait is 50–150 % of the interval), as
//! real events arrive. A metronome would lock in phase with a poller of a
//! whole multiple of its period, so the poller would measure the same delay
//! every time instead of about half its interval, which lesson 02 teaches. Learners start, stop and re-rate feeds at runtime (through the API);
//! each feed owns a `watch` channel with its settings, so a change takes effect
//! at once instead of after the current sleep.
//!
//! With several instances behind one Redis, every instance runs its own
//! feeds (their events reach all instances): two instances with running
//! feeds publish twice as often. Pause the feeds on all but one
//! (`--feeds-paused`) for the single-instance rate. A feed that cannot
//! publish (Redis unreachable) skips the beat and tries again at the next.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::backplane::Backplane;
use crate::hub::NewEvent;

/// Slowest and fastest rates a learner may pick, in milliseconds between events.
pub const MIN_INTERVAL_MS: u64 = 50;
pub const MAX_INTERVAL_MS: u64 = 3_600_000;

/// Current settings of one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedSettings {
    pub running: bool,
    pub interval: Duration,
}

/// What a feed publishes. One implementation per built-in feed.
trait Generator: Send + 'static {
    fn next_event(&mut self) -> NewEvent;
}

/// A handle to one running feed task.
pub struct Feed {
    pub name: &'static str,
    pub description: &'static str,
    settings: watch::Sender<FeedSettings>,
    published: Arc<AtomicU64>,
}

impl Feed {
    pub fn settings(&self) -> FeedSettings {
        *self.settings.borrow()
    }

    /// Applies a change; `None` leaves that setting as it is.
    pub fn update(&self, running: Option<bool>, interval: Option<Duration>) -> FeedSettings {
        self.settings.send_modify(|s| {
            if let Some(running) = running {
                s.running = running;
            }
            if let Some(interval) = interval {
                s.interval = interval;
            }
        });
        self.settings()
    }

    /// How many events this feed has published since the server started.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

/// All built-in feeds.
pub struct Feeds {
    feeds: Vec<Feed>,
}

impl Feeds {
    /// Starts the built-in feeds (`ticker`, `notifications`) as tasks that end
    /// when `shutdown` is cancelled.
    pub fn start(
        backplane: &Backplane,
        initial: FeedSettings,
        shutdown: &CancellationToken,
    ) -> Self {
        let feeds = vec![
            spawn(
                "ticker",
                "Stock-price-like updates: a random walk over a few made-up symbols.",
                Box::new(Ticker::new()),
                backplane,
                initial,
                Duration::ZERO,
                shutdown,
            ),
            spawn(
                "notifications",
                "App notifications: comments, mentions, deploys and the like.",
                Box::new(Notifications { next: 0 }),
                backplane,
                initial,
                // Half a beat later, so the two feeds take turns instead of arriving in pairs.
                initial.interval / 2,
                shutdown,
            ),
        ];
        Feeds { feeds }
    }

    pub fn get(&self, name: &str) -> Option<&Feed> {
        self.feeds.iter().find(|f| f.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Feed> {
        self.feeds.iter()
    }
}

/// A wait of 50–150 % of `interval`: the same rate on average, at random moments.
fn around(interval: Duration) -> Duration {
    interval.mul_f64(0.5 + fastrand::f64())
}

fn spawn(
    name: &'static str,
    description: &'static str,
    mut generator: Box<dyn Generator>,
    backplane: &Backplane,
    initial: FeedSettings,
    offset: Duration,
    shutdown: &CancellationToken,
) -> Feed {
    let (settings, mut changes) = watch::channel(initial);
    let published = Arc::new(AtomicU64::new(0));
    let counter = published.clone();
    let backplane = backplane.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut next_at = Instant::now() + initial.interval + offset;
        loop {
            let current = *changes.borrow_and_update();
            if current.running {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    changed = changes.changed() => {
                        if changed.is_err() { return; }
                        // A new rate counts from now, so speeding up shows at once.
                        next_at = Instant::now() + changes.borrow().interval;
                    }
                    _ = sleep_until(next_at) => {
                        match backplane.publish(generator.next_event()).await {
                            Ok(_) => {
                                counter.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(err) => tracing::debug!(feed = name, %err, "a feed event was not published"),
                        }
                        next_at = Instant::now() + around(current.interval);
                    }
                }
            } else {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    changed = changes.changed() => {
                        if changed.is_err() { return; }
                        next_at = Instant::now() + changes.borrow().interval;
                    }
                }
            }
        }
    });
    Feed {
        name,
        description,
        settings,
        published,
    }
}

struct Ticker {
    prices: Vec<(&'static str, f64)>,
    rng: fastrand::Rng,
}

impl Ticker {
    fn new() -> Self {
        Ticker {
            prices: vec![
                ("ACME", 101.0),
                ("GLOBX", 48.5),
                ("INITECH", 12.25),
                ("UMBRL", 230.0),
            ],
            rng: fastrand::Rng::new(),
        }
    }
}

impl Generator for Ticker {
    fn next_event(&mut self) -> NewEvent {
        let i = self.rng.usize(..self.prices.len());
        let (symbol, price) = &mut self.prices[i];
        // A step of up to ±1.5 %, rounded to cents, never below one cent.
        let step = (self.rng.f64() - 0.5) * 0.03 * *price;
        let new_price = ((*price + step) * 100.0).round().max(1.0) / 100.0;
        let change = ((new_price - *price) * 100.0).round() / 100.0;
        *price = new_price;
        NewEvent {
            topic: "ticker".into(),
            kind: "price".into(),
            data: serde_json::json!({
                "symbol": symbol,
                "price": new_price,
                "change": change,
            }),
        }
    }
}

struct Notifications {
    next: usize,
}

const NOTIFICATIONS: &[(&str, &str, &str)] = &[
    ("comment", "info", "Ada commented on your pull request"),
    ("mention", "info", "Linus mentioned you in #backend"),
    ("deploy", "success", "Deploy #318 to production finished"),
    ("alert", "warning", "Disk usage on db-2 is above 80 %"),
    ("follow", "info", "Grace started following you"),
    ("build", "error", "Build #1207 failed on main"),
    ("invite", "info", "You were invited to the design review"),
    ("payment", "success", "Invoice INV-2031 was paid"),
];

impl Generator for Notifications {
    fn next_event(&mut self) -> NewEvent {
        let (kind, level, text) = NOTIFICATIONS[self.next % NOTIFICATIONS.len()];
        self.next += 1;
        NewEvent {
            topic: "notifications".into(),
            kind: "notification".into(),
            data: serde_json::json!({ "category": kind, "level": level, "text": text }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Delivery;

    #[test]
    fn waits_vary_around_the_interval_and_average_it() {
        let interval = Duration::from_millis(2000);
        let waits: Vec<Duration> = (0..2000).map(|_| around(interval)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= interval / 2 && *w < interval * 3 / 2)
        );
        let mean = waits.iter().sum::<Duration>() / 2000;
        assert!(
            mean > interval * 9 / 10 && mean < interval * 11 / 10,
            "{mean:?}"
        );
        assert!(
            waits.iter().any(|w| *w < interval * 3 / 4),
            "not a metronome"
        );
    }

    #[tokio::test]
    async fn a_started_feed_publishes_and_a_stopped_one_does_not() {
        let hub = crate::hub::Hub::new(100, 100);
        let backplane = Backplane::memory(hub.clone(), crate::chat::ChatRoom::new(4));
        let shutdown = CancellationToken::new();
        let stopped = FeedSettings {
            running: false,
            interval: Duration::from_millis(MIN_INTERVAL_MS),
        };
        let feeds = Feeds::start(&backplane, stopped, &shutdown);
        let mut sub = hub.subscribe(crate::hub::Cursor::Now);
        feeds
            .get("ticker")
            .expect("ticker")
            .update(Some(true), None);
        match sub.next().await {
            Some(Delivery::Event(e)) => {
                assert_eq!(e.topic, "ticker");
                assert!(e.data["price"].as_f64().is_some());
            }
            other => panic!("unexpected {other:?}"),
        }
        let ticker = feeds.get("ticker").expect("ticker");
        ticker.update(Some(false), None);
        assert!(!ticker.settings().running);
        assert!(
            feeds
                .get("notifications")
                .is_some_and(|f| f.published() == 0)
        );
        shutdown.cancel();
    }
}
