//! `bench/RESULTS.md`: the tables with what a reader needs to trust them —
//! the machine, the command and commit, each scenario's load, and notes on
//! whatever may have bounded the numbers (dropped connections, other busy
//! processes, errors).

use std::fmt::Write as _;

use loadgen::procfs;

use super::SummaryArgs;
use super::bench_run::BenchRun;
use super::targets::PEERS;

/// The whole record, around the `tables` already printed.
pub fn record(args: &SummaryArgs, run: &BenchRun, tables: &str) -> String {
    let machine = procfs::machine();
    let mut s = String::new();
    header(&mut s, args, run);
    run_table(&mut s, args, &machine);
    let _ = writeln!(s, "\n## Targets\n\n{tables}");
    super::tls::section(&mut s, &super::tls::load(&args.dir));
    scenarios(&mut s, run);
    let _ = writeln!(
        s,
        "\nPoll req/s is the median of the rounds listed (traffic log off and on in turn, each \
         on a fresh server). CPU columns are server / generator / whole machine: the first two in % of one core, \
         the last in % of all cores; a machine near 100 % means the number was bounded by the \
         cores the server and the generator share, not by either alone.\n"
    );
    notes(&mut s, args, run, &machine);
    s
}

/// Title, how the numbers were taken, and whether the run is complete.
fn header(s: &mut String, args: &SummaryArgs, run: &BenchRun) {
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
    let missing: Vec<&str> = PEERS
        .iter()
        .filter(|p| !run.has(p.id))
        .map(|p| p.name)
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            s,
            "**Peers missing from this run: {}** — their comparisons are n/a.\n",
            missing.join(", ")
        );
    }
}

/// When, from what, on which machine.
fn run_table(s: &mut String, args: &SummaryArgs, machine: &serde_json::Value) {
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
        let v = match &machine[key] {
            serde_json::Value::String(v) => v.clone(),
            v => v.to_string(),
        };
        let _ = writeln!(s, "| {label} | {v} |");
    }
}

/// Each server-scenario's clients, load and window.
fn scenarios(s: &mut String, run: &BenchRun) {
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
}

/// The given notes, then what may have bounded the numbers, then the errors.
fn notes(s: &mut String, args: &SummaryArgs, run: &BenchRun, machine: &serde_json::Value) {
    let _ = writeln!(s, "## Notes\n");
    for note in &args.note {
        let _ = writeln!(s, "- {note}");
    }
    let overflows: u64 = run
        .reports
        .values()
        .flat_map(|r| &r.connect)
        .filter_map(|c| c.listen_overflows)
        .sum();
    if overflows > 0 {
        let _ = writeln!(
            s,
            "- The kernel dropped {overflows} connection attempts while clients connected \
             (`ListenOverflows`: a listener's accept queue was full); each such client retried \
             after ~1 s, which shows in connect p99/max."
        );
    }
    let others = other_processes(run, machine["cores"].as_f64().unwrap_or(1.0).max(1.0));
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
}

/// What the rest of the machine took while the throughput windows were
/// measured, where it was more than 10 % of all `cores`.
fn other_processes(run: &BenchRun, cores: f64) -> Vec<String> {
    run.reports
        .iter()
        .filter(|((_, scenario), _)| scenario.starts_with("poll") || scenario == "sustained")
        .filter_map(|((server, scenario), r)| {
            let busy = r.cpu.machine_busy_percent?;
            let ours = r.cpu.server_percent.unwrap_or(0.0) + r.cpu.generator_percent.unwrap_or(0.0);
            let others = busy - ours / cores;
            (others > 10.0).then(|| format!("{server}-{scenario} {others:.0} %"))
        })
        .collect()
}
