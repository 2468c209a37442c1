//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Handlers return [`ApiError`]; everything else that fails before a handler
//! runs (a query that does not parse, an unknown path, a body that is too big)
//! is turned into the same shape by [`ProblemDetails`], so a client never sees
//! a plain-text error or an empty 4xx.

use futures_util::FutureExt;
use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem detail object (RFC 9457).
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(example)]
pub struct Problem {
    /// A URI reference naming the problem type; `about:blank` means "see the status".
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, in a sentence.
    pub detail: String,
}

impl poem_openapi::types::Example for Problem {
    fn example() -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "Query parameter `since` must be a whole number (an event id), not \"abc\".",
        )
    }
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl std::fmt::Display) -> Self {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.to_string(),
        }
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_string(&self).unwrap_or_default();
        Response::builder()
            .status(status)
            .content_type(CONTENT_TYPE)
            .body(body)
    }
}

/// Error responses of the API, each a problem document.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed: a parameter that does not parse or is out of range, or a body that is not valid JSON.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// The request came from an origin that may not use this endpoint.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource (for example an unknown feed name).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The resource is not in a state that allows this (for example a race that has not finished).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request body is larger than the configured limit.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// This endpoint speaks WebSocket: connect with a WebSocket client (`ws://…`).
    #[oai(status = 426, content_type = "application/problem+json")]
    UpgradeRequired(
        Json<Problem>,
        /// Always `websocket`.
        #[oai(header = "Upgrade")]
        String,
    ),
    /// Too many requests of this kind right now; `Retry-After` says when to try again.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(
        Json<Problem>,
        /// Seconds to wait.
        #[oai(header = "Retry-After")]
        u64,
    ),
    /// The server is shutting down, too many connections are open from this
    /// address, or (with `--redis-url`) Redis cannot be reached, so nothing
    /// was published; try again in a moment.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>),
}

impl ApiError {
    pub fn bad_request(detail: impl std::fmt::Display) -> Self {
        ApiError::BadRequest(Json(Problem::new(StatusCode::BAD_REQUEST, detail)))
    }

    pub fn forbidden(detail: impl std::fmt::Display) -> Self {
        ApiError::Forbidden(Json(Problem::new(StatusCode::FORBIDDEN, detail)))
    }

    pub fn not_found(detail: impl std::fmt::Display) -> Self {
        ApiError::NotFound(Json(Problem::new(StatusCode::NOT_FOUND, detail)))
    }

    pub fn conflict(detail: impl std::fmt::Display) -> Self {
        ApiError::Conflict(Json(Problem::new(StatusCode::CONFLICT, detail)))
    }

    pub fn upgrade_required(detail: impl std::fmt::Display) -> Self {
        ApiError::UpgradeRequired(
            Json(Problem::new(StatusCode::UPGRADE_REQUIRED, detail)),
            "websocket".into(),
        )
    }

    pub fn too_many_requests(detail: impl std::fmt::Display, retry_after_s: u64) -> Self {
        ApiError::TooManyRequests(
            Json(Problem::new(StatusCode::TOO_MANY_REQUESTS, detail)),
            retry_after_s,
        )
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        ApiError::Unavailable(Json(Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail)))
    }
}

/// Middleware that turns every error (and every bare 4xx/5xx) into a problem document.
pub struct ProblemDetails;

impl<E: Endpoint> Middleware<E> for ProblemDetails {
    type Output = ProblemDetailsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ProblemDetailsEndpoint(ep)
    }
}

pub struct ProblemDetailsEndpoint<E>(E);

impl<E: Endpoint> Endpoint for ProblemDetailsEndpoint<E> {
    type Output = Response;

    /// The method and URI are kept for the error message (both are cheap to
    /// clone: no allocation for a standard method or a URI hyper parsed);
    /// the request itself goes into the inner future at once, so this layer
    /// adds little to the future every request allocates.
    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        let method = req.method().clone();
        let uri = req.uri().clone();
        // A combinator, not an `async` block: a block would hold the inner
        // future twice (captured, then awaited), doubling its size.
        self.0.call(req).map(move |answer| match answer {
            Ok(out) => Ok(out.into_response()),
            Err(err) if err.is_from_response() => Ok(err.into_response()),
            Err(err) => Ok(problem_for(err, &method, uri.path())),
        })
    }
}

/// The problem document for an error that is not already a response.
fn problem_for(err: poem::Error, method: &Method, path: &str) -> Response {
    let status = err.status();
    let detail = if let Some(e) = err.downcast_ref::<ParseParamError>() {
        format!(
            "Parameter `{}` is not valid: {}.",
            e.name,
            friendly_reason(&e.reason)
        )
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        format!("The request body is not valid: {}.", e.reason)
    } else {
        explain(status, &err.to_string(), method.as_str(), path)
    };
    if status.is_server_error() {
        tracing::error!(%status, %path, error = %err, "request failed");
    }
    Problem::new(status, detail).into_response()
}

/// A sentence for a learner, built from poem's terse error text.
fn explain(status: StatusCode, raw: &str, method: &str, path: &str) -> String {
    match status {
        StatusCode::NOT_FOUND => format!(
            "There is nothing at {path}. The home page (/) lists every endpoint; /docs lets you try them."
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{path} does not accept {method}. See /docs for the methods it takes.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            "The request body is larger than this server accepts (see --max-body-bytes).".into()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            format!("{raw}. Send the body as JSON with `Content-Type: application/json`.")
        }
        _ => humanize_parse_error(raw),
    }
}

/// Rewrites poem-openapi's type jargon (`failed to parse "integer(uint64)"`) in plain words.
fn friendly_reason(reason: &str) -> String {
    let reason = reason
        .split(" (occurred while parsing")
        .next()
        .unwrap_or(reason);
    if reason.contains("integer(uint") {
        return "expected a whole number (0, 1, 2, …)".into();
    }
    if reason.contains("integer(") {
        return "expected a whole number".into();
    }
    if let Some(rule) = reason.strip_prefix("verification failed. ") {
        let bound = |prefix: &str| {
            rule.strip_prefix(prefix)
                .and_then(|r| r.split([',', ')']).next())
                .map(str::to_owned)
        };
        if let Some(max) = bound("maximum(") {
            return format!("must be at most {max}");
        }
        if let Some(min) = bound("minimum(") {
            return format!("must be at least {min}");
        }
        return format!("breaks the rule {rule}");
    }
    reason.to_owned()
}

/// poem-openapi says e.g. `failed to parse parameter \`since\`: failed to parse "integer(uint64)": invalid digit found in string`.
fn humanize_parse_error(raw: &str) -> String {
    let mut text = raw.to_owned();
    if let Some(first) = text.get(..1) {
        let upper = first.to_uppercase();
        text.replace_range(..1, &upper);
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_serializes_with_rfc_9457_member_names() {
        let p = Problem::new(StatusCode::NOT_FOUND, "nope");
        let v = serde_json::to_value(&p).expect("json");
        assert_eq!(v["type"], "about:blank");
        assert_eq!(v["title"], "Not Found");
        assert_eq!(v["status"], 404);
        assert_eq!(v["detail"], "nope");
    }

    #[test]
    fn parse_errors_read_as_sentences() {
        assert_eq!(
            friendly_reason(
                "failed to parse \"integer(uint64)\": invalid digit found in string \
                 (occurred while parsing \"optional_integer(uint64)\")"
            ),
            "expected a whole number (0, 1, 2, …)"
        );
        assert_eq!(
            friendly_reason("verification failed. maximum(1000, exclusive: false)"),
            "must be at most 1000"
        );
    }
}
