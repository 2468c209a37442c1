//! HTTP/2 on the wire: the bytes each stream really took, after HPACK.
//!
//! Over HTTP/1.1 a message's size follows from its parsed head
//! ([`super::wire`]). HTTP/2 compresses headers against a table both ends
//! keep for the whole connection (HPACK): the tenth poll's headers cost a
//! fraction of the first's, and only the connection's bytes tell by how much.
//! hyper and h2 keep those bytes to themselves, so [`FrameMeter`] sits between
//! TLS and hyper, where frames are plain, and reads each frame's fixed 9-byte
//! header (RFC 9113 §4.1: length, type, flags, stream) as the bytes pass. It
//! never changes, holds or delays a byte; it only adds each frame to its
//! stream's [`StreamTotals`].
//!
//! hyper does not tell a request its stream id. It accepts streams in the order
//! their HEADERS arrived, which is the order the meter read them, so each
//! request [`claims`](Meter::claim) the oldest stream not yet claimed.
//!
//! What the server writes is counted when the transport below took it; a
//! stream's `on_end` runs once the frame that ends it (END_STREAM, or a reset)
//! is written, before the client can have read it.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client's connection preface, before its first frame.
const PREFACE_LEN: u32 = 24;
const FRAME_HEADER: usize = 9;
/// Streams opened and not yet claimed that are kept (hyper accepts at most
/// a few hundred at once); older ones are forgotten.
const MAX_UNCLAIMED: usize = 512;

mod kind {
    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    pub const RST_STREAM: u8 = 3;
    pub const CONTINUATION: u8 = 9;
}
const END_STREAM: u8 = 0x1;

/// What one stream took on the wire, frame headers included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamTotals {
    /// The connection, numbered by the meter in the order connections came.
    pub connection: u64,
    /// The stream's id on that connection (odd: the client opened it).
    pub stream: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Of those, HEADERS and CONTINUATION frames (the HPACK-compressed headers).
    pub header_bytes_up: u64,
    pub header_bytes_down: u64,
    pub frames_up: u64,
    pub frames_down: u64,
    /// The server's DATA frames: an SSE stream's events travel in them.
    pub data_frames_down: u64,
    /// The stream ended as HTTP/2 ends one (END_STREAM or a reset), not with the connection.
    pub ended: bool,
}

type Callback = Box<dyn FnOnce(StreamTotals) + Send>;

#[derive(Default)]
struct StreamState {
    totals: StreamTotals,
    head_written: bool,
    /// The request's handle is gone: the state can go once the stream ends.
    released: bool,
    on_head: Option<Callback>,
    on_end: Option<Callback>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Client → server.
    Read,
    /// Server → client.
    Write,
}

/// Where a direction's byte stream is: inside a frame header or a payload.
struct Cursor {
    /// Bytes of the preface still to pass (reading side only).
    preface: u32,
    header: [u8; FRAME_HEADER],
    header_len: usize,
    /// Payload bytes of the current frame still to pass.
    payload_left: u32,
    /// The frame being passed: its stream, type and flags.
    current: (u32, u8, u8),
}

impl Cursor {
    fn new(side: Side) -> Cursor {
        Cursor {
            preface: if side == Side::Read { PREFACE_LEN } else { 0 },
            header: [0; FRAME_HEADER],
            header_len: 0,
            payload_left: 0,
            current: (0, 0, 0),
        }
    }
}

#[derive(Default)]
struct State {
    connection: u64,
    streams: HashMap<u32, StreamState>,
    unclaimed: VecDeque<u32>,
    newest_opened: u32,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    cursors: Mutex<(Cursor, Cursor)>,
}

/// Numbers for HTTP/2 connections, so the log can show streams sharing one.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// The connection's meter: requests claim their stream from it.
#[derive(Clone)]
pub struct Meter(Arc<Shared>);

/// A connection's bytes, read as they pass in both directions.
pub struct FrameMeter<Io> {
    io: Io,
    meter: Meter,
}

impl<Io> FrameMeter<Io> {
    pub fn new(io: Io) -> Self {
        let shared = Shared {
            state: Mutex::new(State {
                connection: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
                ..State::default()
            }),
            cursors: Mutex::new((Cursor::new(Side::Read), Cursor::new(Side::Write))),
        };
        FrameMeter {
            io,
            meter: Meter(Arc::new(shared)),
        }
    }

    pub fn meter(&self) -> Meter {
        self.meter.clone()
    }
}

impl<Io> Drop for FrameMeter<Io> {
    /// The connection is gone: every stream still open ends with what it took.
    fn drop(&mut self) {
        let pending: Vec<(Callback, StreamTotals)> = {
            let mut state = self.meter.lock();
            state.closed = true;
            state
                .streams
                .drain()
                .flat_map(|(_, s)| {
                    let totals = s.totals;
                    [s.on_head, s.on_end]
                        .into_iter()
                        .flatten()
                        .map(move |f| (f, totals))
                })
                .collect()
        };
        for (f, totals) in pending {
            f(totals);
        }
    }
}

impl Meter {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The oldest stream the client opened that no request has claimed.
    pub fn claim(&self) -> Option<MeteredStream> {
        let id = self.lock().unclaimed.pop_front()?;
        Some(MeteredStream {
            meter: self.clone(),
            id,
        })
    }

    /// Passes `bytes` of one direction through the frame cursor.
    fn pass(&self, side: Side, bytes: &[u8]) {
        let mut events = Vec::new();
        {
            let mut cursors = self.0.cursors.lock().unwrap_or_else(|p| p.into_inner());
            let cursor = match side {
                Side::Read => &mut cursors.0,
                Side::Write => &mut cursors.1,
            };
            read_frames(cursor, bytes, &mut events);
        }
        if events.is_empty() {
            return;
        }
        let mut fire = Vec::new();
        {
            let mut state = self.lock();
            for event in events {
                state.apply(side, event, &mut fire);
            }
        }
        for (f, totals) in fire {
            f(totals);
        }
    }
}

/// A frame started (its header read) or finished (its last payload byte passed).
enum FrameEvent {
    Started { stream: u32, kind: u8, len: u32 },
    Finished { stream: u32, kind: u8, flags: u8 },
}

fn read_frames(c: &mut Cursor, mut bytes: &[u8], events: &mut Vec<FrameEvent>) {
    while !bytes.is_empty() {
        if c.preface > 0 {
            let n = (c.preface as usize).min(bytes.len());
            c.preface -= n as u32;
            bytes = &bytes[n..];
            continue;
        }
        if c.payload_left > 0 {
            let n = (c.payload_left as usize).min(bytes.len());
            c.payload_left -= n as u32;
            bytes = &bytes[n..];
            if c.payload_left == 0 {
                finish(c, events);
            }
            continue;
        }
        let n = (FRAME_HEADER - c.header_len).min(bytes.len());
        c.header[c.header_len..c.header_len + n].copy_from_slice(&bytes[..n]);
        c.header_len += n;
        bytes = &bytes[n..];
        if c.header_len == FRAME_HEADER {
            c.header_len = 0;
            let h = c.header;
            let len = u32::from_be_bytes([0, h[0], h[1], h[2]]);
            let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            c.current = (stream, h[3], h[4]);
            c.payload_left = len;
            events.push(FrameEvent::Started {
                stream,
                kind: h[3],
                len,
            });
            if len == 0 {
                finish(c, events);
            }
        }
    }
}

fn finish(c: &Cursor, events: &mut Vec<FrameEvent>) {
    let (stream, kind, flags) = c.current;
    events.push(FrameEvent::Finished {
        stream,
        kind,
        flags,
    });
}

impl State {
    fn apply(&mut self, side: Side, event: FrameEvent, fire: &mut Vec<(Callback, StreamTotals)>) {
        match event {
            FrameEvent::Started { stream: 0, .. } => {}
            FrameEvent::Started { stream, kind, len } => {
                let opens = side == Side::Read
                    && kind == kind::HEADERS
                    && stream % 2 == 1
                    && stream > self.newest_opened;
                if opens {
                    self.newest_opened = stream;
                    if self.unclaimed.len() == MAX_UNCLAIMED
                        && let Some(old) = self.unclaimed.pop_front()
                    {
                        self.streams.remove(&old);
                    }
                    self.unclaimed.push_back(stream);
                    let connection = self.connection;
                    self.streams.entry(stream).or_insert_with(|| StreamState {
                        totals: StreamTotals {
                            connection,
                            stream,
                            ..StreamTotals::default()
                        },
                        ..StreamState::default()
                    });
                }
                let Some(s) = self.streams.get_mut(&stream) else {
                    return;
                };
                let bytes = FRAME_HEADER as u64 + u64::from(len);
                let head = matches!(kind, kind::HEADERS | kind::CONTINUATION);
                let t = &mut s.totals;
                match side {
                    Side::Read => {
                        t.bytes_up += bytes;
                        t.frames_up += 1;
                        t.header_bytes_up += if head { bytes } else { 0 };
                    }
                    Side::Write => {
                        t.bytes_down += bytes;
                        t.frames_down += 1;
                        t.header_bytes_down += if head { bytes } else { 0 };
                        t.data_frames_down += u64::from(kind == kind::DATA);
                    }
                }
            }
            FrameEvent::Finished {
                stream,
                kind,
                flags,
            } => {
                let Some(s) = self.streams.get_mut(&stream) else {
                    return;
                };
                if side == Side::Write && kind == kind::HEADERS && !s.head_written {
                    s.head_written = true;
                    if let Some(f) = s.on_head.take() {
                        fire.push((f, s.totals));
                    }
                }
                let ends = kind == kind::RST_STREAM
                    || (side == Side::Write
                        && matches!(kind, kind::DATA | kind::HEADERS)
                        && flags & END_STREAM != 0);
                if ends && !s.totals.ended {
                    s.totals.ended = true;
                    if let Some(f) = s.on_head.take() {
                        fire.push((f, s.totals));
                    }
                    if let Some(f) = s.on_end.take() {
                        fire.push((f, s.totals));
                    }
                    if s.released {
                        self.streams.remove(&stream);
                    }
                }
            }
        }
    }
}

/// One request's stream, claimed from its connection's [`Meter`].
pub struct MeteredStream {
    meter: Meter,
    id: u32,
}

impl MeteredStream {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The connection and stream id, as the log shows them.
    pub fn place(&self) -> super::Http2Stream {
        super::Http2Stream {
            connection: self.meter.lock().connection,
            stream: self.id,
        }
    }

    /// What the stream has taken so far.
    pub fn totals(&self) -> StreamTotals {
        let state = self.meter.lock();
        state
            .streams
            .get(&self.id)
            .map(|s| s.totals)
            .unwrap_or(StreamTotals {
                connection: state.connection,
                stream: self.id,
                ..StreamTotals::default()
            })
    }

    /// Runs `f` once the answer's HEADERS frame is written (at once if it was).
    pub fn on_head_written(&self, f: impl FnOnce(StreamTotals) + Send + 'static) {
        self.when(f, |s| s.head_written || s.totals.ended, |s| &mut s.on_head);
    }

    /// Runs `f` once the stream has ended (at once if it has), or the connection has.
    pub fn on_end(&self, f: impl FnOnce(StreamTotals) + Send + 'static) {
        self.when(f, |s| s.totals.ended, |s| &mut s.on_end);
    }

    fn when(
        &self,
        f: impl FnOnce(StreamTotals) + Send + 'static,
        done: impl Fn(&StreamState) -> bool,
        slot: impl Fn(&mut StreamState) -> &mut Option<Callback>,
    ) {
        let now = {
            let mut state = self.meter.lock();
            match state.streams.get_mut(&self.id) {
                Some(s) if done(s) => Some(s.totals),
                Some(s) => {
                    *slot(s) = Some(Box::new(f));
                    return;
                }
                // Forgotten, or the connection is gone: nothing more will come.
                None => Some(StreamTotals::default()),
            }
        };
        if let Some(totals) = now {
            f(totals);
        }
    }
}

impl Drop for MeteredStream {
    fn drop(&mut self) {
        let mut state = self.meter.lock();
        if let Some(s) = state.streams.get_mut(&self.id) {
            if s.totals.ended {
                state.streams.remove(&self.id);
            } else {
                s.released = true;
            }
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for FrameMeter<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.meter.pass(Side::Read, &buf.filled()[before..]);
        }
        polled
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for FrameMeter<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.meter.pass(Side::Write, &buf[..n]);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(mut n)) = polled {
            for b in bufs {
                let take = n.min(b.len());
                self.meter.pass(Side::Write, &b[..take]);
                n -= take;
                if n == 0 {
                    break;
                }
            }
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
