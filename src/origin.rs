//! The one same-origin rule, shared by the WebSocket upgrade (cross-site
//! WebSocket hijacking) and state-changing requests (CSRF): an `Origin` must
//! be this server as its `Host` names it, or one of `--allowed-origins`.
//! Clients that send no `Origin` (curl, scripts) pass.

use poem::http::{HeaderMap, header};

/// An `Origin` the server does not answer to, as the request sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignOrigin(pub String);

impl std::fmt::Display for ForeignOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Err` with the origin when the request carries an `Origin` that is neither this
/// server (as named by `Host`) nor in `allowed`.
pub fn foreign_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ForeignOrigin> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default().trim_end_matches('/');
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let same_origin = origin.split_once("://").is_some_and(|(scheme, authority)| {
        matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
    });
    if same_origin || allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        Ok(())
    } else {
        Err(ForeignOrigin(origin.to_owned()))
    }
}
