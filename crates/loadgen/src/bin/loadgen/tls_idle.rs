//! `loadgen tls-idle`: what one idle connection costs the server, over plain
//! HTTP, over TLS with HTTP/1.1, and over TLS with HTTP/2 (issue 18).
//!
//! Why a command of its own: the bench's `connect` scenario opens plain
//! HTTP/1.1 connections, the same contract every peer implements; TLS is
//! this server's alone (`--tls`), and what it adds per connection (the TLS
//! session's buffers, HTTP/2's connection state and HPACK tables) is the
//! question. Each kind is measured on a fresh server: open a few warm-up
//! connections (one-time allocations out of the count), read the server's
//! RSS, open `--connections` more, each with one idle SSE stream or
//! WebSocket, let them settle, read it again. The difference over the count
//! is the cost of one. Browsers open one HTTP/2 connection per origin, so
//! each HTTP/2 client here is a connection of its own with one stream.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http_body_util::Empty;
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use loadgen::{dial_loopback, procfs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

/// One idle connection's kind: transport, and how it reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdleKind {
    /// `/api/sse` over plain HTTP/1.1.
    SsePlain,
    /// `/api/ws` over plain HTTP/1.1 (the `101` upgrade).
    WsPlain,
    /// `/api/sse` over TLS, HTTP/1.1 by ALPN.
    SseH1,
    /// `/api/ws` over TLS, HTTP/1.1 by ALPN (`wss://`, the `101` upgrade).
    WsH1,
    /// `/api/sse` over TLS, HTTP/2: one connection, one stream.
    SseH2,
    /// `/api/ws` over TLS, HTTP/2: an extended `CONNECT` (RFC 8441) stream.
    WsH2,
}

impl IdleKind {
    fn websocket(self) -> bool {
        matches!(self, IdleKind::WsPlain | IdleKind::WsH1 | IdleKind::WsH2)
    }

    fn alpn(self) -> Option<&'static [u8]> {
        match self {
            IdleKind::SsePlain | IdleKind::WsPlain => None,
            IdleKind::SseH1 | IdleKind::WsH1 => Some(b"http/1.1"),
            IdleKind::SseH2 | IdleKind::WsH2 => Some(b"h2"),
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct TlsIdleArgs {
    /// The server's port on 127.0.0.1 (HTTPS for the TLS kinds).
    #[arg(long)]
    pub port: u16,
    /// The server's process id, whose RSS is read.
    #[arg(long)]
    pub pid: u32,
    #[arg(long, value_enum)]
    pub kind: IdleKind,
    /// Idle connections to open (after 20 warm-up ones).
    #[arg(long, default_value_t = 2000)]
    pub connections: usize,
    /// The server's certificate (PEM), the only one trusted; for the TLS kinds.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Where to write the result as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// What one kind cost, as written to the JSON file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct IdleReport {
    pub kind: String,
    pub connections: usize,
    pub rss_kb_before: u64,
    pub rss_kb_after: u64,
    pub kib_per_connection: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsIdleError {
    #[error("the TLS kinds need --ca (the server's certificate)")]
    NoCa,
    #[error("reading the certificate: {0}")]
    Ca(String),
    #[error("cannot read the server's memory (pid {0})")]
    NoRss(u32),
    #[error("connection {n}: {message}")]
    Connect { n: usize, message: String },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A connection held open until the measurement is taken.
enum Held {
    /// An SSE response whose body is never read (hyper keeps the connection).
    Stream(#[allow(dead_code)] hyper::Response<hyper::body::Incoming>),
    H2Socket(#[allow(dead_code)] WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>),
    Socket(#[allow(dead_code)] WebSocketStream<tokio::net::TcpStream>),
    TlsSocket(#[allow(dead_code)] Box<WebSocketStream<TlsStream<tokio::net::TcpStream>>>),
}

const WARM_UP: usize = 20;
/// Connections opened at once: a burst bigger than this only queues.
const AT_ONCE: usize = 64;

pub async fn tls_idle(args: &TlsIdleArgs) -> Result<(), TlsIdleError> {
    let tls = match args.kind.alpn() {
        Some(alpn) => Some(connector(
            args.ca.as_ref().ok_or(TlsIdleError::NoCa)?,
            alpn,
        )?),
        None => None,
    };
    let client = Client {
        port: args.port,
        kind: args.kind,
        tls,
    };
    let mut held = client.open_many(0, WARM_UP).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = procfs::rss_kb(args.pid).ok_or(TlsIdleError::NoRss(args.pid))?;
    held.extend(client.open_many(WARM_UP, args.connections).await?);
    // The last connections' first heartbeat and buffers in place.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = procfs::rss_kb(args.pid).ok_or(TlsIdleError::NoRss(args.pid))?;
    let report = IdleReport {
        kind: serde_json::to_value(args.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        connections: args.connections,
        rss_kb_before: before,
        rss_kb_after: after,
        kib_per_connection: after.saturating_sub(before) as f64 / args.connections.max(1) as f64,
    };
    println!(
        "{}: {} idle connections, RSS {} → {} KiB: {:.1} KiB each",
        report.kind,
        report.connections,
        report.rss_kb_before,
        report.rss_kb_after,
        report.kib_per_connection
    );
    drop(held);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text).map_err(|source| TlsIdleError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// A client trusting only `ca`, offering only `alpn`.
fn connector(ca: &PathBuf, alpn: &[u8]) -> Result<TlsConnector, TlsIdleError> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca).map_err(|e| TlsIdleError::Ca(e.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|e| TlsIdleError::Ca(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| TlsIdleError::Ca(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsIdleError::Ca(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

struct Client {
    port: u16,
    kind: IdleKind,
    tls: Option<TlsConnector>,
}

impl Client {
    /// Opens clients `first..first + count`, `AT_ONCE` at a time.
    async fn open_many(&self, first: usize, count: usize) -> Result<Vec<Held>, TlsIdleError> {
        stream::iter(first..first + count)
            .map(|n| async move {
                self.open(n)
                    .await
                    .map_err(|message| TlsIdleError::Connect { n, message })
            })
            .buffer_unordered(AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    async fn open(&self, n: usize) -> Result<Held, String> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let tcp = dial_loopback(addr, n).await.map_err(|e| e.to_string())?;
        let authority = format!("localhost:{}", self.port);
        let Some(tls) = &self.tls else {
            return match self.kind.websocket() {
                true => websocket_h1(tcp, &format!("ws://{authority}/api/ws"))
                    .await
                    .map(Held::Socket),
                false => sse_h1(tcp, &authority).await.map(Held::Stream),
            };
        };
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let tls = tls.connect(name, tcp).await.map_err(|e| e.to_string())?;
        match self.kind {
            IdleKind::SseH1 => sse_h1(tls, &authority).await.map(Held::Stream),
            IdleKind::WsH1 => websocket_h1(tls, &format!("wss://{authority}/api/ws"))
                .await
                .map(|ws| Held::TlsSocket(Box::new(ws))),
            IdleKind::SseH2 => sse_h2(tls, &authority).await.map(Held::Stream),
            _ => websocket_h2(tls, &authority).await.map(Held::H2Socket),
        }
    }
}

fn sse_request(uri: String, authority: &str, http2: bool) -> Result<Request<Empty<Bytes>>, String> {
    let mut req = Request::get(uri).header("accept", "text/event-stream");
    if !http2 {
        req = req.header("host", authority);
    }
    req.body(Empty::new()).map_err(|e| e.to_string())
}

async fn sse_h1<Io>(
    io: Io,
    authority: &str,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = sse_request("/api/sse?topics=idle".into(), authority, false)?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    opened(res)
}

async fn sse_h2<Io>(
    io: Io,
    authority: &str,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut sender = http2_sender(io).await?;
    let req = sse_request(
        format!("https://{authority}/api/sse?topics=idle"),
        authority,
        true,
    )?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    opened(res)
}

fn opened(
    res: hyper::Response<hyper::body::Incoming>,
) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    match res.status() {
        StatusCode::OK => Ok(res),
        status => Err(format!("the stream was answered {status}")),
    }
}

async fn websocket_h1<Io>(io: Io, url: &str) -> Result<WebSocketStream<Io>, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (ws, _) = tokio_tungstenite::client_async(url, io)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// RFC 8441: `CONNECT` with `:protocol: websocket` on a new stream, answered
/// `200`; the stream then carries the WebSocket's frames.
async fn websocket_h2<Io>(
    io: Io,
    authority: &str,
) -> Result<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut sender = http2_sender(io).await?;
    let mut req = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("https://{authority}/api/ws"))
        .header("sec-websocket-version", "13")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    req.extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    // The server's SETTINGS (which allow extended CONNECT) come after the handshake.
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    if res.status() != StatusCode::OK {
        return Err(format!(
            "the extended CONNECT was answered {}",
            res.status()
        ));
    }
    let upgraded = hyper::upgrade::on(res).await.map_err(|e| e.to_string())?;
    Ok(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await)
}

/// An HTTP/2 connection over `io`, driven in its own task.
async fn http2_sender<Io>(io: Io) -> Result<http2::SendRequest<Empty<Bytes>>, String>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}
