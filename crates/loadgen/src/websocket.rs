//! WebSocket clients: `GET /api/ws`, `{"type":"subscribe","topics":[…]}`,
//! connected once the `ack` arrives, then every `event` message counts.
//!
//! Buffers are sized for thousands of mostly idle sockets (tungstenite
//! allocates a 128 KiB read buffer per socket by default), and only control
//! messages are parsed as JSON; events are scanned for `"sent_us"`.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::clock::{now_us, sent_us_values};
use crate::dial::dial;
use crate::kind::Kind;
use crate::shared::Shared;

fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
) {
    let t0 = Instant::now();
    let opened = tokio::select! {
        r = open(&shared, n, &learner) => r,
        _ = shared.stop.cancelled() => return,
    };
    let mut ws = match opened {
        Ok(ws) => ws,
        Err((what, detail)) => return shared.failed(Kind::Websocket, what, detail),
    };
    let subscribe = serde_json::json!({"type": "subscribe", "topics": [shared.topic]});
    if let Err(e) = ws.send(Message::text(subscribe.to_string())).await {
        return shared.failed(Kind::Websocket, "subscribe", e);
    }
    let mut permit = Some(permit);
    loop {
        let msg = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
                return;
            }
            m = ws.next() => m,
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason));
                return lost(
                    &shared,
                    &mut permit,
                    "closed by server",
                    why.unwrap_or_default(),
                );
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return lost(&shared, &mut permit, "read", e),
            None => return lost(&shared, &mut permit, "closed by server", "no close frame"),
        };
        let at = now_us();
        let bytes = text.as_bytes();
        if sent_us_values(bytes).next().is_some() {
            shared.delivered(Kind::Websocket, bytes, at);
        } else {
            control(&shared, &mut permit, text.as_str(), t0);
        }
    }
}

/// Dials and upgrades; the error is a short kind and a message.
async fn open(
    shared: &Shared,
    n: usize,
    learner: &str,
) -> Result<WebSocketStream<TcpStream>, (&'static str, String)> {
    let url = format!("{}/api/ws", shared.base.replacen("http", "ws", 1));
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| ("bad url", e.to_string()))?;
    if let Ok(value) = learner.parse() {
        req.headers_mut().insert("X-Learner", value);
    }
    let tcp = dial(shared, n)
        .await
        .map_err(|e| ("connect", e.to_string()))?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, tcp, Some(config()))
        .await
        .map_err(|e| ("connect", e.to_string()))?;
    Ok(ws)
}

/// A control message (welcome, ack, pong, error, reset): the `ack` of the
/// subscription makes the client connected (it was started at `t0`).
fn control(shared: &Shared, permit: &mut Option<OwnedSemaphorePermit>, text: &str, t0: Instant) {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match v["type"].as_str() {
        Some("ack") if v["for"] == "subscribe" && permit.take().is_some() => {
            shared.connected(Kind::Websocket, t0.elapsed());
        }
        Some("error") => shared.error(
            Kind::Websocket,
            "error message",
            v["code"].as_str().unwrap_or("?"),
        ),
        Some("reset") => shared.error(Kind::Websocket, "reset", text),
        _ => {}
    }
}

/// The socket ended before the run did: a failed connect or a lost stream.
fn lost(
    shared: &Shared,
    permit: &mut Option<OwnedSemaphorePermit>,
    what: &str,
    detail: impl std::fmt::Display,
) {
    if permit.take().is_some() {
        shared.failed(Kind::Websocket, what, detail);
    } else {
        shared.error(Kind::Websocket, what, detail);
    }
}
