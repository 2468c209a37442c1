//! Counting "Grade my server" runs for lesson 10: a step that asks the
//! learner to grade their own server ticks only on a run they started in the
//! step. The run's answer says how it ended in `X-Grader-Verdict`
//! (`all_pass` or `not_yet`), which the traffic log keeps with the exchange;
//! the grader itself is not imported (it sits beside the lessons, not below).

use crate::traffic::{Entry, EntryKind, Transport};

use super::checks::{Counters, route};

/// The grader's endpoint and the header its answers carry.
const RUNS_PATH: &str = "/api/grader/runs";
const VERDICT_HEADER: &str = "x-grader-verdict";

/// Every name this module counts, with what it means.
pub const NAMES: &[(&str, &str)] = &[
    ("grader_runs", "servers graded (report cards received)"),
    ("grader_passes", "report cards on which every line passed"),
    (
        "grader_failures",
        "report cards with a line that failed or was skipped",
    ),
];

/// Counts one entry.
pub fn count(c: &mut Counters, e: &Entry) {
    let graded = e.transport == Transport::Api
        && e.kind == EntryKind::Exchange
        && e.method.as_deref() == Some("POST")
        && e.status == Some(200)
        && route(e) == Some(RUNS_PATH);
    if !graded {
        return;
    }
    c.add("grader_runs", 1);
    let verdict = e
        .headers
        .as_ref()
        .and_then(|h| h.response_values(VERDICT_HEADER).next());
    match verdict {
        Some("all_pass") => c.add("grader_passes", 1),
        Some(_) => c.add("grader_failures", 1),
        None => {}
    }
}
