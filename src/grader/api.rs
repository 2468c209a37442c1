//! `POST /api/grader/runs`: grade a server, answer with the report card.

use std::sync::Arc;

use poem::web::RemoteAddr;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use super::report::{Kind, Report};
use super::slots::{Busy, MAX_RUNS};
use super::target::Refusal;
use super::{Grader, NotRun};
use crate::connections::client_ip;
use crate::problem::ApiError;
use crate::traffic::Learner;

#[derive(Tags)]
enum GraderTags {
    /// Grade your own SSE or WebSocket server against the rules the lessons teach.
    #[oai(rename = "Grade my server")]
    Grader,
}

/// What to grade.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct GradeRequest {
    /// The endpoint: `http://…` for `sse`, `ws://…` for `websocket`. Only
    /// loopback addresses (127.0.0.1, ::1, localhost) unless the playground
    /// runs with `--grader-allow-remote`.
    #[oai(validator(max_length = 2048))]
    pub url: String,
    pub kind: Kind,
    /// `sse` only: where the grader POSTs its test events, as JSON
    /// `{"topic":"grader","type":"note","data":{"text":"grader-…"}}`. Same host
    /// and port as `url`; default: `url` with its last path segment replaced by
    /// `events` (`/sse` → `/events`, `/api/sse` → `/api/events`).
    #[oai(validator(max_length = 2048))]
    pub publish_url: Option<String>,
}

impl poem_openapi::types::Example for GradeRequest {
    fn example() -> Self {
        GradeRequest {
            url: "http://127.0.0.1:8000/sse".into(),
            kind: Kind::Sse,
            publish_url: None,
        }
    }
}

/// How a run ended, as the `X-Grader-Verdict` header says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RunVerdict {
    /// No line failed or was skipped.
    AllPass,
    /// At least one line failed or was skipped.
    NotYet,
}

impl RunVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::AllPass => "all_pass",
            RunVerdict::NotYet => "not_yet",
        }
    }
}

#[derive(ApiResponse)]
pub enum Graded {
    /// The report card. `X-Grader-Verdict` repeats whether every line passed,
    /// so the traffic log (and lesson 10's check) can count passing runs.
    #[oai(status = 200)]
    Ok(Json<Report>, #[oai(header = "X-Grader-Verdict")] String),
}

pub struct GraderApi {
    pub grader: Arc<Grader>,
}

#[OpenApi]
impl GraderApi {
    /// Grade your own server
    ///
    /// The playground connects to your server as a client and checks it
    /// against the rules the lessons teach, then answers with a report card:
    /// one line per rule, each `pass`, `fail`, `skipped` (something it needs
    /// failed first) or `info`, with what was sent, what came back and why
    /// the rule matters.
    ///
    /// `sse`: status 200, `Content-Type: text/event-stream`,
    /// `Cache-Control: no-cache`, a `retry:` field, the first event arriving
    /// at once, an `id:` on every event, a resume with `Last-Event-ID` that
    /// loses and repeats nothing, an id from after a restart and a garbled id
    /// (both must still stream), a comment line on an idle stream, gzip off or
    /// flushed, and CORS (info). The grader publishes five test events to
    /// `publish_url`. `websocket`: 101 and `Sec-WebSocket-Accept`, an answer
    /// to `{"type":"ping","ref":"…"}` that names its ref (an echo does),
    /// ping → pong, a clean close, and a 1 MiB + 1 B message (1009 or a close
    /// passes; taking it fails).
    ///
    /// The answer waits for the whole run: at most 20 s (the heartbeat line
    /// waits for the server to go quiet, about 15 s). A run opens at most 16
    /// connections and reads at most 1 MiB. One run per learner at a time,
    /// two per address, four on the server (`429` beyond). Only loopback
    /// targets, asked from this machine, unless `--grader-allow-remote`
    /// (`403` otherwise).
    #[oai(path = "/grader/runs", method = "post", tag = "GraderTags::Grader")]
    async fn run(
        &self,
        learner: Learner,
        remote: &RemoteAddr,
        body: Json<GradeRequest>,
    ) -> Result<Graded, ApiError> {
        let req = body.0;
        let report = self
            .grader
            .run(
                &learner.id,
                client_ip(remote),
                req.kind,
                &req.url,
                req.publish_url.as_deref(),
            )
            .await
            .map_err(problem)?;
        let verdict = if report.all_pass {
            RunVerdict::AllPass
        } else {
            RunVerdict::NotYet
        };
        Ok(Graded::Ok(Json(report), verdict.as_str().to_owned()))
    }
}

fn problem(not_run: NotRun) -> ApiError {
    match not_run {
        NotRun::Refused(r @ Refusal::NotLoopback(_)) => ApiError::forbidden(r.detail()),
        NotRun::Refused(r) => ApiError::bad_request(r.detail()),
        NotRun::Busy(Busy::Yours) => ApiError::too_many_requests(
            "Your previous run is still grading; its report comes within 20 s.",
            20,
        ),
        NotRun::Busy(Busy::Address) => ApiError::too_many_requests(
            "Two runs from your address are still grading; try again when one has finished.",
            20,
        ),
        NotRun::Busy(Busy::Server) => ApiError::too_many_requests(
            format!("{MAX_RUNS} runs are grading on this server; try again in 20 s."),
            20,
        ),
    }
}
