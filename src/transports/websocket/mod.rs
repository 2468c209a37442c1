//! WebSocket: one HTTP request upgraded (`101 Switching Protocols`) into a
//! two-way connection that carries JSON messages both ways.
//!
//! The upgrade is done here rather than with poem's helper so the session
//! sees tungstenite's typed errors and can answer each with the right RFC
//! 6455 close code (1009 too big, 1007 bad UTF-8, 1002 protocol error). The
//! session itself is one task: a `select!` over the socket, the hub
//! subscription, the chat room, the ping timer and the shutdown signal.

mod close;
mod commands;
mod handshake;
mod protocol;
mod session;

pub(crate) use close::{Stop, describe, finish, stop_for};
pub use handshake::Upgrade;
pub(crate) use handshake::{Accepted, accept, ws_config};

use std::sync::Arc;

use poem::Request;
use poem_openapi::OpenApi;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::connections::client_ip;
use crate::limits::Publisher;
use crate::problem::ApiError;
use crate::traffic::{CloseReason, Learner, Tap, Transport};
use crate::transports::TransportTags;
use crate::transports::context::TransportContext;
use session::Session;
/// The transport's context, plus what a two-way socket adds: publishing
/// (through the backplane, within the limits) and the chat room.
#[derive(Clone)]
pub struct WebSocketApi {
    pub ctx: TransportContext,
    pub backplane: crate::backplane::Backplane,
    pub chat: crate::chat::ChatRoom,
    pub limits: Arc<crate::limits::PublishLimits>,
}

#[OpenApi]
impl WebSocketApi {
    /// WebSocket: two-way JSON messages
    ///
    /// Connect with a WebSocket client, e.g. `websocat ws://127.0.0.1:8080/api/ws`
    /// or `new WebSocket("ws://" + location.host + "/api/ws")`. Swagger UI cannot
    /// open WebSockets; "Try it out" shows the `426` a plain request gets.
    ///
    /// Every message is a JSON object with a `type`. An optional `ref` you send
    /// comes back in the `ack` or `error` that answers it.
    ///
    /// **Client → server**
    /// - `{"type":"subscribe","topics":["ticker"],"since":41}` — receive events
    ///   (all topics when `topics` is omitted); `since` replays what you missed.
    /// - `{"type":"unsubscribe","topics":["ticker"]}` — stop (all when omitted).
    /// - `{"type":"publish","topic":"demo","event":"note","data":{"text":"hi"}}` — publish an event.
    /// - `{"type":"chat","text":"hello"}` — message every other WebSocket client;
    ///   it is also published as a `chat` event on the `chat` topic (the `ack`
    ///   carries its id), so SSE readers and subscribed sockets see it too.
    /// - `{"type":"echo","data":…}` — get `data` back.
    /// - `{"type":"ping"}` — get `{"type":"pong"}` back.
    ///
    /// **Server → client**
    /// - `welcome` (first message: your `client_id`, the newest `last_id`),
    /// - `event` (`{"type":"event","event":{id,topic,type,data,published_at}}`),
    /// - `reset` (events you asked for are gone; what is left follows),
    /// - `chat`, `ack`, `echo`, `pong`, and `error` (`code` + `message`; the
    ///   connection stays open). A `rate_limited` error carries `retry_after_ms`;
    ///   `unavailable` means the Redis backplane (`--redis-url`) cannot be
    ///   reached and the publish or chat did not happen (subscriptions go on).
    ///
    /// **Limits.** `publish` and `chat` count against a per-connection and a
    /// per-learner rate (`--publish-rate-per-connection`,
    /// `--publish-rate-per-learner`). Each bad message (invalid JSON, unknown
    /// type, over the rate, binary) gets an `error`; a connection that keeps
    /// sending them (`--ws-error-budget`) is closed with 1008. An address holding
    /// too many open connections gets `503`.
    ///
    /// The server sends ping frames every 20 s and closes peers that do not
    /// answer. Close codes: 1000 normal, 1001 server shutting down, 1002
    /// protocol error, 1007 invalid UTF-8, 1008 no pong or abuse, 1009 message too big
    /// (over 64 KiB by default). Upgrades from a foreign `Origin` get `403`.
    #[oai(path = "/ws", method = "get", tag = "TransportTags::WebSocket")]
    async fn ws(&self, req: &Request, tap: Tap, learner: Learner) -> Result<Upgrade, ApiError> {
        let Accepted {
            upgrade,
            on_upgrade,
            permit,
        } = accept(&self.ctx, req)?;
        let remote = req.remote_addr().clone();
        let state = self.clone();
        let faults = state.ctx.faults.stream_faults(&learner.id);
        let dropped = state
            .ctx
            .drops
            .watch(&learner.id, crate::traffic::Transport::Websocket);
        let valve = state.ctx.faults.valve(&learner.id);
        let name = state.chat.new_member_name("ws");
        let tracker = state.ctx.shutdown.tracker().clone();
        tracker.spawn(async move {
            let _permit = permit;
            match on_upgrade.await {
                Ok(upgraded) => {
                    let ws = WebSocketStream::from_raw_socket(
                        upgraded,
                        Role::Server,
                        Some(ws_config(&state.ctx.config)),
                    )
                    .await;
                    tracing::info!(client = %name, "websocket connected");
                    let session = Session::new(
                        state,
                        name.clone(),
                        Publisher::new(learner.id, client_ip(&remote)),
                        tap.clone(),
                        dropped,
                        faults,
                        valve,
                    );
                    let (code, reason) = session.run(ws).await;
                    let code = u16::from(code);
                    tap.ws_closed(code, reason);
                    tracing::info!(client = %name, code, reason = reason.sentence(Transport::Websocket), "websocket closed");
                }
                Err(err) => {
                    tap.ws_closed(1006, CloseReason::UpgradeFailed);
                    tracing::debug!(%err, "websocket upgrade failed");
                }
            }
        });
        Ok(upgrade)
    }
}
