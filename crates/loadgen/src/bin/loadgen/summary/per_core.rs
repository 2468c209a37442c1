//! Issue 19's comparison: each server alone on one core, the generator on
//! another (`bench/run.sh` pins both with `taskset`), so what is compared is
//! what one core of each server does, not how the two processes share the
//! machine. Its reports are `core-<server>-<scenario>.json`; the 50,000
//! connection run is `playground50k-hold.json`.

use std::fmt::Write as _;

use loadgen::{Kind, Report};

use super::bench_run::BenchRun;
use super::format::{opt, thousands};
use super::targets::{MEMORY_PROFILE, Verdict, at_least, at_most};

/// Pinned to one core: the kernel's share, fan-out, the file limit.
const PER_CORE_PROFILE: &str = "PROFILE-per-core.md";

/// The servers of the comparison, as named in the report files and the table.
const SERVERS: [(&str, &str); 3] = [
    (
        "core-playground",
        "realtime-playground (1 worker, traffic log on)",
    ),
    ("core-node", "Node"),
    ("core-fastapi", "FastAPI"),
];
const OURS: &str = "core-playground";
const NODE: &str = "core-node";
const FASTAPI: &str = "core-fastapi";

/// The 50,000-connection run's report.
pub const HOLD: (&str, &str) = ("playground50k", "hold");

/// Both ways of polling: a client that names itself, and one that never does.
#[derive(Clone, Copy)]
enum Poller {
    Named,
    Anonymous,
}

impl Poller {
    fn scenario(self) -> &'static str {
        match self {
            Poller::Named => "poll",
            Poller::Anonymous => "pollanon",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Poller::Named => "with a learner id",
            Poller::Anonymous => "cookie-less (a new learner per request)",
        }
    }
}

/// One fan-out scenario: its report's name and its clients' transport.
struct Fanout {
    scenario: &'static str,
    kind: Kind,
}

const FANOUTS: [Fanout; 4] = [
    Fanout {
        scenario: "fanout",
        kind: Kind::Sse,
    },
    Fanout {
        scenario: "fanout1",
        kind: Kind::Sse,
    },
    Fanout {
        scenario: "fanoutws",
        kind: Kind::Websocket,
    },
    Fanout {
        scenario: "fanoutws1",
        kind: Kind::Websocket,
    },
];

impl Fanout {
    /// "SSE, 5,000 clients × 10 events", as this run's report says.
    fn describe(&self, run: &BenchRun) -> String {
        let name = match self.kind {
            Kind::Websocket => "WebSocket",
            _ => "SSE",
        };
        match run.get(OURS, self.scenario) {
            Some(r) => format!(
                "{name}, {} clients × {} event{}",
                thousands(r.stage(self.kind).map_or(0, |s| s.clients) as f64),
                r.scenario.fanout_events,
                if r.scenario.fanout_events == 1 {
                    ""
                } else {
                    "s"
                }
            ),
            None => format!("{name} ({})", self.scenario),
        }
    }
}

/// Server CPU time per unit of work, in µs (`None` without the CPU reading).
fn cpu_us_per(report: &Report, units: u64) -> Option<f64> {
    let secs = report.cpu.server_secs?;
    (units > 0).then(|| secs * 1e6 / units as f64)
}

/// Server CPU per poll request, in µs.
fn cpu_per_request(run: &BenchRun, server: &str, poller: Poller) -> Option<f64> {
    let r = run.get(server, poller.scenario())?;
    cpu_us_per(r, r.transport(Kind::Poll)?.requests)
}

/// Requests one fully busy core answers per second.
fn per_core_rps(run: &BenchRun, server: &str, poller: Poller) -> Option<f64> {
    cpu_per_request(run, server, poller).map(|us| 1e6 / us)
}

/// Server CPU per delivered stream event, in µs.
fn cpu_per_event(run: &BenchRun, server: &str) -> Option<f64> {
    let r = run.get(server, "stream")?;
    cpu_us_per(r, r.deliveries)
}

fn fanout_p99(run: &BenchRun, server: &str, f: &Fanout) -> Option<f64> {
    run.get(server, f.scenario)?.transport(f.kind)?.delay.p99_ms
}

fn kib(run: &BenchRun, server: &str, kind: Kind) -> Option<f64> {
    run.get(server, "connect")?.stage(kind)?.kib_per_connection
}

/// Connections the run held at once, over all transports.
fn held(report: &Report) -> u64 {
    report.connect.iter().map(|s| s.connected).sum()
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.zip(b).map(|(a, b)| a / b)
}

/// Whether this run has the per-core comparison.
pub fn ran(run: &BenchRun) -> bool {
    run.has(OURS)
}

/// Issue 19's targets, judged on this run.
pub fn verdicts(run: &BenchRun) -> Vec<Verdict> {
    let times = |r: f64| format!("{r:.2}×");
    let mut v = Vec::new();
    for (peer, name, goal) in [(NODE, "Node", 2.0), (FASTAPI, "FastAPI", 10.0)] {
        for poller in [Poller::Named, Poller::Anonymous] {
            v.push(
                at_least(
                    format!("per core, polling {}: ≥ {goal}× {name}", poller.describe()),
                    ratio(
                        per_core_rps(run, OURS, poller),
                        per_core_rps(run, peer, poller),
                    ),
                    goal,
                    times,
                )
                .profiled(PER_CORE_PROFILE),
            );
        }
    }
    v.push(
        at_most(
            "CPU per delivered SSE/WebSocket event: ≤ 0.5× Node".into(),
            ratio(cpu_per_event(run, OURS), cpu_per_event(run, NODE)),
            0.5,
            times,
        )
        .profiled(PER_CORE_PROFILE),
    );
    for f in &FANOUTS {
        v.push(
            at_most(
                format!("fan-out p99, {}: ≤ 0.6× Node", f.describe(run)),
                ratio(fanout_p99(run, OURS, f), fanout_p99(run, NODE, f)),
                0.6,
                times,
            )
            .profiled(PER_CORE_PROFILE),
        );
    }
    for (kind, what) in [(Kind::Sse, "SSE stream"), (Kind::Websocket, "WebSocket")] {
        v.push(
            at_most(
                format!("memory per idle {what}: ≤ 0.7× Node"),
                ratio(kib(run, OURS, kind), kib(run, NODE, kind)),
                0.7,
                times,
            )
            .profiled(MEMORY_PROFILE),
        );
    }
    v.push(hold(run));
    v
}

/// 50,000 idle SSE + WebSocket connections held, none failed.
fn hold(run: &BenchRun) -> Verdict {
    let report = run.get(HOLD.0, HOLD.1);
    let mut v = at_least(
        "idle SSE + WebSocket connections held at once: ≥ 50,000".into(),
        report.map(|r| held(r) as f64),
        50_000.0,
        thousands,
    );
    if let Some(r) = report {
        v.measured = format!("{}, {} failed", v.measured, r.connect_failed);
    }
    v.profiled(PER_CORE_PROFILE)
}

/// The per-core table: what each server does with one core.
pub fn section(s: &mut String, run: &BenchRun) {
    let fan = |i: usize| FANOUTS[i].describe(run);
    let _ = writeln!(
        s,
        "\n### Per core (each server pinned to one core, the generator to another)\n\n\
         | Server | Poll req/s per core, named (CPU µs/req) | Poll req/s per core, cookie-less (CPU µs/req) | \
         CPU µs per delivered event | Fan-out p99 ms: {} / {} | Fan-out p99 ms: {} / {} | \
         KiB per idle SSE / WS |\n|---|---|---|---|---|---|---|",
        fan(0),
        fan(1),
        fan(2),
        fan(3)
    );
    for (server, name) in SERVERS {
        if !run.has(server) {
            let _ = writeln!(s, "| {name} | not run | | | | | |");
            continue;
        }
        let poll = |p: Poller| {
            format!(
                "{} ({})",
                per_core_rps(run, server, p).map_or("–".into(), thousands),
                opt(cpu_per_request(run, server, p), 1)
            )
        };
        let p99 = |i: usize| opt(fanout_p99(run, server, &FANOUTS[i]), 1);
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} / {} | {} / {} | {} / {} |",
            poll(Poller::Named),
            poll(Poller::Anonymous),
            opt(cpu_per_event(run, server), 2),
            p99(0),
            p99(1),
            p99(2),
            p99(3),
            opt(kib(run, server, Kind::Sse), 1),
            opt(kib(run, server, Kind::Websocket), 1),
        );
    }
    let stream_clients = run.get(OURS, "stream").map_or("–".into(), |r| {
        let n = |k| r.stage(k).map_or(0, |s| s.clients) as f64;
        format!(
            "{} SSE + {} WebSocket",
            thousands(n(Kind::Sse)),
            thousands(n(Kind::Websocket))
        )
    });
    let _ = writeln!(
        s,
        "\nReq/s per core is requests ÷ the server's CPU seconds in the window (what one fully \
         busy core answers); CPU per event is the server's CPU seconds ÷ events delivered to \
         {stream_clients} clients."
    );
    if let Some(r) = run.get(HOLD.0, HOLD.1) {
        let stage = |k| r.stage(k);
        let kib = |k| opt(stage(k).and_then(|s| s.kib_per_connection), 1);
        let _ = writeln!(
            s,
            "\n### Many idle connections\n\n\
             {} idle connections ({} SSE + {} WebSocket, {} failed) on all cores: {} KiB per SSE \
             stream, {} KiB per WebSocket; one event reached all of them with p50 {} / p99 {} / \
             max {} ms ({} missing).",
            thousands(held(r) as f64),
            stage(Kind::Sse).map_or(0, |s| s.connected),
            stage(Kind::Websocket).map_or(0, |s| s.connected),
            r.connect_failed,
            kib(Kind::Sse),
            kib(Kind::Websocket),
            opt(r.transport(Kind::Sse).and_then(|t| t.delay.p50_ms), 1),
            opt(r.stream_p99_ms(), 1),
            opt(
                r.transports
                    .iter()
                    .filter_map(|t| t.delay.max_ms)
                    .reduce(f64::max),
                1
            ),
            r.missing_deliveries.unwrap_or(0),
        );
    }
}
