//! The targets of issue 8, each judged on a bench run: the measured value,
//! PASS or MISS and by how much, and where a miss's profile is written up.

use loadgen::Kind;

use super::bench_run::{BenchRun, OURS};
use super::format::thousands;

/// A peer the targets compare with, and the ratios they ask of us.
pub struct Peer {
    /// Its name in the report files (`<id>-<scenario>.json`).
    pub id: &'static str,
    /// Its name in the tables.
    pub name: &'static str,
    /// Our poll req/s over theirs, at least.
    poll_ratio: f64,
    /// Our fan-out p99 over theirs, at most.
    fanout_ratio: f64,
}

/// Peers the targets compare with.
pub const PEERS: [Peer; 2] = [
    Peer {
        id: "node",
        name: "Node",
        poll_ratio: 2.0,
        fanout_ratio: 0.7,
    },
    Peer {
        id: "fastapi",
        name: "FastAPI",
        poll_ratio: 10.0,
        fanout_ratio: 0.3,
    },
];

/// Where the profile of each metric is written up (in `bench/`).
pub const MEMORY_PROFILE: &str = "PROFILE-memory.md";
const POLLING_PROFILE: &str = "PROFILE-polling.md";

/// One target: what was measured against what was asked.
pub struct Verdict {
    pub target: String,
    pub measured: String,
    /// `None`: not measured in this run.
    pub pass: Option<bool>,
    pub margin: String,
    /// The write-up (next to RESULTS.md) of what limits this number, named
    /// when the target is missed.
    pub profile: Option<&'static str>,
}

impl Verdict {
    pub fn profiled(mut self, file: &'static str) -> Verdict {
        self.profile = Some(file);
        self
    }
}

/// `value` must be at least `goal`.
pub fn at_least(
    target: String,
    value: Option<f64>,
    goal: f64,
    show: impl Fn(f64) -> String,
) -> Verdict {
    judge(target, value, show, |v| {
        (v >= goal, (v / goal - 1.0) * 100.0)
    })
}

/// `value` must be at most `goal`.
pub fn at_most(
    target: String,
    value: Option<f64>,
    goal: f64,
    show: impl Fn(f64) -> String,
) -> Verdict {
    judge(target, value, show, |v| {
        (v <= goal, (1.0 - v / goal) * 100.0)
    })
}

fn judge(
    target: String,
    value: Option<f64>,
    show: impl Fn(f64) -> String,
    rule: impl Fn(f64) -> (bool, f64),
) -> Verdict {
    match value {
        None => Verdict {
            target,
            measured: "not measured".into(),
            pass: None,
            margin: String::new(),
            profile: None,
        },
        Some(v) => {
            let (pass, margin) = rule(v);
            Verdict {
                target,
                measured: show(v),
                pass: Some(pass),
                margin: format!(
                    "{} % {}",
                    // Close calls get a decimal: "0 % short" would read as a pass.
                    if margin.abs() < 10.0 {
                        format!("{:.1}", margin.abs())
                    } else {
                        format!("{:.0}", margin.abs())
                    },
                    if pass { "to spare" } else { "short" }
                ),
                profile: None,
            }
        }
    }
}

/// Every target of issue 8, judged on this run.
pub fn verdicts(run: &BenchRun) -> Vec<Verdict> {
    let mut v = vec![connect(run)];
    v.extend(memory(run));
    v.push(fanout(run));
    v.push(at_least(
        "sustained deliveries ≥ 60,000 events/s".into(),
        run.sustained(OURS),
        60_000.0,
        |d| format!("{} /s", thousands(d)),
    ));
    v.extend(polling(run));
    for peer in &PEERS {
        v.extend(versus(run, peer));
    }
    v
}

/// 10,000 SSE + 9,000 WebSocket clients connected in under 5 s, no error.
fn connect(run: &BenchRun) -> Verdict {
    let connect = run.get(OURS, "connect");
    let (sse, ws) = connect.map_or((0, 0), |r| {
        let n = |k| r.stage(k).map_or(0, |s| s.clients);
        (n(Kind::Sse), n(Kind::Websocket))
    });
    let mut c = at_most(
        format!(
            "{sse} SSE + {ws} WebSocket connected in < 5 s with 0 errors (target: 10,000 + 9,000)"
        ),
        connect.map(|r| r.connect_total_secs),
        5.0,
        |s| format!("{s:.2} s"),
    );
    if let Some(r) = connect {
        c.measured = format!("{}, {} errors", c.measured, r.errors_total);
        if r.errors_total > 0 {
            c.pass = Some(false);
            c.margin = format!("{} errors", r.errors_total);
        }
    }
    c
}

/// What an idle WebSocket and an idle SSE stream cost.
fn memory(run: &BenchRun) -> [Verdict; 2] {
    let kib = |k: f64| format!("{k:.1} KiB");
    [
        at_most(
            "memory per idle WebSocket ≤ 8 KiB".into(),
            run.kib(OURS, Kind::Websocket),
            8.0,
            kib,
        )
        .profiled(MEMORY_PROFILE),
        at_most(
            "memory per idle SSE stream ≤ 16 KiB".into(),
            run.kib(OURS, Kind::Sse),
            16.0,
            kib,
        )
        .profiled(MEMORY_PROFILE),
    ]
}

/// One event to every SSE client, p99 ≤ 200 ms, and none missing.
fn fanout(run: &BenchRun) -> Verdict {
    let fanout = run.get(OURS, "fanout");
    let fan_n = fanout
        .and_then(|r| r.stage(Kind::Sse))
        .map_or(0, |s| s.clients);
    let mut f = at_most(
        format!("one event to {fan_n} SSE clients: p99 ≤ 200 ms (target: 10,000 clients)"),
        run.fanout_p99(OURS),
        200.0,
        |ms| format!("p99 {ms:.1} ms"),
    );
    if let Some(r) = fanout {
        // "To all clients": a delivery that never came fails the target.
        let missing = r.missing_deliveries.unwrap_or(0);
        if missing > 0 {
            f.pass = Some(false);
            f.margin = format!("{missing} deliveries missing");
        }
        let d = r
            .transport(Kind::Sse)
            .map(|t| t.delay.clone())
            .unwrap_or_default();
        f.measured = format!(
            "p50 {:.1} / p99 {:.1} / max {:.1} ms, {} missing",
            d.p50_ms.unwrap_or(f64::NAN),
            d.p99_ms.unwrap_or(f64::NAN),
            d.max_ms.unwrap_or(f64::NAN),
            r.missing_deliveries.unwrap_or(0)
        );
    }
    f
}

/// Idle short polling, and what the traffic log costs it.
fn polling(run: &BenchRun) -> [Verdict; 2] {
    [
        at_least(
            "short polling, idle (204): ≥ 60,000 req/s".into(),
            run.poll_rps(OURS),
            60_000.0,
            |d| format!("{} req/s", thousands(d)),
        )
        .profiled(POLLING_PROFILE),
        at_least(
            "traffic log on vs off (poll req/s): ≥ 0.9".into(),
            run.poll_rps("playground-traffic")
                .zip(run.poll_rps(OURS))
                .map(|(on, off)| on / off),
            0.9,
            |r| format!("{r:.2}×"),
        )
        .profiled(POLLING_PROFILE),
    ]
}

/// Our polling and fan-out over `peer`'s.
fn versus(run: &BenchRun, peer: &Peer) -> [Verdict; 2] {
    let (name, poll_goal, fanout_goal) = (peer.name, peer.poll_ratio, peer.fanout_ratio);
    [
        at_least(
            format!("vs {name}: polling ≥ {poll_goal}×"),
            run.poll_rps(OURS)
                .zip(run.poll_rps(peer.id))
                .map(|(ours, theirs)| ours / theirs),
            poll_goal,
            |r| format!("{r:.2}×"),
        )
        .profiled(POLLING_PROFILE),
        at_most(
            format!("vs {name}: fan-out p99 ≤ {fanout_goal}×"),
            run.fanout_p99(OURS)
                .zip(run.fanout_p99(peer.id))
                .map(|(ours, theirs)| ours / theirs),
            fanout_goal,
            |r| format!("{r:.2}×"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_say_by_how_much() {
        let v = at_least("x".into(), Some(66_000.0), 60_000.0, thousands);
        assert_eq!(
            (v.pass, v.measured.as_str(), v.margin.as_str()),
            (Some(true), "66,000", "10 % to spare")
        );
        let v = at_most("y".into(), Some(250.0), 200.0, |d| format!("{d}"));
        assert_eq!((v.pass, v.margin.as_str()), (Some(false), "25 % short"));
        assert_eq!(
            at_most("z".into(), None, 1.0, |d| format!("{d}")).pass,
            None
        );
    }
}
