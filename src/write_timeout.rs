//! Connections whose peer stopped reading.
//!
//! A streaming response is written for as long as the client reads it. A
//! client that stops reading (a frozen tab, a half-open connection behind a
//! NAT) fills the socket buffers, and from then on every write waits. Nothing
//! in HTTP ends that wait, so the stream, its subscription and its slot in
//! the connection count would be held forever. This acceptor gives every
//! accepted socket a write timeout: a write that makes no progress for
//! `--write-timeout-secs` fails, and the connection is closed and freed.
//!
//! A peer that vanished entirely (unplugged, no ACKs any more) is the other
//! half-open case: there the kernel keeps retransmitting for many minutes.
//! `TCP_USER_TIMEOUT` (Linux) cuts that to the same timeout, counted from the
//! first unacknowledged write: the next heartbeat or ping.

use std::pin::Pin;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpStream;
use tokio_io_timeout::TimeoutStream;

pub struct WriteTimeoutAcceptor {
    inner: TcpAcceptor,
    timeout: Duration,
}

impl WriteTimeoutAcceptor {
    pub fn new(inner: TcpAcceptor, timeout: Duration) -> Self {
        WriteTimeoutAcceptor { inner, timeout }
    }
}

impl Acceptor for WriteTimeoutAcceptor {
    type Io = Pin<Box<TimeoutStream<TcpStream>>>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, local, remote, scheme) = self.inner.accept().await?;
        // Small writes (events, heartbeats) go out at once.
        let _ = stream.set_nodelay(true);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = socket2::SockRef::from(&stream).set_tcp_user_timeout(Some(self.timeout));
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.timeout));
        Ok((Box::pin(stream), local, remote, scheme))
    }
}
