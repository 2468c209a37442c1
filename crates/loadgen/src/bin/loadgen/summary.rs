//! A bench run, summed up: the targets of issue 8 with the measured value,
//! PASS or MISS and by how much, the ratio of this server to each peer, and
//! `bench/RESULTS.md` with the machine it ran on.
//!
//! `bench/run.sh` saves one JSON [`Report`] per server and scenario as
//! `<server>-<scenario>.json` in one directory; servers are `playground`,
//! `playground-traffic` (the traffic log on), `node` and `fastapi`;
//! scenarios are `connect`, `fanout`, `sustained` and `poll`. Whatever is
//! missing is reported as missing, never guessed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use loadgen::{Kind, Report, procfs};

/// Servers in the order they are reported; the first is ours.
pub const SERVERS: [&str; 5] = [
    "playground",
    "playground-traffic",
    "playground-redis",
    "node",
    "fastapi",
];
/// Peers the targets compare with, and the polling and fan-out ratios they ask for.
const PEER_TARGETS: [(&str, &str, f64, f64); 2] = [
    ("node", "Node", 2.0, 0.7),
    ("fastapi", "FastAPI", 10.0, 0.3),
];

#[derive(Debug, Clone, clap::Args)]
pub struct SummaryArgs {
    /// Directory with the run's `<server>-<scenario>.json` reports.
    #[arg(long)]
    pub dir: PathBuf,
    /// Markdown record to write (e.g. bench/RESULTS.md); only printed when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The run used the smaller --quick scenarios.
    #[arg(long)]
    pub quick: bool,
    /// The command that produced the run, for the record.
    #[arg(long, default_value = "bench/run.sh")]
    pub command: String,
    /// A line for the notes (e.g. why a peer was skipped); repeatable.
    #[arg(long)]
    pub note: Vec<String>,
    /// Git commit the run was built from.
    #[arg(long, default_value = "")]
    pub commit: String,
}

/// All reports of one run, by server and scenario.
pub struct Run {
    reports: BTreeMap<(String, String), Report>,
}

impl Run {
    pub fn load(dir: &std::path::Path) -> Result<Run, String> {
        let mut reports = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(stem) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|_| path.extension().is_some_and(|e| e == "json"))
            else {
                continue;
            };
            let Some((server, scenario)) = stem.rsplit_once('-') else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let report: Report =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            reports.insert((server.to_owned(), scenario.to_owned()), report);
        }
        Ok(Run { reports })
    }

    pub fn get(&self, server: &str, scenario: &str) -> Option<&Report> {
        self.reports.get(&(server.to_owned(), scenario.to_owned()))
    }

    fn has(&self, server: &str) -> bool {
        self.reports.keys().any(|(s, _)| s == server)
    }

    /// Median over the poll rounds (`poll`, `poll2`, …) of `server`.
    fn poll_rps(&self, server: &str) -> Option<f64> {
        let mut v: Vec<f64> = self.poll_rounds(server);
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    fn poll_rounds(&self, server: &str) -> Vec<f64> {
        self.reports
            .iter()
            .filter(|((s, scenario), _)| s == server && scenario.starts_with("poll"))
            .filter_map(|(_, r)| r.poll_requests_per_sec())
            .collect()
    }

    fn fanout_p99(&self, server: &str) -> Option<f64> {
        self.get(server, "fanout")?.stream_p99_ms()
    }

    fn kib(&self, server: &str, kind: Kind) -> Option<f64> {
        self.get(server, "connect")?.stage(kind)?.kib_per_connection
    }
}

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
    fn profiled(mut self, file: &'static str) -> Verdict {
        self.profile = Some(file);
        self
    }
}

/// Where the profile of each metric is written up (in `bench/`).
const MEMORY_PROFILE: &str = "PROFILE-memory.md";
const POLLING_PROFILE: &str = "PROFILE-polling.md";

/// `value` must be at least `goal`.
fn at_least(
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
fn at_most(target: String, value: Option<f64>, goal: f64, show: impl Fn(f64) -> String) -> Verdict {
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

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every target of issue 8, judged on this run.
pub fn verdicts(run: &Run) -> Vec<Verdict> {
    let mut v = Vec::new();
    let connect = run.get("playground", "connect");
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
    v.push(c);
    v.push(
        at_most(
            "memory per idle WebSocket ≤ 8 KiB".into(),
            run.kib("playground", Kind::Websocket),
            8.0,
            |k| format!("{k:.1} KiB"),
        )
        .profiled(MEMORY_PROFILE),
    );
    v.push(
        at_most(
            "memory per idle SSE stream ≤ 16 KiB".into(),
            run.kib("playground", Kind::Sse),
            16.0,
            |k| format!("{k:.1} KiB"),
        )
        .profiled(MEMORY_PROFILE),
    );
    let fanout = run.get("playground", "fanout");
    let fan_n = fanout
        .and_then(|r| r.stage(Kind::Sse))
        .map_or(0, |s| s.clients);
    let mut f = at_most(
        format!("one event to {fan_n} SSE clients: p99 ≤ 200 ms (target: 10,000 clients)"),
        run.fanout_p99("playground"),
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
    v.push(f);
    v.push(at_least(
        "sustained deliveries ≥ 60,000 events/s".into(),
        run.get("playground", "sustained")
            .map(|r| r.deliveries_per_sec),
        60_000.0,
        |d| format!("{} /s", thousands(d)),
    ));
    v.push(
        at_least(
            "short polling, idle (204): ≥ 60,000 req/s".into(),
            run.poll_rps("playground"),
            60_000.0,
            |d| format!("{} req/s", thousands(d)),
        )
        .profiled(POLLING_PROFILE),
    );
    v.push(
        at_least(
            "traffic log on vs off (poll req/s): ≥ 0.9".into(),
            run.poll_rps("playground-traffic")
                .zip(run.poll_rps("playground"))
                .map(|(on, off)| on / off),
            0.9,
            |r| format!("{r:.2}×"),
        )
        .profiled(POLLING_PROFILE),
    );
    for (peer, name, poll_goal, fanout_goal) in PEER_TARGETS {
        v.push(
            at_least(
                format!("vs {name}: polling ≥ {poll_goal}×"),
                run.poll_rps("playground")
                    .zip(run.poll_rps(peer))
                    .map(|(ours, theirs)| ours / theirs),
                poll_goal,
                |r| format!("{r:.2}×"),
            )
            .profiled(POLLING_PROFILE),
        );
        v.push(at_most(
            format!("vs {name}: fan-out p99 ≤ {fanout_goal}×"),
            run.fanout_p99("playground")
                .zip(run.fanout_p99(peer))
                .map(|(ours, theirs)| ours / theirs),
            fanout_goal,
            |r| format!("{r:.2}×"),
        ));
    }
    v
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

/// One instance with its hub in memory vs the same with `--redis-url`
/// (issue 9): what sharing events through Redis costs.
fn memory_vs_redis(run: &Run) -> String {
    let (mem, redis) = ("playground", "playground-redis");
    let sustained = |srv| run.get(srv, "sustained").map(|r| r.deliveries_per_sec);
    let fan = |srv, p: fn(&loadgen::report::Delays) -> Option<f64>| {
        run.get(srv, "fanout")
            .and_then(|r| r.transport(Kind::Sse))
            .and_then(|t| p(&t.delay))
    };
    let rows: [(&str, Option<f64>, Option<f64>, usize); 6] = [
        (
            "Short polling, idle (req/s)",
            run.poll_rps(mem),
            run.poll_rps(redis),
            0,
        ),
        (
            "Fan-out to every SSE client, p50 (ms)",
            fan(mem, |d| d.p50_ms),
            fan(redis, |d| d.p50_ms),
            1,
        ),
        (
            "Fan-out to every SSE client, p99 (ms)",
            run.fanout_p99(mem),
            run.fanout_p99(redis),
            1,
        ),
        (
            "Sustained deliveries (/s)",
            sustained(mem),
            sustained(redis),
            0,
        ),
        (
            "Memory per idle SSE stream (KiB)",
            run.kib(mem, Kind::Sse),
            run.kib(redis, Kind::Sse),
            1,
        ),
        (
            "Memory per idle WebSocket (KiB)",
            run.kib(mem, Kind::Websocket),
            run.kib(redis, Kind::Websocket),
            1,
        ),
    ];
    let mut s = String::from(
        "\n### One instance: events in memory vs through Redis (same run, same generator)\n\n\
         | Measure | In memory | Redis (`--redis-url`) | Redis / memory |\n|---|---|---|---|\n",
    );
    for (label, m, r, digits) in rows {
        let show = |v: Option<f64>| {
            v.map_or("–".into(), |v| {
                if digits == 0 {
                    thousands(v)
                } else {
                    format!("{v:.digits$}")
                }
            })
        };
        let ratio = opt(m.zip(r).map(|(m, r)| r / m), 2);
        let _ = writeln!(s, "| {label} | {} | {} | {ratio}× |", show(m), show(r));
    }
    s
}

/// The markdown tables: targets, ratios, every server's numbers.
pub fn tables(run: &Run) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| Target | Measured | Result | Margin |\n|---|---|---|---|"
    );
    let verdicts = verdicts(run);
    for v in &verdicts {
        let result = match v.pass {
            Some(true) => "PASS",
            Some(false) => "**MISS**",
            None => "n/a",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {result} | {} |",
            v.target, v.measured, v.margin
        );
    }
    let missed: Vec<_> = verdicts.iter().filter(|v| v.pass == Some(false)).collect();
    if !missed.is_empty() {
        let _ = writeln!(
            s,
            "\nMissed, and what limits each (profiles next to this file):\n"
        );
        for v in missed {
            let why = v
                .profile
                .map_or("no profile recorded".into(), |f| format!("[{f}]({f})"));
            let _ = writeln!(s, "- {}: {} ({}) — {why}", v.target, v.measured, v.margin);
        }
    }
    let _ = writeln!(
        s,
        "\n### This server vs each peer (same run, same generator)\n\n\
         | Peer | Poll req/s: ours / theirs | Ratio | Fan-out p99 ms: ours / theirs | Ratio | \
         KiB per SSE: ours / theirs | KiB per WS: ours / theirs | Sustained deliveries/s: ours / theirs |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for (peer, name, _, _) in PEER_TARGETS {
        if !run.has(peer) {
            let _ = writeln!(s, "| {name} | not run | | | | | | |");
            continue;
        }
        let ratio = |a: Option<f64>, b: Option<f64>| opt(a.zip(b).map(|(a, b)| a / b), 2);
        let sustained = |srv| run.get(srv, "sustained").map(|r| r.deliveries_per_sec);
        let _ = writeln!(
            s,
            "| {name} | {} / {} | {}× | {} / {} | {}× | {} / {} | {} / {} | {} / {} |",
            run.poll_rps("playground").map_or("–".into(), thousands),
            run.poll_rps(peer).map_or("–".into(), thousands),
            ratio(run.poll_rps("playground"), run.poll_rps(peer)),
            opt(run.fanout_p99("playground"), 1),
            opt(run.fanout_p99(peer), 1),
            ratio(run.fanout_p99("playground"), run.fanout_p99(peer)),
            opt(run.kib("playground", Kind::Sse), 1),
            opt(run.kib(peer, Kind::Sse), 1),
            opt(run.kib("playground", Kind::Websocket), 1),
            opt(run.kib(peer, Kind::Websocket), 1),
            sustained("playground").map_or("–".into(), thousands),
            sustained(peer).map_or("–".into(), thousands),
        );
    }
    if run.has("playground-redis") {
        s.push_str(&memory_vs_redis(run));
    }
    let _ = writeln!(
        s,
        "\n### Every server\n\n\
         | Server | Connect: clients, s (p99 ms) | KiB/SSE | KiB/WS | Fan-out p50 / p99 / max ms | \
         Sustained: deliveries/s (SSE p99 ms; CPU) | Poll req/s (CPU) | Errors |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for server in SERVERS.into_iter().filter(|s| run.has(s)) {
        let connect = run.get(server, "connect").map_or("–".into(), |r| {
            let p99 = r.connect.iter().filter_map(|c| c.p99_ms).reduce(f64::max);
            let n: usize = r.connect.iter().map(|c| c.clients).sum();
            format!("{n} in {:.2} s ({})", r.connect_total_secs, opt(p99, 0))
        });
        let fan = run
            .get(server, "fanout")
            .and_then(|r| r.transport(Kind::Sse))
            .map_or("–".into(), |t| {
                format!(
                    "{} / {} / {}",
                    opt(t.delay.p50_ms, 1),
                    opt(t.delay.p99_ms, 1),
                    opt(t.delay.max_ms, 1)
                )
            });
        let sustained = run.get(server, "sustained").map_or("–".into(), |r| {
            let p99 = r.transport(Kind::Sse).and_then(|t| t.delay.p99_ms);
            format!(
                "{} ({}; {} / {} / {} %)",
                thousands(r.deliveries_per_sec),
                opt(p99, 1),
                opt(r.cpu.server_percent, 0),
                opt(r.cpu.generator_percent, 0),
                opt(r.cpu.machine_busy_percent, 0)
            )
        });
        let poll = run.get(server, "poll").map_or("–".into(), |r| {
            let rounds = run.poll_rounds(server);
            let each = if rounds.len() > 1 {
                let all: Vec<String> = rounds.iter().map(|v| thousands(*v)).collect();
                format!(", median of {}", all.join(" / "))
            } else {
                String::new()
            };
            format!(
                "{}{each} (round 1: {} / {} / {} %)",
                run.poll_rps(server).map_or("–".into(), thousands),
                opt(r.cpu.server_percent, 0),
                opt(r.cpu.generator_percent, 0),
                opt(r.cpu.machine_busy_percent, 0)
            )
        });
        let errors: u64 = run
            .reports
            .iter()
            .filter(|((s, _), _)| s == server)
            .map(|(_, r)| r.errors_total)
            .sum();
        let _ = writeln!(
            s,
            "| {server} | {connect} | {} | {} | {fan} | {sustained} | {poll} | {errors} |",
            opt(run.kib(server, Kind::Sse), 1),
            opt(run.kib(server, Kind::Websocket), 1),
        );
    }
    s
}

/// Prints the tables and writes the markdown record.
pub fn summarize(args: &SummaryArgs) -> Result<(), String> {
    let run = Run::load(&args.dir)?;
    let tables = tables(&run);
    println!("{tables}");
    let Some(out) = &args.out else {
        return Ok(());
    };
    let m = procfs::machine();
    let mut s = String::new();
    let kind = if args.quick {
        "QUICK run (`--quick`: fewer clients and shorter windows than the targets ask for; \
         the targets are judged on the smaller numbers, so treat PASS/MISS as indicative)"
    } else {
        "full run"
    };
    let _ = writeln!(s, "# Benchmarks: last recorded run\n");
    let _ = writeln!(
        s,
        "Written by `bench/run.sh` (load generator: `crates/loadgen/`, binary `loadgen`). Each server \
         runs alone on loopback, driven by the same generator in the same run; delays are \
         publish → received on the publisher's and the clients' shared clock; memory and CPU \
         come from `/proc/<pid>`. The generator runs on the same cores as the server.\n"
    );
    let _ = writeln!(s, "**This is a {kind}.**\n");
    let peers: Vec<&str> = PEER_TARGETS
        .iter()
        .filter(|(p, ..)| !run.has(p))
        .map(|(_, name, ..)| *name)
        .collect();
    if !peers.is_empty() {
        let _ = writeln!(
            s,
            "**Peers missing from this run: {}** — their comparisons are n/a.\n",
            peers.join(", ")
        );
    }
    let _ = writeln!(s, "## Run\n\n| | |\n|---|---|");
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let _ = writeln!(s, "| Date (UTC) | {date} |");
    let _ = writeln!(s, "| Command | `{}` |", args.command);
    if !args.commit.is_empty() {
        let _ = writeln!(s, "| Commit | `{}` |", args.commit);
    }
    for (label, key) in [
        ("CPU", "cpu"),
        ("Cores", "cores"),
        ("RAM (GiB)", "ram_gib"),
        ("Kernel", "kernel"),
        ("OS", "os"),
        ("Rust", "rustc"),
        ("Open files limit", "open_files_limit"),
        ("Load average at the end", "load_average"),
    ] {
        let v = match &m[key] {
            serde_json::Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        let _ = writeln!(s, "| {label} | {v} |");
    }
    let _ = writeln!(s, "\n## Targets\n\n{tables}");
    let _ = writeln!(s, "## Scenarios\n");
    let _ = writeln!(
        s,
        "| Server-scenario | Clients | Load | Window |\n|---|---|---|---|"
    );
    for ((server, scenario), r) in &run.reports {
        let sc = &r.scenario;
        let load = if sc.fanout_events > 0 {
            format!("{} events, {} ms apart", sc.fanout_events, sc.fanout_gap_ms)
        } else if sc.publishers > 0 && sc.rate > 0 {
            format!("{} publishers, {} events/s", sc.publishers, sc.rate)
        } else {
            "no publishing".into()
        };
        let every = if sc.poll_interval_ms == 0 {
            "as fast as answered".to_string()
        } else {
            format!("every {} ms", sc.poll_interval_ms)
        };
        let pollers = match sc.pollers {
            0 => "0 poll".to_string(),
            n => format!("{n} poll ({every})"),
        };
        let _ = writeln!(
            s,
            "| {server}-{scenario} | {} SSE, {} WS, {} long-poll, {pollers} | {load} | {:.1} s |",
            sc.sse, sc.websockets, sc.long_pollers, r.window_secs
        );
    }
    let overflows: u64 = run
        .reports
        .values()
        .flat_map(|r| &r.connect)
        .filter_map(|c| c.listen_overflows)
        .sum();
    let _ = writeln!(
        s,
        "\nPoll req/s is the median of the rounds listed (traffic log off and on in turn, each \
         on a fresh server). CPU columns are server / generator / whole machine: the first two in % of one core, \
         the last in % of all cores; a machine near 100 % means the number was bounded by the \
         cores the server and the generator share, not by either alone.\n"
    );
    let _ = writeln!(s, "## Notes\n");
    for note in &args.note {
        let _ = writeln!(s, "- {note}");
    }
    if overflows > 0 {
        let _ = writeln!(
            s,
            "- The kernel dropped {overflows} connection attempts while clients connected \
             (`ListenOverflows`: a listener's accept queue was full); each such client retried \
             after ~1 s, which shows in connect p99/max."
        );
    }
    // What the rest of the machine took while the throughput windows were measured.
    let cores = m["cores"].as_f64().unwrap_or(1.0).max(1.0);
    let others: Vec<String> = run
        .reports
        .iter()
        .filter(|((_, scenario), _)| scenario.starts_with("poll") || scenario == "sustained")
        .filter_map(|((server, scenario), r)| {
            let busy = r.cpu.machine_busy_percent?;
            let ours = r.cpu.server_percent.unwrap_or(0.0) + r.cpu.generator_percent.unwrap_or(0.0);
            let others = busy - ours / cores;
            (others > 10.0).then(|| format!("{server}-{scenario} {others:.0} %"))
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(
            s,
            "- Other processes on the machine took a share of all cores during throughput windows \
             (machine busy minus server and generator): {}. Those numbers are lower bounds of \
             what the server does on a quiet machine.",
            others.join(", ")
        );
    }
    let errors: Vec<String> = run
        .reports
        .iter()
        .filter(|(_, r)| r.errors_total > 0)
        .map(|((server, scenario), r)| {
            let kinds: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            format!("- {server}-{scenario}: {}", kinds.join(", "))
        })
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(s, "\n### Errors\n\n{}", errors.join("\n"));
    }
    std::fs::write(out, s).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("loadgen: recorded in {}", out.display());
    Ok(())
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
