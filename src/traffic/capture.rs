//! Capture: measuring each learner's traffic as it happens.
//!
//! [`Capture`] is a middleware. For a plain request/response it records one
//! `exchange` entry with the request and answer sizes on the wire: computed
//! as HTTP/1.1 writes them, or, for HTTP/2, measured frame by frame by the
//! connection's [`h2_meter`](super::h2_meter) once the answer's last frame is
//! written (so the entry lands just before the client can read it). For a
//! stream (SSE) or an upgrade (WebSocket) it records the opening, and hands the transport a [`Tap`] through the request extensions;
//! the transport reports what it sends and receives to the tap, and the tap
//! writes entries ([`super::tap`]). Transports never see the store.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::{Stream, StreamExt, TryFutureExt};
use poem::http::{StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::catch_up::{ListeningSince, has_since, now_us};
use super::close_reason::CloseReason;
use super::h2_meter::MeteredStream;
use super::har::Headers;
use super::learner::Learner;
use super::tap::Tap;
use super::{Actor, Direction, Entry, EntryKind, TrafficLog, Transport, wire};

/// Longest path and query kept, in bytes.
const MAX_PATH: usize = 1024;

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
        let call = self.begin(&req, learner, transport);
        req.extensions_mut().insert(call.tap.clone());
        let resp = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(err) => err.into_response(),
        };
        Ok(self.finish(call, resp).await)
    }

    /// Measures the request and opens its tap, before the endpoint sees it.
    fn begin(&self, req: &Request, learner: Learner, transport: Transport) -> Call {
        let arrived = now_us();
        let connection = self.log.next_connection();
        let asked = Asked::read(req);
        let stream = req.extensions().get::<Arc<MeteredStream>>().cloned();
        let tap = Tap::new(
            self.log.clone(),
            learner.clone(),
            transport,
            connection,
            asked.actor,
            stream.as_deref().map(MeteredStream::place),
        );
        let polling = matches!(transport, Transport::Poll | Transport::LongPoll);
        tap.listening_from(if polling {
            let previous = self.log.previous_arrival(&learner.id, transport);
            ListeningSince::for_poll(has_since(req.uri().query()), previous, arrived)
        } else {
            ListeningSince(arrived)
        });
        Call {
            learner,
            transport,
            connection,
            arrived,
            polling,
            asked,
            tap,
            stream,
        }
    }

    /// Records the answer: an opened upgrade or stream (whose body is then
    /// counted as it goes), or a whole exchange.
    async fn finish(&self, mut call: Call, mut resp: Response) -> Response {
        let status = resp.status();
        if status == StatusCode::SWITCHING_PROTOCOLS {
            self.opened(&mut call, &resp, wire::Framing::None);
            return resp;
        }
        let metered = call.stream.clone();
        let is_stream = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"text/event-stream"));
        if is_stream && status.is_success() {
            self.opened(&mut call, &resp, wire::Framing::Chunked);
            let body = resp.take_body().into_bytes_stream();
            resp.set_body(Body::from_bytes_stream(CountedStream {
                inner: Box::pin(body),
                tap: call.tap,
                stream: metered,
                finished: false,
            }));
            return resp;
        }
        self.exchange(call, resp).await
    }

    /// An upgrade or a stream opened: its head now (over HTTP/2, once its
    /// HEADERS frame is written), the rest through the tap.
    fn opened(&self, call: &mut Call, resp: &Response, framing: wire::Framing) {
        let mut entry = call.entry(EntryKind::Opened, resp);
        if let Some(stream) = &call.stream {
            let (log, learner, tap) = (self.log.clone(), call.learner.clone(), call.tap.clone());
            stream.on_head_written(move |t| {
                entry.measured_over_http2(t);
                entry.bytes_down = t.header_bytes_down; // the opening is the head; events follow
                tap.opened(t.bytes_up, t.header_bytes_down);
                log.record(&learner, entry);
            });
            return;
        }
        let head =
            wire::response_head(resp.status(), resp.headers(), framing) + call.late_headers();
        entry.bytes_down = head;
        entry.header_bytes = Some(call.asked.head_bytes + head);
        call.tap.opened(call.asked.bytes_up, head);
        self.log.record(&call.learner, entry);
    }

    /// A plain request and its whole answer, read to be measured.
    async fn exchange(&self, mut call: Call, mut resp: Response) -> Response {
        let status = resp.status();
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
        let mut entry = call.entry(EntryKind::Exchange, &resp);
        let head = wire::response_head(status, resp.headers(), framing) + call.late_headers();
        entry.bytes_down = head + body_len;
        entry.header_bytes = Some(call.asked.head_bytes + head);
        entry.body_bytes = Some(body_len);
        entry.duration_ms = Some(call.tap.elapsed_ms());
        let answered_poll = call.polling && status.is_success();
        if answered_poll {
            entry.empty = Some(status == StatusCode::NO_CONTENT);
        }
        call.tap.take_answer().write_to(&mut entry);
        let stream = call.stream.take();
        let log = self.log.clone();
        let record = move |entry: Entry| {
            if answered_poll {
                // The next poll of this learner listens from here.
                log.record_answer(&call.learner, entry, call.arrived);
            } else {
                log.record(&call.learner, entry);
            }
        };
        match stream {
            Some(stream) => stream.on_end(move |t| {
                entry.measured_over_http2(t);
                record(entry);
            }),
            None => record(entry),
        }
        resp.set_body(Body::from_bytes(body));
        resp
    }
}

/// One recorded request on its way through: who asked, what, and its tap.
struct Call {
    learner: Learner,
    transport: Transport,
    connection: u64,
    /// When it arrived, in µs (polls listen from their previous arrival).
    arrived: u64,
    /// A poll or a long-poll: its answer says whether it was empty.
    polling: bool,
    asked: Asked,
    tap: Tap,
    /// Its HTTP/2 stream, measured by the connection's meter (HTTP/1.1: none).
    stream: Option<Arc<MeteredStream>>,
}

impl Call {
    /// Its one entry, with what the request and the answer's headers say
    /// (it takes the request's texts: call once).
    fn entry(&mut self, kind: EntryKind, resp: &Response) -> Entry {
        let asked = &mut self.asked;
        let mut entry = Entry::new(self.transport, kind, Direction::Both, self.connection);
        entry.actor = asked.actor;
        entry.method = Some(std::mem::take(&mut asked.method));
        entry.path = Some(std::mem::take(&mut asked.path));
        entry.status = Some(resp.status().as_u16());
        entry.protocol = self.tap.protocol();
        entry.http2 = self.tap.http2();
        entry.bytes_up = asked.bytes_up;
        let request_headers = std::mem::take(&mut asked.headers);
        entry.headers = Some(Arc::new(Headers::new(request_headers, resp.headers())));
        entry
    }

    /// Bytes of the headers added after this middleware: the learner cookie,
    /// and hyper's `connection: close` when the client asked for it.
    fn late_headers(&self) -> u64 {
        self.learner
            .set_cookie
            .as_ref()
            .map_or(0, |c| ("set-cookie: ".len() + c.len() + 2) as u64)
            + if self.asked.closes {
                wire::CONNECTION_CLOSE
            } else {
                0
            }
    }
}

/// What the log keeps of a request, read before the endpoint takes it.
struct Asked {
    method: String,
    /// Path and query, cut at [`MAX_PATH`] bytes.
    path: String,
    bytes_up: u64,
    /// Of those, the request line and headers.
    head_bytes: u64,
    /// The client asked for `Connection: close`.
    closes: bool,
    headers: String,
    actor: Actor,
}

impl Asked {
    fn read(req: &Request) -> Self {
        let request_body = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let head_bytes = wire::request_head(req.method(), req.uri(), req.headers());
        Asked {
            method: req.method().to_string(),
            path: shortened_path(req),
            head_bytes,
            bytes_up: head_bytes + request_body,
            closes: wire::wants_close(req.headers()),
            headers: super::har::flatten(req.headers()),
            actor: Actor::of_query(req.uri().query()),
        }
    }
}

/// The request's path and query, cut at a character boundary past [`MAX_PATH`] bytes.
fn shortened_path(req: &Request) -> String {
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
    path
}

/// A response body that counts what it carries and records the stream's end.
struct CountedStream {
    inner: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
    tap: Tap,
    /// Over HTTP/2 the meter, not the chunks, has the stream's bytes.
    stream: Option<Arc<MeteredStream>>,
    finished: bool,
}

impl Stream for CountedStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        let chunked = self.stream.is_none();
        match &next {
            Poll::Ready(Some(Ok(chunk))) if chunked => {
                self.tap.add_down(wire::chunk(chunk.len() as u64))
            }
            Poll::Ready(None) => {
                self.finished = true;
                if chunked {
                    self.tap.add_down(wire::LAST_CHUNK);
                }
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
        match self.stream.take() {
            Some(stream) => {
                let tap = self.tap.clone();
                stream.on_end(move |t| tap.stream_closed(reason, Some(t)));
            }
            None => self.tap.stream_closed(reason, None),
        }
    }
}
