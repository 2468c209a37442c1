//! One socket's session: a single task whose `select!` watches the socket,
//! the hub subscription, the chat room, the ping timer, the fault valve and
//! the shutdown signal, and answers the client's messages.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use poem::Upgraded;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Bytes, Message};

use super::WebSocketApi;
use super::close::{Outcome, Stop, describe, finish, stop_for};
use super::protocol::{ServerMessage, error, event_frame};
use crate::chat::ChatMessage;
use crate::hub::{Delivery, Event, Subscription, TopicFilter};
use crate::limits::{ConnectionLimit, ErrorBudget, Publisher};
use crate::traffic::tap::FrameKind;
use crate::traffic::{CloseReason, Tap};
use crate::transports::context::StreamFaults;
use crate::transports::until;
use crate::transports::valve::{Order, Silence, Valve, silent_until};

/// One WebSocket connection's state.
pub(crate) struct Session {
    pub(super) state: WebSocketApi,
    pub(super) name: String,
    /// The learner and address its publishes count against (with `state.limits`).
    pub(super) publisher: Publisher,
    /// This connection's own publish bucket.
    pub(super) publish_limit: ConnectionLimit,
    /// Bad messages left before the connection is closed with 1008.
    pub(super) errors: ErrorBudget,
    pub(super) subscription: Option<(Subscription, TopicFilter)>,
    pub(super) chat: broadcast::Receiver<Arc<ChatMessage>>,
    pub(super) tap: Tap,
    pub(super) dropped: tokio::sync::watch::Receiver<u64>,
    pub(super) faults: StreamFaults,
    /// The lab's fault actions: cut now (deploy) or go silent (half-open).
    pub(super) valve: Valve,
    /// When a frame was last written (for the idle-timeout killer).
    pub(super) last_write: std::sync::Mutex<Instant>,
}

impl Session {
    pub(crate) fn new(
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

    pub(crate) async fn run(mut self, mut ws: WebSocketStream<Upgraded>) -> Outcome {
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
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Err(Stop::Close(CloseCode::Away, CloseReason::ShuttingDown)),
                Ok(()) = self.dropped.changed() => Err(Stop::Close(CloseCode::Away, CloseReason::DroppedOnRequest)),
                order = self.valve.order() => Err(match order {
                    Order::Cut => Stop::Close(CloseCode::Away, CloseReason::Deployed),
                    Order::Freeze { until } => self.frozen(ws, until, &shutdown).await,
                }),
                // Like a proxy's idle timeout: the TCP connection just goes, no close frame.
                _ = until(idle_deadline) => Err(Stop::Gone(CloseCode::Abnormal, CloseReason::IdleTimeout)),
                incoming = ws.next() => match incoming {
                    None => Err(Stop::Gone(CloseCode::Abnormal, CloseReason::ClientVanished)),
                    Some(Err(err)) => Err(stop_for(err)),
                    Some(Ok(msg)) => self.on_message(ws, msg, &mut pong_deadline).await,
                },
                _ = pong_overdue => Err(Stop::Close(CloseCode::Policy, CloseReason::NoPong)),
                delivery = next_event => self.on_delivery(ws, delivery).await,
                chat = self.chat.recv() => Ok(self.on_chat(chat)),
                _ = ping_timer.tick() => {
                    if pong_deadline.is_none() {
                        pong_deadline = Some(Instant::now() + config.ws_ping_timeout());
                    }
                    Ok(Some(Message::Ping(Bytes::from_static(b"playground"))))
                },
            };
            match step {
                Err(stop) => return stop,
                Ok(Some(frame)) => {
                    if let Err(err) = self.send(ws, frame, None).await {
                        return stop_for(err);
                    }
                }
                Ok(None) => {}
            }
        }
    }

    /// One message from the client: the frame to answer with, if any, or why
    /// the session ends.
    async fn on_message(
        &mut self,
        ws: &mut WebSocketStream<Upgraded>,
        msg: Message,
        pong_deadline: &mut Option<Instant>,
    ) -> Result<Option<Message>, Stop> {
        self.tap_received(&msg);
        match msg {
            Message::Text(text) => {
                // Boxed: publishing waits on the backplane, and that future
                // inline would make every idle session larger.
                let reply = Box::pin(self.handle_text(text.as_str())).await;
                if matches!(reply, ServerMessage::Error { .. }) && !self.errors.spend() {
                    return Err(Stop::Close(
                        CloseCode::Policy,
                        CloseReason::TooManyBadMessages,
                    ));
                }
                Ok(Some(reply.to_frame()))
            }
            Message::Binary(_) => {
                if !self.errors.spend() {
                    return Err(Stop::Close(
                        CloseCode::Policy,
                        CloseReason::TooManyBadMessages,
                    ));
                }
                Ok(Some(
                    error(
                        "binary_not_supported",
                        "This endpoint speaks JSON text messages; binary frames are ignored.",
                    )
                    .to_frame(),
                ))
            }
            Message::Pong(_) => {
                *pong_deadline = None;
                Ok(None)
            }
            // tungstenite answers pings and close frames by itself.
            Message::Close(frame) => Err(self.on_close(ws, frame).await),
            _ => Ok(None),
        }
    }

    /// The client closed: log tungstenite's queued reply and let it flush.
    async fn on_close(
        &self,
        ws: &mut WebSocketStream<Upgraded>,
        frame: Option<CloseFrame>,
    ) -> Stop {
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
        Stop::Gone(code, CloseReason::ClientClosed)
    }

    /// What the subscription delivered: an event (sent here, with its
    /// latency fault), a reset to announce, or the hub's end.
    async fn on_delivery(
        &self,
        ws: &mut WebSocketStream<Upgraded>,
        delivery: Option<Delivery>,
    ) -> Result<Option<Message>, Stop> {
        match delivery {
            Some(Delivery::Event(event)) => {
                let frame = event_frame(&event);
                self.send(ws, frame, Some(&event)).await.map_err(stop_for)?;
                Ok(None)
            }
            Some(Delivery::Reset(reset)) => Ok(Some(ServerMessage::Reset(&reset).to_frame())),
            None => Err(Stop::Close(CloseCode::Away, CloseReason::ShuttingDown)),
        }
    }

    /// A chat message from the room: passed on unless it is this socket's own.
    fn on_chat(
        &self,
        chat: Result<Arc<ChatMessage>, broadcast::error::RecvError>,
    ) -> Option<Message> {
        match chat {
            Ok(msg) if msg.from != self.name => Some(ServerMessage::Chat(&msg).to_frame()),
            Ok(_) => None,
            Err(broadcast::error::RecvError::Lagged(n)) => Some(
                error(
                    "chat_lagged",
                    format!("You were too slow to read the chat; {n} messages were dropped."),
                )
                .to_frame(),
            ),
            Err(broadcast::error::RecvError::Closed) => None,
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
}
