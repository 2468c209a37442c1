//! The fault gate: a middleware in front of the transports that plays, for
//! a learner who turned a fault on, the boxes that sit between a browser and
//! a server in real life. Everyone else's requests pass untouched (and, when
//! nobody has a fault on, without a lock).
//!
//! - During a deploy window it is the load balancer whose server is
//!   restarting: `502 Bad Gateway` with `Retry-After` to every request to
//!   `/api/poll`, `/api/long-poll`, `/api/sse` and `/api/ws(/echo)`.
//! - With `corporate_proxy` it is a proxy that refuses WebSocket upgrades
//!   (`403`) and buffers event streams ([`ProxyBuffer`]).
//! - With `gzip` it is a compression layer on the SSE stream ([`gzip`]).
//! - With `long_poll_unavailable` it is an overloaded server shedding load:
//!   `503 Service Unavailable` with `Retry-After: 1` to every long-poll.
//!
//! The transports know nothing of it: it wraps their answers' bodies.

use std::time::Duration;

use bytes::Bytes;
use futures_util::TryFutureExt;
use futures_util::future::Either;
use futures_util::stream::{BoxStream, StreamExt};
use poem::http::{HeaderMap, HeaderValue, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};
use std::sync::Arc;

use super::Faults;
use super::gzip;
use super::proxy_buffer::{CAPACITY, ProxyBuffer};
use super::switches::{FaultSwitches, Gzip};
use crate::problem::Problem;
use crate::traffic::Learner;

/// What the corporate proxy calls itself in `Via` (RFC 9110 §7.6.3).
pub const PROXY_VIA: &str = "1.1 corporate-proxy (fault switch)";
/// What the compression layer calls itself in `Via`, per mode.
pub const GZIP_BUFFERED_VIA: &str = "1.1 gzip-layer (fault: gzip buffered)";
pub const GZIP_FLUSHED_VIA: &str = "1.1 gzip-layer (fault: gzip flushed)";
/// What the load balancer calls itself in `Via` during a deploy.
const GATEWAY_VIA: &str = "1.1 load-balancer (fault: deploy)";

/// The endpoints the gate stands in front of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    Poll,
    LongPoll,
    Sse,
    WebSocket,
}

impl Upstream {
    pub fn of_path(path: &str) -> Option<Upstream> {
        match path {
            "/api/poll" => Some(Upstream::Poll),
            "/api/long-poll" => Some(Upstream::LongPoll),
            "/api/sse" => Some(Upstream::Sse),
            "/api/ws" | "/api/ws/echo" => Some(Upstream::WebSocket),
            _ => None,
        }
    }
}

pub struct FaultGate {
    faults: Arc<Faults>,
}

impl FaultGate {
    pub fn new(faults: Arc<Faults>) -> Self {
        FaultGate { faults }
    }
}

impl<E: Endpoint> Middleware<E> for FaultGate {
    type Output = FaultGateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FaultGateEndpoint {
            inner,
            faults: self.faults.clone(),
        }
    }
}

pub struct FaultGateEndpoint<E> {
    inner: E,
    faults: Arc<Faults>,
}

impl<E: Endpoint> Endpoint for FaultGateEndpoint<E> {
    type Output = Response;

    /// Requests the gate has nothing to do with go straight through, with
    /// nothing added to their future.
    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        match Upstream::of_path(req.uri().path()) {
            Some(upstream) if !self.faults.quiet() => {
                Either::Left(Box::pin(self.guard(req, upstream)))
            }
            _ => Either::Right(self.inner.call(req).map_ok(IntoResponse::into_response)),
        }
    }
}

impl<E: Endpoint> FaultGateEndpoint<E> {
    async fn guard(&self, req: Request, upstream: Upstream) -> Result<Response> {
        let learner = req
            .extensions()
            .get::<Learner>()
            .cloned()
            .unwrap_or_else(|| Learner::identify(&req));
        if let Some(left) = self.faults.deploying(&learner.id) {
            return Ok(bad_gateway(left));
        }
        let switches = self.faults.of(&learner.id);
        if switches.long_poll_unavailable && upstream == Upstream::LongPoll {
            return Ok(unavailable());
        }
        if switches.corporate_proxy
            && upstream == Upstream::WebSocket
            && wants_websocket(req.headers())
        {
            return Ok(upgrade_refused());
        }
        let mut resp = self.inner.call(req).await?.into_response();
        Ok(if upstream == Upstream::Sse && is_event_stream(&resp) {
            wrap_stream(resp, switches)
        } else {
            // A complete answer passes the proxy unchanged, but it says so.
            if switches.corporate_proxy {
                resp.headers_mut()
                    .append(header::VIA, HeaderValue::from_static(PROXY_VIA));
            }
            resp
        })
    }
}

fn is_event_stream(resp: &Response) -> bool {
    resp.status() == StatusCode::OK
        && resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"text/event-stream"))
}

/// An `Upgrade: websocket` request (a plain GET still reaches the server and its `426`).
fn wants_websocket(headers: &HeaderMap) -> bool {
    headers.get_all(header::UPGRADE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("websocket"))
    })
}

/// The stream as the learner's compression layer and proxy pass it on.
fn wrap_stream(mut resp: Response, switches: FaultSwitches) -> Response {
    if switches.gzip == Gzip::Off && !switches.corporate_proxy {
        return resp;
    }
    let mut body: BoxStream<'static, std::io::Result<Bytes>> =
        resp.take_body().into_bytes_stream().boxed();
    if switches.gzip != Gzip::Off {
        body = gzip::encode(body, switches.gzip == Gzip::Flushed).boxed();
        let via = if switches.gzip == Gzip::Flushed {
            GZIP_FLUSHED_VIA
        } else {
            GZIP_BUFFERED_VIA
        };
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.append(header::VIA, HeaderValue::from_static(via));
    }
    if switches.corporate_proxy {
        body = ProxyBuffer::new(body, CAPACITY).boxed();
        resp.headers_mut()
            .append(header::VIA, HeaderValue::from_static(PROXY_VIA));
    }
    resp.set_body(Body::from_bytes_stream(body));
    resp
}

/// The load balancer's answer while the server behind it restarts.
fn bad_gateway(left: Duration) -> Response {
    let secs = left.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = Problem::new(
        StatusCode::BAD_GATEWAY,
        format!(
            "The server behind the load balancer is restarting (the deploy you started); \
             try again in {secs} s (Retry-After). An EventSource that gets this answer \
             stops for good (readyState CLOSED); a client with back-off gets back in."
        ),
    )
    .into_response();
    let headers = resp.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    headers.insert(header::VIA, HeaderValue::from_static(GATEWAY_VIA));
    resp
}

/// Seconds an overloaded server asks a long-poller to wait (`Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER_S: u64 = 1;

/// An overloaded server's answer to a long-poll (the `long_poll_unavailable`
/// switch). The outage has no known end, so `Retry-After` is a minimum wait.
fn unavailable() -> Response {
    let mut resp = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "The server is overloaded and sheds your long-polls (fault switch \
             `long_poll_unavailable`). Wait at least {UNAVAILABLE_RETRY_AFTER_S} s \
             (Retry-After) and longer after each failure: a client that asks again at \
             once adds to the overload."
        ),
    )
    .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(UNAVAILABLE_RETRY_AFTER_S),
    );
    resp
}

/// The corporate proxy's answer to a WebSocket upgrade.
fn upgrade_refused() -> Response {
    let mut resp = Problem::new(
        StatusCode::FORBIDDEN,
        "The corporate proxy between you and the server does not allow WebSocket \
         upgrades (fault switch `corporate_proxy`); a browser sees the WebSocket fail \
         with close code 1006. Polling and long-polling pass through it, and SSE does \
         too, but the proxy holds the stream until 4 KiB have arrived.",
    )
    .into_response();
    resp.headers_mut()
        .insert(header::VIA, HeaderValue::from_static(PROXY_VIA));
    resp
}

/// Adds what the gate answers to the OpenAPI document: the deploy's `502`
/// on every path it stands in front of, the overloaded server's `503` on the
/// long-poll, and the corporate proxy's reason for a `403` on the WebSocket
/// paths.
pub fn document(doc: &mut serde_json::Value) {
    use serde_json::json;
    let bad_gateway = json!({
        "description": "Bad Gateway: you started a deploy (`POST /api/faults/deploy`) and the \
                        server behind the load balancer is restarting. `Retry-After` says when \
                        it is back. An `EventSource` that gets this stops for good.",
        "content": {
            "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" },
                "example": {
                    "type": "about:blank",
                    "title": "Bad Gateway",
                    "status": 502,
                    "detail": "The server behind the load balancer is restarting (the deploy you \
                               started); try again in 3 s (Retry-After)."
                }
            }
        },
        "headers": {
            "Retry-After": {
                "description": "Seconds until the deploy is over.",
                "required": true,
                "schema": { "type": "integer", "minimum": 1, "maximum": 30 }
            }
        }
    });
    for path in [
        "/api/poll",
        "/api/long-poll",
        "/api/sse",
        "/api/ws",
        "/api/ws/echo",
    ] {
        let Some(responses) = doc
            .pointer_mut(&format!("/paths/{}/get/responses", path.replace('/', "~1")))
            .and_then(serde_json::Value::as_object_mut)
        else {
            continue;
        };
        responses.insert("502".into(), bad_gateway.clone());
        if path == "/api/long-poll" {
            responses.insert("503".into(), unavailable_doc());
        }
        if path.starts_with("/api/ws")
            && let Some(forbidden) = responses
                .get_mut("403")
                .and_then(|r| r.get_mut("description"))
        {
            *forbidden = json!(
                "The request came from an origin that may not use this endpoint, or your \
                 simulated corporate proxy (fault switch `corporate_proxy`) refuses WebSocket \
                 upgrades."
            );
        }
    }
}

/// The `503` of the `long_poll_unavailable` switch, as the document shows it.
fn unavailable_doc() -> serde_json::Value {
    serde_json::json!({
        "description": "Service Unavailable: you turned on the fault switch \
                        `long_poll_unavailable` (`PUT /api/faults`), so the server sheds your \
                        long-polls until you turn it off. `Retry-After` is the least to wait; \
                        back off further after each failure.",
        "content": {
            "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" },
                "example": {
                    "type": "about:blank",
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "The server is overloaded and sheds your long-polls (fault switch \
                               `long_poll_unavailable`). Wait at least 1 s (Retry-After) and \
                               longer after each failure."
                }
            }
        },
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait at least before asking again.",
                "required": true,
                "schema": { "type": "integer", "minimum": 1, "maximum": 1 }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_stands_in_front_of_the_four_transports_only() {
        assert_eq!(Upstream::of_path("/api/poll"), Some(Upstream::Poll));
        assert_eq!(
            Upstream::of_path("/api/long-poll"),
            Some(Upstream::LongPoll)
        );
        assert_eq!(Upstream::of_path("/api/sse"), Some(Upstream::Sse));
        assert_eq!(Upstream::of_path("/api/ws"), Some(Upstream::WebSocket));
        assert_eq!(Upstream::of_path("/api/ws/echo"), Some(Upstream::WebSocket));
        for other in [
            "/api/faults",
            "/api/traffic/stream",
            "/api/events",
            "/api/sse/x",
        ] {
            assert_eq!(Upstream::of_path(other), None, "{other}");
        }
    }

    #[test]
    fn the_document_lists_the_502_on_every_gated_path() {
        let mut doc = serde_json::json!({"paths": {
            "/api/poll": {"get": {"responses": {"200": {}}}},
            "/api/ws": {"get": {"responses": {"403": {"description": "origin"}}}},
            "/api/events": {"post": {"responses": {"202": {}}}},
        }});
        document(&mut doc);
        assert!(
            doc.pointer("/paths/~1api~1poll/get/responses/502")
                .is_some()
        );
        assert!(doc.pointer("/paths/~1api~1ws/get/responses/502").is_some());
        let forbidden = doc["paths"]["/api/ws"]["get"]["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(forbidden.contains("corporate_proxy"));
        assert!(
            doc.pointer("/paths/~1api~1events/post/responses/502")
                .is_none()
        );
        assert!(
            doc.pointer("/paths/~1api~1poll/get/responses/503")
                .is_none(),
            "only the long-poll sheds load"
        );
    }

    #[test]
    fn a_503_says_how_long_to_wait_at_least() {
        let resp = unavailable();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            crate::problem::CONTENT_TYPE
        );
    }

    #[test]
    fn a_502_says_when_to_come_back() {
        let resp = bad_gateway(Duration::from_millis(2300));
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            crate::problem::CONTENT_TYPE
        );
    }
}
