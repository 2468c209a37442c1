//! One client's `/api/sse` stream: which events it sends, how the lab's
//! latency and buffering-proxy faults bend their timing, and what it tells
//! the traffic log. When it stops is [`StreamEnds`]' business.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::time::Instant;

use super::stop::{StreamEnds, Wake};
use super::{HEARTBEAT, MAX_HELD_BYTES, Opening, encode_reset};
use crate::connections::Permit;
use crate::hub::{Delivery, Event, Subscription, TopicFilter};
use crate::traffic::{CloseReason, Tap};
use crate::transports::context::StreamFaults;
use crate::transports::sse_names::EventNames;
use crate::transports::until;

/// One client's stream: what to send and when to stop.
pub(super) struct Session {
    pub(super) sub: Subscription,
    pub(super) topics: TopicFilter,
    pub(super) names: EventNames,
    pub(super) remaining: Option<u64>,
    pub(super) retry_ms: u64,
    pub(super) faults: StreamFaults,
    pub(super) held: ProxyBuffer,
    pub(super) ends: StreamEnds,
    pub(super) tap: Tap,
    /// Counts this stream as open until it is dropped.
    pub(super) _permit: Permit,
}

/// What the stream's own side has for it (besides heartbeats).
enum Ready {
    /// The buffering proxy's flush is due.
    Release,
    /// The next matching delivery; `None` when the hub is gone.
    Delivery(Option<Delivery>),
}

impl Session {
    pub(super) fn into_stream(self) -> BoxStream<'static, Bytes> {
        let opening = Opening {
            retry_ms: self.retry_ms,
            resume_point: self.sub.resume_point(),
        };
        let tap = self.tap.clone();
        let live = stream::unfold(self, |mut s| async move {
            let chunk = s.next_chunk().await?;
            Some((chunk, s))
        });
        stream::once(async move { log_opening(&tap, &opening) })
            .chain(live)
            .boxed()
    }

    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if self.remaining == Some(0) && self.held.is_empty() {
                self.tap.closing(CloseReason::LimitReached);
                return None;
            }
            let ready = ready(
                &mut self.sub,
                &self.topics,
                self.held.release_at(),
                self.remaining != Some(0),
            );
            let chunk = match self.ends.next(ready).await {
                Wake::End(reason) => {
                    self.tap.closing(reason);
                    return None;
                }
                Wake::Ready(Ready::Release) => self.held.release(&self.tap),
                Wake::Ready(Ready::Delivery(delivery)) => match delivery? {
                    Delivery::Event(event) => match self.on_event(event).await {
                        Some(chunk) => chunk,
                        None => continue,
                    },
                    Delivery::Reset(reset) => {
                        let chunk = encode_reset(&reset);
                        self.tap
                            .sse_field("reset", chunk.len(), Some(reset.message));
                        chunk
                    }
                },
                Wake::Heartbeat => {
                    self.tap.sse_field("heartbeat", HEARTBEAT.len(), None);
                    Bytes::from_static(HEARTBEAT)
                }
            };
            self.ends.wrote();
            return Some(chunk);
        }
    }

    /// An event to send, late by the latency fault; `None` while the
    /// buffering proxy holds it.
    async fn on_event(&mut self, event: Arc<Event>) -> Option<Bytes> {
        if let Some(n) = self.remaining.as_mut() {
            *n -= 1;
        }
        if let Some(latency) = self.faults.latency {
            Box::pin(tokio::time::sleep(latency)).await; // boxed: only the fault's streams pay
        }
        let chunk = self.names.encode(&event);
        let Some(every) = self.faults.buffer else {
            self.tap.sse_event(&event, chunk.len());
            return Some(chunk);
        };
        // The "proxy" holds it until its next flush, or until its buffer is
        // full, as nginx's is.
        let full = self.held.hold(event, chunk, every);
        full.then(|| self.held.release(&self.tap))
    }
}

/// The opening block, told to the traffic log field by field.
fn log_opening(tap: &Tap, opening: &Opening) -> Bytes {
    let fields = opening.fields();
    let [retry, rest] = &fields;
    let delay = Some(format!("{} ms", opening.retry_ms));
    match opening.resume_point {
        Some(id) => {
            tap.sse_field("retry", retry.len(), delay);
            tap.sse_field("id", rest.len(), Some(id.to_string()));
        }
        None => tap.sse_field("retry", retry.len() + rest.len(), delay),
    }
    fields.concat().into()
}

/// The flush of held events when it is due (there are some), else the next
/// delivery while the stream wants more; in that order.
async fn ready(
    sub: &mut Subscription,
    topics: &TopicFilter,
    release_at: Option<Instant>,
    wants_more: bool,
) -> Ready {
    let holding = release_at.is_some();
    tokio::select! {
        biased;
        _ = until(release_at), if holding => Ready::Release,
        delivery = sub.next_matching(topics), if wants_more => Ready::Delivery(delivery),
        else => std::future::pending().await,
    }
}

/// Events the buffering-proxy fault holds back (encoded), their size, and
/// when they go out together.
#[derive(Default)]
pub(super) struct ProxyBuffer {
    held: Vec<(Arc<Event>, Bytes)>,
    bytes: usize,
    release_at: Option<Instant>,
}

impl ProxyBuffer {
    fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// When the held events go out; `None` when none are held.
    fn release_at(&self) -> Option<Instant> {
        self.release_at.filter(|_| !self.held.is_empty())
    }

    /// Holds one event, flushing `every` after the first one held. Says
    /// whether the buffer is full, so it must go out now.
    fn hold(&mut self, event: Arc<Event>, chunk: Bytes, every: Duration) -> bool {
        if self.held.is_empty() {
            self.release_at = Some(Instant::now() + every);
        }
        self.bytes += chunk.len();
        self.held.push((event, chunk));
        self.bytes >= MAX_HELD_BYTES
    }

    /// Lets the held events through at once, as a buffering proxy's flush does.
    fn release(&mut self, tap: &Tap) -> Bytes {
        self.release_at = None;
        self.bytes = 0;
        let mut burst = Vec::new();
        for (event, chunk) in std::mem::take(&mut self.held) {
            tap.sse_event(&event, chunk.len());
            burst.extend_from_slice(&chunk);
        }
        Bytes::from(burst)
    }
}
