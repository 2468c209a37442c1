//! The server's memory and CPU, read from `/proc` (Linux only; elsewhere
//! every reading is `None` and the report says so).
//!
//! A server may be a wrapper around workers (`npm start`, a Python
//! supervisor), so a reading adds up the process and all its descendants.

use std::collections::HashMap;

/// A process tree, by the pid of its root.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pub pid: u32,
    ticks_per_sec: f64,
}

impl Process {
    pub fn new(pid: u32) -> Process {
        Process {
            pid,
            ticks_per_sec: clock_ticks_per_sec(),
        }
    }

    /// Resident memory of the tree, in KiB (`VmRSS`).
    pub fn rss_kb(&self) -> Option<u64> {
        let pids = tree(self.pid);
        let total = pids.iter().filter_map(|p| rss_kb(*p)).sum();
        (!pids.is_empty() && rss_kb(self.pid).is_some()).then_some(total)
    }

    /// CPU time used so far by the tree (user + system), in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_ticks(self.pid)?;
        let ticks: u64 = tree(self.pid).iter().filter_map(|p| cpu_ticks(*p)).sum();
        Some(ticks as f64 / self.ticks_per_sec)
    }
}

/// `VmRSS` of one process, in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after the command name (which is in
/// parentheses and may hold spaces): index 0 is the state, 1 the parent.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of one process, in clock ticks (fields 14 and 15 of the line).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// `pid` and all its descendants that are alive now.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(p) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(parent) = stat_fields(p).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                children.entry(parent).or_default().push(p);
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids);
        }
        i += 1;
    }
    out
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on every common Linux).
pub fn clock_ticks_per_sec() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU use of the server, of this process (the generator) and of the whole
/// machine at one moment; two of them give shares over the time between.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    at: std::time::Instant,
    server_secs: Option<f64>,
    generator_secs: Option<f64>,
    /// (busy, total) clock ticks over all cores, from `/proc/stat`.
    machine: Option<(u64, u64)>,
}

/// CPU shares between two snapshots; 100 % is one core, except `machine_busy`
/// which is a share of all cores.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct CpuUse {
    pub server_secs: Option<f64>,
    pub server_percent: Option<f64>,
    pub generator_percent: Option<f64>,
    pub machine_busy_percent: Option<f64>,
}

impl CpuSnapshot {
    pub fn take(server: Option<&Process>) -> CpuSnapshot {
        CpuSnapshot {
            at: std::time::Instant::now(),
            server_secs: server.and_then(Process::cpu_secs),
            generator_secs: Process::new(std::process::id()).cpu_secs(),
            machine: machine_ticks(),
        }
    }

    /// What was used from `self` to `later`.
    pub fn until(&self, later: &CpuSnapshot) -> CpuUse {
        let secs = (later.at - self.at).as_secs_f64().max(1e-9);
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let server = self.server_secs.zip(later.server_secs).map(|(a, b)| b - a);
        CpuUse {
            server_secs: server.map(|s| (s * 100.0).round() / 100.0),
            server_percent: server.map(|s| round(s / secs * 100.0)),
            generator_percent: self
                .generator_secs
                .zip(later.generator_secs)
                .map(|(a, b)| round((b - a) / secs * 100.0)),
            machine_busy_percent: self.machine.zip(later.machine).and_then(|(a, b)| {
                let total = b.1.checked_sub(a.1).filter(|t| *t > 0)?;
                Some(round(b.0.saturating_sub(a.0) as f64 / total as f64 * 100.0))
            }),
        }
    }
}

/// (busy, total) ticks of all cores: busy is everything but idle and iowait.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Connections the kernel dropped because a listener's accept queue was
/// full (`TcpExt: ListenOverflows`, whole machine). A client whose SYN is
/// dropped retries after a second, which shows as 1 s connect outliers.
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let i = names
        .split_whitespace()
        .position(|n| n == "ListenOverflows")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// This process's soft limit on open files.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The machine, for the record: CPU model, cores, RAM, kernel, OS, rustc.
pub fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let ram_kb: u64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let run = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    serde_json::json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "ram_gib": (ram_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": format!("{} {}", run("uname", &["-s", "-r"]), run("uname", &["-m"])),
        "os": read("/etc/os-release").lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .unwrap_or("").trim_matches('"'),
        "rustc": run("rustc", &["--version"]),
        "open_files_limit": open_files_limit(),
        "load_average": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_read() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let me = Process::new(std::process::id());
        assert!(me.rss_kb().unwrap() > 0);
        assert!(me.cpu_secs().is_some());
        assert!(tree(std::process::id()).contains(&std::process::id()));
        assert!(open_files_limit().unwrap() > 0);
    }
}
