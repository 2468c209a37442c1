//! Where a run may connect: the URL is parsed, its host resolved once, and
//! every address checked before anything is sent. The run then connects only
//! to the checked addresses (a DNS answer that changes between the check and
//! the connection, "DNS rebinding", cannot move it elsewhere).
//!
//! Without `--grader-allow-remote` only loopback targets are allowed, and
//! only for requests that come from this machine: for a learner elsewhere,
//! `127.0.0.1` on this server is not their computer.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

use super::report::Kind;

/// Longest wait for the host's addresses.
const RESOLVE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a target is refused; each becomes a problem document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a URL, or a scheme this kind cannot grade (400).
    BadUrl(String),
    /// The host has no address (400).
    Unresolvable(String),
    /// An address outside loopback, or a learner on another machine (403).
    NotLoopback(String),
}

impl Refusal {
    pub fn detail(&self) -> &str {
        match self {
            Refusal::BadUrl(d) | Refusal::Unresolvable(d) | Refusal::NotLoopback(d) => d,
        }
    }
}

/// A checked target: the URLs to use and the only addresses to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: Url,
    /// Where an SSE run publishes its test events (same origin as `url`).
    pub publish_url: Url,
    pub host: String,
    pub addrs: Vec<SocketAddr>,
}

impl Target {
    /// The first checked address, as the report shows it.
    pub fn address(&self) -> String {
        self.addrs
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    }
}

/// Who may be graded.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub allow_remote: bool,
}

impl Policy {
    /// Parses and checks `url` (and `publish_url`) for a run of `kind` asked
    /// by a client at `requester`, resolving the host once.
    pub async fn check(
        self,
        kind: Kind,
        url: &str,
        publish_url: Option<&str>,
        requester: Option<IpAddr>,
    ) -> Result<Target, Refusal> {
        let url = parse(url, kind)?;
        let publish_url = match publish_url {
            Some(p) => parse(p, Kind::Sse)?,
            None => sibling_events_url(&url),
        };
        let same_origin = publish_url.host_str() == url.host_str()
            && publish_url.port_or_known_default() == url.port_or_known_default();
        if !same_origin {
            return Err(Refusal::BadUrl(format!(
                "publish_url must be on the same host and port as url ({}), not {publish_url}.",
                origin(&url)
            )));
        }
        if !self.allow_remote && !requester.is_some_and(is_loopback) {
            return Err(Refusal::NotLoopback(
                "The grader connects from the machine this playground runs on, so 127.0.0.1 \
                 here is not your computer. Run the playground on your own machine, or ask \
                 whoever runs it to start it with --grader-allow-remote."
                    .into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| Refusal::BadUrl(format!("{url} has no host.")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Refusal::BadUrl(format!("{url} has no port.")))?;
        let lookup = tokio::net::lookup_host((host.as_str(), port));
        let addrs: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_PATIENCE, lookup)
            .await
            .map_err(|_| {
                Refusal::Unresolvable(format!(
                    "{host} did not resolve within {} s.",
                    RESOLVE_PATIENCE.as_secs()
                ))
            })?
            .map_err(|e| Refusal::Unresolvable(format!("{host} has no address: {e}.")))?
            .collect();
        if addrs.is_empty() {
            return Err(Refusal::Unresolvable(format!("{host} has no address.")));
        }
        if !self.allow_remote
            && let Some(outside) = addrs.iter().find(|a| !is_loopback(a.ip()))
        {
            return Err(Refusal::NotLoopback(format!(
                "{host} resolves to {}, which is not a loopback address. The grader only \
                 connects to loopback (127.0.0.1, ::1, localhost) unless the playground was \
                 started with --grader-allow-remote.",
                outside.ip()
            )));
        }
        Ok(Target {
            url,
            publish_url,
            host,
            addrs,
        })
    }
}

/// Parses `raw` and checks its scheme against `kind`.
fn parse(raw: &str, kind: Kind) -> Result<Url, Refusal> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Refusal::BadUrl(format!("{raw:?} is not a URL: {e}.")))?;
    let wanted = match kind {
        Kind::Sse => "http",
        Kind::Websocket => "ws",
    };
    if url.scheme() != wanted {
        return Err(Refusal::BadUrl(format!(
            "A {} server is graded at a {wanted}:// URL, not {}:// (https and wss are not \
             supported: the grader is for servers on your own machine).",
            match kind {
                Kind::Sse => "Server-Sent Events",
                Kind::Websocket => "WebSocket",
            },
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::BadUrl(
            "Leave user names and passwords out of the URL.".into(),
        ));
    }
    Ok(url)
}

/// `…/sse` → `…/events`: where the lesson's servers (and this playground,
/// `/api/sse` → `/api/events`) take a published event.
fn sibling_events_url(url: &Url) -> Url {
    let mut publish = url.clone();
    publish.set_query(None);
    publish.set_fragment(None);
    if let Ok(mut segments) = publish.path_segments_mut() {
        segments.pop().push("events");
    }
    publish
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Loopback, including IPv4 loopback written as an IPv6 mapped address.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const STRICT: Policy = Policy {
        allow_remote: false,
    };

    #[tokio::test]
    async fn loopback_targets_pass_and_get_a_sibling_publish_url() {
        let t = STRICT
            .check(Kind::Sse, "http://127.0.0.1:8000/api/sse?x=1", None, HERE)
            .await
            .expect("loopback");
        assert_eq!(t.publish_url.as_str(), "http://127.0.0.1:8000/api/events");
        assert_eq!(t.address(), "127.0.0.1:8000");
        let t = STRICT
            .check(Kind::Websocket, "ws://[::1]:9/ws", None, HERE)
            .await
            .expect("loopback v6");
        assert_eq!(t.host, "::1");
    }

    #[tokio::test]
    async fn everything_else_is_refused_with_a_reason() {
        let refused = |kind, url: &'static str, requester| async move {
            STRICT.check(kind, url, None, requester).await.err()
        };
        assert!(matches!(
            refused(Kind::Sse, "http://10.0.0.1/sse", HERE).await,
            Some(Refusal::NotLoopback(_))
        ));
        assert!(matches!(
            refused(Kind::Sse, "http://[::ffff:10.0.0.1]/sse", HERE).await,
            Some(Refusal::NotLoopback(_))
        ));
        assert!(matches!(
            refused(
                Kind::Sse,
                "http://127.0.0.1/sse",
                "192.168.1.9".parse().ok()
            )
            .await,
            Some(Refusal::NotLoopback(_))
        ));
        assert!(matches!(
            refused(Kind::Sse, "ws://127.0.0.1/sse", HERE).await,
            Some(Refusal::BadUrl(_))
        ));
        assert!(matches!(
            refused(Kind::Sse, "file:///etc/passwd", HERE).await,
            Some(Refusal::BadUrl(_))
        ));
        let elsewhere = STRICT
            .check(
                Kind::Sse,
                "http://127.0.0.1:1/sse",
                Some("http://127.0.0.1:2/events"),
                HERE,
            )
            .await;
        assert!(matches!(elsewhere, Err(Refusal::BadUrl(_))));
        assert!(is_loopback("::ffff:127.0.0.2".parse().expect("ip")));
    }

    #[tokio::test]
    async fn the_flag_allows_remote_targets_and_learners() {
        let open = Policy { allow_remote: true };
        let t = open
            .check(
                Kind::Sse,
                "http://10.0.0.1:80/sse",
                None,
                "192.168.1.9".parse().ok(),
            )
            .await
            .expect("allowed");
        assert_eq!(t.addrs, vec!["10.0.0.1:80".parse().expect("addr")]);
    }
}
