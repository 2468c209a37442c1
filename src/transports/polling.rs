//! Short polling: the client asks "any update since #N?" and gets an answer
//! at once: the new events, or `204 No Content`. The simplest transport, and
//! the one whose waste the traffic log makes visible: most answers are empty.

use futures_util::TryFutureExt;
use futures_util::future::Either;
use poem::http::Method;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::{DEFAULT_BATCH, MAX_BATCH, PollResponse};
use crate::api::ApiTags;
use crate::hub::{Cursor, TopicFilter};
use crate::problem::ApiError;
use crate::state::AppState;
use crate::traffic::Tap;

pub struct PollingApi {
    pub state: AppState,
}

#[OpenApi]
impl PollingApi {
    /// Poll: "any update?"
    ///
    /// Answers immediately. `200` with the events after `since` when there are
    /// any, `204 No Content` when there are none. Without `since` you get what
    /// the replay buffer still holds; then pass the returned `last_id` as
    /// `since` on the next call. Call it again and again — that is polling.
    #[oai(path = "/poll", method = "get", tag = "ApiTags::Polling")]
    async fn poll(
        &self,
        /// Last event id you have seen; you get only newer events.
        #[oai(example = "example_since")]
        since: Query<Option<u64>>,
        /// Comma-separated topics to receive (e.g. `ticker,notifications`); all when empty.
        topics: Query<Option<String>>,
        /// Most events in one answer (1–1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        tap: Tap,
    ) -> Result<PollResponse, ApiError> {
        Ok(answer(&self.state, *since, topics.as_deref(), *limit, &tap))
    }
}

/// The answer to a poll, shared by the operation above and [`PollFastPath`].
fn answer(
    state: &AppState,
    since: Option<u64>,
    topics: Option<&str>,
    limit: Option<u32>,
    tap: &Tap,
) -> PollResponse {
    let topics = TopicFilter::parse(topics);
    let limit = limit.unwrap_or(DEFAULT_BATCH).min(MAX_BATCH) as usize;
    let c = state.hub.catch_up(Cursor::after_or(since, Cursor::Oldest));
    let mut matching = c.events.into_iter().filter(|e| e.matches(&topics));
    let events: Vec<_> = matching.by_ref().take(limit).collect();
    let more = matching.next().is_some();
    tap.answered(&events);
    PollResponse::from_parts(events, c.reset, more, c.last_id)
}

/// Answers `GET /api/poll` before the router, when the query is plain.
///
/// Short polling is the one endpoint a client calls as fast as it can, and
/// an idle `204` is almost all routing: poem's router matches the path three
/// times (the app, the `/api` nest, the API's own routes), rewrites the URI,
/// records path patterns, and poem-openapi decodes the whole query into
/// owned strings, with a boxed future at each step. This layer, the
/// innermost of the app's, calls the same [`answer`] directly and turns it
/// into the same response (the operation's own `IntoResponse`), inside every
/// other layer (traffic capture, security headers, problem details).
///
/// Only a query it reads exactly as poem-openapi would takes this path:
/// `since`, `topics` and `limit`, each at most once, with plain values
/// (digits for the numbers, `limit` within 1–1000, nothing percent-encoded).
/// Anything else, including every request that deserves an error, goes to
/// the router, which answers as before.
pub struct PollFastPath {
    state: AppState,
}

impl PollFastPath {
    pub fn new(state: AppState) -> Self {
        PollFastPath { state }
    }
}

impl<E: Endpoint> Middleware<E> for PollFastPath {
    type Output = PollFastPathEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        PollFastPathEndpoint {
            inner,
            state: self.state.clone(),
        }
    }
}

pub struct PollFastPathEndpoint<E> {
    inner: E,
    state: AppState,
}

impl<E: Endpoint> Endpoint for PollFastPathEndpoint<E> {
    type Output = Response;

    /// The router's future (about 2 KiB) is boxed: the layers outside pass
    /// this future along by value, and a pointer is cheaper to move than
    /// kilobytes of nested state (bench/PROFILE-polling.md).
    fn call(&self, req: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        if req.method() == Method::GET
            && req.uri().path() == POLL_PATH
            && let Some(q) = PlainPollQuery::parse(req.uri().query())
        {
            let tap = req.extensions().get::<Tap>().cloned().unwrap_or_default();
            let resp = answer(&self.state, q.since, q.topics, q.limit, &tap).into_response();
            return Either::Left(std::future::ready(Ok(resp)));
        }
        Either::Right(Box::pin(
            self.inner.call(req).map_ok(IntoResponse::into_response),
        ))
    }
}

const POLL_PATH: &str = "/api/poll";

/// A `/api/poll` query in the plain form [`PollFastPath`] reads.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlainPollQuery<'a> {
    pub since: Option<u64>,
    pub topics: Option<&'a str>,
    pub limit: Option<u32>,
}

impl<'a> PlainPollQuery<'a> {
    /// `None` when the query is not plain (the router must read it).
    pub fn parse(query: Option<&'a str>) -> Option<Self> {
        let mut q = PlainPollQuery::default();
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return Some(q);
        };
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=')?;
            if value.is_empty() || value.bytes().any(|b| matches!(b, b'%' | b'+')) {
                return None;
            }
            match name {
                "since" if q.since.is_none() => q.since = Some(digits(value)?),
                "topics" if q.topics.is_none() => q.topics = Some(value),
                "limit" if q.limit.is_none() => {
                    let limit = u32::try_from(digits(value)?).ok()?;
                    if !(1..=MAX_BATCH).contains(&limit) {
                        return None;
                    }
                    q.limit = Some(limit);
                }
                // Unknown, or given twice: the router decides.
                _ => return None,
            }
        }
        Some(q)
    }
}

/// A whole number written in ASCII digits only.
fn digits(value: &str) -> Option<u64> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    }
}

pub(crate) fn example_since() -> Option<u64> {
    Some(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_queries_are_read_and_others_left_to_the_router() {
        let q = |s: &'static str| PlainPollQuery::parse(Some(s));
        assert_eq!(PlainPollQuery::parse(None), Some(PlainPollQuery::default()));
        assert_eq!(q(""), Some(PlainPollQuery::default()));
        assert_eq!(
            q("since=007&topics=load,ticker&limit=1000"),
            Some(PlainPollQuery {
                since: Some(7),
                topics: Some("load,ticker"),
                limit: Some(1000),
            })
        );
        for other in [
            "since=",
            "since",
            "since=-1",
            "since=+1",
            "since=1x",
            "since=18446744073709551616",
            "since=1&since=2",
            "limit=0",
            "limit=1001",
            "limit=4294967296",
            "topics=a%2Cb",
            "topics=a+b",
            "sinc%65=1",
            "Since=1",
            "other=1",
            "since=1&&limit=2",
        ] {
            assert_eq!(q(other), None, "{other}");
        }
    }
}
