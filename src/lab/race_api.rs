//! `/api/lab/runs`: start a race, read it, report a browser-mode race.

use poem::web::RemoteAddr;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use std::sync::Arc;

use super::{
    KEPT_RUNS, Lab, LabTags, Lane, MAX_RUNNING, REPORT_WINDOW, Refusal, ReportRefusal, Run,
    RunRequest, StartResponse,
};
use crate::connections::client_ip;
use crate::problem::ApiError;
use crate::traffic::{Learner, Transport};

pub struct LabApi {
    pub lab: Arc<Lab>,
}

#[OpenApi]
impl LabApi {
    /// Start a race
    ///
    /// The server publishes events on a private topic for `duration_s` seconds
    /// while four real clients (a short-poller polling every
    /// `poll_interval_ms`, a long-poller, an SSE reader and a WebSocket) receive
    /// them over loopback. Returns at once; fetch the result from
    /// `GET /api/lab/runs/{id}` when its `status` is `done`.
    ///
    /// One race per learner and per client address at a time, and
    /// `MAX_RUNNING` (2) on the server: `429` with `Retry-After` otherwise.
    /// The race is yours: only you read it (`GET /api/lab/runs/{id}`).
    #[oai(path = "/lab/runs", method = "post", tag = "LabTags::Lab")]
    async fn start(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        body: Json<RunRequest>,
    ) -> Result<StartResponse, ApiError> {
        let req = body.0;
        let lanes = if req.transports.is_empty() {
            vec![
                Transport::Poll,
                Transport::LongPoll,
                Transport::Sse,
                Transport::Websocket,
            ]
        } else {
            let mut lanes = Vec::new();
            for name in &req.transports {
                match Transport::parse(name) {
                    Some(t) if t != Transport::Api => {
                        if !lanes.contains(&t) {
                            lanes.push(t);
                        }
                    }
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "{name:?} is not a lane: use poll, long_poll, sse or websocket."
                        )));
                    }
                }
            }
            lanes
        };
        match self.lab.start(&req, lanes, learner.id, client_ip(remote)) {
            Ok(run) => Ok(StartResponse::Accepted(Json(run))),
            Err(Refusal::Yours) => Err(ApiError::too_many_requests(
                "You (or another learner at your address) already have a race running; wait for it to finish.",
                5,
            )),
            Err(Refusal::Busy) => Err(ApiError::too_many_requests(
                format!("{MAX_RUNNING} races are already running; wait for one to finish."),
                5,
            )),
        }
    }

    /// Report what my browser's clients saw (browser mode)
    ///
    /// Once per race, by the learner who started it, after the server has
    /// stopped publishing and at most 60 s later; at most four lanes, whose
    /// numbers must fit the race (no more distinct events than were
    /// published, delays no longer than the race). `400` names what does not
    /// fit; `404` for a race that is not yours; `409` when it is not a
    /// browser-mode race, is still publishing, was reported or closed.
    #[oai(path = "/lab/runs/:id/report", method = "post", tag = "LabTags::Lab")]
    async fn report(
        &self,
        learner: Learner,
        id: Path<u64>,
        body: Json<Vec<Lane>>,
    ) -> Result<Json<Run>, ApiError> {
        match self.lab.take_report(id.0, &learner.id, body.0) {
            Ok(run) => Ok(Json(run)),
            Err(ReportRefusal::NotFound) => {
                Err(ApiError::not_found(format!("You have no race #{}.", id.0)))
            }
            Err(ReportRefusal::NotBrowserMode) => Err(ApiError::conflict(
                "Only a browser-mode race takes a report.",
            )),
            Err(ReportRefusal::StillPublishing) => Err(ApiError::conflict(
                "The race is still publishing: report when its status is done.",
            )),
            Err(ReportRefusal::AlreadyReported) => {
                Err(ApiError::conflict("This race has its report already."))
            }
            Err(ReportRefusal::TooLate) => Err(ApiError::conflict(format!(
                "This race closed {} s after its end without a report.",
                REPORT_WINDOW.as_secs()
            ))),
            Err(ReportRefusal::Bad(why)) => Err(ApiError::bad_request(why.to_string())),
        }
    }

    /// A race and its result
    ///
    /// Only the learner who started it reads it; anyone else gets `404`.
    #[oai(path = "/lab/runs/:id", method = "get", tag = "LabTags::Lab")]
    async fn get(&self, learner: Learner, id: Path<u64>) -> Result<Json<Run>, ApiError> {
        self.lab.get(id.0, &learner.id).map(Json).ok_or_else(|| {
            ApiError::not_found(format!(
                "You have no race #{} (only the newest {KEPT_RUNS} are kept).",
                id.0
            ))
        })
    }
}
