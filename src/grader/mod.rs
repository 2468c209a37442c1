//! "Grade my server": the playground becomes a client of the learner's own
//! SSE or WebSocket server and grades it against the rules the lessons teach
//! (the WHATWG event-stream rules, RFC 6455, and the practices around them),
//! answering with a report card whose lines say what was sent, what came
//! back and why the rule matters.
//!
//! A run is a real client aimed at a URL a learner typed, so it is fenced in:
//! [`target`] allows loopback only (unless `--grader-allow-remote`) and pins
//! the checked addresses; [`budget`] bounds its time, bytes and connections;
//! [`slots`] bounds how many run at once. `POST /api/grader/runs` waits for
//! the finished card, which takes at most [`budget::RUN_DEADLINE`] (20 s):
//! simpler than a job to poll, and Swagger UI's "Try it out" still ends.
//!
//! - [`report`]: the card, its line ids (an enum) and their reasons.
//! - [`sse`] with [`sse_client`] (and `sse_edges`): the SSE run. [`websocket`]: the WebSocket run.
//! - [`api`]: the endpoint. The verdict also goes into an `X-Grader-Verdict`
//!   header, so the traffic log (and a lesson's check) sees how a run ended.

pub mod api;
pub mod budget;
pub mod report;
pub mod slots;
pub mod sse;
pub mod sse_client;
mod sse_edges;
pub mod target;
pub mod websocket;

use std::net::IpAddr;
use std::sync::Arc;

use tokio::time::Instant;

use budget::Budget;
use report::{Kind, Report};
use slots::{Busy, Slots};
use target::{Policy, Refusal};

/// Why a run did not happen.
#[derive(Debug)]
pub enum NotRun {
    Refused(Refusal),
    Busy(Busy),
}

/// The grader: its policy and its running runs.
pub struct Grader {
    policy: Policy,
    slots: Slots,
}

impl Grader {
    pub fn new(allow_remote: bool) -> Self {
        Grader {
            policy: Policy { allow_remote },
            slots: Slots::default(),
        }
    }

    /// Checks the target, takes a slot and grades; the answer comes within
    /// [`budget::RUN_DEADLINE`] plus the time to resolve the host.
    pub async fn run(
        &self,
        learner: &Arc<str>,
        requester: Option<IpAddr>,
        kind: Kind,
        url: &str,
        publish_url: Option<&str>,
    ) -> Result<Report, NotRun> {
        let _slot = self.slots.take(learner, requester).map_err(NotRun::Busy)?;
        let target = self
            .policy
            .check(kind, url, publish_url, requester)
            .await
            .map_err(NotRun::Refused)?;
        let target = Arc::new(target);
        let budget = Budget::start();
        let started = Instant::now();
        let lines = match kind {
            Kind::Sse => sse::grade(target.clone(), &budget).await,
            Kind::Websocket => websocket::grade(target.clone(), &budget).await,
        };
        let mut report = Report::new(kind, target.url.to_string(), target.address(), lines);
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.connections = budget.connections();
        report.bytes_read = budget.bytes_read();
        Ok(report)
    }
}
