//! The WHATWG HTML "server-sent events" rules a server must keep, one test per
//! rule, checked on the exact bytes of `/api/sse` and `/api/traffic/stream`.
//!
//! Why this file exists: `tests/it/sse.rs` reads streams through a lenient SSE
//! parser, which forgives a stray `\r`, an unknown field, a missing blank
//! line or a late first flush — but a browser's `EventSource`, a proxy or a
//! learner's hand-written parser may not. Here a raw HTTP client (reqwest
//! without decompression) collects the bytes, a strict checker looks at the
//! lines the server writes, and a small reference parser written from the
//! spec's "interpret an event stream" algorithm says what a conformant client
//! would dispatch.
//!
//! Spec: <https://html.spec.whatwg.org/multipage/server-sent-events.html>
//!
//! Left out on purpose: the spec's warning that HTTP chunking "can have
//! unexpected negative effects" is about a layer that re-chunks without
//! caring for timing. A streamed HTTP/1.1 body of unknown length is always
//! `Transfer-Encoding: chunked` and reqwest hides the chunk framing, so the
//! rule that matters is "bytes leave at once", checked by
//! `the_stream_is_flushed_before_any_event_exists`.

use std::time::Duration;

use crate::common::*;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use realtime_playground::Config;
use serde_json::{Value, json};
use tokio::time::Instant;

/// A `--sse-retry-ms` unlike the default, so a hard-coded 2000 shows.
const RETRY_MS: u64 = 1234;
const SSE: &str = "/api/sse";
const TRAFFIC: &str = "/api/traffic/stream";

fn config() -> Config {
    Config {
        sse_retry_ms: RETRY_MS,
        ..Config::for_tests()
    }
}

// ---------------------------------------------------------------- the wire

/// One response, read chunk by chunk, keeping every byte that arrived.
struct Wire {
    headers: reqwest::header::HeaderMap,
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    bytes: Vec<u8>,
}

impl Wire {
    /// `GET path` as `learner`, with extra request headers. The handler
    /// subscribes before it answers, so once this returns the stream is live.
    async fn open(
        server: &TestServer,
        path: &str,
        learner: &str,
        headers: &[(&str, &str)],
    ) -> Wire {
        let mut req = server
            .http
            .get(server.url(path))
            .header("X-Learner", learner);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.expect("GET");
        assert_eq!(res.status(), 200, "GET {path}");
        Wire {
            headers: res.headers().clone(),
            body: res.bytes_stream().boxed(),
            bytes: Vec::new(),
        }
    }

    /// Every value of a response header (so a duplicate shows too).
    fn header(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ASCII header").to_owned())
            .collect()
    }

    /// Reads until `done(bytes so far)`; fails after `within` or at the end of the body.
    async fn read_within(&mut self, within: Duration, what: &str, done: impl Fn(&[u8]) -> bool) {
        let (bytes, body) = (&mut self.bytes, &mut self.body);
        let reached = tokio::time::timeout(within, async {
            while !done(bytes) {
                match body.next().await {
                    Some(chunk) => bytes.extend_from_slice(&chunk.expect("body bytes")),
                    None => return false,
                }
            }
            true
        })
        .await;
        assert!(
            reached == Ok(true),
            "never got {what} ({}): {:?}",
            if reached.is_err() {
                "timed out"
            } else {
                "stream ended"
            },
            String::from_utf8_lossy(&self.bytes)
        );
    }

    async fn read_until(&mut self, what: &str, done: impl Fn(&[u8]) -> bool) {
        self.read_within(PATIENCE, what, done).await;
    }

    /// Reads until the server ends the body (a `limit` was reached).
    async fn read_to_end(&mut self) {
        let (bytes, body) = (&mut self.bytes, &mut self.body);
        tokio::time::timeout(PATIENCE, async {
            while let Some(chunk) = body.next().await {
                bytes.extend_from_slice(&chunk.expect("body bytes"));
            }
        })
        .await
        .expect("the stream ended");
    }

    /// What a client has dispatched from the whole blocks received so far.
    fn parse(&self, last_event_id: &str) -> Parsed {
        parse_event_stream(whole_blocks(&self.bytes), last_event_id)
    }
}

/// Until the reference parser has dispatched `n` events.
fn dispatched(n: usize) -> impl Fn(&[u8]) -> bool {
    move |bytes| parse_event_stream(whole_blocks(bytes), "").events.len() >= n
}

/// Until `n` comment lines have arrived.
fn comments(n: usize) -> impl Fn(&[u8]) -> bool {
    move |bytes| parse_event_stream(whole_blocks(bytes), "").comments >= n
}

// ------------------------------------------------ the reference parser

/// What a conformant `EventSource` makes of a stream.
#[derive(Debug, Default)]
struct Parsed {
    events: Vec<Dispatched>,
    /// The last valid `retry:` value.
    retry: Option<u64>,
    comments: usize,
    /// The source's last event ID after the last complete block (what a
    /// reconnect would send as `Last-Event-ID`).
    last_event_id: String,
}

/// One dispatched `MessageEvent`.
#[derive(Debug, Clone, PartialEq)]
struct Dispatched {
    event_type: String,
    data: String,
    /// The source's last event ID when this event was dispatched.
    last_event_id: String,
}

impl Dispatched {
    fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("data is JSON")
    }
}

/// The spec's "interpret an event stream", literally. `last_event_id` is the
/// id the client already had (what it sent as `Last-Event-ID`). A final line
/// without its end of line is not processed yet, as for a stream still open.
fn parse_event_stream(bytes: &[u8], last_event_id: &str) -> Parsed {
    let text = std::str::from_utf8(bytes).expect("an event stream is UTF-8");
    // The decoder drops one leading BOM (the server must not send it anyway).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Parsed {
        last_event_id: last_event_id.to_owned(),
        ..Parsed::default()
    };
    let (mut data, mut event_type) = (String::new(), String::new());
    let mut id_buffer = last_event_id.to_owned();
    for line in complete_lines(text) {
        if line.is_empty() {
            // Dispatch: the last event ID is set even when nothing is dispatched.
            let last_event_id = id_buffer.clone();
            out.last_event_id = last_event_id.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            if event_type.is_empty() {
                event_type.push_str("message");
            }
            out.events.push(Dispatched {
                event_type: std::mem::take(&mut event_type),
                data: std::mem::take(&mut data),
                last_event_id,
            });
            continue;
        }
        if line.starts_with(':') {
            out.comments += 1;
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                out.retry = value.parse().ok();
            }
            _ => {} // unknown fields are ignored
        }
    }
    out
}

/// Lines as the spec splits them: at CRLF, LF or CR.
fn complete_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let (mut lines, mut start, mut i) = (Vec::new(), 0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' | b'\r' => {
                lines.push(&text[start..i]);
                if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    lines
}

// ------------------------------------------------ the strict wire checker

/// The server's own discipline, stricter than any parser: only `event`,
/// `data`, `id`, `retry` (each as `name: value`) or `:` comments; `\n` line
/// ends only; every block, the last included, closed by a blank line.
fn assert_well_formed(bytes: &[u8]) {
    assert!(!bytes.contains(&b'\r'), "a CR on the wire: {bytes:?}");
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let blocks = text
        .strip_suffix("\n\n")
        .unwrap_or_else(|| panic!("the last block is not closed by a blank line: {text:?}"));
    for block in blocks.split("\n\n") {
        assert!(!block.is_empty(), "a stray blank line in {text:?}");
        for line in block.split('\n') {
            let known = line.starts_with(':')
                || ["event: ", "data: ", "id: ", "retry: "]
                    .iter()
                    .any(|field| line.starts_with(field));
            assert!(
                known,
                "line {line:?} is neither a known field nor a comment"
            );
        }
    }
}

/// The bytes up to the last blank line (an open stream may be mid-block).
fn whole_blocks(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .map_or(0, |i| i + 2);
    &bytes[..end]
}

/// The raw blocks (events, comments, `retry`) of a stream.
fn blocks(bytes: &[u8]) -> Vec<&str> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    text.split_terminator("\n\n").collect()
}

/// The value of `field` in a raw block, if the block has it.
fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

// ---------------------------------------------------------- fixtures

/// Makes `n` logged requests as `learner` and returns their `seq`s, once the
/// log has them all.
async fn make_traffic(server: &TestServer, learner: &str, n: usize) -> Vec<u64> {
    let before = logged(server, learner).await.len();
    for _ in 0..n {
        let res = server
            .http
            .get(server.url("/api/poll?since=0"))
            .header("X-Learner", learner)
            .send()
            .await
            .expect("poll");
        assert!(res.status().is_success());
    }
    let entries = eventually("the requests reaching the traffic log", || async {
        let entries = logged(server, learner).await;
        (entries.len() >= before + n).then_some(entries)
    })
    .await;
    entries[before..]
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect()
}

/// `learner`'s log, oldest first (reading it is not logged).
async fn logged(server: &TestServer, learner: &str) -> Vec<Value> {
    let page: Value = server
        .http
        .get(server.url("/api/traffic"))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("GET /api/traffic")
        .json()
        .await
        .expect("json");
    page["entries"].as_array().expect("entries").clone()
}

/// The event as `/api/poll` gives it, to compare with what SSE carried.
async fn polled(server: &TestServer, id: u64) -> Value {
    let body: Value = server
        .get(&format!("/api/poll?since={}", id - 1))
        .await
        .json()
        .await
        .expect("json");
    body["events"][0].clone()
}

fn ids(events: &[Dispatched]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e.json()["id"].as_u64().expect("id"))
        .collect()
}

// ------------------------------------------------------------- the rules

/// Rule: "This event stream format's MIME type is `text/event-stream`" and
/// streams "must always be encoded as UTF-8". One exact header, and a
/// non-ASCII payload goes out as UTF-8 bytes.
#[tokio::test]
async fn content_type_is_exactly_text_event_stream_in_utf8() {
    let server = TestServer::with(config()).await;
    let text = "naïve ☃ 🚀";
    let id = server.publish("demo", json!({ "text": text })).await;
    for path in [SSE, TRAFFIC] {
        let wire = Wire::open(&server, path, "rule-1", &[]).await;
        assert_eq!(
            wire.header("content-type"),
            ["text/event-stream; charset=utf-8"],
            "{path}"
        );
    }
    let mut wire = Wire::open(&server, "/api/sse?last_event_id=0&limit=1", "rule-1", &[]).await;
    wire.read_to_end().await;
    let events = wire.parse("").events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json()["id"], id);
    assert_eq!(events[0].json()["data"]["text"], text);
}

/// Rule: a stream must not be cached ("Cache-Control: no-cache" as the spec's
/// examples and every proxy expect).
#[tokio::test]
async fn cache_control_is_no_cache() {
    let server = TestServer::with(config()).await;
    for path in [SSE, TRAFFIC] {
        let wire = Wire::open(&server, path, "rule-2", &[]).await;
        assert_eq!(wire.header("cache-control"), ["no-cache"], "{path}");
    }
}

/// Rule: events must reach the client when written, so proxies are told not
/// to buffer (nginx honours `X-Accel-Buffering: no`).
#[tokio::test]
async fn x_accel_buffering_is_no() {
    let server = TestServer::with(config()).await;
    for path in [SSE, TRAFFIC] {
        let wire = Wire::open(&server, path, "rule-3", &[]).await;
        assert_eq!(wire.header("x-accel-buffering"), ["no"], "{path}");
    }
}

/// Rule: no compression on a stream (an encoder holds events until its
/// buffer fills), even for a client that offers gzip and br. The learner's
/// deliberate `gzip` fault switch is the one exception: off by default, and
/// for its learner only.
#[tokio::test]
async fn no_content_encoding_even_when_the_client_accepts_gzip() {
    let server = TestServer::with(config()).await;
    let switches: Value = server
        .http
        .get(server.url("/api/faults"))
        .header("X-Learner", "rule-4")
        .send()
        .await
        .expect("GET /api/faults")
        .json()
        .await
        .expect("json");
    assert_eq!(switches["gzip"], "off", "the gzip fault is off by default");

    let offer = [("Accept-Encoding", "gzip, deflate, br, zstd")];
    for path in [SSE, TRAFFIC] {
        let mut wire = Wire::open(&server, path, "rule-4", &offer).await;
        assert_eq!(
            wire.header("content-encoding"),
            Vec::<String>::new(),
            "{path}"
        );
        wire.read_until("the retry line", |b| b.ends_with(b"\n\n"))
            .await;
        assert!(wire.bytes.starts_with(b"retry: "), "{path}: plain text");
    }

    // The exception, so this test knows what a compressed stream looks like.
    let res = server
        .http
        .put(server.url("/api/faults"))
        .header("X-Learner", "rule-4-gzip")
        .json(&json!({ "gzip": "buffered" }))
        .send()
        .await
        .expect("PUT /api/faults");
    assert_eq!(res.status(), 200);
    let gzipped = Wire::open(&server, SSE, "rule-4-gzip", &[]).await;
    assert_eq!(gzipped.header("content-encoding"), ["gzip"]);
    let other = Wire::open(&server, SSE, "rule-4", &offer).await;
    assert_eq!(other.header("content-encoding"), Vec::<String>::new());
}

/// Rule: the stream is lines of `field: value` (`event`, `data`, `id`,
/// `retry`) or `:` comments; the server ends lines with `\n` only and closes
/// every event with a blank line; it opens with `retry: <--sse-retry-ms>`.
#[tokio::test]
async fn every_line_is_a_known_field_or_a_comment_and_ends_in_lf() {
    let server = TestServer::with(Config {
        replay_buffer: 3,
        sse_heartbeat_secs: 1,
        ..config()
    })
    .await;
    for n in 1..=5 {
        server.publish("demo", json!({ "n": n })).await;
    }
    // A reset (id 1 has left the buffer), 3 replayed events, a heartbeat, one live event.
    let mut sse = Wire::open(
        &server,
        "/api/sse?heartbeat=1&limit=4",
        "rule-5",
        &[("Last-Event-ID", "1")],
    )
    .await;
    sse.read_until("a heartbeat", comments(1)).await;
    server.publish("demo", json!({ "n": 6 })).await;
    sse.read_to_end().await;

    // The same for the traffic stream: backlog, a heartbeat, one live entry.
    make_traffic(&server, "rule-5", 2).await;
    let mut traffic = Wire::open(
        &server,
        "/api/traffic/stream?since=0&transport=poll&limit=3",
        "rule-5",
        &[],
    )
    .await;
    traffic.read_until("a heartbeat", comments(1)).await;
    make_traffic(&server, "rule-5", 1).await;
    traffic.read_to_end().await;

    for (wire, kinds) in [
        (&sse, ["reset", "test", "test", "test", "test"].as_slice()),
        (&traffic, &["entry"; 3]),
    ] {
        assert_well_formed(&wire.bytes);
        // (Then the resume point, except before a reset: see rule 10.)
        let first = format!("retry: {RETRY_MS}\n");
        assert!(
            wire.bytes.starts_with(first.as_bytes()),
            "the stream opens with {first:?}: {:?}",
            String::from_utf8_lossy(&wire.bytes)
        );
        let parsed = wire.parse("");
        assert_eq!(parsed.retry, Some(RETRY_MS));
        let types: Vec<&str> = parsed
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types, kinds);
        assert!(parsed.comments >= 1);
    }
}

/// Rule: a line break ends a field, so data with line breaks must be split
/// into several `data:` lines, which the client joins with `\n`. Payloads
/// with LF, CRLF and lone CR (the one `str::lines` keeps) must come back
/// exactly, and no CR may reach the wire.
#[tokio::test]
async fn line_breaks_inside_data_never_break_a_data_line() {
    let server = TestServer::with(config()).await;
    let payload = json!({
        "lf": "one\ntwo",
        "crlf": "one\r\ntwo",
        "cr": "one\rtwo",
        "edges": ["\n", "\r", "\r\n\r\n", "trailing\n"],
    });
    let id = server.publish("demo", payload.clone()).await;
    let mut sse = Wire::open(&server, "/api/sse?last_event_id=0&limit=1", "rule-6", &[]).await;
    sse.read_to_end().await;
    assert_well_formed(&sse.bytes);
    let events = sse.parse("").events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json(), polled(&server, id).await);
    assert_eq!(events[0].json()["data"], payload);

    // The traffic log quotes a WebSocket text message; send one with line breaks.
    let text = "one\ntwo\r\nthree\rfour";
    let mut traffic = Wire::open(
        &server,
        "/api/traffic/stream?transport=websocket",
        "rule-6",
        &[],
    )
    .await;
    let mut ws = server.ws_as("rule-6").await;
    send_text(&mut ws, text).await;
    let quoted = |bytes: &[u8]| {
        parse_event_stream(whole_blocks(bytes), "")
            .events
            .iter()
            .any(|e| e.json()["preview"] == text)
    };
    traffic
        .read_until("the entry quoting the message", quoted)
        .await;
    assert_well_formed(whole_blocks(&traffic.bytes));
    let entry = traffic
        .parse("")
        .events
        .into_iter()
        .map(|e| e.json())
        .find(|e| e["preview"] == text)
        .expect("entry");
    let stored = logged(&server, "rule-6")
        .await
        .into_iter()
        .find(|e| e["seq"] == entry["seq"])
        .expect("the same entry in the log");
    assert_eq!(entry, stored);
}

async fn send_text(ws: &mut Ws, text: &str) {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text(text)).await.expect("send");
}

/// Rule: `id` sets the client's last event ID, so it must be a single line
/// without NUL (the spec ignores such ids), and here equals the event's own
/// id. A `reset` carries no `id`, so it never moves the client's last event
/// ID — backwards or anywhere; the events after it move it forward.
#[tokio::test]
async fn ids_are_clean_equal_the_event_id_and_a_reset_has_none() {
    let server = TestServer::with(Config {
        replay_buffer: 3,
        ..config()
    })
    .await;
    for n in 1..=5 {
        server.publish("demo", json!({ "n": n })).await;
    }
    let mut sse = Wire::open(
        &server,
        "/api/sse?limit=3",
        "rule-7",
        &[("Last-Event-ID", "1")],
    )
    .await;
    sse.read_to_end().await;
    let raw = blocks(&sse.bytes);
    let reset = raw
        .iter()
        .find(|b| field(b, "event") == Some("reset"))
        .expect("a reset block");
    assert_eq!(field(reset, "id"), None, "the reset has no id: {reset:?}");
    for block in raw.iter().filter(|b| field(b, "event") == Some("test")) {
        let id = field(block, "id").expect("an event has an id");
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "id {id:?}"
        );
    }
    let events = sse.parse("1");
    assert_eq!(events.events[0].event_type, "reset");
    assert_eq!(
        events.events[0].last_event_id, "1",
        "the reset left Last-Event-ID alone"
    );
    for e in &events.events[1..] {
        assert_eq!(e.last_event_id, e.json()["id"].to_string());
    }
    assert_eq!(
        ids(&events.events[1..]),
        [3, 4, 5],
        "forward from the reset point"
    );

    let seqs = make_traffic(&server, "rule-7", 2).await;
    let mut traffic = Wire::open(
        &server,
        "/api/traffic/stream?since=0&transport=poll&limit=2",
        "rule-7",
        &[],
    )
    .await;
    traffic.read_to_end().await;
    for block in blocks(&traffic.bytes)
        .iter()
        .filter(|b| field(b, "event") == Some("entry"))
    {
        let id = field(block, "id").expect("an entry has an id");
        assert!(
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
            "id {id:?}"
        );
    }
    let entries = traffic.parse("").events;
    let got: Vec<String> = entries.iter().map(|e| e.last_event_id.clone()).collect();
    let want: Vec<String> = seqs.iter().map(u64::to_string).collect();
    assert_eq!(got, want);
    for e in &entries {
        assert_eq!(e.last_event_id, e.json()["seq"].to_string());
    }
}

/// Rule: comment lines keep an idle connection alive ("a comment line every
/// 15 seconds or so") and never dispatch anything. With a 1 s period two
/// heartbeats arrive within 3.5 s, at least 0.9 s apart.
#[tokio::test]
async fn heartbeat_comments_arrive_each_period_and_dispatch_nothing() {
    let server = TestServer::with(Config {
        sse_heartbeat_secs: 1,
        ..config()
    })
    .await;
    // One learner per stream: the traffic log records the SSE stream's heartbeats.
    for (path, learner) in [
        ("/api/sse?heartbeat=1", "rule-8-sse"),
        (TRAFFIC, "rule-8-log"),
    ] {
        let mut wire = Wire::open(&server, path, learner, &[]).await;
        let mut arrivals = Vec::new();
        let start = Instant::now();
        for n in 1..=2 {
            let left = Duration::from_millis(3500).saturating_sub(start.elapsed());
            wire.read_within(left, "a heartbeat in time", comments(n))
                .await;
            arrivals.push(Instant::now());
        }
        let gap = arrivals[1] - arrivals[0];
        assert!(
            gap >= Duration::from_millis(900),
            "{path}: heartbeats {gap:?} apart"
        );
        assert_well_formed(&wire.bytes);
        let parsed = wire.parse("");
        assert_eq!(parsed.comments, 2, "{path}");
        assert!(
            parsed.events.is_empty(),
            "{path}: a comment dispatched {:?}",
            parsed.events
        );
    }
}

/// Rule: a reconnecting client sends `Last-Event-ID`; it gets exactly the
/// events after it. An id the server cannot resume from (newer than anything
/// it has, e.g. from before a restart) gets an explicit `event: reset` first.
#[tokio::test]
async fn last_event_id_resumes_exactly_after_it_and_an_unknown_id_resets_first() {
    let server = TestServer::with(config()).await;
    for n in 1..=5 {
        server.publish("demo", json!({ "n": n })).await;
    }
    let mut sse = Wire::open(
        &server,
        "/api/sse?limit=3",
        "rule-9",
        &[("Last-Event-ID", "2")],
    )
    .await;
    sse.read_to_end().await;
    let events = sse.parse("2").events;
    assert!(events.iter().all(|e| e.event_type == "test"), "{events:?}");
    assert_eq!(ids(&events), [3, 4, 5]);

    let mut sse = Wire::open(
        &server,
        "/api/sse?limit=5",
        "rule-9",
        &[("Last-Event-ID", "99")],
    )
    .await;
    sse.read_to_end().await;
    let events = sse.parse("99").events;
    assert_eq!(events[0].event_type, "reset");
    assert_eq!(events[0].json()["reason"], "unknown_id");
    assert_eq!(ids(&events[1..]), [1, 2, 3, 4, 5]);

    let seqs = make_traffic(&server, "rule-9", 3).await;
    let after = seqs[0].to_string();
    let mut traffic = Wire::open(
        &server,
        "/api/traffic/stream?transport=poll&limit=2",
        "rule-9",
        &[("Last-Event-ID", &after)],
    )
    .await;
    traffic.read_to_end().await;
    let got: Vec<u64> = traffic
        .parse(&after)
        .events
        .iter()
        .map(|e| e.json()["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(got, seqs[1..]);

    let mut traffic = Wire::open(
        &server,
        "/api/traffic/stream?transport=poll&limit=3",
        "rule-9",
        &[("Last-Event-ID", "999999")],
    )
    .await;
    traffic
        .read_until("a reset and the entries", dispatched(4))
        .await;
    let events = traffic.parse("999999").events;
    assert_eq!(events[0].event_type, "reset", "{events:?}");
    assert_eq!(events[0].json()["reason"], "unknown_id");
    assert_eq!(events[0].last_event_id, "999999");
    let got: Vec<u64> = events[1..]
        .iter()
        .map(|e| e.json()["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(got, seqs);
}

/// Rule: events must reach the client as they happen, so the response is
/// flushed at once — the opening block (`retry:` and the resume point)
/// arrives while nothing has been published, long before the first heartbeat
/// would. Its `id:` has no data: the source's last event ID is set and no
/// event fires.
#[tokio::test]
async fn the_stream_is_flushed_before_any_event_exists() {
    let server = TestServer::with(config()).await;
    for path in [SSE, TRAFFIC] {
        let mut wire = Wire::open(&server, path, "rule-10", &[]).await;
        wire.read_within(Duration::from_secs(2), "the opening block", |b| {
            b.ends_with(b"\n\n")
        })
        .await;
        let text = String::from_utf8_lossy(&wire.bytes).into_owned();
        let id = text
            .strip_prefix(&format!("retry: {RETRY_MS}\nid: "))
            .and_then(|rest| rest.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("{path}: retry, then id: {text:?}"));
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{path}: {text:?}");
        let parsed = wire.parse("");
        assert!(parsed.events.is_empty(), "{path}: no event fires");
        assert_eq!(parsed.last_event_id, id, "{path}: but the id is kept");
    }
    assert_eq!(server.status().await["last_id"], 0, "nothing was published");
}

/// Rule: the decoder strips one leading U+FEFF, so a server must not rely on
/// it either way — it sends no BOM.
#[tokio::test]
async fn no_byte_order_mark_at_the_start() {
    let server = TestServer::with(config()).await;
    for path in [SSE, TRAFFIC] {
        let mut wire = Wire::open(&server, path, "rule-11", &[]).await;
        wire.read_until("three bytes", |b| b.len() >= 3).await;
        assert_ne!(&wire.bytes[..3], "\u{feff}".as_bytes(), "{path}");
        assert!(wire.bytes.starts_with(b"retry: "), "{path}");
    }
}
