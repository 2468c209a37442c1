//! SSE clients: one `GET /api/sse` each, read until the run stops.
//!
//! No full event-stream parser: the client only needs the publisher's
//! `"sent_us"` in each `data:` line and a `reset` event if one comes. It
//! scans complete lines as they arrive and carries a partial line over to
//! the next chunk, which costs a fraction of building every event. It
//! speaks HTTP/1.1 through hyper's low-level connection (see
//! [`crate::http1`]), like the pollers: no client library's pool for 10,000
//! streams; hyper decodes the chunked body and this scans its frames.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, HeaderValue};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::clock::now_us;
use crate::http1::{FetchError, handshake};
use crate::kind::Kind;
use crate::shared::Shared;

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
    // The sender stays alive as long as the stream is read.
    let (_sender, mut body) = match opened {
        Ok(o) => o,
        Err((what, detail)) => return shared.failed(Kind::Sse, &what, detail),
    };
    shared.connected(Kind::Sse, t0.elapsed());
    drop(permit);
    let mut lines = Lines::default();
    loop {
        let frame = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => return,
            f = body.frame() => f,
        };
        let data = match frame {
            None => return shared.error(Kind::Sse, "stream ended", "the server ended the stream"),
            Some(Err(e)) => {
                let e = FetchError::from_hyper(e);
                let what = match e {
                    FetchError::Closed(_) => "stream ended",
                    _ => "read",
                };
                return shared.error(Kind::Sse, what, e);
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
        };
        let at = now_us();
        lines.feed(&data, |complete| {
            shared.delivered(Kind::Sse, complete, at);
            if has_reset(complete) {
                shared.error(
                    Kind::Sse,
                    "reset event",
                    "the server lost events for this stream",
                );
            }
        });
    }
}

/// Sends the request and waits for the head; the error is a short kind and a message.
async fn open(
    shared: &Shared,
    n: usize,
    learner: &str,
) -> Result<(SendRequest<Empty<Bytes>>, Incoming), (String, String)> {
    let connect = |e: String| ("connect".to_string(), e);
    let mut sender = handshake(shared, n)
        .await
        .map_err(|e| connect(e.to_string()))?;
    let path = format!("/api/sse?topics={}", shared.topic);
    let host = HeaderValue::from_str(&shared.authority).map_err(|e| connect(e.to_string()))?;
    let learner = HeaderValue::from_str(learner).map_err(|e| connect(e.to_string()))?;
    let uri = path.parse().map_err(|e| connect(format!("{e}")))?;
    let mut request = crate::http1::get(uri, &host, Some(&learner));
    request
        .headers_mut()
        .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| connect(FetchError::from_hyper(e).to_string()))?;
    if response.status() != 200 {
        return Err((
            format!("status {}", response.status().as_u16()),
            String::new(),
        ));
    }
    Ok((sender, response.into_body()))
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
