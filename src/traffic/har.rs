//! A learner's traffic as HAR 1.2, the format browsers' network panels
//! export and import. Plain exchanges become HAR entries; an SSE stream or a
//! WebSocket becomes one entry whose messages are listed the way Chrome
//! writes them (`_webSocketMessages`; `_eventSourceMessages` for SSE).
//!
//! The document is written as a stream, a few entries at a time
//! ([`HarChunks`]): a full log makes a HAR of tens of MB, and a JSON tree of
//! it costs several times that, per concurrent export.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use poem::http::HeaderMap;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Direction, Entry, EntryKind, Protocol, Transport};

/// Request and response headers of an exchange or handshake, as
/// `name: value` lines in one string each. (Keeping hyper's `HeaderMap`s
/// would pin their read buffers in memory for as long as the entry lives.)
#[derive(Debug, Clone, Default)]
pub struct Headers {
    request: String,
    response: String,
}

impl Headers {
    /// `request` comes from [`flatten`], taken before the request moved on.
    pub fn new(request: String, response: &HeaderMap) -> Self {
        Headers {
            request,
            response: flatten(response),
        }
    }
}

impl Headers {
    /// Whether the request carried a header of this (lower-case) name.
    pub fn request_has(&self, name: &str) -> bool {
        lines(&self.request).any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// Every value of a response header of this (lower-case) name.
    pub fn response_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        lines(&self.response)
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Most bytes of headers kept per message; the rest is cut (sizes stay exact).
const MAX_HEADER_TEXT: usize = 4096;

/// Headers as `name: value` lines, at most `MAX_HEADER_TEXT` (4 KiB) bytes.
pub fn flatten(headers: &HeaderMap) -> String {
    let mut out = String::with_capacity(headers.len() * 32);
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        if out.len() + name.as_str().len() + value.len() + 3 > MAX_HEADER_TEXT {
            out.push_str("x-truncated: the remaining headers were too long to keep\n");
            break;
        }
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct NameValue<'a> {
    name: &'a str,
    value: &'a str,
}

fn lines(flat: &str) -> impl Iterator<Item = (&str, &str)> {
    flat.lines().filter_map(|l| l.split_once(": "))
}

fn pairs(flat: &str) -> Vec<NameValue<'_>> {
    lines(flat)
        .map(|(name, value)| NameValue { name, value })
        .collect()
}

fn query_string(path: &str) -> Vec<Value> {
    path.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            json!({"name": k, "value": v})
        })
        .collect()
}

fn find<'a>(flat: &'a str, name: &str) -> Option<&'a str> {
    lines(flat)
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// One HAR entry for an exchange or the opening of a connection.
fn har_entry(e: &Entry, origin: &str) -> Value {
    let empty = Headers::default();
    let headers = e.headers.as_deref().unwrap_or(&empty);
    let path = e.path.as_deref().unwrap_or("/");
    let status = e.status.unwrap_or(0);
    let status_text = poem::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let body = e.body_bytes.unwrap_or(0) as i64;
    let response_headers_size = e.bytes_down as i64 - body;
    let mime = find(&headers.response, "content-type").unwrap_or("");
    let time = e.duration_ms.unwrap_or(0.0);
    // Over HTTP/2 the log has the header bytes of both directions together,
    // not each side's: HAR's "unknown" (-1).
    let http2 = e.protocol == Protocol::Http2;
    let version = if http2 { "HTTP/2" } else { "HTTP/1.1" };
    let (request_headers_size, response_headers_size) = match http2 {
        true => (-1, -1),
        false => (e.bytes_up as i64, response_headers_size.max(0)),
    };
    json!({
        "startedDateTime": e.at,
        "time": time,
        "request": {
            "method": e.method.as_deref().unwrap_or("GET"),
            "url": format!("{origin}{path}"),
            "httpVersion": version,
            "cookies": [],
            "headers": pairs(&headers.request),
            "queryString": query_string(path),
            "headersSize": request_headers_size,
            "bodySize": find(&headers.request, "content-length").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0),
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": version,
            "cookies": [],
            "headers": pairs(&headers.response),
            "content": { "size": body, "mimeType": mime },
            "redirectURL": "",
            "headersSize": response_headers_size,
            "bodySize": if e.kind == EntryKind::Opened { -1 } else { body },
        },
        "cache": {},
        "timings": { "send": 0, "wait": time, "receive": 0 },
        "_transport": e.transport.as_str(),
        "_narration": e.narration,
    })
}

/// The key under which a connection's messages are listed, as Chrome writes it.
fn messages_key(transport: Transport) -> &'static str {
    if transport == Transport::Websocket {
        "_webSocketMessages"
    } else {
        "_eventSourceMessages"
    }
}

/// One message (WebSocket frame or SSE event) of a connection's entry.
fn har_message(e: &Entry) -> Value {
    let time = e.at_ms as f64 / 1000.0;
    if e.transport == Transport::Websocket {
        json!({
            "type": if e.direction == Direction::Up { "send" } else { "receive" },
            "time": time,
            "opcode": opcode(e.frame.as_deref()),
            "data": e.preview.clone().unwrap_or_else(|| e.narration.clone()),
        })
    } else {
        json!({
            "time": time,
            "eventName": e.frame.as_deref().unwrap_or("message"),
            "eventId": e.event_ids.as_ref().and_then(|ids| ids.first()).map(u64::to_string).unwrap_or_default(),
            "data": e.narration,
        })
    }
}

fn opcode(frame: Option<&str>) -> u8 {
    match frame {
        Some("binary") => 2,
        Some("close") => 8,
        Some("ping") => 9,
        Some("pong") => 10,
        _ => 1,
    }
}

/// Messages serialized into one chunk of the stream.
const MESSAGES_PER_CHUNK: usize = 64;

/// A learner's HAR document as a sequence of chunks of JSON text. It holds
/// the entries (shared with the log) and a few indexes; each chunk is
/// serialized when it is asked for.
pub struct HarChunks {
    entries: Vec<Arc<Entry>>,
    origin: String,
    /// Connection id → indexes of its frames and events, in order.
    messages: HashMap<u64, Vec<u32>>,
    /// Connection id → how long it lasted (from its `Closed` entry).
    durations: HashMap<u64, f64>,
    next: usize,
    /// The connection entry being written: its messages and how many went out.
    open: Option<(Vec<u32>, usize)>,
    state: Progress,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Progress {
    NotStarted,
    /// Writing entries; `true` once one went out (the next needs a comma).
    Entries(bool),
    Done,
}

impl HarChunks {
    /// The HAR of `entries` (oldest first), with URLs under `origin`.
    pub fn new(entries: Vec<Arc<Entry>>, origin: String) -> Self {
        let mut messages: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut durations = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            match e.kind {
                EntryKind::Opened => {
                    messages.insert(e.connection, Vec::new());
                }
                // Only connections whose opening is in the log get their messages.
                EntryKind::Event | EntryKind::Frame => {
                    if let Some(list) = messages.get_mut(&e.connection) {
                        list.push(i as u32);
                    }
                }
                EntryKind::Closed if messages.contains_key(&e.connection) => {
                    durations.insert(e.connection, e.duration_ms.unwrap_or(0.0));
                }
                _ => {}
            }
        }
        HarChunks {
            entries,
            origin,
            messages,
            durations,
            next: 0,
            open: None,
            state: Progress::NotStarted,
        }
    }

    /// The next entry's JSON (with its leading comma), or, for a
    /// connection, its opening part; `None` after the last.
    fn next_entry(&mut self, comma: bool) -> Option<String> {
        while let Some(e) = self.entries.get(self.next) {
            self.next += 1;
            let mut text = if comma { ",".to_owned() } else { String::new() };
            match e.kind {
                EntryKind::Exchange => {
                    text.push_str(&har_entry(&e.completed(), &self.origin).to_string());
                    return Some(text);
                }
                EntryKind::Opened => {
                    let mut entry = har_entry(&e.completed(), &self.origin);
                    if let Some(&ms) = self.durations.get(&e.connection) {
                        entry["time"] = json!(ms);
                        entry["timings"]["receive"] = json!(ms);
                    }
                    let whole = entry.to_string();
                    // The object without its closing brace, then the open list.
                    text.push_str(&whole[..whole.len() - 1]);
                    text.push_str(&format!(",\"{}\":[", messages_key(e.transport)));
                    let list = self.messages.remove(&e.connection).unwrap_or_default();
                    self.open = Some((list, 0));
                    return Some(text);
                }
                _ => continue,
            }
        }
        None
    }

    /// The next few messages of the open connection entry, or its end.
    fn next_messages(&mut self) -> Option<String> {
        let (list, sent) = self.open.as_mut()?;
        if *sent >= list.len() {
            self.open = None;
            return Some("]}".to_owned());
        }
        let mut text = String::new();
        for &i in list.iter().skip(*sent).take(MESSAGES_PER_CHUNK) {
            if *sent > 0 {
                text.push(',');
            }
            *sent += 1;
            if let Some(e) = self.entries.get(i as usize) {
                text.push_str(&har_message(&e.completed()).to_string());
            }
        }
        Some(text)
    }
}

impl Iterator for HarChunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let text = match self.state {
            Progress::NotStarted => {
                self.state = Progress::Entries(false);
                let creator =
                    json!({ "name": "realtime-playground", "version": env!("CARGO_PKG_VERSION") });
                format!(
                    "{{\"log\":{{\"version\":\"1.2\",\"creator\":{creator},\"pages\":[],\"entries\":["
                )
            }
            Progress::Entries(any) => {
                if let Some(text) = self.next_messages() {
                    text
                } else if let Some(text) = self.next_entry(any) {
                    self.state = Progress::Entries(true);
                    text
                } else {
                    self.state = Progress::Done;
                    "]}}".to_owned()
                }
            }
            Progress::Done => return None,
        };
        Some(Bytes::from(text))
    }
}
