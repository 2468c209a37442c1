//! Long-pollers: `GET /api/long-poll?since=<last>&timeout=10`, asked again
//! as soon as each answer arrives. Over the same hyper keep-alive connection
//! as the short pollers ([`Http1`]): one held request per client.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::http1::{Answer, Http1};
use crate::kind::Kind;
use crate::shared::Shared;

/// Seconds the server may hold one request (every peer accepts 1–60).
const HOLD_SECS: u64 = 10;

pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
) {
    let mut http = Http1::new(shared.clone(), n, Some(&learner));
    let t0 = Instant::now();
    // "Connected" is the open socket: the first answer may take HOLD_SECS.
    match http.connect().await {
        Ok(()) => shared.connected(Kind::LongPoll, t0.elapsed()),
        Err(e) => return shared.failed(Kind::LongPoll, "connect", e),
    }
    drop(permit);
    let mut since: Option<u64> = None;
    loop {
        let path = match since {
            Some(s) => format!(
                "/api/long-poll?since={s}&topics={}&timeout={HOLD_SECS}&limit=1000",
                shared.topic
            ),
            None => format!(
                "/api/long-poll?topics={}&timeout={HOLD_SECS}&limit=1000",
                shared.topic
            ),
        };
        let answer = tokio::select! {
            a = http.get(&path) => a,
            _ = shared.stop.cancelled() => return,
        };
        match answer.and_then(Answer::polled) {
            Ok(a) => {
                shared.answered(Kind::LongPoll, a.status == 204);
                if a.status == 200 {
                    shared.delivered(Kind::LongPoll, &a.body, a.at_us);
                }
                since = a.cursor().or(since);
            }
            Err(e) => {
                shared.error(Kind::LongPoll, e.kind(), &e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shared.stop.cancelled() => return,
                }
            }
        }
    }
}
