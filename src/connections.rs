//! The open-connections gauge, and the cap on how many one address may hold.
//!
//! Long-polls, SSE streams and WebSockets each pin a socket and some memory
//! for as long as they last. Every one of them takes a [`Permit`] when it
//! starts and gives it back when it ends (dropping the permit is the only way
//! to release it, so an error path cannot leak one). The counts feed
//! `GET /api/status`, which is how tests and learners see that vanished
//! clients were really cleaned up; the per-address cap turns a runaway script
//! into a `503` instead of an exhausted file-descriptor table.
//!
//! Below HTTP, every TCP connection takes a [`SocketPermit`] too: an address
//! may hold the long-lived cap plus [`SOCKET_HEADROOM`] sockets in all, so
//! idle keep-alives and half-sent requests cannot fill the table either, and
//! a learner whose long-lived slots are all taken can still load a page.
//!
//! [`PeerWatch`] gives every open connection a "hung up" signal, so a
//! long-poll or a stream ends the moment its client goes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use poem::web::RemoteAddr;
use poem_openapi::Object;
use tokio_util::sync::CancellationToken;

use crate::problem::ApiError;

/// What kind of long-lived connection a permit stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    LongPoll,
    Sse,
    WebSocket,
    /// `GET /api/traffic/stream`, the traffic log's own SSE stream.
    TrafficStream,
}

/// Open connections right now, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Object)]
pub struct OpenConnections {
    /// Long-polls being held.
    pub long_poll: u64,
    /// Open `/api/sse` streams.
    pub sse: u64,
    /// Open WebSockets (`/api/ws` and `/api/ws/echo`).
    pub websocket: u64,
    /// Open traffic-log streams (`/api/traffic/stream`).
    pub traffic_stream: u64,
    /// All of the above.
    pub total: u64,
}

impl OpenConnections {
    fn slot(&mut self, held: Held) -> &mut u64 {
        match held {
            Held::LongPoll => &mut self.long_poll,
            Held::Sse => &mut self.sse,
            Held::WebSocket => &mut self.websocket,
            Held::TrafficStream => &mut self.traffic_stream,
        }
    }
}

#[derive(Default)]
struct Counts {
    open: OpenConnections,
    per_address: HashMap<IpAddr, usize>,
    /// TCP connections, by address.
    sockets: HashMap<IpAddr, usize>,
}

/// Sockets an address may hold beyond its long-lived cap: room for pages,
/// API calls and a browser's keep-alive connections.
pub const SOCKET_HEADROOM: usize = 32;

pub struct Connections {
    /// 0: no cap.
    max_per_address: usize,
    counts: Mutex<Counts>,
}

impl Connections {
    pub fn new(max_per_address: usize) -> Arc<Self> {
        Arc::new(Connections {
            max_per_address,
            counts: Mutex::default(),
        })
    }

    /// Counts a new connection from `addr`, or refuses it with `503` when that
    /// address already holds the maximum. Unknown addresses (e.g. Unix
    /// sockets) are counted but never capped.
    pub fn open(self: &Arc<Self>, addr: Option<IpAddr>, held: Held) -> Result<Permit, ApiError> {
        let mut counts = self.lock();
        if let Some(ip) = addr {
            let mine = counts.per_address.get(&ip).copied().unwrap_or(0);
            if self.max_per_address > 0 && mine >= self.max_per_address {
                drop(counts);
                tracing::info!(%ip, open = mine, "refused a connection: too many from one address");
                return Err(ApiError::unavailable(format!(
                    "Your address already holds {mine} open connections (long-polls, SSE \
                     streams and WebSockets together), the most this server allows \
                     (--max-connections-per-address). Close some and try again."
                )));
            }
            *counts.per_address.entry(ip).or_default() += 1;
        }
        *counts.open.slot(held) += 1;
        counts.open.total += 1;
        drop(counts);
        held.log("opened", addr);
        Ok(Permit {
            connections: self.clone(),
            addr,
            held,
        })
    }

    /// Counts a new TCP connection from `ip`, or `None` when that address
    /// already holds the long-lived cap plus [`SOCKET_HEADROOM`] sockets.
    pub fn open_socket(self: &Arc<Self>, ip: IpAddr) -> Option<SocketPermit> {
        let mut counts = self.lock();
        let mine = counts.sockets.entry(ip).or_default();
        if self.max_per_address > 0 && *mine >= self.max_per_address + SOCKET_HEADROOM {
            return None;
        }
        *mine += 1;
        Some(SocketPermit {
            connections: self.clone(),
            ip,
        })
    }

    pub fn snapshot(&self) -> OpenConnections {
        self.lock().open
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One counted connection; dropping it releases the count.
pub struct Permit {
    connections: Arc<Connections>,
    addr: Option<IpAddr>,
    held: Held,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.connections.lock();
        if let Some(ip) = self.addr
            && let Some(n) = counts.per_address.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                counts.per_address.remove(&ip);
            }
        }
        let slot = counts.open.slot(self.held);
        *slot = slot.saturating_sub(1);
        counts.open.total = counts.open.total.saturating_sub(1);
        drop(counts);
        self.held.log("closed", self.addr);
    }
}

/// One counted TCP connection; dropping it (with the socket) releases it.
pub struct SocketPermit {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut counts = self.connections.lock();
        if let Some(n) = counts.sockets.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.sockets.remove(&self.ip);
            }
        }
    }
}

impl Held {
    /// Connects and disconnects go to the log (never what was said on them);
    /// long-polls come and go too often for `info`.
    fn log(self, what: &str, addr: Option<IpAddr>) {
        let ip = addr.map(|a| a.to_string()).unwrap_or_default();
        if self == Held::LongPoll {
            tracing::debug!(kind = ?self, %ip, "{what}");
        } else {
            tracing::info!(kind = ?self, %ip, "{what}");
        }
    }
}

/// The client's IP address as poem saw it, if it came over TCP.
pub fn client_ip(remote: &poem::web::RemoteAddr) -> Option<IpAddr> {
    remote.as_socket_addr().map(|a| a.ip())
}

/// One "hung up" signal per open connection, by the client's address.
#[derive(Clone, Default)]
pub struct PeerWatch {
    open: Arc<Mutex<HashMap<SocketAddr, CancellationToken>>>,
}

impl PeerWatch {
    /// Cancelled when the client at `remote` closes or resets its connection.
    /// A connection the watch does not know (not over TCP) never is.
    pub fn hung_up(&self, remote: &RemoteAddr) -> CancellationToken {
        remote
            .as_socket_addr()
            .and_then(|addr| self.lock().get(addr).cloned())
            .unwrap_or_default()
    }

    pub(crate) fn register(&self, addr: SocketAddr) -> CancellationToken {
        let token = CancellationToken::new();
        self.lock().insert(addr, token.clone());
        token
    }

    pub(crate) fn forget(&self, addr: &SocketAddr) {
        self.lock().remove(addr);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, CancellationToken>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_count_and_release() {
        let c = Connections::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = c.open(Some(ip), Held::Sse).expect("first");
        let b = c.open(Some(ip), Held::WebSocket).expect("second");
        assert!(c.open(Some(ip), Held::LongPoll).is_err(), "third refused");
        assert!(c.open(Some([10, 0, 0, 1].into()), Held::Sse).is_ok());
        assert_eq!(c.snapshot().total, 2);
        drop(a);
        assert_eq!(c.snapshot().sse, 0);
        let _c = c.open(Some(ip), Held::LongPoll).expect("room again");
        drop(b);
        assert_eq!(
            c.snapshot(),
            OpenConnections {
                long_poll: 1,
                total: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn sockets_are_capped_per_address_above_the_long_lived_cap() {
        let c = Connections::new(2);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let held: Vec<_> = (0..2 + SOCKET_HEADROOM)
            .map(|_| c.open_socket(ip).expect("within the cap"))
            .collect();
        assert!(c.open_socket(ip).is_none(), "one more is refused");
        assert!(
            c.open_socket([127, 0, 0, 2].into()).is_some(),
            "another address"
        );
        drop(held);
        assert!(c.open_socket(ip).is_some(), "released with the sockets");
    }

    #[test]
    fn zero_means_no_cap() {
        let c = Connections::new(0);
        let permits: Vec<_> = (0..1000)
            .map(|_| c.open(Some([127, 0, 0, 1].into()), Held::Sse))
            .collect::<Result<_, _>>()
            .expect("never refused");
        assert_eq!(c.snapshot().total, 1000);
        drop(permits);
        assert_eq!(c.snapshot().total, 0);
    }
}
