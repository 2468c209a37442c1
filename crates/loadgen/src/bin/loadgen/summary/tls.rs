//! The TLS section of `bench/RESULTS.md`: what one idle SSE stream or
//! WebSocket costs the server over plain HTTP/1.1, over TLS with HTTP/1.1 and
//! over TLS with HTTP/2, from the `tls/<kind>.json` files `loadgen tls-idle`
//! wrote (each kind on a fresh server, the same count of connections).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::tls_idle::IdleReport;

/// The kinds measured, by name (`sse-plain`, `ws-h2`, …); empty when the run had none.
pub fn load(dir: &Path) -> BTreeMap<String, IdleReport> {
    let Ok(entries) = std::fs::read_dir(dir.join("tls")) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| serde_json::from_str::<IdleReport>(&text).ok())
        .map(|r| (r.kind.clone(), r))
        .collect()
}

/// The section, or nothing when no kind was measured.
pub fn section(s: &mut String, reports: &BTreeMap<String, IdleReport>) {
    if reports.is_empty() {
        return;
    }
    let count = reports.values().map(|r| r.connections).max().unwrap_or(0);
    let _ = writeln!(
        s,
        "## TLS and HTTP/2: memory per idle connection\n\n\
         `loadgen tls-idle`: {count} idle connections of one kind on a fresh server (`--tls` for \
         the TLS kinds; HTTP/1.1 or HTTP/2 chosen by ALPN), the server's RSS read before and \
         after; KiB per connection. Each HTTP/2 client is a connection of its own with one stream \
         (a browser tab's case); the WebSocket over HTTP/2 is an extended `CONNECT` (RFC 8441). \
         The plain-HTTP targets above are measured without TLS, which is opt-in.\n"
    );
    let _ = writeln!(
        s,
        "| Idle connection | plain HTTP/1.1 | TLS, HTTP/1.1 | TLS, HTTP/2 | TLS adds | HTTP/2 adds over TLS/1.1 |\n\
         |---|---|---|---|---|---|"
    );
    for (label, prefix) in [("SSE stream", "sse"), ("WebSocket", "ws")] {
        let kib = |suffix: &str| {
            reports
                .get(&format!("{prefix}-{suffix}"))
                .map(|r| r.kib_per_connection)
        };
        let (plain, h1, h2) = (kib("plain"), kib("h1"), kib("h2"));
        let cell = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} KiB"));
        let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:+.1} KiB", b - a),
            _ => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} | {} | {} |",
            cell(plain),
            cell(h1),
            cell(h2),
            diff(plain, h1),
            diff(h1, h2)
        );
    }
    let _ = writeln!(s);
}
