//! SSE clients: one `GET /api/sse` each, read until the run stops.
//!
//! No full event-stream parser: the client only needs the publisher's
//! `"sent_us"` in each `data:` line and a `reset` event if one comes. It
//! scans complete lines as they arrive and carries a partial line over to
//! the next chunk, which costs a fraction of building every event.

use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::{Kind, Shared, now_us};

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
    http: reqwest::Client,
    learner: String,
    permit: OwnedSemaphorePermit,
) {
    let t0 = Instant::now();
    let sent = http
        .get(format!("{}/api/sse?topics={}", shared.base, shared.topic))
        .header("Accept", "text/event-stream")
        .header("X-Learner", learner)
        .send();
    let res = tokio::select! {
        r = sent => r,
        _ = shared.stop.cancelled() => return,
    };
    let res = match res {
        Ok(res) if res.status() == 200 => res,
        Ok(res) => {
            return shared.failed(
                Kind::Sse,
                &format!("status {}", res.status().as_u16()),
                res.status(),
            );
        }
        Err(e) => return shared.failed(Kind::Sse, "connect", e),
    };
    shared.connected(Kind::Sse, t0.elapsed());
    drop(permit);
    let mut body = res.bytes_stream();
    let mut lines = Lines::default();
    loop {
        let chunk = tokio::select! {
            biased;
            _ = shared.stop.cancelled() => return,
            c = body.next() => c,
        };
        match chunk {
            Some(Ok(bytes)) => {
                let at = now_us();
                lines.feed(&bytes, |complete| {
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
            Some(Err(e)) => return shared.error(Kind::Sse, "read", e),
            None => return shared.error(Kind::Sse, "stream ended", "the server ended the stream"),
        }
    }
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
