//! What keeps other sites and sniffing browsers out.
//!
//! - [`foreign_origin`] (in [`crate::origin`]): the one same-origin rule, shared by the WebSocket
//!   upgrade (cross-site WebSocket hijacking) and state-changing requests
//!   (CSRF). Clients that send no `Origin` (curl, scripts) pass.
//! - [`SecurityHeaders`]: `X-Content-Type-Options: nosniff` and
//!   `Referrer-Policy` on every answer, and a Content-Security-Policy with no
//!   inline scripts on every page. Swagger UI's page inlines its script and
//!   stylesheet, so its policy allows exactly those, by hash. The code
//!   editor's sandbox worker gets a policy of its own ([`SANDBOX_WORKER`]).

use base64::Engine;
use futures_util::FutureExt;
use futures_util::future::Either;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use sha2::{Digest, Sha256};

use crate::origin::{ForeignOrigin, foreign_origin};
use crate::problem::Problem;

/// Hashes of the inline `<script>` and `<style>` blocks of a page, as CSP
/// source expressions (`'sha256-…'`).
fn inline_hashes(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start..];
        let Some(head_end) = after.find('>') else {
            break;
        };
        let head = &after[..head_end];
        let body_start = head_end + 1;
        let Some(body_len) = after[body_start..].find(&close) else {
            break;
        };
        if !head.contains("src=") {
            let body = &after[body_start..body_start + body_len];
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &after[body_start + body_len + close.len()..];
    }
    hashes
}

const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// [`PAGE_POLICY`] for pages that may also reach every port of 127.0.0.1,
/// where the cluster lab's instances listen, each on a port of its own.
const PAGE_POLICY_LOOPBACK: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' http://127.0.0.1:* ws: wss:; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The script of the Web Worker that runs a learner's own code (the lesson
/// editor). A dedicated worker obeys the policy sent with its script, not
/// the page's: this one may import the learner's code from a `blob:` URL
/// and connect to this server only. It has no DOM, so nothing else applies.
pub const SANDBOX_WORKER: &str = "/js/sandbox-worker.js";
const SANDBOX_WORKER_POLICY: &str =
    "default-src 'none'; script-src 'self' blob:; connect-src 'self'; base-uri 'none'";

/// Middleware adding the headers above.
pub struct SecurityHeaders {
    docs_policy: String,
    page_policy: String,
    allowed_origins: Vec<String>,
}

impl SecurityHeaders {
    /// `swagger_html` is the Swagger UI page, whose inline blocks are hashed.
    pub fn new(swagger_html: &str, allowed_origins: Vec<String>) -> Self {
        let scripts = inline_hashes(swagger_html, "script").join(" ");
        let styles = inline_hashes(swagger_html, "style").join(" ");
        SecurityHeaders {
            docs_policy: format!(
                "default-src 'self'; script-src 'self' {scripts}; style-src 'self' {styles}; \
                 img-src 'self' data:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
                 base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
            page_policy: PAGE_POLICY.to_owned(),
            allowed_origins,
        }
    }

    /// Lets pages also connect to every port of 127.0.0.1 (their
    /// `connect-src` says so): the cluster lab's instances listen there.
    pub fn pages_reach_loopback_ports(mut self, yes: bool) -> Self {
        self.page_policy = if yes {
            PAGE_POLICY_LOOPBACK
        } else {
            PAGE_POLICY
        }
        .to_owned();
        self
    }

    /// With `--tls --http1-port`: pages on either port may connect to both
    /// (the HTTP/2 lesson opens streams over each).
    pub fn pages_reach_the_tls_ports(mut self, ports: &[u16]) -> Self {
        if !ports.is_empty() {
            let origins: Vec<String> = ports
                .iter()
                .flat_map(|p| {
                    [
                        format!("https://localhost:{p}"),
                        format!("https://127.0.0.1:{p}"),
                    ]
                })
                .collect();
            self.page_policy = self.page_policy.replacen(
                "connect-src 'self'",
                &format!("connect-src 'self' {}", origins.join(" ")),
                1,
            );
        }
        self
    }
}

impl<E: Endpoint> Middleware<E> for SecurityHeaders {
    type Output = SecurityHeadersEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SecurityHeadersEndpoint {
            inner,
            docs_policy: HeaderValue::from_str(&self.docs_policy)
                .unwrap_or(HeaderValue::from_static(PAGE_POLICY)),
            page_policy: HeaderValue::from_str(&self.page_policy)
                .unwrap_or(HeaderValue::from_static(PAGE_POLICY)),
            allowed_origins: self.allowed_origins.clone(),
        }
    }
}

pub struct SecurityHeadersEndpoint<E> {
    inner: E,
    docs_policy: HeaderValue,
    page_policy: HeaderValue,
    allowed_origins: Vec<String>,
}

impl<E: Endpoint> Endpoint for SecurityHeadersEndpoint<E> {
    type Output = Response;

    /// The checks that need the request run before it goes into the inner
    /// future; the future returned holds that future and a flag, not the
    /// request, so this layer adds little to the future every request allocates.
    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if changes_state
            && let Err(ForeignOrigin(origin)) = foreign_origin(req.headers(), &self.allowed_origins)
        {
            // Cross-site request forgery: another site's page posting with the learner's cookie.
            tracing::info!(%origin, path = %req.uri().path(), "refused a request from a foreign origin");
            return Either::Left(std::future::ready(Ok(Problem::new(
                StatusCode::FORBIDDEN,
                format!(
                    "Requests that change state are not accepted from the origin {origin:?}. Use this \
                     server's own pages, or start it with --allowed-origins {origin}."
                ),
            )
            .into_response())));
        }
        let is_docs = req.uri().path().starts_with("/docs");
        let is_sandbox = req.uri().path() == SANDBOX_WORKER;
        // A combinator, not an `async` block: a block would hold the inner
        // future twice (captured, then awaited), doubling its size.
        Either::Right(self.inner.call(req).map(move |answer| {
            let mut resp = answer?.into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            let is_html = headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
            if is_sandbox {
                headers.insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(SANDBOX_WORKER_POLICY),
                );
            } else if is_html {
                let policy = if is_docs {
                    self.docs_policy.clone()
                } else {
                    self.page_policy.clone()
                };
                headers.insert(header::CONTENT_SECURITY_POLICY, policy);
            }
            Ok(resp)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_blocks_are_hashed_and_external_ones_skipped() {
        let html = "<script src=\"/x.js\"></script><script>alert(1)</script><style>p{}</style>";
        let scripts = inline_hashes(html, "script");
        assert_eq!(scripts.len(), 1);
        assert!(scripts[0].starts_with("'sha256-"));
        assert_eq!(inline_hashes(html, "style").len(), 1);
    }
}
