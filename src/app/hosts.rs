//! The `Host` allow-list: DNS rebinding stops here.
//!
//! A page on any site can make its own domain resolve to 127.0.0.1 and then
//! talk to this server "same-origin": the browser sends `Host: evil.example`
//! and a matching `Origin`, so an Origin check alone lets it publish, read
//! the traffic log and open WebSockets. Rebinding needs a *name*, so the
//! server answers only to names it was told about:
//!
//! - `localhost`, `127.0.0.1` and `[::1]`;
//! - the IP address the connection reached, as a literal (a learner on the
//!   LAN typing `http://192.168.1.5:8080` of a server started with `--bind
//!   0.0.0.0`);
//! - every name of `--allowed-hosts` (`name` for any port, `name:port` for one).
//!
//! Loopback names and address literals pass with any port: neither can be
//! rebound, and a port forwarder or development proxy in front of the server
//! (tests use one) keeps the port it was reached on in `Host`. Which *page*
//! may send state-changing requests is the Origin check's job
//! ([`crate::app::security`]), not this one's.
//!
//! Everything else gets `421 Misdirected Request` as problem+json before any
//! route runs: pages, API, WebSocket upgrades, static files and Swagger UI alike.

use std::net::{IpAddr, SocketAddr};

use futures_util::future::Either;
use poem::http::{StatusCode, header};
use poem::{Endpoint, Middleware, Request, Result};
use serde_json::{Value, json};

use crate::problem::Problem;

/// The names this server answers to besides loopback and its own address.
#[derive(Debug, Clone, Default)]
pub struct HostAllowList {
    extra: Vec<AllowedHost>,
}

/// One entry of `--allowed-hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    name: String,
    /// `None`: any port.
    port: Option<u16>,
}

/// A `Host` value split into its name (lower case, IPv6 in brackets) and port.
#[derive(Debug, PartialEq, Eq)]
struct HostName<'a> {
    name: std::borrow::Cow<'a, str>,
    port: u16,
}

/// The port a `Host` without one means (this server speaks plain HTTP only).
const DEFAULT_PORT: u16 = 80;

fn parse_host(value: &str) -> Option<HostName<'_>> {
    let value = value.trim();
    let (name, port) = if value.starts_with('[') {
        let end = value.find(']')?;
        let rest = &value[end + 1..];
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None if rest.is_empty() => None,
            None => return None,
        };
        (&value[..=end], port)
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => DEFAULT_PORT,
    };
    if name.is_empty() {
        return None;
    }
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    };
    Some(HostName { name, port })
}

/// How an address is written in a `Host` header.
fn literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("[{v6}]"),
        },
    }
}

impl HostAllowList {
    /// From `--allowed-hosts`: `name` or `name:port`, case-insensitive.
    /// Entries that are not a host name (e.g. a whole URL) are ignored with a warning.
    pub fn new(allowed: &[String]) -> Self {
        let mut extra = Vec::new();
        for entry in allowed.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let with_port = entry.contains(':') && !entry.ends_with(']');
            match parse_host(entry) {
                Some(h) if !h.name.contains('/') => extra.push(AllowedHost {
                    name: h.name.into_owned(),
                    port: with_port.then_some(h.port),
                }),
                _ => {
                    tracing::warn!(%entry, "ignored: --allowed-hosts takes names like example.org or example.org:8080")
                }
            }
        }
        HostAllowList { extra }
    }

    /// The origins (`http://name:port`, and `https://` for `--tls`) pages of
    /// this server may have, given the port it listens on: what the cluster
    /// lab allows on its instances.
    pub fn page_origins(&self, port: u16) -> Vec<String> {
        let names = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|name| (name.to_string(), port))
            .chain(
                self.extra
                    .iter()
                    .map(|host| (host.name.clone(), host.port.unwrap_or(port))),
            );
        let mut origins: Vec<String> = Vec::new();
        for (name, port) in names {
            for scheme in ["http", "https"] {
                let origin = format!("{scheme}://{name}:{port}");
                if !origins.contains(&origin) {
                    origins.push(origin);
                }
            }
        }
        origins
    }

    /// Whether `host` (a `Host` value) names this server, reached at `local`
    /// (the address and port the connection came in on).
    pub fn allows(&self, host: &str, local: Option<SocketAddr>) -> bool {
        let Some(host) = parse_host(host) else {
            return false;
        };
        let loopback = matches!(&*host.name, "localhost" | "127.0.0.1" | "[::1]");
        if loopback || local.is_some_and(|a| literal(a.ip()) == host.name) {
            return true;
        }
        self.extra
            .iter()
            .any(|a| a.name == host.name && a.port.is_none_or(|p| p == host.port))
    }
}

impl<E: Endpoint> Middleware<E> for HostAllowList {
    type Output = HostAllowListEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HostAllowListEndpoint {
            inner,
            list: self.clone(),
        }
    }
}

pub struct HostAllowListEndpoint<E> {
    inner: E,
    list: HostAllowList,
}

impl<E: Endpoint> Endpoint for HostAllowListEndpoint<E> {
    type Output = E::Output;

    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        let local = req.local_addr().as_socket_addr().copied();
        let host = req
            .headers()
            .get(header::HOST)
            .map(|h| h.to_str().unwrap_or("\u{fffd}").to_owned())
            // An absolute-form request line names the host itself.
            .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
        let refused = match &host {
            None => Some("The request names no host (HTTP/1.1 requires a Host header).".to_owned()),
            Some(h) if !self.list.allows(h, local) => Some(format!(
                "This server does not answer to the host {h:?}. Use http://localhost:PORT or \
                 http://127.0.0.1:PORT, or start the server with --allowed-hosts NAME to \
                 reach it by another name."
            )),
            Some(_) => None,
        };
        match refused {
            Some(detail) => {
                tracing::info!(host = ?host, path = %req.uri().path(), "refused a request for a foreign host");
                let answer = Problem::new(StatusCode::MISDIRECTED_REQUEST, detail).into_response();
                Either::Left(std::future::ready(Err(poem::Error::from_response(answer))))
            }
            None => Either::Right(self.inner.call(req)),
        }
    }
}

/// Lists the `421` every operation can answer in the OpenAPI document.
pub fn document(doc: &mut Value) {
    let misdirected = json!({
        "description": "Misdirected Request: the `Host` header names a host this server does not \
                        answer to (DNS rebinding protection). Allowed: localhost, 127.0.0.1, [::1] \
                        and the address the connection reached, and `--allowed-hosts`.",
        "content": {
            "application/problem+json": {
                "schema": { "$ref": "#/components/schemas/Problem" },
                "example": {
                    "type": "about:blank",
                    "title": "Misdirected Request",
                    "status": 421,
                    "detail": "This server does not answer to the host \"rebind.example:8080\". Use \
                               http://localhost:PORT or http://127.0.0.1:PORT, or start the server \
                               with --allowed-hosts NAME to reach it by another name."
                }
            }
        }
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut() {
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                responses
                    .entry("421")
                    .or_insert_with(|| misdirected.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn loopback_names_pass_with_any_port() {
        let list = HostAllowList::default();
        assert!(list.allows("localhost:8080", at(8080)));
        assert!(list.allows("127.0.0.1:8080", at(8080)));
        assert!(list.allows("[::1]:8080", at(8080)));
        assert!(list.allows("LocalHost:8080", at(8080)));
        assert!(list.allows("localhost", at(8080)));
        assert!(
            list.allows("localhost:3000", at(8080)),
            "a forwarder's port"
        );
    }

    #[test]
    fn rebound_names_and_garbage_are_refused() {
        let list = HostAllowList::default();
        assert!(!list.allows("rebind.example:8080", at(8080)));
        assert!(!list.allows("", at(8080)));
        assert!(!list.allows(":8080", at(8080)));
        assert!(!list.allows("localhost:http", at(8080)));
        assert!(!list.allows("[::1", at(8080)));
        assert!(!list.allows("[::1]x", at(8080)));
    }

    #[test]
    fn the_address_the_connection_reached_passes_as_a_literal() {
        let list = HostAllowList::default();
        let lan = Some(SocketAddr::from(([192, 168, 1, 5], 8080)));
        assert!(list.allows("192.168.1.5:8080", lan));
        assert!(!list.allows("192.168.1.6:8080", lan));
        assert!(!list.allows("192.168.1.5.nip.io:8080", lan));
    }

    #[test]
    fn allowed_hosts_take_any_port_or_the_one_given() {
        let list = HostAllowList::new(&[
            "Workshop.local".into(),
            "pc:9000".into(),
            "http://x/".into(),
        ]);
        assert!(list.allows("workshop.local:8080", at(8080)));
        assert!(list.allows("workshop.local:1234", at(8080)));
        assert!(list.allows("pc:9000", at(8080)));
        assert!(!list.allows("pc:8080", at(8080)));
        assert_eq!(
            list.page_origins(8080),
            [
                "http://127.0.0.1:8080",
                "https://127.0.0.1:8080",
                "http://localhost:8080",
                "https://localhost:8080",
                "http://[::1]:8080",
                "https://[::1]:8080",
                "http://workshop.local:8080",
                "https://workshop.local:8080",
                "http://pc:9000",
                "https://pc:9000",
            ]
        );
    }
}
