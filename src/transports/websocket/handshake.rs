//! The upgrade: the checks before `101` (origin, handshake headers, the
//! per-address cap), the `101` itself and the socket's buffer settings.

use poem::http::{HeaderMap, StatusCode, header};
use poem::{IntoResponse, Request, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::connections::{Held, Permit, client_ip};
use crate::problem::ApiError;
use crate::transports::context::TransportContext;

/// An upgrade request that passed every check, and what the session needs.
pub(crate) struct Accepted {
    /// The `101` answer.
    pub upgrade: Upgrade,
    /// Resolves to the raw connection once the `101` is sent.
    pub on_upgrade: poem::OnUpgrade,
    /// Counts the socket as open for as long as the session holds it.
    pub permit: Permit,
}

/// The checks every WebSocket endpoint makes before upgrading: origin,
/// handshake headers, the per-address connection cap.
pub(crate) fn accept(ctx: &TransportContext, req: &Request) -> Result<Accepted, ApiError> {
    check_origin(req.headers(), &ctx.config.allowed_origins)?;
    let key = handshake_key(req.headers())?;
    let permit = ctx
        .connections
        .open(client_ip(req.remote_addr()), Held::WebSocket)?;
    let on_upgrade = req.take_upgrade().map_err(|_| {
        ApiError::bad_request("This connection cannot be upgraded (is it HTTP/1.1?).")
    })?;
    Ok(Accepted {
        upgrade: Upgrade {
            accept: derive_accept_key(key.as_bytes()),
        },
        on_upgrade,
        permit,
    })
}

pub(crate) fn ws_config(config: &crate::config::Config) -> WebSocketConfig {
    let max = config.ws_max_message_bytes as usize;
    // Small read buffer and no write buffering keep an idle socket at a few KB.
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Rejects cross-site WebSocket hijacking: a page on another origin must not
/// drive a learner's socket. Same origin, listed origins and clients that send
/// no `Origin` (curl, websocat, scripts) pass.
pub(crate) fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    crate::origin::foreign_origin(headers, allowed).map_err(|crate::origin::ForeignOrigin(origin)| {
        tracing::info!(%origin, "refused a WebSocket upgrade from a foreign origin");
        ApiError::forbidden(format!(
            "WebSocket connections from the origin {origin:?} are not allowed. Open the page from \
             this server, or start it with --allowed-origins {origin}."
        ))
    })
}

/// Validates the upgrade request (RFC 6455 §4.2.1) and returns the key.
pub(crate) fn handshake_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .unwrap_or_default()
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return Err(ApiError::upgrade_required(
            "This endpoint speaks WebSocket. Connect with a WebSocket client \
             (ws://…/api/ws); a plain HTTP request cannot use it.",
        ));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err(ApiError::upgrade_required(
            "Only WebSocket version 13 (RFC 6455) is supported: send Sec-WebSocket-Version: 13.",
        ));
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
        .filter(|k| k.len() == 24)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::bad_request("Sec-WebSocket-Key is missing or is not 16 base64-encoded bytes.")
        })
}

/// The `101 Switching Protocols` answer.
pub struct Upgrade {
    pub(crate) accept: String,
}

impl IntoResponse for Upgrade {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "upgrade")
            .header(header::UPGRADE, "websocket")
            .header(header::SEC_WEBSOCKET_ACCEPT, self.accept)
            .finish()
    }
}

impl ApiResponse for Upgrade {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Switching Protocols: the connection is now a WebSocket \
                              carrying the JSON messages described above.",
                status: Some(101),
                status_range: None,
                content: vec![],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).expect("host"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).expect("origin"));
        }
        h
    }

    #[test]
    fn origin_rules() {
        let allowed = vec!["http://localhost:3000".to_string()];
        assert!(check_origin(&headers(None, "127.0.0.1:8080"), &allowed).is_ok());
        assert!(
            check_origin(
                &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check_origin(
                &headers(Some("http://localhost:3000"), "127.0.0.1:8080"),
                &allowed
            )
            .is_ok()
        );
        assert!(
            check_origin(
                &headers(Some("http://evil.example"), "127.0.0.1:8080"),
                &allowed
            )
            .is_err()
        );
        assert!(check_origin(&headers(Some("null"), "127.0.0.1:8080"), &allowed).is_err());
    }
}
