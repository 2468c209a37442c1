//! Capture: measuring each learner's traffic as it happens.
//!
//! [`Capture`] is a middleware. For a plain request/response it records one
//! `exchange` entry with the request and answer sizes as HTTP/1.1 puts them
//! on the wire. For a stream (SSE) or an upgrade (WebSocket) it records the
//! opening, and hands the transport a [`Tap`] through the request extensions;
//! the transport reports what it sends and receives to the tap, and the tap
//! writes entries. Transports never see the store.
//! A tap knows since when its client listens: older events are
//! [`catch-up`](super::catch_up), not delay.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::{Stream, StreamExt, TryFutureExt};
use poem::http::{StatusCode, header};
use poem::{
    Body, Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response, Result,
};

use super::catch_up::{Delivered, ListeningSince, has_since, now_us};
use super::close_reason::CloseReason;
use super::har::Headers;
use super::learner::Learner;
use super::{Actor, Direction, Entry, EntryKind, TrafficLog, Transport, wire};
use crate::hub::Event;

/// Most delays kept per entry.
const MAX_DELAYS: usize = 100;
/// Longest path and query kept, in bytes.
const MAX_PATH: usize = 1024;
/// Longest WebSocket text preview, in characters.
const PREVIEW_CHARS: usize = 200;

/// Middleware that records every `/api` exchange in the traffic log.
pub struct Capture {
    log: TrafficLog,
}

impl Capture {
    pub fn new(log: TrafficLog) -> Self {
        Capture { log }
    }
}

impl<E: Endpoint> Middleware<E> for Capture {
    type Output = CaptureEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CaptureEndpoint {
            inner,
            log: self.log.clone(),
        }
    }
}

pub struct CaptureEndpoint<E> {
    inner: E,
    log: TrafficLog,
}

impl<E: Endpoint> Endpoint for CaptureEndpoint<E> {
    type Output = Response;

    /// A request the log does not record (log off, or a path it ignores)
    /// goes straight through: the inner future is returned as it is, so the
    /// capture adds nothing to the future every request allocates. A
    /// recorded exchange takes a boxed detour with its bookkeeping.
    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        match Transport::of_path(req.uri().path()) {
            Some(transport) if self.log.enabled() && !super::is_page_bookkeeping(&req) => {
                Either::Left(Box::pin(self.capture(req, transport)))
            }
            _ => Either::Right(self.inner.call(req).map_ok(IntoResponse::into_response)),
        }
    }
}

impl<E: Endpoint> CaptureEndpoint<E> {
    async fn capture(&self, mut req: Request, transport: Transport) -> Result<Response> {
        let learner = req
            .extensions()
            .get::<Learner>()
            .cloned()
            .unwrap_or_else(|| Learner::identify(&req));
        if learner.id.starts_with(super::learner::UNLOGGED_PREFIX) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let arrived = now_us();
        let connection = self.log.next_connection();
        let method = req.method().to_string();
        let mut path = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
        if path.len() > MAX_PATH {
            let mut cut = MAX_PATH;
            while !path.is_char_boundary(cut) {
                cut -= 1;
            }
            path.truncate(cut);
            path.push('…');
        }
        let request_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let bytes_up = wire::request_head(req.method(), req.uri(), req.headers()) + request_body;
        let closes = wire::wants_close(req.headers());
        let request_headers = super::har::flatten(req.headers());
        let actor = Actor::of_query(req.uri().query());
        let tap = Tap::new(
            self.log.clone(),
            learner.id.clone(),
            transport,
            connection,
            actor,
        );
        let polling = matches!(transport, Transport::Poll | Transport::LongPoll);
        tap.listening_from(if polling {
            let previous = self.log.previous_arrival(&learner.id, transport);
            ListeningSince::for_poll(has_since(req.uri().query()), previous, arrived)
        } else {
            ListeningSince(arrived)
        });
        req.extensions_mut().insert(tap.clone());

        let mut resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(err) => err.into_response(),
        };

        // Headers added after this middleware: the learner cookie, and hyper's
        // `connection: close` when the client asked for it.
        let cookie = learner
            .set_cookie
            .as_ref()
            .map_or(0, |c| ("set-cookie: ".len() + c.len() + 2) as u64)
            + if closes { wire::CONNECTION_CLOSE } else { 0 };
        let status = resp.status();
        let mut entry = Entry::new(transport, EntryKind::Exchange, Direction::Both, connection);
        entry.actor = actor;
        entry.method = Some(method);
        entry.path = Some(path);
        entry.status = Some(status.as_u16());
        entry.bytes_up = bytes_up;
        let is_stream = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"text/event-stream"));

        if status == StatusCode::SWITCHING_PROTOCOLS {
            let head = wire::response_head(status, resp.headers(), wire::Framing::None) + cookie;
            entry.kind = EntryKind::Opened;
            entry.bytes_down = head;
            entry.headers = Some(Arc::new(Headers::new(request_headers, resp.headers())));
            tap.opened(bytes_up, head);
            self.log.record(&learner.id, entry);
            return Ok(resp);
        }

        if is_stream && status.is_success() {
            let head = wire::response_head(status, resp.headers(), wire::Framing::Chunked) + cookie;
            entry.kind = EntryKind::Opened;
            entry.bytes_down = head;
            entry.headers = Some(Arc::new(Headers::new(request_headers, resp.headers())));
            tap.opened(bytes_up, head);
            self.log.record(&learner.id, entry);
            let body = resp.take_body().into_bytes_stream();
            resp.set_body(Body::from_bytes_stream(CountedStream {
                inner: Box::pin(body),
                tap,
                finished: false,
            }));
            return Ok(resp);
        }

        let body = resp.take_body().into_bytes().await.unwrap_or_default();
        let body_len = body.len() as u64;
        let framing = if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            wire::Framing::None
        } else {
            wire::Framing::Length(body_len)
        };
        entry.bytes_down = wire::response_head(status, resp.headers(), framing) + cookie + body_len;
        entry.body_bytes = Some(body_len);
        entry.duration_ms = Some(tap.elapsed_ms());
        if polling && status.is_success() {
            entry.empty = Some(status == StatusCode::NO_CONTENT);
        }
        tap.take_answer().write_to(&mut entry);
        entry.headers = Some(Arc::new(Headers::new(request_headers, resp.headers())));
        if polling && status.is_success() {
            // The next poll of this learner listens from here.
            self.log.record_answer(&learner.id, entry, arrived);
        } else {
            self.log.record(&learner.id, entry);
        }
        resp.set_body(Body::from_bytes(body));
        Ok(resp)
    }
}

/// A response body that counts what it carries and records the stream's end.
struct CountedStream {
    inner: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
    tap: Tap,
    finished: bool,
}

impl Stream for CountedStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        match &next {
            Poll::Ready(Some(Ok(chunk))) => self.tap.add_down(wire::chunk(chunk.len() as u64)),
            Poll::Ready(None) => {
                self.finished = true;
                self.tap.add_down(wire::LAST_CHUNK);
            }
            _ => {}
        }
        next
    }
}

impl Drop for CountedStream {
    fn drop(&mut self) {
        let reason = if self.finished {
            CloseReason::ServerEnded
        } else {
            CloseReason::ClientVanished
        };
        self.tap.stream_closed(reason);
    }
}

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
    learner: Arc<str>,
    transport: Transport,
    connection: u64,
    actor: Actor,
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
    fn new(
        log: TrafficLog,
        learner: Arc<str>,
        transport: Transport,
        connection: u64,
        actor: Actor,
    ) -> Self {
        Tap(Some(Arc::new(TapInner {
            log,
            learner,
            transport,
            connection,
            actor,
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

    fn elapsed_ms(&self) -> f64 {
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
        Some(entry)
    }

    fn opened(&self, up: u64, down: u64) {
        self.with_state(|s| {
            s.up += up;
            s.down += down;
        });
    }

    fn add_down(&self, n: u64) {
        self.with_state(|s| s.down += n);
    }

    fn take_answer(&self) -> Delivered {
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

    /// SSE: a field that is not an event (`retry`, `heartbeat`, `reset`).
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

    fn stream_closed(&self, default_reason: CloseReason) {
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
