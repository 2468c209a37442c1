//! The markdown tables of a bench run: the targets, this server against
//! each peer, in memory against Redis, and every server's own numbers.

use std::fmt::Write as _;

use loadgen::{Delays, Kind};

use super::bench_run::{BenchRun, OURS};
use super::format::{opt, opt_thousands, thousands};
use super::per_core;
use super::targets::{PEERS, Peer, Verdict, verdicts};

/// Servers in the order they are reported; the first is ours.
const SERVERS: [&str; 5] = [
    OURS,
    "playground-traffic",
    "playground-redis",
    "node",
    "fastapi",
];

/// The markdown tables: targets, ratios, every server's numbers.
pub fn tables(run: &BenchRun) -> String {
    let mut s = String::new();
    targets(&mut s, &verdicts(run));
    if per_core::ran(run) {
        let _ = writeln!(s, "\n### Per-core targets (issue 19)\n");
        targets(&mut s, &per_core::verdicts(run));
        per_core::section(&mut s, run);
    }
    let _ = writeln!(
        s,
        "\n### This server vs each peer (same run, same generator)\n\n\
         | Peer | Poll req/s: ours / theirs | Ratio | Fan-out p99 ms: ours / theirs | Ratio | \
         KiB per SSE: ours / theirs | KiB per WS: ours / theirs | Sustained deliveries/s: ours / theirs |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for peer in &PEERS {
        s.push_str(&peer_row(run, peer));
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
        s.push_str(&server_row(run, server));
    }
    s
}

/// Each target's verdict, then what limits each missed one.
fn targets(s: &mut String, verdicts: &[Verdict]) {
    let _ = writeln!(
        s,
        "| Target | Measured | Result | Margin |\n|---|---|---|---|"
    );
    for v in verdicts {
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
}

/// Ours against `peer`, measure by measure.
fn peer_row(run: &BenchRun, peer: &Peer) -> String {
    let (id, name) = (peer.id, peer.name);
    if !run.has(id) {
        return format!("| {name} | not run | | | | | | |\n");
    }
    let ratio = |a: Option<f64>, b: Option<f64>| opt(a.zip(b).map(|(a, b)| a / b), 2);
    format!(
        "| {name} | {} / {} | {}× | {} / {} | {}× | {} / {} | {} / {} | {} / {} |\n",
        opt_thousands(run.poll_rps(OURS)),
        opt_thousands(run.poll_rps(id)),
        ratio(run.poll_rps(OURS), run.poll_rps(id)),
        opt(run.fanout_p99(OURS), 1),
        opt(run.fanout_p99(id), 1),
        ratio(run.fanout_p99(OURS), run.fanout_p99(id)),
        opt(run.kib(OURS, Kind::Sse), 1),
        opt(run.kib(id, Kind::Sse), 1),
        opt(run.kib(OURS, Kind::Websocket), 1),
        opt(run.kib(id, Kind::Websocket), 1),
        opt_thousands(run.sustained(OURS)),
        opt_thousands(run.sustained(id)),
    )
}

/// One server's row of the "every server" table.
fn server_row(run: &BenchRun, server: &str) -> String {
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
            opt_thousands(run.poll_rps(server)),
            opt(r.cpu.server_percent, 0),
            opt(r.cpu.generator_percent, 0),
            opt(r.cpu.machine_busy_percent, 0)
        )
    });
    format!(
        "| {server} | {connect} | {} | {} | {fan} | {sustained} | {poll} | {} |\n",
        opt(run.kib(server, Kind::Sse), 1),
        opt(run.kib(server, Kind::Websocket), 1),
        run.errors(server),
    )
}

/// One instance with its hub in memory vs the same with `--redis-url`
/// (issue 9): what sharing events through Redis costs.
fn memory_vs_redis(run: &BenchRun) -> String {
    let (mem, redis) = (OURS, "playground-redis");
    let fan = |srv, p: fn(&Delays) -> Option<f64>| {
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
            run.sustained(mem),
            run.sustained(redis),
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
            if digits == 0 {
                opt_thousands(v)
            } else {
                opt(v, digits)
            }
        };
        let ratio = opt(m.zip(r).map(|(m, r)| r / m), 2);
        let _ = writeln!(s, "| {label} | {} | {} | {ratio}× |", show(m), show(r));
    }
    s
}
