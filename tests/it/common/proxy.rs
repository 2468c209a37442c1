//! A small TCP proxy for fault injection: the kernel here has no `netem`, so
//! tests put this between a client and the server to stall a connection (a peer that stops reading and stops answering, as a half-open
//! connection looks from the server) or cut it with a TCP reset.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Forward,
    /// Nothing is read or forwarded either way; sockets stay open.
    Stall,
    /// Every connection is reset (RST) on both sides.
    Cut,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let (mode, watcher) = watch::channel(Mode::default());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, watcher.clone()));
            }
        });
        FaultProxy { addr, mode, task }
    }

    /// `http://…` base URL through the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// From now on nothing moves: the peer "stopped reading".
    pub fn stall(&self) {
        self.mode.send_replace(Mode::Stall);
    }

    /// Resets every open connection, as a crashed host or a NAT timeout does.
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, mode: watch::Receiver<Mode>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // Linger 0: dropping a socket sends RST instead of FIN.
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, mode.clone());
    let down = pump(server_read, client_write, mode);
    // Either direction ending (EOF, error or cut) ends both.
    tokio::select! {
        _ = up => {},
        _ = down => {},
    }
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let current = *mode.borrow_and_update();
        match current {
            Mode::Cut => return,
            Mode::Stall => {
                if mode.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Mode::Forward => {}
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            // Re-check the mode at once when it changes mid-read.
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        if *mode.borrow() == Mode::Cut || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
