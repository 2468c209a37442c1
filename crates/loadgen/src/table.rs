//! A run's [`Report`] as the plain-text table `loadgen` prints: how each
//! kind connected, what the window published and delivered, the server's
//! memory and CPU, and the errors.

use std::fmt::Write as _;

use crate::procfs::CpuUse;
use crate::report::Report;

impl Report {
    /// The report as a plain-text table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== {} ({}) against {} ==",
            if self.label.is_empty() {
                "load"
            } else {
                &self.label
            },
            self.mode,
            self.scenario.url
        );
        if !self.connect.is_empty() {
            self.connect_table(&mut s);
        }
        let _ = writeln!(
            s,
            "\nwindow {:.1} s: published {} ({:.1}/s, POST p50 {} ms, p99 {} ms)",
            self.window_secs,
            self.published,
            self.published_per_sec,
            two(self.publish_latency.p50_ms),
            two(self.publish_latency.p99_ms)
        );
        self.transport_table(&mut s);
        self.server_lines(&mut s);
        self.error_lines(&mut s);
        s
    }

    /// One line per kind of client: how it connected, what it cost.
    fn connect_table(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\n{:<10} {:>7} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "connect",
            "clients",
            "connected",
            "failed",
            "total s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "KiB/conn"
        );
        for c in &self.connect {
            let _ = writeln!(
                s,
                "{:<10} {:>7} {:>9} {:>6} {:>9.3} {:>9} {:>9} {:>9} {:>10} {:>16}",
                c.kind.name(),
                c.clients,
                c.connected,
                c.failed,
                c.total_secs,
                two(c.p50_ms),
                two(c.p99_ms),
                two(c.max_ms),
                two(c.kib_per_connection),
                cpu_shares(&c.cpu)
            );
        }
        let _ = writeln!(
            s,
            "all connected in {:.3} s, {} failed",
            self.connect_total_secs, self.connect_failed
        );
        let dropped: u64 = self.connect.iter().filter_map(|c| c.listen_overflows).sum();
        if dropped > 0 {
            let _ = writeln!(
                s,
                "the kernel dropped {dropped} connection attempts meanwhile (accept queue full; \
                 each retried after ~1 s)"
            );
        }
    }

    /// One line per kind of client: what it received in the window.
    fn transport_table(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\n{:<10} {:>7} {:>10} {:>11} {:>9} {:>9} {:>9} {:>10} {:>7}",
            "transport",
            "clients",
            "received",
            "recv/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "req/s",
            "empty"
        );
        for t in &self.transports {
            let _ = writeln!(
                s,
                "{:<10} {:>7} {:>10} {:>11.1} {:>9} {:>9} {:>9} {:>10} {:>7}",
                t.kind.name(),
                t.clients,
                t.deliveries,
                t.deliveries_per_sec,
                two(t.delay.p50_ms),
                two(t.delay.p99_ms),
                two(t.delay.max_ms),
                if t.requests > 0 {
                    format!("{:.1}", t.requests_per_sec)
                } else {
                    "-".into()
                },
                t.empty_share
                    .map_or("-".into(), |e| format!("{:.1}%", e * 100.0))
            );
        }
        let _ = writeln!(
            s,
            "all: {} received, {:.1}/s",
            self.deliveries, self.deliveries_per_sec
        );
        if let (Some(expected), Some(missing)) = (self.expected_deliveries, self.missing_deliveries)
        {
            let _ = writeln!(s, "fan-out: {expected} expected, {missing} missing");
        }
    }

    /// The server's memory over the run, and the CPU in the window.
    fn server_lines(&self, s: &mut String) {
        if let Some(srv) = &self.server {
            let mib =
                |kb: Option<u64>| kb.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
            let _ = writeln!(
                s,
                "\nserver pid {}: RSS {} MiB at start, {} connected, {} at end",
                srv.pid,
                mib(srv.rss_kb_start),
                mib(srv.rss_kb_connected),
                mib(srv.rss_kb_end),
            );
        }
        let _ = writeln!(
            s,
            "CPU in the window: server {} s = {} %, generator {} %, machine {} % busy (of all cores)",
            two(self.cpu.server_secs),
            pct(self.cpu.server_percent),
            pct(self.cpu.generator_percent),
            pct(self.cpu.machine_busy_percent)
        );
    }

    fn error_lines(&self, s: &mut String) {
        if self.errors.is_empty() {
            let _ = writeln!(s, "\nerrors: 0");
            return;
        }
        let _ = writeln!(s, "\nerrors: {}", self.errors_total);
        for (kind, n) in &self.errors {
            let _ = writeln!(s, "  {n:>7}  {kind}");
        }
        for e in &self.error_samples {
            let _ = writeln!(s, "  e.g. {e}");
        }
    }
}

/// Two decimals, or `-` when not measured.
fn two(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:.0}"))
}

/// `server/generator/machine` CPU, in %.
fn cpu_shares(c: &CpuUse) -> String {
    format!(
        "{}/{}/{}%",
        pct(c.server_percent),
        pct(c.generator_percent),
        pct(c.machine_busy_percent)
    )
}
