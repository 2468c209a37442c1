//! Short pollers: `GET /api/poll?since=<last>` every interval, or as fast as
//! the server answers (interval 0: the poll-throughput mode), over one
//! keep-alive connection each ([`Http1`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, MissedTickBehavior};

use crate::http1::{Answer, Http1};
use crate::kind::Kind;
use crate::shared::Shared;

/// A short poller: asks, records what came, waits `interval` (or not at all).
pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
    interval: Duration,
) {
    let named = (!shared.anonymous_pollers).then_some(learner.as_str());
    let mut http = Http1::new(shared.clone(), n, named);
    let mut permit = Some(permit);
    let t0 = Instant::now();
    let mut since: Option<u64> = None;
    let mut tick = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval(interval);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let path_for = |since: Option<u64>| match since {
        Some(s) => format!("/api/poll?since={s}&topics={}&limit=1000", shared.topic),
        None => format!("/api/poll?topics={}&limit=1000", shared.topic),
    };
    let mut path = path_for(since);
    // A poll is answered at once, so the stop signal is checked between
    // requests (cheaper than racing every request against it).
    while !shared.stop.is_cancelled() {
        if let Some(tick) = tick.as_mut() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shared.stop.cancelled() => return,
            }
        }
        match http.get(&path).await.and_then(Answer::polled) {
            Ok(a) => {
                if permit.take().is_some() {
                    shared.connected(Kind::Poll, t0.elapsed());
                }
                shared.answered(Kind::Poll, a.status == 204);
                if a.status == 200 {
                    shared.delivered(Kind::Poll, &a.body, a.at_us);
                }
                let next = a.cursor().or(since);
                if next != since {
                    since = next;
                    path = path_for(since);
                }
            }
            Err(e) => {
                if permit.take().is_some() {
                    // A poller that never got an answer is not retried.
                    shared.failed(Kind::Poll, e.kind(), &e);
                    return;
                }
                shared.error(Kind::Poll, e.kind(), &e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shared.stop.cancelled() => return,
                }
            }
        }
    }
}
