//! `GET /api/ws/echo`: a bare WebSocket that sends every text and binary
//! message straight back, for exploring frames (fragmentation, binary, ping
//! payloads, close codes) without the JSON protocol of `/api/ws`.
//!
//! tungstenite reassembles fragments, answers pings and close frames, and
//! rejects protocol violations; this loop maps its errors to the RFC 6455
//! close codes the same way `/api/ws` does.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::Request;
use poem_openapi::OpenApi;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::TransportTags;
use super::context::TransportContext;
use super::websocket::{Accepted, Stop, Upgrade, accept, describe, finish, stop_for, ws_config};
use crate::problem::ApiError;
use crate::traffic::{CloseReason, Tap};

pub struct EchoApi {
    pub ctx: TransportContext,
}

#[OpenApi]
impl EchoApi {
    /// WebSocket echo: every message comes back as-is
    ///
    /// Text comes back as text, binary as binary, fragmented messages come
    /// back whole; pings are answered with pongs carrying the same payload.
    /// Invalid UTF-8 closes with 1007, protocol violations with 1002, messages
    /// over the size limit with 1009, and a close frame is echoed per RFC 6455.
    #[oai(path = "/ws/echo", method = "get", tag = "TransportTags::WebSocket")]
    async fn echo(&self, req: &Request, tap: Tap) -> Result<Upgrade, ApiError> {
        let Accepted {
            upgrade,
            on_upgrade,
            permit,
        } = accept(&self.ctx, req)?;
        let ctx = self.ctx.clone();
        let tracker = ctx.shutdown.tracker().clone();
        tracker.spawn(async move {
            let _permit = permit;
            let Ok(upgraded) = on_upgrade.await else {
                tap.ws_closed(1006, CloseReason::UpgradeFailed);
                return;
            };
            let mut ws = WebSocketStream::from_raw_socket(
                upgraded,
                Role::Server,
                Some(ws_config(&ctx.config)),
            )
            .await;
            let (code, reason) = run(&mut ws, &ctx, &tap).await;
            tap.ws_closed(u16::from(code), reason);
        });
        Ok(upgrade)
    }
}

async fn run<S>(
    ws: &mut WebSocketStream<S>,
    ctx: &TransportContext,
    tap: &Tap,
) -> (CloseCode, CloseReason)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let stop = loop {
        let msg = tokio::select! {
            _ = ctx.shutdown.wait() => break Stop::Close(CloseCode::Away, CloseReason::ShuttingDown),
            msg = ws.next() => msg,
        };
        let msg = match msg {
            None => break Stop::Gone(CloseCode::Abnormal, CloseReason::ClientVanished),
            Some(Err(err)) => break stop_for(err),
            Some(Ok(msg)) => msg,
        };
        let (kind, len, text) = describe(&msg);
        tap.ws_received(kind, len, text);
        match msg {
            Message::Text(_) | Message::Binary(_) => {
                let (kind, len, text) = describe(&msg);
                tap.ws_sent(kind, len, text, None);
                if let Err(err) = ws.send(msg).await {
                    break stop_for(err);
                }
            }
            Message::Close(frame) => {
                // tungstenite has queued the echo of the close frame; let it flush.
                let code = frame.map_or(CloseCode::Status, |f| f.code);
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Some(Ok(_)) = ws.next().await {}
                })
                .await;
                break Stop::Gone(code, CloseReason::ClientClosed);
            }
            _ => {}
        }
    };
    finish(ws, stop, tap).await
}
