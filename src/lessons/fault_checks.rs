//! Counting what the network-faults lesson asks about: refused upgrades,
//! 502s during a deploy, streams through the corporate proxy or a gzip
//! layer, watchdog reconnects, storms, error replies. Kept apart from
//! [`super::checks`] because it reads what the fault gate and the storm add
//! to answers (`Via`, `X-Storm-Strategy`) rather than the transports' own
//! entries.

use crate::lab::faults::gate::{GZIP_BUFFERED_VIA, GZIP_FLUSHED_VIA, PROXY_VIA};
use crate::traffic::{Direction, Entry, EntryKind, Transport};

use super::checks::{Counters, route};

/// The query parameter a client-side watchdog adds when it reconnects.
pub const WATCHDOG_PARAM: &str = "watchdog=1";

/// Every name this module counts, with what it means.
pub const NAMES: &[(&str, &str)] = &[
    ("ws_refused", "WebSocket upgrades refused with 403"),
    (
        "polls_through_proxy",
        "polls answered through the corporate proxy",
    ),
    (
        "sse_through_proxy",
        "SSE streams opened through the corporate proxy",
    ),
    ("deploys", "deploys started"),
    (
        "sse_refused_502",
        "SSE (re)connections answered 502 Bad Gateway",
    ),
    (
        "ws_back_after_deploy",
        "WebSockets opened again after a deploy",
    ),
    ("half_opens", "half-open faults started"),
    (
        "sse_watchdog_reconnects",
        "SSE reconnections made by a watchdog, with the last event id",
    ),
    (
        "storm_runs_fixed",
        "reconnect storms run with a fixed retry",
    ),
    (
        "storm_runs_jitter",
        "reconnect storms run with back-off and jitter",
    ),
    ("sse_gzip_buffered", "SSE streams opened with gzip buffered"),
    ("sse_gzip_flushed", "SSE streams opened with gzip flushed"),
    ("ws_errors_received", "WebSocket error replies received"),
    ("bad_posts", "POSTs answered with a 4xx status"),
];

/// What earlier entries of the window tell about later ones.
#[derive(Debug, Default)]
pub struct FaultTally {
    deployed: bool,
}

fn via(e: &Entry, value: &str) -> bool {
    e.headers
        .as_ref()
        .is_some_and(|h| h.response_values("via").any(|v| v.contains(value)))
}

fn header<'a>(e: &'a Entry, name: &'a str) -> Option<&'a str> {
    e.headers.as_ref()?.response_values(name).next()
}

impl FaultTally {
    /// Counts one entry (entries come oldest first).
    pub fn count(&mut self, c: &mut Counters, e: &Entry) {
        let status = e.status.unwrap_or(0);
        match (e.transport, e.kind) {
            (Transport::Poll | Transport::LongPoll, EntryKind::Exchange)
                if (200..300).contains(&status) && via(e, PROXY_VIA) =>
            {
                c.add("polls_through_proxy", 1);
            }
            (Transport::Websocket, EntryKind::Exchange) if status == 403 => c.add("ws_refused", 1),
            (Transport::Sse, EntryKind::Exchange) if status == 502 => c.add("sse_refused_502", 1),
            (Transport::Websocket, EntryKind::Opened) if self.deployed => {
                c.add("ws_back_after_deploy", 1);
            }
            (Transport::Sse, EntryKind::Opened) => {
                if via(e, PROXY_VIA) {
                    c.add("sse_through_proxy", 1);
                }
                if via(e, GZIP_BUFFERED_VIA) {
                    c.add("sse_gzip_buffered", 1);
                }
                if via(e, GZIP_FLUSHED_VIA) {
                    c.add("sse_gzip_flushed", 1);
                }
                let path = e.path.as_deref().unwrap_or("");
                if path.contains(WATCHDOG_PARAM) && path.contains("last_event_id=") {
                    c.add("sse_watchdog_reconnects", 1);
                }
            }
            (Transport::Websocket, EntryKind::Frame)
                if e.direction == Direction::Down
                    && e.frame.as_deref() == Some("text")
                    && e.preview.as_deref().is_some_and(is_error_reply) =>
            {
                c.add("ws_errors_received", 1);
            }
            (Transport::Api, EntryKind::Exchange) if e.method.as_deref() == Some("POST") => {
                if (400..500).contains(&status) {
                    c.add("bad_posts", 1);
                }
                let ok = (200..300).contains(&status);
                match route(e) {
                    Some("/api/faults/deploy") if ok => {
                        self.deployed = true;
                        c.add("deploys", 1);
                    }
                    Some("/api/faults/half-open") if ok => c.add("half_opens", 1),
                    Some("/api/lab/storm") if ok => match header(e, "x-storm-strategy") {
                        Some("fixed") => c.add("storm_runs_fixed", 1),
                        Some("backoff_jitter") => c.add("storm_runs_jitter", 1),
                        _ => {}
                    },
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Whether a WebSocket text preview is the server's `{"type":"error",…}`.
/// A preview is cut at 200 characters, so it need not parse as JSON; the
/// server writes the tag first.
fn is_error_reply(preview: &str) -> bool {
    preview.starts_with(r#"{"type":"error""#)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::traffic::Direction;

    fn entry(transport: Transport, kind: EntryKind, status: Option<u16>) -> Entry {
        let mut e = Entry::new(transport, kind, Direction::Both, 1);
        e.status = status;
        e
    }

    fn post(path: &str, status: u16) -> Entry {
        let mut e = entry(Transport::Api, EntryKind::Exchange, Some(status));
        e.method = Some("POST".into());
        e.path = Some(path.into());
        e
    }

    #[test]
    fn a_websocket_is_back_only_when_opened_after_a_deploy() {
        let opened = || Arc::new(entry(Transport::Websocket, EntryKind::Opened, Some(101)));
        let c = Counters::from_entries(&[
            opened(),
            Arc::new(post("/api/faults/deploy", 200)),
            Arc::new(entry(Transport::Sse, EntryKind::Exchange, Some(502))),
            Arc::new(entry(Transport::Websocket, EntryKind::Exchange, Some(502))),
            opened(),
        ]);
        assert_eq!(
            (
                c.get("deploys"),
                c.get("sse_refused_502"),
                c.get("ws_back_after_deploy")
            ),
            (1, 1, 1)
        );
    }

    #[test]
    fn watchdog_reconnects_need_the_marker_and_the_last_id() {
        let sse = |path: &str| {
            let mut e = entry(Transport::Sse, EntryKind::Opened, Some(200));
            e.path = Some(path.into());
            Arc::new(e)
        };
        let c = Counters::from_entries(&[
            sse("/api/sse?heartbeat=2"),
            sse("/api/sse?heartbeat=2&watchdog=1"),
            sse("/api/sse?last_event_id=4"),
            sse("/api/sse?heartbeat=2&watchdog=1&last_event_id=4"),
        ]);
        assert_eq!(c.get("sse_watchdog_reconnects"), 1);
        assert_eq!(c.get("sse_reconnected_with_last_event_id"), 2);
    }

    #[test]
    fn errors_refusals_and_bad_posts() {
        let mut error = entry(Transport::Websocket, EntryKind::Frame, None);
        error.direction = Direction::Down;
        error.frame = Some("text".into());
        error.preview = Some(format!(
            r#"{{"type":"error","message":"{}"#,
            "x".repeat(200)
        ));
        let c = Counters::from_entries(&[
            Arc::new(error),
            Arc::new(entry(Transport::Websocket, EntryKind::Exchange, Some(403))),
            Arc::new(post("/api/events", 400)),
            Arc::new(post("/api/events", 201)),
            Arc::new(post("/api/faults/half-open", 200)),
        ]);
        assert_eq!(
            (
                c.get("ws_errors_received"),
                c.get("ws_refused"),
                c.get("bad_posts"),
                c.get("half_opens")
            ),
            (1, 1, 1, 1)
        );
    }
}
