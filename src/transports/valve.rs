//! The valve: how the lab reaches into a learner's open SSE streams and
//! WebSockets without living inside their loops.
//!
//! Each open stream or socket holds a [`Valve`] for its learner and selects
//! on [`Valve::order`] next to its other wake-ups. The lab's fault actions
//! send one [`Order`] to all of that learner's connections at once: cut them
//! now (a deploy restarts the server behind them) or freeze them (a half-open
//! connection: the socket stays, nothing more is written). Only connections
//! open when the order is sent receive it; later ones start clean.
//!
//! [`silent_until`] is the frozen side of a raw socket: it keeps reading (and
//! ignoring) what the client sends, so a client that leaves is still noticed,
//! and writes nothing at all — not a pong, not a close frame.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::time::Instant;

/// Learners kept before those without an open connection are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// What a learner's open connections are told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// End now, as a server that is being restarted does.
    Cut,
    /// Write nothing more (no events, heartbeats, pings or close frame);
    /// give up on the connection at `until`.
    Freeze { until: Instant },
}

/// One connection's end of the valve.
pub struct Valve(Option<watch::Receiver<Option<Order>>>);

impl Valve {
    /// A valve that never turns (for sessions no learner can reach).
    pub fn never() -> Self {
        Valve(None)
    }

    /// The next order sent after this valve was attached. Cancel-safe, so
    /// it can sit in a `select!` loop.
    pub async fn order(&mut self) -> Order {
        let Some(rx) = self.0.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
            if let Some(order) = *rx.borrow_and_update() {
                return order;
            }
        }
    }
}

/// The senders, one per learner with an open connection.
#[derive(Default)]
pub struct Valves {
    senders: Mutex<HashMap<Arc<str>, watch::Sender<Option<Order>>>>,
}

impl Valves {
    /// A valve for a connection `learner` opens now.
    pub fn attach(&self, learner: &Arc<str>) -> Valve {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        if senders.len() > PRUNE_ABOVE {
            senders.retain(|_, s| s.receiver_count() > 0);
        }
        let rx = senders
            .entry(learner.clone())
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        Valve(Some(rx))
    }

    /// Sends `order` to every connection `learner` has open; returns how many.
    pub fn send(&self, learner: &str, order: Order) -> usize {
        let senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        match senders.get(learner) {
            Some(s) => {
                // Counted first: a connection may end, dropping its valve,
                // the moment it receives the order.
                let open = s.receiver_count();
                s.send_replace(Some(order));
                open
            }
            None => 0,
        }
    }
}

/// Why a frozen socket stopped being held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// The client closed or reset its end.
    ClientLeft,
    /// `until` came: the server gives up on the connection.
    GaveUp,
}

/// Reads and discards whatever the client sends until it leaves or `until`
/// comes; writes nothing.
pub async fn silent_until<S: AsyncRead + Unpin>(raw: &mut S, until: Instant) -> Silence {
    // On the heap: an array would make every session's future larger.
    let mut sink = vec![0u8; 1024];
    tokio::select! {
        _ = tokio::time::sleep_until(until) => Silence::GaveUp,
        _ = async {
            while matches!(raw.read(&mut sink).await, Ok(n) if n > 0) {}
        } => Silence::ClientLeft,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn only_connections_open_when_the_order_is_sent_receive_it() {
        let valves = Valves::default();
        let learner: Arc<str> = Arc::from("a");
        let mut before = valves.attach(&learner);
        let mut other = valves.attach(&Arc::from("b"));
        assert_eq!(valves.send("a", Order::Cut), 1);
        let mut after = valves.attach(&learner);
        assert_eq!(before.order().await, Order::Cut);
        let quiet = tokio::time::timeout(Duration::from_millis(20), async {
            tokio::select! {
                _ = after.order() => "after",
                _ = other.order() => "other",
            }
        })
        .await;
        assert!(
            quiet.is_err(),
            "{quiet:?} received an order meant for others"
        );
        assert_eq!(valves.send("nobody", Order::Cut), 0);
    }

    #[tokio::test]
    async fn a_silent_socket_notices_the_client_leave() {
        let (mut server, mut client) = tokio::io::duplex(64);
        let until = Instant::now() + Duration::from_secs(10);
        let held = tokio::spawn(async move {
            let why = silent_until(&mut server, until).await;
            (why, server)
        });
        tokio::io::AsyncWriteExt::write_all(&mut client, b"ignored")
            .await
            .expect("write");
        drop(client);
        let (why, _) = held.await.expect("task");
        assert_eq!(why, Silence::ClientLeft);
    }
}
