//! A small TCP proxy for fault injection: the kernel here has no `netem`, so
//! tests put this between a client and the server to add latency, stall a
//! connection (a peer that stops reading and stops answering, as a half-open
//! connection looks from the server) or cut it with a TCP reset.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    mode: Mode,
    latency: Duration,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    settings: watch::Sender<Settings>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1:0 and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let (settings, watcher) = watch::channel(Settings::default());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, server, watcher.clone()));
            }
        });
        FaultProxy {
            addr,
            settings,
            accepted,
            task,
        }
    }

    /// `http://…` base URL through the proxy.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn set_latency(&self, latency: Duration) {
        self.settings.send_modify(|s| s.latency = latency);
    }

    /// From now on nothing moves: the peer "stopped reading".
    pub fn stall(&self) {
        self.settings.send_modify(|s| s.mode = Mode::Stall);
    }

    pub fn resume(&self) {
        self.settings.send_modify(|s| s.mode = Mode::Forward);
    }

    /// Resets every open connection, as a crashed host or a NAT timeout does.
    pub fn cut(&self) {
        self.settings.send_modify(|s| s.mode = Mode::Cut);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, settings: watch::Receiver<Settings>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // Linger 0: dropping a socket sends RST instead of FIN.
    let _ = client.set_zero_linger();
    let _ = server.set_zero_linger();
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, settings.clone());
    let down = pump(server_read, client_write, settings);
    // Either direction ending (EOF, error or cut) ends both.
    tokio::select! {
        _ = up => {},
        _ = down => {},
    }
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut settings: watch::Receiver<Settings>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let current = *settings.borrow_and_update();
        match current.mode {
            Mode::Cut => return,
            Mode::Stall => {
                if settings.changed().await.is_err() {
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
            changed = settings.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        if !current.latency.is_zero() {
            tokio::time::sleep(current.latency).await;
        }
        if settings.borrow().mode == Mode::Cut || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
