//! What the server does to every accepted socket, below HTTP.
//!
//! Two things a handler cannot see from inside a request:
//!
//! - **A peer that stopped reading.** A streaming response is written for as
//!   long as the client reads it. A client that stops reading (a frozen tab, a
//!   half-open connection behind a NAT) fills the socket buffers, and from then
//!   on every write waits; nothing in HTTP ends that wait. Every socket gets a
//!   write timeout: a write that makes no progress for `--write-timeout-secs`
//!   fails and the connection is freed. A peer that vanished entirely (no ACKs)
//!   is cut by `TCP_USER_TIMEOUT` (Linux) after the same time, counted from
//!   the first unacknowledged write: the next heartbeat or ping.
//! - **A peer that hung up.** hyper keeps running a handler whose client has
//!   closed the connection (a held long-poll would wait out its whole
//!   timeout). [`PeerWatch`] notices the end of the read side and lets the
//!   handler of that connection stop at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_io_timeout::TimeoutStream;
use tokio_util::sync::CancellationToken;

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

    fn register(&self, addr: SocketAddr) -> CancellationToken {
        let token = CancellationToken::new();
        self.lock().insert(addr, token.clone());
        token
    }

    fn forget(&self, addr: &SocketAddr) {
        self.lock().remove(addr);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, CancellationToken>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct SocketAcceptor {
    inner: TcpAcceptor,
    write_timeout: Duration,
    peers: PeerWatch,
}

impl SocketAcceptor {
    pub fn new(inner: TcpAcceptor, write_timeout: Duration, peers: PeerWatch) -> Self {
        SocketAcceptor {
            inner,
            write_timeout,
            peers,
        }
    }
}

impl Acceptor for SocketAcceptor {
    type Io = WatchedSocket;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, local, remote, scheme) = self.inner.accept().await?;
        // Small writes (events, heartbeats) go out at once.
        let _ = stream.set_nodelay(true);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = socket2::SockRef::from(&stream).set_tcp_user_timeout(Some(self.write_timeout));
        let addr = stream.peer_addr().ok();
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.write_timeout));
        let hung_up = addr.map(|a| self.peers.register(a)).unwrap_or_default();
        let socket = WatchedSocket {
            inner: Box::pin(stream),
            hung_up,
            registration: addr.map(|a| (self.peers.clone(), a)),
        };
        Ok((socket, local, remote, scheme))
    }
}

/// A socket that signals its [`PeerWatch`] token when the read side ends.
pub struct WatchedSocket {
    inner: Pin<Box<TimeoutStream<TcpStream>>>,
    hung_up: CancellationToken,
    registration: Option<(PeerWatch, SocketAddr)>,
}

impl Drop for WatchedSocket {
    fn drop(&mut self) {
        self.hung_up.cancel();
        if let Some((peers, addr)) = &self.registration {
            peers.forget(addr);
        }
    }
}

impl AsyncRead for WatchedSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = self.inner.as_mut().poll_read(cx, buf);
        match &polled {
            // End of stream (FIN) or reset: the client is gone.
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                self.hung_up.cancel()
            }
            Poll::Ready(Err(_)) => self.hung_up.cancel(),
            _ => {}
        }
        polled
    }
}

impl AsyncWrite for WatchedSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.as_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.inner.as_mut().poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_shutdown(cx)
    }
}
