//! WebSocket: one HTTP request upgraded (`101 Switching Protocols`) into a
//! two-way connection that carries JSON messages both ways.
//!
//! The upgrade is done here rather than with poem's helper so the session
//! sees tungstenite's typed errors and can answer each with the right RFC
//! 6455 close code (1009 too big, 1007 bad UTF-8, 1002 protocol error). The
//! session itself is one task: a `select!` over the socket, the hub
//! subscription, the chat room, the ping timer and the shutdown signal.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::http::{HeaderMap, StatusCode, header};
use poem::{IntoResponse, Request, Response, Upgraded};
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, OpenApi};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};

use super::TransportTags;
use super::context::{StreamFaults, TransportContext};
use crate::backplane::Unavailable;
use crate::chat::{ChatMessage, MAX_CHAT_CHARS, chat_event};
use crate::connections::{Held, Permit, client_ip};
use crate::hub::{Cursor, Delivery, Event, NewEvent, Reset, Subscription, TopicFilter};
use crate::limits::{ConnectionLimit, ErrorBudget, Publisher, RetryAfter};
use crate::problem::ApiError;
use crate::traffic::capture::FrameKind;
use crate::traffic::catch_up::ListeningSince;
use crate::traffic::{CloseReason, Learner, Tap, Transport};
use crate::transports::until;
use crate::transports::valve::{Order, Silence, Valve, silent_until};

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

/// An upgrade request that passed every check, and what the session needs.
pub(crate) struct Accepted {
    /// The `101` answer.
    pub upgrade: Upgrade,
    /// Resolves to the raw connection once the `101` is sent.
    pub on_upgrade: poem::OnUpgrade,
    /// Counts the socket as open for as long as the session holds it.
    pub permit: Permit,
}

/// The checks every WebSocket endpoint makes before upgrading: origin,
/// handshake headers, the per-address connection cap.
pub(crate) fn accept(ctx: &TransportContext, req: &Request) -> Result<Accepted, ApiError> {
    check_origin(req.headers(), &ctx.config.allowed_origins)?;
    let key = handshake_key(req.headers())?;
    let permit = ctx
        .connections
        .open(client_ip(req.remote_addr()), Held::WebSocket)?;
    let on_upgrade = req.take_upgrade().map_err(|_| {
        ApiError::bad_request("This connection cannot be upgraded (is it HTTP/1.1?).")
    })?;
    Ok(Accepted {
        upgrade: Upgrade {
            accept: derive_accept_key(key.as_bytes()),
        },
        on_upgrade,
        permit,
    })
}

pub(crate) fn ws_config(config: &crate::config::Config) -> WebSocketConfig {
    let max = config.ws_max_message_bytes as usize;
    // Small read buffer and no write buffering keep an idle socket at a few KB.
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Rejects cross-site WebSocket hijacking: a page on another origin must not
/// drive a learner's socket. Same origin, listed origins and clients that send
/// no `Origin` (curl, websocat, scripts) pass.
pub(crate) fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    crate::origin::foreign_origin(headers, allowed).map_err(|crate::origin::ForeignOrigin(origin)| {
        tracing::info!(%origin, "refused a WebSocket upgrade from a foreign origin");
        ApiError::forbidden(format!(
            "WebSocket connections from the origin {origin:?} are not allowed. Open the page from \
             this server, or start it with --allowed-origins {origin}."
        ))
    })
}

/// Validates the upgrade request (RFC 6455 §4.2.1) and returns the key.
pub(crate) fn handshake_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .unwrap_or_default()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(ApiError::upgrade_required(
            "This endpoint speaks WebSocket. Connect with a WebSocket client \
             (ws://…/api/ws); a plain HTTP request cannot use it.",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(ApiError::upgrade_required(
            "Only WebSocket version 13 (RFC 6455) is supported: send Sec-WebSocket-Version: 13.",
        ));
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
        .filter(|k| k.len() == 24)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request("Sec-WebSocket-Key is missing or is not 16 base64-encoded bytes.")
        })
}

/// The `101 Switching Protocols` answer.
pub struct Upgrade {
    pub(crate) accept: String,
}

impl IntoResponse for Upgrade {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, self.accept)
            .finish()
    }
}

impl ApiResponse for Upgrade {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Switching Protocols: the connection is now a WebSocket \
                              carrying the JSON messages described above.",
                status: Some(101),
                status_range: None,
                content: vec![],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// Messages a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientMessage {
    Subscribe {
        topics: Option<Vec<String>>,
        since: Option<u64>,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Unsubscribe {
        topics: Option<Vec<String>>,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Publish {
        topic: String,
        #[serde(default = "default_event")]
        event: String,
        #[serde(default)]
        data: serde_json::Value,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Chat {
        text: String,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Echo {
        #[serde(default)]
        data: serde_json::Value,
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Ping {
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
}

fn default_event() -> String {
    "message".into()
}

/// Messages the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServerMessage<'a> {
    Welcome {
        client_id: &'a str,
        last_id: u64,
        max_message_bytes: u64,
    },
    Event {
        event: &'a Event,
    },
    Reset(&'a Reset),
    Chat(&'a ChatMessage),
    Ack {
        #[serde(rename = "for")]
        answers: &'static str,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        topics: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    Echo {
        data: serde_json::Value,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
    },
    Pong {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
    },
    Error {
        code: &'static str,
        message: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
        /// Only on `rate_limited`: when the next publish may pass.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ServerMessage<'_> {
    fn to_frame(&self) -> Message {
        Message::text(serde_json::to_string(self).unwrap_or_default())
    }
}

/// `{"type":"event","event":…}`, serialized once per event for all sockets.
fn event_frame(event: &Event) -> Message {
    let bytes = event.websocket_message(|e| {
        serde_json::to_vec(&ServerMessage::Event { event: e })
            .unwrap_or_default()
            .into()
    });
    // serde_json writes UTF-8; the check cannot fail.
    Utf8Bytes::try_from(bytes)
        .map(Message::Text)
        .unwrap_or_else(|_| Message::text("{}"))
}

fn error(code: &'static str, message: impl Into<String>) -> ServerMessage<'static> {
    ServerMessage::Error {
        code,
        message: message.into(),
        reference: None,
        retry_after_ms: None,
    }
}

// Most topics one connection may follow: the same for every transport.
use crate::hub::MAX_TOPICS;

/// What ended a session: the close code the client saw, and why.
type Outcome = (CloseCode, CloseReason);

/// Why the loop stopped reading.
pub(crate) enum Stop {
    /// Send this close frame (then wait briefly for the reply).
    Close(CloseCode, CloseReason),
    /// The peer closed or vanished; nothing more to send.
    Gone(CloseCode, CloseReason),
}

/// One WebSocket connection's state.
struct Session {
    state: WebSocketApi,
    name: String,
    /// The learner and address its publishes count against (with `state.limits`).
    publisher: Publisher,
    /// This connection's own publish bucket.
    publish_limit: ConnectionLimit,
    /// Bad messages left before the connection is closed with 1008.
    errors: ErrorBudget,
    subscription: Option<(Subscription, TopicFilter)>,
    chat: broadcast::Receiver<Arc<ChatMessage>>,
    tap: Tap,
    dropped: tokio::sync::watch::Receiver<u64>,
    faults: StreamFaults,
    /// The lab's fault actions: cut now (deploy) or go silent (half-open).
    valve: Valve,
    /// When a frame was last written (for the idle-timeout killer).
    last_write: std::sync::Mutex<Instant>,
}

impl Session {
    fn new(
        state: WebSocketApi,
        name: String,
        publisher: Publisher,
        tap: Tap,
        dropped: tokio::sync::watch::Receiver<u64>,
        faults: StreamFaults,
        valve: Valve,
    ) -> Self {
        let chat = state.chat.join();
        Session {
            publish_limit: state.limits.for_connection(),
            errors: ErrorBudget::new(state.ctx.config.ws_error_budget),
            publisher,
            state,
            name,
            subscription: None,
            chat,
            tap,
            dropped,
            faults,
            valve,
            last_write: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Sends a frame and tells the tap (with the event it carries, if any).
    async fn send(
        &self,
        ws: &mut WebSocketStream<Upgraded>,
        frame: Message,
        event: Option<&Event>,
    ) -> Result<(), WsError> {
        if event.is_some()
            && let Some(latency) = self.faults.latency
        {
            tokio::time::sleep(latency).await;
        }
        let (kind, len, text) = describe(&frame);
        self.tap.ws_sent(kind, len, text, event);
        *self.last_write.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        // A client that stops reading must not hold the session forever.
        match tokio::time::timeout(self.state.ctx.config.ws_ping_timeout(), ws.send(frame)).await {
            Ok(sent) => sent,
            Err(_) => Err(WsError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
        }
    }

    async fn run(mut self, mut ws: WebSocketStream<Upgraded>) -> Outcome {
        let welcome = ServerMessage::Welcome {
            client_id: &self.name,
            last_id: self.state.ctx.hub.last_id(),
            max_message_bytes: self.state.ctx.config.ws_max_message_bytes,
        };
        if self.send(&mut ws, welcome.to_frame(), None).await.is_err() {
            return (CloseCode::Abnormal, CloseReason::ConnectionBroke);
        }
        let stop = self.serve(&mut ws).await;
        finish(&mut ws, stop, &self.tap).await
    }

    fn tap_received(&self, msg: &Message) {
        let (kind, len, text) = describe(msg);
        self.tap.ws_received(kind, len, text);
    }

    async fn serve(&mut self, ws: &mut WebSocketStream<Upgraded>) -> Stop {
        let config = self.state.ctx.config.clone();
        let shutdown = self.state.ctx.shutdown.token().clone();
        let mut ping_timer = tokio::time::interval_at(
            Instant::now() + config.ws_ping_interval(),
            config.ws_ping_interval(),
        );
        ping_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut pong_deadline: Option<Instant> = None;

        loop {
            let pong_overdue = until(pong_deadline);
            let idle_deadline = self
                .faults
                .idle_timeout
                .map(|t| *self.last_write.lock().unwrap_or_else(|p| p.into_inner()) + t);
            let subscription = &mut self.subscription;
            let next_event = async move {
                match subscription {
                    Some((sub, topics)) => sub.next_matching(topics).await,
                    None => std::future::pending().await,
                }
            };
            let out = tokio::select! {
                biased;
                _ = shutdown.cancelled() => return Stop::Close(CloseCode::Away, CloseReason::ShuttingDown),
                Ok(()) = self.dropped.changed() => return Stop::Close(CloseCode::Away, CloseReason::DroppedOnRequest),
                order = self.valve.order() => return match order {
                    Order::Cut => Stop::Close(CloseCode::Away, CloseReason::Deployed),
                    Order::Freeze { until } => self.frozen(ws, until, &shutdown).await,
                },
                // Like a proxy's idle timeout: the TCP connection just goes, no close frame.
                _ = until(idle_deadline) => return Stop::Gone(CloseCode::Abnormal, CloseReason::IdleTimeout),
                incoming = ws.next() => match incoming {
                    None => return Stop::Gone(CloseCode::Abnormal, CloseReason::ClientVanished),
                    Some(Err(err)) => return stop_for(err),
                    Some(Ok(msg)) => {
                        self.tap_received(&msg);
                        match msg {
                    Message::Text(text) => {
                        // Boxed: publishing waits on the backplane, and that future
                        // inline would make every idle session larger.
                        let reply = Box::pin(self.handle_text(text.as_str())).await;
                        if matches!(reply, ServerMessage::Error { .. }) && !self.errors.spend() {
                            return Stop::Close(CloseCode::Policy, CloseReason::TooManyBadMessages);
                        }
                        Some(reply.to_frame())
                    }
                    Message::Binary(_) => {
                        if !self.errors.spend() {
                            return Stop::Close(CloseCode::Policy, CloseReason::TooManyBadMessages);
                        }
                        Some(error(
                            "binary_not_supported",
                            "This endpoint speaks JSON text messages; binary frames are ignored.",
                        ).to_frame())
                    }
                    Message::Pong(_) => {
                        pong_deadline = None;
                        None
                    }
                    // tungstenite answers pings and close frames by itself.
                    Message::Close(frame) => {
                        // tungstenite queues the reply: the same code and reason,
                        // or 1002 "Protocol violation" for a code that is not allowed.
                        let (code, reply) = match &frame {
                            None => (CloseCode::Status, 0),
                            Some(f) if f.code.is_allowed() => (f.code, 2 + f.reason.len()),
                            Some(f) => (f.code, 2 + "Protocol violation".len()),
                        };
                        self.tap.ws_sent(FrameKind::Close, reply, None, None);
                        // Keep reading (briefly) so tungstenite flushes its close reply.
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            while let Some(Ok(_)) = ws.next().await {}
                        })
                        .await;
                        return Stop::Gone(code, CloseReason::ClientClosed);
                    }
                    _ => None,
                        }
                    }
                },
                _ = pong_overdue => return Stop::Close(CloseCode::Policy, CloseReason::NoPong),
                delivery = next_event => match delivery {
                    Some(Delivery::Event(event)) => {
                        let frame = event_frame(&event);
                        if let Err(err) = self.send(ws, frame, Some(&event)).await {
                            return stop_for(err);
                        }
                        None
                    }
                    Some(Delivery::Reset(reset)) => Some(ServerMessage::Reset(&reset).to_frame()),
                    None => return Stop::Close(CloseCode::Away, CloseReason::ShuttingDown),
                },
                chat = self.chat.recv() => match chat {
                    Ok(msg) if msg.from != self.name => Some(ServerMessage::Chat(&msg).to_frame()),
                    Ok(_) => None,
                    Err(broadcast::error::RecvError::Lagged(n)) => Some(error(
                        "chat_lagged",
                        format!("You were too slow to read the chat; {n} messages were dropped."),
                    ).to_frame()),
                    Err(broadcast::error::RecvError::Closed) => None,
                },
                _ = ping_timer.tick() => {
                    if pong_deadline.is_none() {
                        pong_deadline = Some(Instant::now() + config.ws_ping_timeout());
                    }
                    Some(Message::Ping(Bytes::from_static(b"playground")))
                },
            };
            if let Some(frame) = out
                && let Err(err) = self.send(ws, frame, None).await
            {
                return stop_for(err);
            }
        }
    }

    /// Half-open: no pong, no ping, no close frame; what the client sends
    /// is read and dropped, so its leaving is still noticed.
    async fn frozen(
        &mut self,
        ws: &mut WebSocketStream<Upgraded>,
        give_up: Instant,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Stop {
        tokio::select! {
            _ = shutdown.cancelled() => Stop::Gone(CloseCode::Abnormal, CloseReason::ShutDownWhileHalfOpen),
            Ok(()) = self.dropped.changed() => Stop::Gone(CloseCode::Abnormal, CloseReason::DroppedWhileHalfOpen),
            silence = silent_until(ws.get_mut(), give_up) => match silence {
                Silence::ClientLeft => Stop::Gone(CloseCode::Abnormal, CloseReason::ClientLeftWhileHalfOpen),
                Silence::GaveUp => Stop::Gone(
                    CloseCode::Abnormal,
                    CloseReason::HalfOpenGaveUp,
                ),
            },
        }
    }

    async fn handle_text(&mut self, text: &str) -> ServerMessage<'static> {
        let msg: ClientMessage = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(err) => {
                let (code, message) = if serde_json::from_str::<serde_json::Value>(text).is_err() {
                    ("invalid_json", format!("That is not valid JSON: {err}."))
                } else {
                    (
                        "invalid_message",
                        format!(
                            "Unknown or malformed message: {err}. Known types: subscribe, \
                             unsubscribe, publish, chat, echo, ping."
                        ),
                    )
                };
                return error(code, message);
            }
        };
        match msg {
            ClientMessage::Subscribe {
                topics,
                since,
                reference,
            } => self.subscribe(topics, since, reference),
            ClientMessage::Unsubscribe { topics, reference } => self.unsubscribe(topics, reference),
            ClientMessage::Publish { reference, .. } | ClientMessage::Chat { reference, .. }
                if let Some(wait) = self.over_rate() =>
            {
                ServerMessage::Error {
                    code: "rate_limited",
                    message: format!(
                        "You are publishing too fast; wait {} ms before the next publish or chat.",
                        wait.millis()
                    ),
                    reference,
                    retry_after_ms: Some(wait.millis()),
                }
            }
            ClientMessage::Publish {
                topic,
                event,
                data,
                reference,
            } => self.publish(topic, event, data, reference).await,
            ClientMessage::Chat { text, reference } => {
                if text.trim().is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                    ServerMessage::Error {
                        code: "invalid_chat",
                        message: format!("Chat text must have 1 to {MAX_CHAT_CHARS} characters."),
                        reference,
                        retry_after_ms: None,
                    }
                } else {
                    self.chat(&text, reference).await
                }
            }
            ClientMessage::Echo { data, reference } => ServerMessage::Echo { data, reference },
            ClientMessage::Ping { reference } => ServerMessage::Pong { reference },
        }
    }

    /// Says `text` to the other sockets in the room, and publishes it on the
    /// chat topic, where SSE readers and this socket (when subscribed) see it.
    async fn chat(
        &self,
        text: &str,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let backplane = &self.state.backplane;
        if let Err(err) = backplane.say(&self.name, text).await {
            return unavailable(err, reference);
        }
        match backplane.publish(chat_event(&self.name, text)).await {
            Ok(id) => ServerMessage::Ack {
                answers: "chat",
                reference,
                topics: None,
                id: Some(id),
            },
            Err(err) => unavailable(err, reference),
        }
    }

    /// `Some(wait)` when this connection or its learner is over the publish rate.
    fn over_rate(&self) -> Option<RetryAfter> {
        self.publish_limit
            .check()
            .and_then(|()| self.state.limits.check(&self.publisher))
            .err()
    }

    fn subscribe(
        &mut self,
        topics: Option<Vec<String>>,
        since: Option<u64>,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let requested = topics.unwrap_or_default();
        if let Some(bad) = requested
            .iter()
            .find(|t| super::publish_rules::validate_names(t, "message").is_err())
        {
            return ServerMessage::Error {
                code: "invalid_subscribe",
                message: format!("{bad:?} is not a valid topic name."),
                reference,
                retry_after_ms: None,
            };
        }
        let requested: TopicFilter = requested.into_iter().collect();
        let previous_cursor = self.subscription.as_ref().map(|(sub, _)| sub.cursor());
        let filter = match self.subscription.as_ref() {
            // Adding topics to "everything" is still everything.
            Some((_, current)) if current.is_all() || requested.is_all() => TopicFilter::all(),
            Some((_, current)) => current.topics().iter().chain(requested.topics()).collect(),
            None => requested,
        };
        if filter.topics().len() > MAX_TOPICS {
            return ServerMessage::Error {
                code: "too_many_topics",
                message: format!("A connection may follow at most {MAX_TOPICS} topics."),
                reference,
                retry_after_ms: None,
            };
        }
        // Without `since`, an existing subscription carries on where it was, so nothing is skipped.
        let from = match (since, previous_cursor) {
            (Some(since), _) => Cursor::After(since),
            (None, Some(cursor)) => Cursor::After(cursor),
            (None, None) => Cursor::Now,
        };
        if since.is_some() {
            // A replay: what it brings from before now is catch-up, not delay.
            self.tap.listening_from(ListeningSince::now());
        }
        let sub = self.state.ctx.hub.subscribe(from);
        let topics = filter.topics().to_vec();
        self.subscription = Some((sub, filter));
        ServerMessage::Ack {
            answers: "subscribe",
            reference,
            topics: Some(topics),
            id: None,
        }
    }

    fn unsubscribe(
        &mut self,
        topics: Option<Vec<String>>,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        let remove: TopicFilter = topics.unwrap_or_default().into_iter().collect();
        let Some((sub, current)) = self.subscription.take() else {
            return ack("unsubscribe", reference);
        };
        if remove.is_all() {
            return ack("unsubscribe", reference);
        }
        if current.is_all() {
            self.subscription = Some((sub, current));
            return ServerMessage::Error {
                code: "invalid_unsubscribe",
                message: "You are subscribed to all topics. Unsubscribe without `topics`, \
                          then subscribe to the ones you want."
                    .into(),
                reference,
                retry_after_ms: None,
            };
        }
        let left: TopicFilter = current
            .topics()
            .iter()
            .filter(|t| !remove.accepts(t))
            .collect();
        let topics = left.topics().to_vec();
        if !left.is_all() {
            self.subscription = Some((sub, left));
        }
        ServerMessage::Ack {
            answers: "unsubscribe",
            reference,
            topics: Some(topics),
            id: None,
        }
    }

    async fn publish(
        &self,
        topic: String,
        event: String,
        data: serde_json::Value,
        reference: Option<serde_json::Value>,
    ) -> ServerMessage<'static> {
        if let Err(refused) = super::publish_rules::validate_publish(&topic, &event) {
            return ServerMessage::Error {
                code: "invalid_publish",
                message: refused.to_string(),
                reference,
                retry_after_ms: None,
            };
        }
        let published = self
            .state
            .backplane
            .publish(NewEvent {
                topic,
                kind: event,
                data,
            })
            .await;
        match published {
            Ok(id) => ServerMessage::Ack {
                answers: "publish",
                reference,
                topics: None,
                id: Some(id),
            },
            Err(err) => unavailable(err, reference),
        }
    }
}

/// The backplane (Redis) is down: nothing was published; the socket stays open.
fn unavailable(err: Unavailable, reference: Option<serde_json::Value>) -> ServerMessage<'static> {
    ServerMessage::Error {
        code: "unavailable",
        message: err.0,
        reference,
        retry_after_ms: None,
    }
}

fn ack(answers: &'static str, reference: Option<serde_json::Value>) -> ServerMessage<'static> {
    ServerMessage::Ack {
        answers,
        reference,
        topics: None,
        id: None,
    }
}

/// Maps a socket error to the close code RFC 6455 prescribes for it.
pub(crate) fn stop_for(err: WsError) -> Stop {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => {
            Stop::Close(CloseCode::Size, CloseReason::MessageTooBig)
        }
        WsError::Capacity(_) => Stop::Close(CloseCode::Size, CloseReason::FrameTooBig),
        WsError::Utf8(_) => Stop::Close(CloseCode::Invalid, CloseReason::InvalidUtf8),
        WsError::Protocol(_) => Stop::Close(CloseCode::Protocol, CloseReason::ProtocolError),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            Stop::Gone(CloseCode::Normal, CloseReason::ConnectionClosed)
        }
        WsError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Stop::Gone(CloseCode::Policy, CloseReason::StoppedReading)
        }
        _ => Stop::Gone(CloseCode::Abnormal, CloseReason::ConnectionBroke),
    }
}

/// Ends a session: for [`Stop::Close`] sends the close frame and waits (a
/// second at most; the peer may be gone) for the reply, logging both.
pub(crate) async fn finish<S>(ws: &mut WebSocketStream<S>, stop: Stop, tap: &Tap) -> Outcome
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    match stop {
        Stop::Close(code, reason) => {
            let frame = Message::Close(Some(CloseFrame {
                code,
                reason: reason.sentence(Transport::Websocket).into(),
            }));
            let (kind, len, _) = describe(&frame);
            tap.ws_sent(kind, len, None, None);
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                if ws.send(frame).await.is_ok() {
                    // Read until the peer's close reply ends the stream.
                    let mut replied = false;
                    while let Some(Ok(msg)) = ws.next().await {
                        replied |= matches!(msg, Message::Close(_));
                        let (kind, len, text) = describe(&msg);
                        tap.ws_received(kind, len, text);
                    }
                    if !replied {
                        linger(ws.get_mut()).await;
                    }
                }
            })
            .await;
            (code, reason)
        }
        Stop::Gone(code, reason) => (code, reason),
    }
}

/// After a read error tokio-tungstenite yields nothing more, so the peer's
/// close reply (or the rest of a refused message) would sit unread, and
/// closing a socket with unread data makes the kernel send RST, which can
/// destroy the close frame in flight. Instead: FIN, then read until the peer
/// closes too (bounded by the caller's timeout).
async fn linger<S>(raw: &mut S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = raw.shutdown().await;
    // On the heap: an array here would make every session's future 4 KiB larger.
    let mut sink = vec![0u8; 4096];
    while matches!(raw.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// A frame's kind, payload size and text, for the traffic log.
pub(crate) fn describe(msg: &Message) -> (FrameKind, usize, Option<&str>) {
    match msg {
        Message::Text(t) => (FrameKind::Text, t.len(), Some(t.as_str())),
        Message::Binary(b) => (FrameKind::Binary, b.len(), None),
        Message::Ping(b) => (FrameKind::Ping, b.len(), None),
        Message::Pong(b) => (FrameKind::Pong, b.len(), None),
        Message::Close(frame) => (
            FrameKind::Close,
            frame.as_ref().map_or(0, |f| 2 + f.reason.len()),
            None,
        ),
        Message::Frame(f) => (FrameKind::Binary, f.payload().len(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let allowed = vec!["http://localhost:3000".to_string()];
        assert!(check_origin(&headers(None, "127.0.0.1:8080"), &allowed).is_ok());
        assert!(
            check_origin(
                &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check_origin(
                &headers(Some("http://localhost:3000"), "127.0.0.1:8080"),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check_origin(
                &headers(Some("http://evil.example"), "127.0.0.1:8080"),
                &allowed
            )
            .is_err()
        );
        assert!(check_origin(&headers(Some("null"), "127.0.0.1:8080"), &allowed).is_err());
    }

    #[test]
    fn client_messages_parse() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topics":["ticker"],"since":3,"ref":1}"#)
                .expect("parse");
        assert!(matches!(m, ClientMessage::Subscribe { since: Some(3), .. }));
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
    }
}

/// Property test: whatever text a client sends, the session answers with one
/// well-formed JSON message and never panics.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::config::Config;
    use proptest::prelude::*;

    fn session(rt: &tokio::runtime::Runtime) -> Session {
        let _guard = rt.enter();
        let ctx = TransportContext::for_tests(Config::for_tests());
        let chat = crate::chat::ChatRoom::new(16);
        let state = WebSocketApi {
            backplane: crate::backplane::Backplane::memory(ctx.hub.clone(), chat.clone()),
            limits: Arc::new(crate::limits::PublishLimits::new(&ctx.config)),
            chat,
            ctx,
        };
        let (_tx, dropped) = tokio::sync::watch::channel(0);
        Session::new(
            state,
            "ws-fuzz".into(),
            Publisher::new(Arc::from("fuzzer"), None),
            Tap::default(),
            dropped,
            StreamFaults::default(),
            Valve::never(),
        )
    }

    fn answer(
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        text: &str,
    ) -> serde_json::Value {
        let frame = rt.block_on(session.handle_text(text)).to_frame();
        let Message::Text(json) = frame else {
            panic!("not a text frame")
        };
        serde_json::from_str(json.as_str()).expect("the answer is JSON")
    }

    fn config() -> ProptestConfig {
        ProptestConfig::with_cases(3000)
    }

    #[test]
    fn any_text_gets_one_typed_answer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let session = std::cell::RefCell::new(session(&rt));
        proptest!(config(), |(text in ".{0,200}")| {
            let reply = answer(&rt, &mut session.borrow_mut(), &text);
            prop_assert!(reply["type"].is_string(), "{reply}");
        });
    }

    #[test]
    fn message_shaped_json_gets_one_typed_answer() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let session = std::cell::RefCell::new(session(&rt));
        proptest!(config(), |(
            kind in "(subscribe|unsubscribe|publish|chat|echo|ping|pong|)",
            field in "(topics|since|topic|event|data|text|ref|x)",
            value in r#"(null|true|-1|0|18446744073709551616|1e309|""|"a"|\[\]|\["t"\]|\{\})"#,
        )| {
            let text = format!(r#"{{"type":"{kind}","{field}":{value}}}"#);
            let reply = answer(&rt, &mut session.borrow_mut(), &text);
            prop_assert!(reply["type"].is_string(), "{text} → {reply}");
        });
    }
}
