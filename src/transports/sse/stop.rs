//! What ends a server-sent stream, watched in one place.
//!
//! `/api/sse` and `/api/traffic/stream` both wait on [`StreamEnds::next`]
//! beside their own source of events, so they stop for the same reasons and
//! give way to them in the same order: shutdown, the learner dropping their
//! streams, the lab's valve, the client hanging up, the `duration` deadline,
//! the idle-timeout fault; then what the stream has to write; heartbeats last.
//! A stream watches only the conditions it was given.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, Interval};
use tokio_util::sync::CancellationToken;

use super::heartbeat_timer;
use crate::traffic::CloseReason;
use crate::transports::until;
use crate::transports::valve::{Order, Valve};

/// What woke a stream up.
pub enum Wake<T> {
    /// Something ended the stream, for this reason.
    End(CloseReason),
    /// The stream's own source has something.
    Ready(T),
    /// Time for a heartbeat comment.
    Heartbeat,
}

/// The conditions that end one stream, and its heartbeat timer.
pub struct StreamEnds {
    shutdown: CancellationToken,
    deadline: Option<Instant>,
    /// Cancelled when the client closes its connection.
    hung_up: Option<CancellationToken>,
    /// Changes when the learner asks the server to drop their streams.
    dropped: Option<watch::Receiver<u64>>,
    /// The lab's fault actions: cut now (deploy) or go silent (half-open).
    valve: Valve,
    /// Close after this long without a write, as an idle proxy would.
    idle_timeout: Option<Duration>,
    last_write: Instant,
    heartbeat: Option<Interval>,
}

impl StreamEnds {
    /// A stream that ends on `shutdown` or at `deadline`, with no heartbeat.
    pub fn new(shutdown: CancellationToken, deadline: Option<Instant>) -> Self {
        StreamEnds {
            shutdown,
            deadline,
            hung_up: None,
            dropped: None,
            valve: Valve::never(),
            idle_timeout: None,
            last_write: Instant::now(),
            heartbeat: None,
        }
    }

    pub fn hung_up(self, hung_up: CancellationToken) -> Self {
        StreamEnds {
            hung_up: Some(hung_up),
            ..self
        }
    }

    pub fn dropped(self, dropped: watch::Receiver<u64>) -> Self {
        StreamEnds {
            dropped: Some(dropped),
            ..self
        }
    }

    pub fn valve(self, valve: Valve) -> Self {
        StreamEnds { valve, ..self }
    }

    pub fn idle_timeout(self, idle_timeout: Option<Duration>) -> Self {
        StreamEnds {
            idle_timeout,
            ..self
        }
    }

    /// A heartbeat every `every`, first one period from now; `None`: none.
    pub fn heartbeat(self, every: Option<Duration>) -> Self {
        StreamEnds {
            heartbeat: every.map(heartbeat_timer),
            ..self
        }
    }

    /// The stream wrote something: the idle timeout counts from now.
    pub fn wrote(&mut self) {
        self.last_write = Instant::now();
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.idle_timeout.map(|t| self.last_write + t)
    }

    /// Waits for whichever comes first: an end, `ready`, or a heartbeat.
    /// `ready` is dropped unfinished when something else wins.
    pub async fn next<T>(&mut self, ready: impl Future<Output = T>) -> Wake<T> {
        let idle_deadline = self.idle_deadline();
        let heartbeat = tick(self.heartbeat.as_mut());
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Wake::End(CloseReason::ShuttingDown),
            Ok(()) = changed(self.dropped.as_mut()) => Wake::End(CloseReason::DroppedOnRequest),
            order = self.valve.order() => Wake::End(match order {
                Order::Cut => CloseReason::Deployed,
                // Boxed: only a frozen stream pays for this wait's timers.
                Order::Freeze { until } => Box::pin(self.frozen(until)).await,
            }),
            _ = cancelled(self.hung_up.as_ref()) => Wake::End(CloseReason::ClientClosed),
            _ = until(self.deadline) => Wake::End(CloseReason::DurationPassed),
            _ = until(idle_deadline) => Wake::End(CloseReason::IdleTimeout),
            item = ready => Wake::Ready(item),
            _ = heartbeat => Wake::Heartbeat,
        }
    }

    /// Half-open: writes nothing more (no events, no heartbeats) until
    /// something ends the stream; says what did.
    async fn frozen(&mut self, give_up: Instant) -> CloseReason {
        let idle_deadline = self.idle_deadline();
        tokio::select! {
            _ = self.shutdown.cancelled() => CloseReason::ShuttingDown,
            Ok(()) = changed(self.dropped.as_mut()) => CloseReason::DroppedOnRequest,
            _ = cancelled(self.hung_up.as_ref()) => CloseReason::ClientLeftWhileHalfOpen,
            _ = until(self.deadline) => CloseReason::DurationPassed,
            _ = until(idle_deadline) => CloseReason::IdleTimeout,
            _ = tokio::time::sleep_until(give_up) => CloseReason::HalfOpenGaveUp,
        }
    }
}

/// The timer's next tick; never without a timer.
async fn tick(timer: Option<&mut Interval>) {
    match timer {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Resolves when `token` is cancelled; never without one.
async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// The next change of `rx` (an error once its sender is gone); never without one.
async fn changed(rx: Option<&mut watch::Receiver<u64>>) -> Result<(), watch::error::RecvError> {
    match rx {
        Some(rx) => rx.changed().await,
        None => std::future::pending().await,
    }
}
