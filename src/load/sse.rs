//! SSE clients: one `GET /api/sse` each, read until the run stops.
//!
//! No full event-stream parser: the client only needs the publisher's
//! `"sent_us"` in each `data:` line and a `reset` event if one comes. It
//! scans complete lines as they arrive and carries a partial line over to
//! the next chunk, which costs a fraction of building every event. It
//! speaks HTTP/1.1 over its own socket (see [`super::poll`]), like the
//! pollers: no client library's buffers and pool for 10,000 streams.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::poll::{Chunked, Head, get_request, read_head, read_more};
use super::{Kind, Shared, dial, now_us};

/// Complete lines out of a byte stream: what ends in `\n` now, the rest later.
#[derive(Default)]
pub struct Lines {
    carry: Vec<u8>,
}

impl Lines {
    /// Calls `f` with every complete line in `carry + chunk` (one slice).
    pub fn feed(&mut self, chunk: &[u8], f: impl FnOnce(&[u8])) {
        let Some(last_nl) = chunk.iter().rposition(|b| *b == b'\n') else {
            self.carry.extend_from_slice(chunk);
            return;
        };
        if self.carry.is_empty() {
            f(&chunk[..=last_nl]);
        } else {
            self.carry.extend_from_slice(&chunk[..=last_nl]);
            f(&self.carry);
            self.carry.clear();
        }
        self.carry.extend_from_slice(&chunk[last_nl + 1..]);
    }
}

/// Whether complete lines hold an `event: reset` (events were lost).
fn has_reset(lines: &[u8]) -> bool {
    lines.split(|b| *b == b'\n').any(|l| {
        l.strip_prefix(b"event:")
            .is_some_and(|v| v.trim_ascii() == b"reset")
    })
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
) {
    let t0 = Instant::now();
    let opened = tokio::select! {
        r = open(&shared, n, &learner) => r,
        _ = shared.stop.cancelled() => return,
    };
    let (mut conn, head, mut buf) = match opened {
        Ok(o) => o,
        Err((what, detail)) => return shared.failed(Kind::Sse, &what, detail),
    };
    shared.connected(Kind::Sse, t0.elapsed());
    drop(permit);
    let mut lines = Lines::default();
    let mut chunks = head.chunked.then(Chunked::default);
    let mut body = Vec::new();
    loop {
        if !buf.is_empty() {
            let at = now_us();
            let data = match chunks.as_mut() {
                Some(decoder) => {
                    body.clear();
                    match decoder.feed(&buf, &mut body) {
                        Ok(used) => buf.drain(..used),
                        Err(e) => return shared.error(Kind::Sse, "bad chunk", e),
                    };
                    &body[..]
                }
                None => &buf[..],
            };
            lines.feed(data, |complete| {
                shared.delivered(Kind::Sse, complete, at);
                if has_reset(complete) {
                    shared.error(
                        Kind::Sse,
                        "reset event",
                        "the server lost events for this stream",
                    );
                }
            });
            if chunks.is_none() {
                buf.clear();
            }
            if chunks.as_ref().is_some_and(Chunked::done) {
                return shared.error(Kind::Sse, "stream ended", "the server ended the stream");
            }
        }
        let read = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => return,
            r = read_more(&mut conn, &mut buf) => r,
        };
        if let Err(e) = read {
            let what = if e.starts_with("closed") {
                "stream ended"
            } else {
                "read"
            };
            return shared.error(Kind::Sse, what, e);
        }
    }
}

/// Sends the request and reads the head; the error is a short kind and a message.
async fn open(
    shared: &Shared,
    n: usize,
    learner: &str,
) -> Result<(TcpStream, Head, Vec<u8>), (String, String)> {
    let mut conn = dial(shared, n)
        .await
        .map_err(|e| ("connect".to_string(), e.to_string()))?;
    let path = format!("/api/sse?topics={}", shared.topic);
    let request = get_request(
        &path,
        &shared.authority,
        learner,
        "Accept: text/event-stream\r\n",
    );
    conn.write_all(&request)
        .await
        .map_err(|e| ("connect".to_string(), e.to_string()))?;
    let mut buf = Vec::with_capacity(1024);
    let head = read_head(&mut conn, &mut buf)
        .await
        .map_err(|e| ("connect".to_string(), e))?;
    if head.status != 200 {
        return Err((format!("status {}", head.status), String::new()));
    }
    Ok((conn, head, buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let mut lines = Lines::default();
        let mut seen = Vec::new();
        for chunk in [
            &b"id: 1\ndata: {\"sent_"[..],
            b"us\":5}\n\n",
            b"event: reset\n",
        ] {
            lines.feed(chunk, |l| {
                seen.push(String::from_utf8_lossy(l).into_owned())
            });
        }
        assert_eq!(
            seen,
            ["id: 1\n", "data: {\"sent_us\":5}\n\n", "event: reset\n"]
        );
        assert!(has_reset(seen[2].as_bytes()));
        assert!(!has_reset(seen[1].as_bytes()));
    }
}
