//! When a connection that is not being answered must go.
//!
//! hyper holds a connection for as long as the client keeps it open. A
//! client that connects and says nothing, sends half a request head
//! ("slowloris"), or keeps an idle keep-alive forever pins a socket each;
//! thousands exhaust the file-descriptor table. Two deadlines end them:
//!
//! - **header read** (`--header-read-timeout-secs`): a new connection must
//!   deliver a complete request head within it;
//! - **idle** (`--idle-timeout-secs`): after an answer, the next request
//!   head must arrive within it (a partial head counts as idle).
//!
//! A connection with a request in flight (its handler running, or its
//! answer's body still streaming, as SSE does) is never idle: streams are
//! bounded by their own rules (heartbeats, write timeout, `--stream-max-secs`).
//! hyper's own header-read timer cannot tell the two deadlines apart (it
//! also runs while a keep-alive connection waits), so the server keeps this
//! clock itself.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The two deadlines, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl ConnectionTimeouts {
    /// `--header-read-timeout-secs` and `--idle-timeout-secs`.
    pub fn of(config: &crate::config::Config) -> Self {
        ConnectionTimeouts {
            header_read: Duration::from_secs(config.header_read_timeout_secs),
            idle: Duration::from_secs(config.idle_timeout_secs),
        }
    }
}

/// How many requests of one connection are in flight.
#[derive(Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// Requests answered so far: a change means the idle clock restarts.
    finished: AtomicUsize,
    changed: Notify,
}

/// One request in flight; dropping it (with the answer's body, or with the
/// handler when the connection goes) ends it.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
    }
}

/// An answer's body that keeps its request in flight until the body is
/// dropped. It forwards the body's size, so an answer of known length keeps
/// its `Content-Length` (a wrapper that hid it would turn every answer into
/// `Transfer-Encoding: chunked`).
pub struct InFlight<B> {
    body: B,
    _busy: Busy,
}

impl<B> InFlight<B> {
    pub fn new(body: B, busy: Busy) -> Self {
        InFlight { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for InFlight<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Activity {
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_waiters();
        Busy(self.clone())
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Resolves when the connection has waited too long for a request head:
    /// `header_read` after it opened without a first request, or `idle`
    /// after its last answer ended.
    pub async fn expired(&self, timeouts: ConnectionTimeouts) -> Expired {
        let mut waiting = Expired::HeaderRead;
        let mut since = Instant::now();
        let mut answered = 0;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let finished = self.finished.load(Ordering::Acquire);
            if finished != answered {
                answered = finished;
                waiting = Expired::Idle;
                since = Instant::now();
            }
            if self.busy() {
                changed.await;
                continue;
            }
            let limit = match waiting {
                Expired::HeaderRead => timeouts.header_read,
                Expired::Idle => timeouts.idle,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(since + limit) => {
                    if !self.busy() {
                        return waiting;
                    }
                }
                _ = changed => {}
            }
        }
    }
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No complete first request head in time (silent or slow client).
    HeaderRead,
    /// No next request after an answer in time (idle keep-alive).
    Idle,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: ConnectionTimeouts = ConnectionTimeouts {
        header_read: Duration::from_millis(100),
        idle: Duration::from_millis(300),
    };

    #[tokio::test]
    async fn a_silent_connection_expires_after_the_header_read_timeout() {
        let activity = Arc::new(Activity::default());
        let start = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Expired::HeaderRead);
        let waited = start.elapsed();
        assert!(
            waited >= TIMEOUTS.header_read && waited < TIMEOUTS.idle,
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn a_busy_connection_never_expires_and_then_gets_the_idle_timeout() {
        let activity = Arc::new(Activity::default());
        let busy = activity.begin();
        let watcher = {
            let activity = activity.clone();
            tokio::spawn(async move { activity.expired(TIMEOUTS).await })
        };
        tokio::time::sleep(TIMEOUTS.idle * 2).await;
        assert!(!watcher.is_finished(), "a streaming answer is not idle");
        let ended = Instant::now();
        drop(busy);
        assert_eq!(watcher.await.expect("watcher"), Expired::Idle);
        assert!(ended.elapsed() >= TIMEOUTS.idle, "{:?}", ended.elapsed());
    }
}
