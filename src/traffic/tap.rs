//! The tap: where a streaming transport reports what it sends and receives
//! on an open connection, and how that becomes entries in the log. The
//! [`Capture`](super::capture::Capture) middleware opens one per recorded
//! request; transports only ever see the tap, never the store.
//! A tap knows since when its client listens: older events are
//! [`catch-up`](super::catch_up), not delay.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use poem::{FromRequest, Request, RequestBody, Result};

use super::catch_up::{Delivered, ListeningSince};
use super::close_reason::CloseReason;
use super::h2_meter::StreamTotals;
use super::{
    Actor, Direction, Entry, EntryKind, Http2Stream, Learner, Protocol, TrafficLog, Transport, wire,
};
use crate::hub::Event;

/// Most delays kept per entry.
const MAX_DELAYS: usize = 100;
/// Longest WebSocket text preview, in characters.
const PREVIEW_CHARS: usize = 200;

/// What a WebSocket frame is, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Text,
    Binary,
    Ping,
    Pong,
    Close,
}

impl FrameKind {
    fn as_str(self) -> &'static str {
        match self {
            FrameKind::Text => "text",
            FrameKind::Binary => "binary",
            FrameKind::Ping => "ping",
            FrameKind::Pong => "pong",
            FrameKind::Close => "close",
        }
    }
}

/// Where transports report what they send and receive on an open connection.
///
/// A disabled tap (capture off, or a path the log ignores) does nothing, so
/// transports call it unconditionally.
#[derive(Clone, Default)]
pub struct Tap(Option<Arc<TapInner>>);

struct TapInner {
    log: TrafficLog,
    learner: Learner,
    transport: Transport,
    connection: u64,
    actor: Actor,
    /// Set for a request that came over HTTP/2.
    http2: Option<Http2Stream>,
    started: Instant,
    state: Mutex<TapState>,
}

#[derive(Default)]
struct TapState {
    /// A WebSocket `subscribe` with `since` moves it.
    listening: ListeningSince,
    answer: Delivered,
    up: u64,
    down: u64,
    close_reason: Option<CloseReason>,
    closed: bool,
}

impl<'a> FromRequest<'a> for Tap {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        Ok(req.extensions().get::<Tap>().cloned().unwrap_or_default())
    }
}

impl Tap {
    pub(super) fn new(
        log: TrafficLog,
        learner: Learner,
        transport: Transport,
        connection: u64,
        actor: Actor,
        http2: Option<Http2Stream>,
    ) -> Self {
        Tap(Some(Arc::new(TapInner {
            log,
            learner,
            transport,
            connection,
            actor,
            http2,
            started: Instant::now(),
            state: Mutex::new(TapState::default()),
        })))
    }

    /// From when this tap's client listens; older events it gets are catch-up.
    pub fn listening_from(&self, since: ListeningSince) {
        self.with_state(|s| s.listening = since);
    }

    /// An event entry: catch-up, or live with its delay.
    fn event_entry(&self, event: &Event) -> Option<Entry> {
        let mut e = self.entry(EntryKind::Event, Direction::Down)?;
        let since = self.with_state(|s| s.listening)?;
        Delivered::one(event, since).write_to(&mut e);
        Some(e)
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut TapState) -> R) -> Option<R> {
        let inner = self.0.as_ref()?;
        let mut state = inner.state.lock().unwrap_or_else(|p| p.into_inner());
        Some(f(&mut state))
    }

    pub(super) fn elapsed_ms(&self) -> f64 {
        self.0
            .as_ref()
            .map_or(0.0, |i| i.started.elapsed().as_secs_f64() * 1000.0)
    }

    fn record(&self, entry: Entry) {
        if let Some(inner) = &self.0 {
            inner.log.record(&inner.learner, entry);
        }
    }

    fn entry(&self, kind: EntryKind, direction: Direction) -> Option<Entry> {
        let inner = self.0.as_ref()?;
        let mut entry = Entry::new(inner.transport, kind, direction, inner.connection);
        entry.actor = inner.actor;
        entry.protocol = self.protocol();
        entry.http2 = inner.http2;
        Some(entry)
    }

    /// The HTTP version of the request this tap belongs to.
    pub(super) fn protocol(&self) -> Protocol {
        match self.http2() {
            Some(_) => Protocol::Http2,
            None => Protocol::Http1,
        }
    }

    /// Where an HTTP/2 request ran: its connection and stream.
    pub(super) fn http2(&self) -> Option<Http2Stream> {
        self.0.as_ref().and_then(|i| i.http2)
    }

    pub(super) fn opened(&self, up: u64, down: u64) {
        self.with_state(|s| {
            s.up += up;
            s.down += down;
        });
    }

    pub(super) fn add_down(&self, n: u64) {
        self.with_state(|s| s.down += n);
    }

    pub(super) fn take_answer(&self) -> Delivered {
        self.with_state(|s| std::mem::take(&mut s.answer))
            .unwrap_or_default()
    }

    /// Polling transports: the events this answer carries.
    pub fn answered(&self, events: &[Arc<Event>]) {
        self.with_state(|s| {
            s.answer
                .add(events.iter().map(|e| &**e), s.listening, MAX_DELAYS)
        });
    }

    /// SSE: an event written to the stream (`bytes` = its field lines).
    pub fn sse_event(&self, event: &Event, bytes: usize) {
        if let Some(mut e) = self.event_entry(event) {
            e.bytes_down = bytes as u64;
            e.body_bytes = Some(bytes as u64);
            e.frame = Some("event".into());
            self.record(e);
        }
    }

    /// SSE: a field that is not an event (`retry`, `id`, `heartbeat`, `reset`).
    pub fn sse_field(&self, kind: &str, bytes: usize, detail: Option<String>) {
        if let Some(mut e) = self.entry(EntryKind::Frame, Direction::Down) {
            e.bytes_down = bytes as u64;
            e.body_bytes = Some(bytes as u64);
            e.frame = Some(kind.into());
            e.preview = detail;
            self.record(e);
        }
    }

    /// Streams: why the server is ending the stream (before it ends).
    pub fn closing(&self, reason: CloseReason) {
        self.with_state(|s| s.close_reason = Some(reason));
    }

    /// The stream ended; over HTTP/2 `measured` has what its frames took.
    pub(super) fn stream_closed(
        &self,
        default_reason: CloseReason,
        measured: Option<StreamTotals>,
    ) {
        let Some((down, reason)) = self
            .with_state(|s| {
                let first = !s.closed;
                s.closed = true;
                first.then(|| (s.down, s.close_reason.take()))
            })
            .flatten()
        else {
            return;
        };
        if let Some(mut e) = self.entry(EntryKind::Closed, Direction::Both) {
            e.bytes_down = down;
            if let Some(t) = measured {
                e.measured_over_http2(t);
            }
            e.duration_ms = Some(self.elapsed_ms());
            let reason = reason.unwrap_or(default_reason);
            e.close_reason = Some(reason.sentence(Transport::Sse).to_owned());
            e.ended_by = Some(reason);
            self.record(e);
        }
    }

    /// WebSocket: a frame from the client.
    pub fn ws_received(&self, kind: FrameKind, payload: usize, text: Option<&str>) {
        let wire = wire::ws_frame(payload as u64, true);
        self.with_state(|s| s.up += wire);
        if let Some(mut e) = self.entry(EntryKind::Frame, Direction::Up) {
            e.bytes_up = wire;
            e.body_bytes = Some(payload as u64);
            e.frame = Some(kind.as_str().into());
            e.preview = text.map(preview);
            self.record(e);
        }
    }

    /// WebSocket: a frame to the client; `event` when it delivers one.
    pub fn ws_sent(
        &self,
        kind: FrameKind,
        payload: usize,
        text: Option<&str>,
        event: Option<&Event>,
    ) {
        let wire = wire::ws_frame(payload as u64, false);
        self.with_state(|s| s.down += wire);
        let entry = match event {
            Some(ev) => self.event_entry(ev),
            None => self.entry(EntryKind::Frame, Direction::Down),
        };
        if let Some(mut e) = entry {
            e.preview = text.map(preview);
            e.bytes_down = wire;
            e.body_bytes = Some(payload as u64);
            e.frame = Some(kind.as_str().into());
            self.record(e);
        }
    }

    /// WebSocket: the session ended with this close code.
    pub fn ws_closed(&self, code: u16, reason: CloseReason) {
        let Some((up, down)) = self
            .with_state(|s| {
                let first = !s.closed;
                s.closed = true;
                first.then_some((s.up, s.down))
            })
            .flatten()
        else {
            return;
        };
        if let Some(mut e) = self.entry(EntryKind::Closed, Direction::Both) {
            e.bytes_up = up;
            e.bytes_down = down;
            e.duration_ms = Some(self.elapsed_ms());
            e.close_code = Some(code);
            e.close_reason = Some(reason.sentence(Transport::Websocket).to_owned());
            e.ended_by = Some(reason);
            self.record(e);
        }
    }
}

fn preview(text: &str) -> String {
    if text.chars().count() <= PREVIEW_CHARS {
        text.to_owned()
    } else {
        let mut p: String = text.chars().take(PREVIEW_CHARS).collect();
        p.push('…');
        p
    }
}
