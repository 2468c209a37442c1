//! Opening a client's TCP connection to a loopback server from one of many
//! source addresses.
//!
//! Over IPv4 each client connects from one of 249 loopback addresses
//! (127.0.0.2–250, all routed to `lo` on Linux): with ~20,000 sockets to
//! one server port, the kernel's search for a free ephemeral port of a
//! single source address costs more CPU than the rest of the generator
//! (measured: 60 % of its time while 9,000 WebSockets connected after
//! 10,000 SSE streams). A spread-out source makes that search instant.

use std::net::{Ipv4Addr, SocketAddr};

use crate::shared::Shared;

/// Opens client `n`'s TCP connection to the server.
pub(crate) async fn dial(shared: &Shared, n: usize) -> std::io::Result<tokio::net::TcpStream> {
    dial_loopback(shared.addr, n).await
}

/// Client `n`'s TCP connection to `addr`: over IPv4 loopback from one of
/// 249 loopback addresses (127.0.0.2–250), so thousands of sockets to one
/// server port do not exhaust one source address's ephemeral ports. The load
/// generator's clients and the reconnect-storm lab's connect this way.
pub async fn dial_loopback(addr: SocketAddr, n: usize) -> std::io::Result<tokio::net::TcpStream> {
    let stream = match addr {
        SocketAddr::V4(v4) if v4.ip().is_loopback() => {
            let socket = tokio::net::TcpSocket::new_v4()?;
            let source = Ipv4Addr::new(127, 0, 0, 2 + (n % 249) as u8);
            // Linux answers on all of 127/8; where only 127.0.0.1 exists
            // (macOS), connect from there.
            match socket.bind(SocketAddr::from((source, 0))) {
                Ok(()) => socket.connect(addr).await?,
                Err(_) => tokio::net::TcpStream::connect(addr).await?,
            }
        }
        addr => tokio::net::TcpStream::connect(addr).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}
