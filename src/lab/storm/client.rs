//! One storm client: a real SSE or WebSocket client of this server, over
//! loopback, that connects, notices when the server drops it, waits as its
//! strategy says and connects again.
//!
//! Each client connects from its own loopback address (as the load
//! generator does, [`loadgen::dial_loopback`]), so hundreds of them do
//! not hit the per-address connection cap meant for real clients.

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use poem_openapi::Enum;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use loadgen::{X_LEARNER, dial_loopback};

/// Which transport the storm's clients use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StormTransport {
    /// `GET /api/sse`: a dropped stream ends.
    #[default]
    Sse,
    /// `GET /api/ws`: a dropped socket gets close code 1001.
    Websocket,
}

/// Where and as whom the clients connect.
pub struct Target {
    pub addr: SocketAddr,
    pub transport: StormTransport,
    /// The storm's own learner id (its traffic stays out of the log).
    pub learner: HeaderValue,
    /// A private topic, so no client receives the feeds.
    pub topic: String,
}

/// An open connection.
pub enum Connection {
    Sse {
        /// Keeps the HTTP connection alive while the body is read.
        _sender: SendRequest<Empty<Bytes>>,
        body: Incoming,
    },
    WebSocket(Box<WebSocketStream<TcpStream>>),
}

/// Client `n` connects; done when the server has answered `200` or `101`.
pub async fn connect(target: &Target, n: usize) -> Result<Connection, String> {
    let tcp = dial_loopback(target.addr, n)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    match target.transport {
        StormTransport::Sse => sse(target, tcp).await,
        StormTransport::Websocket => websocket(target, tcp).await,
    }
}

async fn sse(target: &Target, tcp: TcpStream) -> Result<Connection, String> {
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(async move {
        // Its errors reach the request in flight; nothing more to do here.
        let _ = conn.await;
    });
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = format!("/api/sse?topics={}&heartbeat=0", target.topic)
        .parse()
        .map_err(|e| format!("uri: {e}"))?;
    let host = HeaderValue::from_str(&target.addr.to_string()).map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    headers.insert(HOST, host);
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(X_LEARNER, target.learner.clone());
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    if response.status() != StatusCode::OK {
        return Err(format!("answered {}", response.status()));
    }
    Ok(Connection::Sse {
        _sender: sender,
        body: response.into_body(),
    })
}

async fn websocket(target: &Target, tcp: TcpStream) -> Result<Connection, String> {
    let mut request = format!("ws://{}/api/ws", target.addr)
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request
        .headers_mut()
        .insert("X-Learner", target.learner.clone());
    // Small buffers: hundreds of mostly idle sockets.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    Ok(Connection::WebSocket(Box::new(ws)))
}

impl Connection {
    /// Resolves when the server ends the connection (a stream's end, a
    /// close frame, or the socket going away).
    pub async fn closed(&mut self) {
        match self {
            Connection::Sse { body, .. } => while let Some(Ok(_)) = body.frame().await {},
            Connection::WebSocket(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => {}
                }
            },
        }
    }
}
