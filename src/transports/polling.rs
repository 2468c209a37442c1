//! Short polling: the client asks "any update since #N?" and gets an answer
//! at once: the new events, or `204 No Content`. The simplest transport, and
//! the one whose waste the traffic log makes visible: most answers are empty.

use poem_openapi::param::Query;
use poem_openapi::{Enum, OpenApi};

use super::TransportTags;
use super::{DEFAULT_BATCH, MAX_BATCH, PollResponse};
use crate::hub::{Cursor, Hub, TopicFilter};
use crate::problem::ApiError;
use crate::traffic::Tap;

pub struct PollingApi {
    pub hub: Hub,
}

/// Where a poll without `since` starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StartFrom {
    /// With what the replay buffer still holds (the backlog).
    #[default]
    Oldest,
    /// With nothing: `204` and the newest id, a starting point without the backlog.
    Newest,
}

#[OpenApi]
impl PollingApi {
    /// Poll: "any update?"
    ///
    /// Answers immediately. `200` with the events after `since` when there are
    /// any, `204 No Content` when there are none. Without `since` you get what
    /// the replay buffer still holds; then pass the returned `last_id` as
    /// `since` on the next call. Call it again and again — that is polling.
    /// A client that wants only what happens from now on starts with
    /// `from=newest`: `204` at once, with the newest id in `X-Last-Event-Id`.
    #[oai(path = "/poll", method = "get", tag = "TransportTags::Polling")]
    async fn poll(
        &self,
        /// Last event id you have seen; you get only newer events.
        #[oai(example = "example_since")]
        since: Query<Option<u64>>,
        /// Comma-separated topics to receive (e.g. `ticker,notifications`); all when empty. At most 64 topics (4160 bytes).
        #[oai(validator(max_length = 4160))]
        topics: Query<Option<String>>,
        /// Most events in one answer (1–1000, default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<u32>>,
        /// Without `since`: `oldest` (default) answers with the backlog the
        /// replay buffer holds, `newest` with `204` and the newest id. Ignored with `since`.
        from: Query<Option<StartFrom>>,
        tap: Tap,
    ) -> Result<PollResponse, ApiError> {
        let topics = TopicFilter::parse_bounded(topics.as_deref())
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let limit = limit.unwrap_or(DEFAULT_BATCH).min(MAX_BATCH) as usize;
        let start = match from.unwrap_or_default() {
            StartFrom::Oldest => Cursor::Oldest,
            StartFrom::Newest => Cursor::Now,
        };
        let c = self.hub.catch_up(Cursor::after_or(*since, start));
        let mut matching = c.events.into_iter().filter(|e| e.matches(&topics));
        let events: Vec<_> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        tap.answered(&events);
        Ok(PollResponse::from_parts(events, c.reset, more, c.last_id))
    }
}

pub(crate) fn example_since() -> Option<u64> {
    Some(0)
}
