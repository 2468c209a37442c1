//! Byte counts as the protocols put them on the wire.
//!
//! The middleware sees parsed requests and responses, not bytes, so sizes
//! are recomputed the way HTTP/1.1 serializes a message (`name: value\r\n`
//! per header) plus the headers hyper adds after the middleware has run
//! (`date`, `content-length` or `transfer-encoding`).

use poem::http::{HeaderMap, Method, StatusCode, Uri};

/// `date: Thu, 26 Nov 2026 03:07:36 GMT\r\n` — hyper adds it to every response.
const DATE_HEADER: u64 = "date: ".len() as u64 + 29 + 2;
const CHUNKED_HEADER: u64 = "transfer-encoding: chunked\r\n".len() as u64;

fn headers_len(headers: &HeaderMap) -> u64 {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().len() + 2 + value.len() + 2) as u64)
        .sum()
}

fn digits(mut n: u64) -> u64 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Request line, headers and the blank line: `GET /api/poll?since=4 HTTP/1.1\r\n…\r\n`.
pub fn request_head(method: &Method, uri: &Uri, headers: &HeaderMap) -> u64 {
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len());
    let line = method.as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    line as u64 + headers_len(headers) + 2
}

/// How the response body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (1xx, 204, 304): hyper writes no length header.
    None,
    /// A body of known size: hyper adds `content-length`.
    Length(u64),
    /// A streamed body: `transfer-encoding: chunked`.
    Chunked,
}

/// `connection: close\r\n`, which hyper adds when the client asked to close.
pub const CONNECTION_CLOSE: u64 = "connection: close\r\n".len() as u64;

/// Whether the request asked to close the connection after the answer.
pub fn wants_close(headers: &HeaderMap) -> bool {
    headers.get_all("connection").iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    })
}

/// Status line, headers (plus hyper's) and the blank line.
pub fn response_head(status: StatusCode, headers: &HeaderMap, framing: Framing) -> u64 {
    let reason = status.canonical_reason().unwrap_or("");
    let line = "HTTP/1.1 ".len() + 3 + 1 + reason.len() + 2;
    let added = match framing {
        Framing::None => 0,
        Framing::Length(_) if headers.contains_key("content-length") => 0,
        Framing::Length(n) => "content-length: ".len() as u64 + digits(n) + 2,
        Framing::Chunked => CHUNKED_HEADER,
    };
    line as u64 + headers_len(headers) + DATE_HEADER + added + 2
}

/// One chunk of a chunked body: `<hex size>\r\n<data>\r\n`.
pub fn chunk(len: u64) -> u64 {
    let hex_digits = if len == 0 {
        1
    } else {
        (64 - len.leading_zeros() as u64).div_ceil(4)
    };
    hex_digits + 2 + len + 2
}

/// The terminating `0\r\n\r\n` of a chunked body.
pub const LAST_CHUNK: u64 = 5;

/// A WebSocket frame: 2 header bytes, 2 or 8 more for long payloads, and a
/// 4-byte mask on frames from the client (RFC 6455 §5.2).
pub fn ws_frame(payload: u64, masked: bool) -> u64 {
    let extended = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + extended + if masked { 4 } else { 0 } + payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    #[test]
    fn request_head_counts_line_headers_and_blank_line() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("a:1"));
        let uri: Uri = "/x?y=1".parse().expect("uri");
        // "GET /x?y=1 HTTP/1.1\r\n" (21) + "host: a:1\r\n" (11) + "\r\n" (2)
        assert_eq!(request_head(&Method::GET, &uri, &h), 34);
    }

    #[test]
    fn response_head_includes_what_hyper_adds() {
        let h = HeaderMap::new();
        // "HTTP/1.1 204 No Content\r\n" (25) + date (37) + "\r\n"
        assert_eq!(response_head(StatusCode::NO_CONTENT, &h, Framing::None), 64);
        // + "content-length: 12\r\n" (20)
        assert_eq!(
            response_head(StatusCode::OK, &h, Framing::Length(12)),
            17 + 37 + 20 + 2
        );
    }

    #[test]
    fn frame_and_chunk_sizes() {
        assert_eq!(ws_frame(5, false), 7);
        assert_eq!(ws_frame(5, true), 11);
        assert_eq!(ws_frame(200, false), 204);
        assert_eq!(ws_frame(70_000, true), 70_014);
        assert_eq!(chunk(255), 2 + 2 + 255 + 2);
        assert_eq!(chunk(256), 3 + 2 + 256 + 2);
    }
}
