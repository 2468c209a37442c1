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
//! - **An address with too many sockets.** Each accepted socket takes a
//!   [`SocketPermit`] from [`Connections`]; beyond the address's cap the
//!   socket is answered `503` (problem+json) at once and closed, never served.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_io_timeout::TimeoutStream;
use tokio_util::sync::CancellationToken;

use crate::connections::{Connections, PeerWatch, SocketPermit};

pub struct SocketAcceptor {
    inner: TcpAcceptor,
    write_timeout: Duration,
    peers: PeerWatch,
    connections: Arc<Connections>,
}

impl SocketAcceptor {
    pub fn new(
        inner: TcpAcceptor,
        write_timeout: Duration,
        peers: PeerWatch,
        connections: Arc<Connections>,
    ) -> Self {
        SocketAcceptor {
            inner,
            write_timeout,
            peers,
            connections,
        }
    }

    /// The next socket whose address is within its cap; the others are refused.
    async fn admit(
        &mut self,
    ) -> std::io::Result<(
        TcpStream,
        Option<SocketPermit>,
        LocalAddr,
        RemoteAddr,
        Scheme,
    )> {
        loop {
            let (stream, local, remote, scheme) = self.inner.accept().await?;
            let Some(ip) = stream.peer_addr().ok().map(|a| a.ip()) else {
                return Ok((stream, None, local, remote, scheme));
            };
            match self.connections.open_socket(ip) {
                Some(permit) => return Ok((stream, Some(permit), local, remote, scheme)),
                None => refuse(stream, ip),
            }
        }
    }
}

/// Refusals being written at once; beyond, sockets are just closed.
static REFUSING: AtomicUsize = AtomicUsize::new(0);
const MAX_REFUSING: usize = 256;

const TOO_MANY_SOCKETS: &str = "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\
    \"status\":503,\"detail\":\"Your address already holds the most connections this server \
    allows (--max-connections-per-address, plus 32 for ordinary requests). Close some and try again.\"}";

/// Answers `503` and closes. The request head is read first (briefly, and
/// at most a few KiB): an HTTP client treats an answer that comes before its
/// request was sent as a broken connection, and closing with unread bytes
/// would reset the connection and lose the answer.
fn refuse(mut stream: TcpStream, ip: std::net::IpAddr) {
    tracing::info!(%ip, "refused a socket: too many from one address");
    if REFUSING.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
        REFUSING.fetch_sub(1, Ordering::AcqRel);
        return;
    }
    tokio::spawn(async move {
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Retry-After: 5\r\nConnection: close\r\n\r\n{TOO_MANY_SOCKETS}",
            crate::problem::CONTENT_TYPE,
            TOO_MANY_SOCKETS.len()
        );
        let mut head = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let mut chunk = [0u8; 1024];
            while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1024];
            while stream.read(&mut sink).await? > 0 {}
            std::io::Result::Ok(())
        })
        .await;
        REFUSING.fetch_sub(1, Ordering::AcqRel);
    });
}

impl Acceptor for SocketAcceptor {
    type Io = WatchedSocket;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, permit, local, remote, scheme) = self.admit().await?;
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
            _permit: permit,
        };
        Ok((socket, local, remote, scheme))
    }
}

/// A socket that signals its [`PeerWatch`] token when the read side ends.
pub struct WatchedSocket {
    inner: Pin<Box<TimeoutStream<TcpStream>>>,
    hung_up: CancellationToken,
    registration: Option<(PeerWatch, SocketAddr)>,
    /// Counts this socket against its address's cap until it is dropped.
    _permit: Option<SocketPermit>,
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
