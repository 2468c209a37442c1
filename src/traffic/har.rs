//! A learner's traffic as HAR 1.2, the format browsers' network panels
//! export and import. Plain exchanges become HAR entries; an SSE stream or a
//! WebSocket becomes one entry whose messages are listed the way Chrome
//! writes them (`_webSocketMessages`; `_eventSourceMessages` for SSE).

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::HeaderMap;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Direction, Entry, EntryKind, Transport};

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
    json!({
        "startedDateTime": e.at,
        "time": time,
        "request": {
            "method": e.method.as_deref().unwrap_or("GET"),
            "url": format!("{origin}{path}"),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": pairs(&headers.request),
            "queryString": query_string(path),
            "headersSize": e.bytes_up,
            "bodySize": find(&headers.request, "content-length").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0),
        },
        "response": {
            "status": status,
            "statusText": status_text,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": pairs(&headers.response),
            "content": { "size": body, "mimeType": mime },
            "redirectURL": "",
            "headersSize": response_headers_size.max(0),
            "bodySize": if e.kind == EntryKind::Opened { -1 } else { body },
        },
        "cache": {},
        "timings": { "send": 0, "wait": time, "receive": 0 },
        "_transport": e.transport.as_str(),
        "_narration": e.narration,
    })
}

/// Builds the HAR document for a learner's entries (oldest first).
pub fn export(entries: &[Arc<Entry>], origin: &str) -> Value {
    let mut har_entries: Vec<Value> = Vec::new();
    // Connection id → index of its HAR entry, so frames attach to their connection.
    let mut connections: HashMap<u64, usize> = HashMap::new();
    for e in entries {
        match e.kind {
            EntryKind::Exchange => har_entries.push(har_entry(e, origin)),
            EntryKind::Opened => {
                connections.insert(e.connection, har_entries.len());
                let mut entry = har_entry(e, origin);
                let key = if e.transport == Transport::Websocket {
                    "_webSocketMessages"
                } else {
                    "_eventSourceMessages"
                };
                entry[key] = json!([]);
                har_entries.push(entry);
            }
            EntryKind::Event | EntryKind::Frame => {
                let Some(&i) = connections.get(&e.connection) else {
                    continue;
                };
                let time = e.at_ms as f64 / 1000.0;
                let message = if e.transport == Transport::Websocket {
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
                };
                let key = if e.transport == Transport::Websocket {
                    "_webSocketMessages"
                } else {
                    "_eventSourceMessages"
                };
                if let Some(list) = har_entries[i][key].as_array_mut() {
                    list.push(message);
                }
            }
            EntryKind::Closed => {
                if let Some(&i) = connections.get(&e.connection) {
                    har_entries[i]["time"] = json!(e.duration_ms.unwrap_or(0.0));
                    har_entries[i]["timings"]["receive"] = json!(e.duration_ms.unwrap_or(0.0));
                }
            }
        }
    }
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "realtime-playground", "version": env!("CARGO_PKG_VERSION") },
            "pages": [],
            "entries": har_entries,
        }
    })
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
