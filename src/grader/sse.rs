//! Grading a Server-Sent Events server: the rules the SSE lessons teach,
//! checked by a client that publishes its own test events (each carries a
//! marker, `grader-<run>-<n>`, so it is recognised among the server's own
//! events) and watches where they arrive.
//!
//! The run, in order: open a stream (status, headers, `retry:`); publish #1
//! and time its arrival; drop the stream, publish #2 and #3, reconnect with
//! the `Last-Event-ID` of #1 and publish #4 (exactly #2, #3, #4 must come);
//! then open three streams at once (an id from "after a restart", a garbled
//! id, `Accept-Encoding: gzip`), publish #5 and see which of them get it.
//! Beside the first stream, one more asks from another `Origin` (CORS), and
//! one waits for a comment line (heartbeat) all along.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use eventsource_stream::Event;
use tokio::time::Instant;

use super::budget::{ANSWER_PATIENCE, Budget, RUN_DEADLINE};
use super::report::{Line, LineId, Verdict};
use super::sse_client::{Events, Http, Opened};
use super::target::Target;

pub(super) const ACCEPT: (&str, &str) = ("accept", "text/event-stream");
/// The origin the CORS line asks from (reserved: it never resolves).
pub(super) const OTHER_ORIGIN: &str = "http://grader.invalid";
/// The heartbeat watch ends this long before the run's deadline.
const HEARTBEAT_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Grades the SSE server at `target` within `budget`.
pub async fn grade(target: Arc<Target>, budget: &Budget) -> Vec<Line> {
    let card = Card::default();
    match Http::new(target, budget.clone()) {
        Ok(http) => {
            let run = Run {
                http,
                nonce: fastrand::u32(..),
                card: card.clone(),
            };
            // Whatever the run did not decide by the deadline fails as "too slow".
            let _ = tokio::time::timeout_at(budget.deadline(), run.all()).await;
        }
        Err(e) => card.put(Line::fail(LineId::Status200, format!("No client: {e}."))),
    }
    card.finish()
}

/// The lines decided so far (shared with the heartbeat watch).
#[derive(Clone, Default)]
pub(super) struct Card(Arc<Mutex<BTreeMap<LineId, Line>>>);

impl Card {
    pub(super) fn put(&self, line: Line) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(line.id, line);
    }

    fn skip_rest(&self, why: &str) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for id in LineId::SSE {
            lines.entry(id).or_insert_with(|| Line::skipped(id, why));
        }
    }

    fn finish(self) -> Vec<Line> {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        LineId::SSE
            .iter()
            .map(|id| {
                lines.get(id).cloned().unwrap_or_else(|| {
                    Line::fail(
                        *id,
                        format!(
                            "No verdict within the run's {} s: the server kept the grader waiting.",
                            RUN_DEADLINE.as_secs()
                        ),
                    )
                })
            })
            .collect()
    }
}

pub(super) struct Run {
    pub(super) http: Http,
    nonce: u32,
    pub(super) card: Card,
}

impl Run {
    pub(super) fn marker(&self, n: u32) -> String {
        format!("grader-{}-{n}", self.nonce)
    }

    async fn all(&self) {
        let (main, cors) = tokio::join!(
            self.http.open(&[ACCEPT]),
            self.http.open(&[ACCEPT, ("origin", OTHER_ORIGIN)]),
        );
        match cors {
            Ok(c) => self.cors_line(&c),
            Err(e) => self
                .card
                .put(Line::new(LineId::Cors, Verdict::Info, e.sentence())),
        }
        let main = match main {
            Ok(opened) => opened,
            Err(e) => {
                self.card
                    .put(Line::fail(LineId::Status200, e.sentence()).sent(
                        super::sse_client::request_text("GET", &self.http.target.url, &[ACCEPT]),
                    ));
                self.card.skip_rest("Not graded: the stream did not open.");
                return;
            }
        };
        self.headers(&main);
        if main.status != 200 {
            self.card
                .skip_rest("Not graded: the stream did not open with 200.");
            return;
        }
        tokio::join!(self.heartbeat(), self.events(main.events()));
    }

    fn headers(&self, main: &Opened) {
        let content_type = main.header("content-type").unwrap_or_default();
        let cache = main.header("cache-control").unwrap_or_default();
        let line = |id, ok, detail: String| {
            Line::judged(id, ok, detail)
                .sent(&main.sent)
                .received(&main.head)
        };
        self.card.put(line(
            LineId::Status200,
            main.status == 200,
            format!("The stream answered {}.", main.status),
        ));
        self.card.put(line(
            LineId::ContentType,
            content_type
                .to_ascii_lowercase()
                .starts_with("text/event-stream"),
            if content_type.is_empty() {
                "No Content-Type header.".into()
            } else {
                format!("Content-Type: {content_type}.")
            },
        ));
        let no_cache = cache
            .to_ascii_lowercase()
            .split(',')
            .any(|d| matches!(d.trim(), "no-cache" | "no-store"));
        self.card.put(line(
            LineId::CacheControlNoCache,
            no_cache,
            if cache.is_empty() {
                "No Cache-Control header: a cache may store the answer.".into()
            } else {
                format!("Cache-Control: {cache}.")
            },
        ));
    }

    /// Waits for a comment line on a stream of its own.
    async fn heartbeat(&self) {
        let id = LineId::HeartbeatWhenIdle;
        let mut stream = match self.http.open(&[ACCEPT]).await {
            Ok(s) => s,
            Err(e) => return self.card.put(Line::fail(id, e.sentence())),
        };
        let opened = Instant::now();
        let until = self.http.budget().deadline() - HEARTBEAT_MARGIN;
        loop {
            if let Some((line, at)) = stream.seen(|s| s.comment.clone()) {
                let after = at.duration_since(opened).as_secs_f64();
                return self.card.put(
                    Line::pass(
                        id,
                        format!("A comment line came {after:.1} s after the stream opened."),
                    )
                    .sent(&stream.sent)
                    .received(line),
                );
            }
            match stream.chunk(until).await {
                Some(Ok(_)) => {}
                Some(Err(cut)) => {
                    return self
                        .card
                        .put(Line::fail(id, cut.to_string()).sent(&stream.sent));
                }
                None => break,
            }
        }
        let waited = opened.elapsed().as_secs_f64();
        let first = stream.seen(|s| s.first.clone());
        self.card.put(
            Line::fail(
                id,
                format!(
                    "No comment line (such as `: heartbeat`) in {waited:.1} s. Send one every 15 s or so, whatever else is sent."
                ),
            )
            .sent(&stream.sent)
            .received(first),
        );
    }

    async fn events(&self, mut main: Events) {
        let (first, id1) = match self.publish_and_wait(&mut main, 1).await {
            Ok((event, waited_ms)) => {
                self.card.put(
                    Line::pass(
                        LineId::FirstEventUnbuffered,
                        format!("Event #1 arrived {waited_ms} ms after it was published."),
                    )
                    .sent(format!(
                        "POST {} (text {})",
                        self.http.target.publish_url,
                        self.marker(1)
                    ))
                    .received(frame_text(&event)),
                );
                (event.clone(), event.id.clone())
            }
            Err(why) => {
                self.card.put(
                    Line::fail(LineId::FirstEventUnbuffered, why)
                        .sent(format!("POST {}", self.http.target.publish_url))
                        .received(main.seen(|s| s.first.clone())),
                );
                self.retry_line(&main);
                self.card
                    .skip_rest("Not graded: no test event came through the stream.");
                return;
            }
        };
        self.retry_line(&main);
        drop(main); // the drop: the connection closes
        let mut published = Vec::new();
        for n in [2, 3] {
            if let Err(e) = self.http.publish(&self.marker(n)).await {
                published.push(e);
            }
        }
        self.resume(&first, &id1, published).await;
        self.edge_cases(&id1).await;
    }

    /// Publishes event `n` and waits for it on `stream`.
    async fn publish_and_wait(&self, stream: &mut Events, n: u32) -> Result<(Event, u128), String> {
        let marker = self.marker(n);
        self.http.publish(&marker).await?;
        let sent = Instant::now();
        match stream
            .until(&marker, ANSWER_PATIENCE, self.http.budget())
            .await
        {
            Ok(mut read) => Ok((read.pop().unwrap_or_default(), sent.elapsed().as_millis())),
            Err((missed, _)) => Err(format!(
                "{} after event #{n} was published.",
                missed.sentence()
            )),
        }
    }

    fn retry_line(&self, main: &Events) {
        let (retry, first) = main.seen(|s| (s.retry.clone(), s.first.clone()));
        self.card.put(
            match retry {
                Some(line) => Line::pass(LineId::RetryField, format!("The stream sent `{line}`."))
                    .received(line),
                None => Line::fail(
                    LineId::RetryField,
                    "No `retry:` line with a number of milliseconds.",
                )
                .received(first),
            }
            .sent(&main.sent),
        );
    }

    /// Reconnects with the `Last-Event-ID` of #1 and publishes #4: exactly
    /// #2, #3 (missed) and #4 (live) must come.
    async fn resume(&self, first: &Event, id1: &str, failed_publishes: Vec<String>) {
        if id1.is_empty() {
            self.card.put(ids_line(vec![id1, ""], frame_text(first)));
            self.card.put(Line::skipped(
                LineId::LastEventIdResume,
                "Not graded: event #1 had no id to resume after.",
            ));
            return;
        }
        let Some(mut stream) = self.reconnect(first, id1).await else {
            return;
        };
        let four = self.marker(4);
        if let Err(e) = self.http.publish(&four).await {
            self.card.put(Line::fail(LineId::LastEventIdResume, e));
            return;
        }
        let read = match stream
            .until(&four, ANSWER_PATIENCE, self.http.budget())
            .await
        {
            Ok(read) => read,
            Err((_, read)) => read,
        };
        self.judge_resume(id1, &read, &stream.sent, failed_publishes);
    }

    /// The stream resumed after #1, or `None` (with its lines put) if it
    /// did not open with 200.
    async fn reconnect(&self, first: &Event, id1: &str) -> Option<Events> {
        let last_event_id = ("last-event-id", id1);
        match self.http.open(&[ACCEPT, last_event_id]).await {
            Ok(s) if s.status == 200 => Some(s.events()),
            Ok(s) => {
                let head = s.head.clone();
                self.card.put(
                    Line::fail(
                        LineId::LastEventIdResume,
                        format!("The reconnect answered {}.", s.status),
                    )
                    .sent(&s.sent)
                    .received(head),
                );
                self.card.put(ids_line(vec![id1], frame_text(first)));
                None
            }
            Err(e) => {
                self.card
                    .put(Line::fail(LineId::LastEventIdResume, e.sentence()));
                None
            }
        }
    }

    /// The ids and resume lines from what the reconnect (`sent`) read.
    fn judge_resume(&self, id1: &str, read: &[Event], sent: &str, failed_publishes: Vec<String>) {
        let numbers: Vec<u32> = read.iter().filter_map(|e| self.number_of(e)).collect();
        let mut ids = vec![id1];
        ids.extend(
            read.iter()
                .filter(|e| self.number_of(e).is_some())
                .map(|e| e.id.as_str()),
        );
        let received = read.iter().map(frame_text).collect::<Vec<_>>().join("\n");
        self.card.put(ids_line(ids, received.clone()));
        let ok = numbers == [2, 3, 4] && failed_publishes.is_empty();
        let detail = if ok {
            "After the drop, the reconnect got #2 and #3 (missed) and then #4 (live), each once."
                .to_owned()
        } else if !failed_publishes.is_empty() {
            failed_publishes.join("; ")
        } else {
            describe_resume(&numbers)
        };
        self.card.put(
            Line::judged(LineId::LastEventIdResume, ok, detail)
                .sent(format!(
                    "Dropped the stream after #1, published #2 and #3, then\n{sent}\nand published #4"
                ))
                .received(received),
        );
    }

    /// The test event number in an event's data, if it is one of this run's.
    fn number_of(&self, e: &Event) -> Option<u32> {
        let prefix = format!("grader-{}-", self.nonce);
        let at = e.data.find(&prefix)? + prefix.len();
        let digits: String = e.data[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

pub(super) fn frame_text(e: &Event) -> String {
    let mut text = String::new();
    if !e.id.is_empty() {
        text.push_str(&format!("id: {}\n", e.id));
    }
    text.push_str(&format!("event: {}\ndata: {}", e.event, e.data));
    text
}

/// Whether the test events carried distinct, non-empty ids (at least two).
fn ids_line(ids: Vec<&str>, received: String) -> Line {
    let distinct: std::collections::HashSet<&&str> = ids.iter().collect();
    let ok = ids.iter().all(|i| !i.is_empty()) && distinct.len() == ids.len() && ids.len() >= 2;
    Line::judged(
        LineId::EventIds,
        ok,
        format!("The test events carried the ids {}.", show_ids(&ids)),
    )
    .received(received)
}

fn show_ids(ids: &[&str]) -> String {
    ids.iter()
        .map(|i| {
            if i.is_empty() {
                "(none)".to_owned()
            } else {
                (*i).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a reconnect after #1 delivered, compared with #2, #3, #4.
fn describe_resume(numbers: &[u32]) -> String {
    let lost: Vec<String> = [2, 3, 4]
        .iter()
        .filter(|n| !numbers.contains(n))
        .map(|n| format!("#{n}"))
        .collect();
    let repeated: Vec<String> = numbers
        .iter()
        .enumerate()
        .filter(|(i, n)| **n == 1 || numbers[..*i].contains(n))
        .map(|(_, n)| format!("#{n}"))
        .collect();
    let got: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
    let mut parts = vec![format!(
        "The reconnect after #1 got {}",
        if got.is_empty() {
            "none of the test events".to_owned()
        } else {
            got.join(", ")
        }
    )];
    if !lost.is_empty() {
        parts.push(format!("lost {}", lost.join(", ")));
    }
    if !repeated.is_empty() {
        parts.push(format!("repeated {}", repeated.join(", ")));
    }
    format!("{}.", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_says_what_was_lost_and_repeated() {
        assert_eq!(
            describe_resume(&[4]),
            "The reconnect after #1 got #4; lost #2, #3."
        );
        assert_eq!(
            describe_resume(&[1, 2, 3, 4]),
            "The reconnect after #1 got #1, #2, #3, #4; repeated #1."
        );
    }
}
