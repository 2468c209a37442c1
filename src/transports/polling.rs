//! Short polling: the client asks "any update since #N?" and gets an answer
//! at once: the new events, or `204 No Content`. The simplest transport, and
//! the one whose waste the traffic log makes visible: most answers are empty.

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
        let topics = TopicFilter::parse(topics.as_deref());
        let limit = limit.unwrap_or(DEFAULT_BATCH).min(MAX_BATCH) as usize;
        let c = self
            .state
            .hub
            .catch_up(Cursor::after_or(*since, Cursor::Oldest));
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
