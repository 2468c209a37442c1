//! Short pollers: `GET /api/poll?since=<last>` every interval, or as fast as
//! the server answers (interval 0: the poll-throughput mode).
//!
//! Pollers speak HTTP/1.1 over a raw keep-alive socket ([`RawHttp`]) rather
//! than through reqwest: the throughput mode asks tens of thousands of times
//! a second on the same two cores as the server, and a full client's cost
//! per request would be measured instead of the server's. The same raw
//! socket serves the long-pollers and the SSE clients ([`read_head`],
//! [`Chunked`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Kind, Shared, now_us};

/// Largest response accepted (a poll answers at most 1000 events).
const MAX_RESPONSE: usize = 8 * 1024 * 1024;

/// One answer: status, the `X-Last-Event-Id` header, the body.
pub struct Answer {
    pub status: u16,
    pub last_id: Option<u64>,
    pub body: Vec<u8>,
    /// Received at (µs since the epoch), when the head arrived.
    pub at_us: u64,
}

impl Answer {
    /// The cursor for the next request: the header, else `"last_id"` in the body.
    pub fn cursor(&self) -> Option<u64> {
        self.last_id.or_else(|| {
            let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
            v["last_id"].as_u64()
        })
    }
}

/// The head of an HTTP/1.1 response: what the clients need of it.
pub struct Head {
    pub status: u16,
    pub content_length: Option<usize>,
    pub chunked: bool,
    pub close: bool,
    pub last_id: Option<u64>,
}

/// Reads a response head from `conn` into `buf` and removes it from `buf`
/// (what follows it, the start of the body, stays there).
pub async fn read_head(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Head, String> {
    let mut searched = 0;
    let end = loop {
        if let Some(i) = find(&buf[searched..], b"\r\n\r\n") {
            break searched + i + 4;
        }
        searched = buf.len().saturating_sub(3);
        read_more(conn, buf).await?;
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| "head not UTF-8")?;
    let mut head = Head {
        status: text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("no status")?,
        content_length: None,
        chunked: false,
        close: false,
        last_id: None,
    };
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("x-last-event-id") {
            head.last_id = value.parse().ok();
        }
    }
    buf.drain(..end);
    Ok(head)
}

/// The request line and headers of a GET, ready to write.
pub fn get_request(path: &str, authority: &str, learner: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nX-Learner: {learner}\r\n{extra}\r\n")
        .into_bytes()
}

/// A minimal HTTP/1.1 client for one keep-alive connection: GET only,
/// `Content-Length` or chunked bodies; reconnects when the server closes.
pub struct RawHttp {
    shared: Arc<Shared>,
    /// The client's number (picks its source address).
    n: usize,
    learner: String,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
    /// The last request's path and bytes: an idle poller repeats them.
    path: String,
    request: Vec<u8>,
}

impl RawHttp {
    pub(crate) fn new(shared: Arc<Shared>, n: usize, learner: &str) -> RawHttp {
        RawHttp {
            shared,
            n,
            learner: learner.into(),
            conn: None,
            buf: Vec::with_capacity(1024),
            path: String::new(),
            request: Vec::new(),
        }
    }

    /// Opens the connection now (it is also opened on demand).
    pub async fn connect(&mut self) -> std::io::Result<()> {
        if self.conn.is_none() {
            self.conn = Some(super::dial(&self.shared, self.n).await?);
            self.buf.clear();
        }
        Ok(())
    }

    /// `GET path`; on any error the connection is dropped (the next call reconnects).
    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        let r = self.exchange(path).await;
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    async fn exchange(&mut self, path: &str) -> Result<Answer, String> {
        self.connect().await.map_err(|e| format!("connect: {e}"))?;
        if path != self.path {
            self.path = path.to_owned();
            self.request = get_request(path, &self.shared.authority, &self.learner, "");
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.write_all(&self.request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let head = read_head(conn, &mut self.buf).await?;
        let at_us = now_us();
        let body = if head.status == 204 || head.status == 304 {
            Vec::new()
        } else if head.chunked {
            let mut decoder = Chunked::default();
            let mut body = Vec::new();
            loop {
                let used = decoder.feed(&self.buf, &mut body)?;
                self.buf.drain(..used);
                if decoder.done() {
                    break body;
                }
                if body.len() > MAX_RESPONSE {
                    return Err("response too large".into());
                }
                read_more(conn, &mut self.buf).await?;
            }
        } else {
            let n = head
                .content_length
                .ok_or("response without Content-Length")?;
            if n > MAX_RESPONSE {
                return Err("response too large".into());
            }
            while self.buf.len() < n {
                read_more(conn, &mut self.buf).await?;
            }
            self.buf.drain(..n).collect()
        };
        if head.close {
            self.conn = None;
        }
        Ok(Answer {
            status: head.status,
            last_id: head.last_id,
            body,
            at_us,
        })
    }
}

/// Decodes `Transfer-Encoding: chunked` as bytes arrive, in any pieces.
#[derive(Debug, Default)]
pub struct Chunked {
    state: ChunkState,
}

#[derive(Debug, Default, PartialEq)]
enum ChunkState {
    /// Reading the size line (hex digits, maybe `;extensions`).
    #[default]
    Size,
    /// Bytes of data left in this chunk.
    Data(usize),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last (empty) chunk: the final CRLF.
    Trailer,
    Done,
}

impl Chunked {
    /// Appends the body bytes found in `input` to `out`; returns how many
    /// bytes of `input` were used (the rest waits for more input).
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, String> {
        let mut at = 0;
        loop {
            match self.state {
                ChunkState::Size => {
                    let Some(nl) = find(&input[at..], b"\r\n") else {
                        return Ok(at);
                    };
                    let line = std::str::from_utf8(&input[at..at + nl]).map_err(|_| "bad chunk")?;
                    let size =
                        usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                            .map_err(|_| format!("bad chunk size {line:?}"))?;
                    at += nl + 2;
                    self.state = if size == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    let take = left.min(input.len() - at);
                    out.extend_from_slice(&input[at..at + take]);
                    at += take;
                    if take < left {
                        self.state = ChunkState::Data(left - take);
                        return Ok(at);
                    }
                    self.state = ChunkState::DataEnd;
                }
                ChunkState::DataEnd | ChunkState::Trailer => {
                    if input.len() - at < 2 {
                        return Ok(at);
                    }
                    if &input[at..at + 2] != b"\r\n" {
                        return Err("chunk not followed by CRLF".into());
                    }
                    at += 2;
                    self.state = if self.state == ChunkState::Trailer {
                        ChunkState::Done
                    } else {
                        ChunkState::Size
                    };
                }
                ChunkState::Done => return Ok(at),
            }
        }
    }

    pub fn done(&self) -> bool {
        self.state == ChunkState::Done
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    if buf.len() > MAX_RESPONSE {
        return Err("response too large".into());
    }
    buf.reserve(4096);
    match conn.read_buf(buf).await {
        Ok(0) => Err("closed by the server".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// Short error kind for the report.
pub fn error_kind(e: &str) -> &'static str {
    if e.starts_with("connect") {
        "connect"
    } else if e.starts_with("closed") {
        "closed by server"
    } else if e.starts_with("status") {
        "bad status"
    } else {
        "read/parse"
    }
}

/// A short poller: asks, records what came, waits `interval` (or not at all).
pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
    interval: Duration,
) {
    let mut http = RawHttp::new(shared.clone(), n, &learner);
    let mut permit = Some(permit);
    let t0 = Instant::now();
    let mut since: Option<u64> = None;
    let mut tick = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval(interval);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let path_for = |since: Option<u64>| match since {
        Some(s) => format!("/api/poll?since={s}&topics={}&limit=1000", shared.topic),
        None => format!("/api/poll?topics={}&limit=1000", shared.topic),
    };
    let mut path = path_for(since);
    // A poll is answered at once, so the stop signal is checked between
    // requests (cheaper than racing every request against it).
    while !shared.stop.is_cancelled() {
        if let Some(tick) = tick.as_mut() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shared.stop.cancelled() => return,
            }
        }
        let answer = http.get(&path).await;
        let result = answer.and_then(|a| match a.status {
            200 | 204 => Ok(a),
            s => Err(format!("status {s}")),
        });
        match result {
            Ok(a) => {
                if permit.take().is_some() {
                    shared.connected(Kind::Poll, t0.elapsed());
                }
                shared.answered(Kind::Poll, a.status == 204);
                if a.status == 200 {
                    shared.delivered(Kind::Poll, &a.body, a.at_us);
                }
                let next = a.cursor().or(since);
                if next != since {
                    since = next;
                    path = path_for(since);
                }
            }
            Err(e) => {
                if permit.take().is_some() {
                    // A poller that never got an answer is not retried.
                    shared.failed(Kind::Poll, error_kind(&e), &e);
                    return;
                }
                shared.error(Kind::Poll, error_kind(&e), &e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shared.stop.cancelled() => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode_in_any_pieces() {
        let wire = b"5\r\nhello\r\n7;x=1\r\n, world\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            let (mut d, mut out, mut pending) = (Chunked::default(), Vec::new(), Vec::new());
            for piece in [&wire[..split], &wire[split..]] {
                pending.extend_from_slice(piece);
                let used = d.feed(&pending, &mut out).unwrap();
                pending.drain(..used);
            }
            assert!(d.done(), "split at {split}");
            assert_eq!(out, b"hello, world");
        }
        assert!(Chunked::default().feed(b"zz\r\n", &mut Vec::new()).is_err());
    }
}
