//! Short pollers: `GET /api/poll?since=<last>` every interval, or as fast as
//! the server answers (interval 0: the poll-throughput mode).
//!
//! Pollers speak HTTP/1.1 over a raw keep-alive socket ([`RawHttp`]) rather
//! than through reqwest: the throughput mode asks tens of thousands of times
//! a second on the same two cores as the server, and a full client's cost
//! per request would be measured instead of the server's.

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

/// A minimal HTTP/1.1 client for one keep-alive connection: GET only,
/// `Content-Length` or chunked bodies; reconnects when the server closes.
pub struct RawHttp {
    authority: String,
    learner: String,
    conn: Option<TcpStream>,
    buf: Vec<u8>,
    /// The last request's path and bytes: an idle poller repeats them.
    path: String,
    request: Vec<u8>,
}

impl RawHttp {
    pub fn new(authority: &str, learner: &str) -> RawHttp {
        RawHttp {
            authority: authority.into(),
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
            let s = TcpStream::connect(&self.authority).await?;
            s.set_nodelay(true)?;
            self.conn = Some(s);
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
            self.request = format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nX-Learner: {}\r\n\r\n",
                self.authority, self.learner
            )
            .into_bytes();
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.write_all(&self.request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        // The head.
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            read_more(conn, &mut self.buf).await?;
        };
        let at_us = now_us();
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| "head not UTF-8")?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or("no status")?;
        let (mut length, mut chunked, mut close, mut last_id) = (None, false, false, None);
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("x-last-event-id") {
                last_id = value.parse().ok();
            }
        }
        self.buf.drain(..head_end);
        let body = if status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            self.read_chunked().await?
        } else {
            let n = length.ok_or("response without Content-Length")?;
            if n > MAX_RESPONSE {
                return Err("response too large".into());
            }
            while self.buf.len() < n {
                let conn = self.conn.as_mut().ok_or("no connection")?;
                read_more(conn, &mut self.buf).await?;
            }
            self.buf.drain(..n).collect()
        };
        if close {
            self.conn = None;
        }
        Ok(Answer {
            status,
            last_id,
            body,
            at_us,
        })
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let conn = self.conn.as_mut().ok_or("no connection")?;
            let Some(line_end) = find(&self.buf, b"\r\n") else {
                read_more(conn, &mut self.buf).await?;
                continue;
            };
            let size_text = std::str::from_utf8(&self.buf[..line_end]).map_err(|_| "bad chunk")?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "bad chunk size")?;
            // The chunk, its CRLF (and for the last chunk: no trailers, one CRLF).
            let need = line_end + 2 + size + 2;
            if body.len() + size > MAX_RESPONSE {
                return Err("response too large".into());
            }
            while self.buf.len() < need {
                read_more(conn, &mut self.buf).await?;
            }
            body.extend_from_slice(&self.buf[line_end + 2..line_end + 2 + size]);
            self.buf.drain(..need);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
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
    learner: String,
    permit: OwnedSemaphorePermit,
    interval: Duration,
) {
    let mut http = RawHttp::new(&shared.authority, &learner);
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
