//! Cross-origin reads for the origins listed in `--allowed-origins`, and for
//! nobody else.
//!
//! A page on one origin (say the playground on port 8080) may only read
//! answers from another origin (an instance on port 8081) if that other
//! origin says so with `Access-Control-Allow-Origin`. The cluster lab's
//! instances are started with `--allowed-origins <the lesson page's origin>`,
//! so the page's `EventSource`, `fetch` and `WebSocket` reach them.
//!
//! The rules, kept small on purpose:
//!
//! - Only an exact origin from the list is answered, never `*`; an unlisted
//!   origin gets no CORS headers at all (the browser then hides the answer;
//!   [`crate::app::security`] still refuses its state-changing requests).
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) from a
//!   listed origin is answered here with `204`: the methods of the API and the
//!   request headers the pages send (`Content-Type`, `Last-Event-ID`).
//! - Credentials are allowed (`Access-Control-Allow-Credentials: true`, which
//!   browsers accept only with an exact origin): the lesson page's requests to
//!   an instance then carry the learner's cookie, so the instance logs them
//!   under the same learner and the lesson's checks can count them.
//! - `X-Last-Event-Id` and `Retry-After` are exposed, so a cross-origin
//!   poller can read its cursor and a throttled publisher its wait.

use futures_util::FutureExt;
use futures_util::future::Either;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const ALLOW_HEADERS: &[&str] = &["content-type", "last-event-id", "accept"];
const EXPOSE_HEADERS: &str = "x-last-event-id, retry-after, content-type";
const MAX_AGE_S: &str = "600";

/// Middleware answering CORS for the listed origins.
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: &[String]) -> Self {
        Cors {
            origins: origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty() && o != "*")
                .collect(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for Cors {
    type Output = CorsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CorsEndpoint {
            inner,
            origins: self.origins.clone(),
        }
    }
}

pub struct CorsEndpoint<E> {
    inner: E,
    origins: Vec<String>,
}

impl<E> CorsEndpoint<E> {
    /// The request's `Origin`, if it is one of the listed origins.
    fn listed(&self, req: &Request) -> Option<HeaderValue> {
        let origin = req.headers().get(header::ORIGIN)?;
        let text = origin.to_str().ok()?.trim_end_matches('/');
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }
}

/// The headers a preflight asked for, if every one of them is allowed.
fn allowed_request_headers(req: &Request) -> Option<HeaderValue> {
    let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) else {
        return Some(HeaderValue::from_static(""));
    };
    let asked = asked.to_str().ok()?;
    let all_allowed = asked
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .all(|h| ALLOW_HEADERS.contains(&h.as_str()));
    all_allowed.then(|| HeaderValue::from_str(asked).ok())?
}

fn preflight(origin: HeaderValue, req: &Request) -> Response {
    let mut resp = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin)
        .header(header::VARY, "Origin")
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS)
        .header(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_S)
        .header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true")
        .finish();
    // Headers outside the list get no approval, so the browser refuses the request.
    if let Some(headers) = allowed_request_headers(req)
        && !headers.is_empty()
    {
        resp.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_HEADERS, headers);
    }
    resp
}

/// Adds the CORS headers for `origin` (if any).
fn finish(mut resp: Response, origin: Option<HeaderValue>) -> Response {
    let headers = resp.headers_mut();
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    resp
}

impl<E: Endpoint> Endpoint for CorsEndpoint<E> {
    type Output = Response;

    /// Decides before calling the inner endpoint, and holds no request across
    /// the call: a same-origin request costs one header lookup.
    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        let origin = self.listed(&req);
        if let Some(origin) = &origin
            && req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Either::Left(std::future::ready(Ok(preflight(origin.clone(), &req))));
        }
        Either::Right(
            self.inner
                .call(req)
                .map(move |answer| Ok(finish(answer?.into_response(), origin))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::EndpointExt;

    async fn call(method: Method, headers: &[(&str, &str)]) -> Response {
        let app = poem::endpoint::make_sync(|_| "hi")
            .with(Cors::new(&["http://127.0.0.1:8080/".to_owned()]));
        let mut req = Request::builder().method(method);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        app.call(req.finish())
            .await
            .expect("answer")
            .into_response()
    }

    #[tokio::test]
    async fn listed_origins_get_cors_headers_and_others_none() {
        let listed = call(Method::GET, &[("Origin", "http://127.0.0.1:8080")]).await;
        assert_eq!(listed.status(), StatusCode::OK);
        assert_eq!(
            listed.headers()["access-control-allow-origin"],
            "http://127.0.0.1:8080"
        );
        let foreign = call(Method::GET, &[("Origin", "http://evil.example")]).await;
        assert_eq!(foreign.status(), StatusCode::OK);
        assert!(
            !foreign
                .headers()
                .contains_key("access-control-allow-origin")
        );
    }

    #[tokio::test]
    async fn preflights_approve_only_known_headers() {
        async fn preflight(headers: &str) -> Response {
            call(
                Method::OPTIONS,
                &[
                    ("Origin", "http://127.0.0.1:8080"),
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", headers),
                ],
            )
            .await
        }
        let ok = preflight("content-type").await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        assert_eq!(ok.headers()["access-control-allow-headers"], "content-type");
        let odd = preflight("x-secret").await;
        assert!(!odd.headers().contains_key("access-control-allow-headers"));
    }
}
