//! The SSE run's last part: what a stream does with a resume it cannot
//! place (an id from after a restart, a garbled id), with
//! `Accept-Encoding: gzip`, and for a page on another origin (CORS).

use std::io::Write;

use tokio::time::Instant;

use super::budget::ANSWER_PATIENCE;
use super::report::{Line, LineId, Verdict};
use super::sse::{ACCEPT, OTHER_ORIGIN, Run, frame_text};
use super::sse_client::{NoAnswer, Opened};

impl Run {
    pub(super) async fn edge_cases(&self, id1: &str) {
        let beyond = match id1.parse::<u64>() {
            Ok(n) => n.saturating_add(1_000_000_000).to_string(),
            Err(_) => "999999999999999".to_owned(),
        };
        let unknown = [ACCEPT, ("last-event-id", beyond.as_str())];
        let garbled = [ACCEPT, ("last-event-id", "abc")];
        let gzip = [ACCEPT, ("accept-encoding", "gzip")];
        let (unknown, garbled, gzip) = tokio::join!(
            self.http.open(&unknown),
            self.http.open(&garbled),
            self.http.open(&gzip),
        );
        let five = self.marker(5);
        if let Err(e) = self.http.publish(&five).await {
            for id in [
                LineId::UnknownLastEventId,
                LineId::MalformedLastEventId,
                LineId::CompressionOffOrFlushed,
            ] {
                self.card
                    .put(Line::skipped(id, format!("Not graded: {e}.")));
            }
            return;
        }
        tokio::join!(
            self.still_streams(LineId::UnknownLastEventId, unknown, &five),
            self.still_streams(LineId::MalformedLastEventId, garbled, &five),
            self.compression(gzip, &five),
        );
    }

    /// A resume the server cannot place must still stream: the line passes
    /// when event #5 arrives.
    async fn still_streams(&self, id: LineId, opened: Result<Opened, NoAnswer>, marker: &str) {
        let opened = match opened {
            Ok(o) => o,
            Err(e) => return self.card.put(Line::fail(id, e.sentence())),
        };
        let (sent, head, status) = (opened.sent.clone(), opened.head.clone(), opened.status);
        if status != 200 {
            let why = if status >= 500 {
                "a server error, and EventSource gives up for good"
            } else {
                "an error status, and EventSource gives up for good"
            };
            return self.card.put(
                Line::fail(id, format!("It answered {status}: {why}."))
                    .sent(sent)
                    .received(head),
            );
        }
        let mut stream = opened.events();
        let line = match stream
            .until(marker, ANSWER_PATIENCE, self.http.budget())
            .await
        {
            Ok(read) => Line::pass(
                id,
                format!(
                    "The stream kept going: event #5 arrived ({} event(s) in all).",
                    read.len()
                ),
            )
            .received(read.iter().map(frame_text).collect::<Vec<_>>().join("\n")),
            Err((missed, _)) => Line::fail(
                id,
                format!(
                    "{} after event #5 was published: the stream went silent.",
                    missed.sentence()
                ),
            )
            .received(stream.seen(|s| s.first.clone())),
        };
        self.card.put(line.sent(sent));
    }

    async fn compression(&self, opened: Result<Opened, NoAnswer>, marker: &str) {
        let id = LineId::CompressionOffOrFlushed;
        let mut opened = match opened {
            Ok(o) => o,
            Err(e) => return self.card.put(Line::fail(id, e.sentence())),
        };
        let (sent, head) = (opened.sent.clone(), opened.head.clone());
        let encoding = opened
            .header("content-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let line = match encoding.as_str() {
            "" | "identity" => Line::pass(
                id,
                "Asked for gzip, got the stream uncompressed: nothing waits for a block to fill.",
            ),
            "gzip" => {
                let until = self.http.budget().within(ANSWER_PATIENCE);
                let mut decoder = flate2::write::GzDecoder::new(Vec::new());
                let started = Instant::now();
                loop {
                    let text = String::from_utf8_lossy(decoder.get_ref());
                    if text.contains(marker) {
                        break Line::pass(
                            id,
                            format!(
                                "gzip, flushed: event #5 decoded {} ms after it was published.",
                                started.elapsed().as_millis()
                            ),
                        );
                    }
                    match opened.chunk(until).await {
                        Some(Ok(chunk)) => {
                            if decoder
                                .write_all(&chunk)
                                .and_then(|()| decoder.flush())
                                .is_err()
                            {
                                break Line::fail(id, "The gzip stream does not decode.");
                            }
                        }
                        Some(Err(cut)) => break Line::fail(id, cut.to_string()),
                        None => {
                            break Line::fail(
                                id,
                                format!(
                                    "gzip, buffered: event #5 did not decode within {} ms; the compressor holds it until its block fills.",
                                    ANSWER_PATIENCE.as_millis()
                                ),
                            );
                        }
                    }
                }
            }
            other => Line::fail(
                id,
                format!(
                    "Content-Encoding: {other}, which the grader did not ask for (it asked for gzip)."
                ),
            ),
        };
        self.card.put(line.sent(sent).received(head));
    }

    pub(super) fn cors_line(&self, c: &Opened) {
        let allowed = c.header("access-control-allow-origin").unwrap_or_default();
        let line = if allowed == "*" || allowed == OTHER_ORIGIN {
            Line::pass(
                LineId::Cors,
                format!(
                    "Access-Control-Allow-Origin: {allowed}: a page on another origin can read the stream."
                ),
            )
        } else {
            Line::new(
                LineId::Cors,
                Verdict::Info,
                format!(
                    "{}: a page on another origin cannot read this stream (the browser hides it). Fine when your server serves the page itself; add `Access-Control-Allow-Origin: <that page's origin>` when it does not.",
                    if allowed.is_empty() {
                        "No Access-Control-Allow-Origin header".to_owned()
                    } else {
                        format!("Access-Control-Allow-Origin: {allowed} (not this origin)")
                    }
                ),
            )
        };
        self.card.put(line.sent(&c.sent).received(&c.head));
    }
}
