//! The SSE grader's client: one request per connection, to the checked
//! addresses only, every byte counted against the run's budget, events read
//! with a real parser (`eventsource-stream`).
//!
//! Two things the parser does not surface are read from the raw lines: the
//! `retry:` field (the parser keeps it only on a block that also has data)
//! and comment lines (`: heartbeat`), which a browser never sees either but
//! which keep proxies from closing an idle stream.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::{Client, Url};
use tokio::time::Instant;

use super::budget::{ANSWER_PATIENCE, Budget, Spent};
use super::report::excerpt;
use super::target::Target;

/// Sent with every request: the grader's requests to this playground land in
/// one traffic log of their own instead of a new learner each.
const LEARNER_HEADER: (&str, &str) = ("x-learner", "grader");

/// How a request failed before there was an answer.
#[derive(Debug, Clone)]
pub enum NoAnswer {
    Spent(Spent),
    Refused(String),
    Timeout,
}

impl NoAnswer {
    pub fn sentence(&self) -> String {
        match self {
            NoAnswer::Spent(s) => s.sentence(),
            NoAnswer::Refused(e) => format!("The request failed: {e}."),
            NoAnswer::Timeout => format!("No answer within {} ms.", ANSWER_PATIENCE.as_millis()),
        }
    }
}

/// The run's HTTP client.
#[derive(Clone)]
pub struct Http {
    client: Client,
    budget: Budget,
    pub target: Arc<Target>,
}

impl Http {
    pub fn new(target: Arc<Target>, budget: Budget) -> Result<Self, String> {
        let client = Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            // A new connection per request, so the budget counts connections.
            .pool_max_idle_per_host(0)
            .connect_timeout(ANSWER_PATIENCE)
            .resolve_to_addrs(&target.host, &target.addrs)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Http {
            client,
            budget,
            target,
        })
    }

    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// `GET url` with `headers`; answers once the status and headers are in.
    pub async fn open(&self, headers: &[(&str, &str)]) -> Result<Opened, NoAnswer> {
        self.budget.connect().map_err(NoAnswer::Spent)?;
        let url = self.target.url.clone();
        let mut req = self
            .client
            .get(url.clone())
            .header(LEARNER_HEADER.0, LEARNER_HEADER.1);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let sent = request_text("GET", &url, headers);
        let answer = tokio::time::timeout_at(self.budget.within(ANSWER_PATIENCE), req.send())
            .await
            .map_err(|_| NoAnswer::Timeout)?
            .map_err(|e| NoAnswer::Refused(error_chain(&e)))?;
        let status = answer.status().as_u16();
        let head = response_text(status, answer.headers());
        let headers = answer.headers().clone();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (budget, tap) = (self.budget.clone(), seen.clone());
        let body = answer.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(|e| Cut::Failed(error_chain(&e)))?;
            budget.read(chunk.len()).map_err(Cut::Spent)?;
            lock(&tap).observe(&chunk);
            Ok(chunk)
        });
        Ok(Opened {
            status,
            sent,
            head,
            headers,
            body: Box::pin(body),
            seen,
        })
    }

    /// `POST publish_url` with a JSON event whose text is `marker`.
    pub async fn publish(&self, marker: &str) -> Result<(), String> {
        self.budget.connect().map_err(|s| s.sentence())?;
        let body = serde_json::json!({"topic": "grader", "type": "note", "data": {"text": marker}});
        let req = self
            .client
            .post(self.target.publish_url.clone())
            .header(LEARNER_HEADER.0, LEARNER_HEADER.1)
            .json(&body)
            .send();
        let answer = tokio::time::timeout_at(self.budget.within(ANSWER_PATIENCE), req)
            .await
            .map_err(|_| {
                format!(
                    "POST {} got no answer within {} ms",
                    self.target.publish_url,
                    ANSWER_PATIENCE.as_millis()
                )
            })?
            .map_err(|e| {
                format!(
                    "POST {} failed: {}",
                    self.target.publish_url,
                    error_chain(&e)
                )
            })?;
        let status = answer.status();
        // Dropped unread: the connection closes, nothing more is read.
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "POST {} answered {status}; give the grader a publish_url that takes \
                 {{\"topic\":…,\"type\":…,\"data\":…}}",
                self.target.publish_url
            ))
        }
    }
}

/// Why a body stopped.
#[derive(Debug)]
pub enum Cut {
    Spent(Spent),
    Failed(String),
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cut::Spent(s) => f.write_str(&s.sentence()),
            Cut::Failed(e) => f.write_str(e),
        }
    }
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, Cut>> + Send>>;

/// What the raw lines of a stream showed.
#[derive(Debug, Default)]
pub struct Seen {
    /// The first bytes, for the report's excerpts.
    pub first: String,
    /// The first `retry:` line with a number.
    pub retry: Option<String>,
    /// The first comment line, and when it came.
    pub comment: Option<(String, Instant)>,
    /// The current line, until its end arrives (kept short).
    partial: String,
}

/// Longest raw line kept while looking for `retry:` and comments.
const MAX_LINE: usize = 256;

impl Seen {
    fn observe(&mut self, chunk: &[u8]) {
        let text = String::from_utf8_lossy(chunk);
        if self.first.len() < 512 {
            self.first
                .push_str(&text[..text.floor_char_boundary(512 - self.first.len())]);
        }
        for piece in text.split_inclusive('\n') {
            if self.partial.len() < MAX_LINE {
                self.partial
                    .push_str(&piece[..piece.floor_char_boundary(MAX_LINE - self.partial.len())]);
            }
            if piece.ends_with('\n') {
                let line = std::mem::take(&mut self.partial);
                self.line(line.trim_end_matches(['\n', '\r']));
            }
        }
    }

    fn line(&mut self, line: &str) {
        let number = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        match line.strip_prefix("retry:") {
            Some(v) if self.retry.is_none() && number(v.trim_start_matches(' ')) => {
                self.retry = Some(line.to_owned());
            }
            _ if line.starts_with(':') && self.comment.is_none() => {
                self.comment = Some((line.to_owned(), Instant::now()));
            }
            _ => {}
        }
    }
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|p| p.into_inner())
}

/// An answered GET whose body has not been read yet.
pub struct Opened {
    pub status: u16,
    /// The request as text, for the report.
    pub sent: String,
    /// Status line and headers as text, for the report.
    pub head: String,
    pub headers: HeaderMap,
    body: Body,
    seen: Arc<Mutex<Seen>>,
}

impl Opened {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }

    /// The next raw chunk, if one comes before `until`.
    pub async fn chunk(&mut self, until: Instant) -> Option<Result<Bytes, Cut>> {
        tokio::time::timeout_at(until, self.body.next())
            .await
            .ok()
            .flatten()
    }

    /// Runs `f` over what the raw lines showed so far.
    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&lock(&self.seen))
    }

    /// The body as parsed events.
    pub fn events(self) -> Events {
        Events {
            status: self.status,
            sent: self.sent,
            head: self.head,
            events: Box::pin(self.body.eventsource()),
            seen: self.seen,
        }
    }
}

type EventBody =
    Pin<Box<dyn Stream<Item = Result<Event, eventsource_stream::EventStreamError<Cut>>> + Send>>;

/// A stream read event by event.
pub struct Events {
    pub status: u16,
    pub sent: String,
    pub head: String,
    events: EventBody,
    seen: Arc<Mutex<Seen>>,
}

/// How a wait for an event ended without it.
#[derive(Debug)]
pub enum Missed {
    /// Nothing matching before the wait's end.
    Timeout(Duration),
    /// The stream ended or broke.
    Ended(String),
}

impl Missed {
    pub fn sentence(&self) -> String {
        match self {
            Missed::Timeout(d) => format!("Nothing arrived within {} ms", d.as_millis()),
            Missed::Ended(why) => format!("The stream ended ({why})"),
        }
    }
}

impl Events {
    /// Reads events until one whose data contains `marker` arrives; returns
    /// every event read, that one last.
    pub async fn until(
        &mut self,
        marker: &str,
        patience: Duration,
        budget: &Budget,
    ) -> Result<Vec<Event>, (Missed, Vec<Event>)> {
        let until = budget.within(patience);
        let started = Instant::now();
        let mut read = Vec::new();
        loop {
            match tokio::time::timeout_at(until, self.events.next()).await {
                Err(_) => return Err((Missed::Timeout(started.elapsed()), read)),
                Ok(None) => return Err((Missed::Ended("the server closed it".into()), read)),
                Ok(Some(Err(e))) => return Err((Missed::Ended(e.to_string()), read)),
                Ok(Some(Ok(event))) => {
                    let found = event.data.contains(marker);
                    read.push(event);
                    if found {
                        return Ok(read);
                    }
                }
            }
        }
    }

    pub fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&lock(&self.seen))
    }
}

/// `GET /path HTTP/1.1` and the headers the grader chose, as text.
pub fn request_text(method: &str, url: &Url, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {}", path_and_query(url));
    text.push_str(" HTTP/1.1");
    for (name, value) in headers {
        text.push_str(&format!("\n{name}: {value}"));
    }
    text
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The status line and headers, as text (cut short by the report).
pub fn response_text(status: u16, headers: &HeaderMap) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut text = format!("HTTP/1.1 {status} {reason}");
    for (name, value) in headers {
        text.push_str(&format!(
            "\n{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    excerpt(&text)
}

/// An error and its causes in one line ("error sending request: connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_and_comments_are_found_across_chunks() {
        let mut seen = Seen::default();
        seen.observe(b"ret");
        seen.observe(b"ry: 2000\n\n: heart");
        assert_eq!(seen.retry.as_deref(), Some("retry: 2000"));
        assert!(seen.comment.is_none(), "the comment line has not ended yet");
        seen.observe(b"beat\n\n");
        assert_eq!(
            seen.comment.as_ref().map(|c| c.0.as_str()),
            Some(": heartbeat")
        );
        let mut bad = Seen::default();
        bad.observe(b"retry: soon\n");
        assert!(bad.retry.is_none());
    }
}
