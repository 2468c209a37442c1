//! What to run against which server, and the bounds every run must keep:
//! a scenario is checked before anything connects, so a typo cannot start
//! 200,000 clients or drive a server on another machine.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::procfs;

/// Longest run accepted (warm-up and measured window together).
pub const MAX_DURATION_SECS: u64 = 600;
/// Most clients of all kinds together.
pub const MAX_CLIENTS: usize = 20_000;
/// Most events per second the publishers may be asked for.
pub const MAX_RATE: u32 = 100_000;
/// Most publishers.
const MAX_PUBLISHERS: usize = 1000;
/// Connection attempts in flight at once, at most.
const MAX_CONNECT_CONCURRENCY: usize = 5000;
/// Longest topic name.
const MAX_TOPIC_LEN: usize = 64;

/// What to run against which server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scenario {
    /// Base URL of the server, e.g. `http://127.0.0.1:8080` (loopback only).
    pub url: String,
    /// The server's process id, for RSS and CPU from `/proc` (its children are counted too).
    pub pid: Option<u32>,
    /// Short pollers.
    pub pollers: usize,
    /// Milliseconds between two polls of one poller; 0 asks again at once
    /// (the poll-throughput mode).
    pub poll_interval_ms: u64,
    pub long_pollers: usize,
    pub sse: usize,
    pub websockets: usize,
    /// Publishers; they share `rate`.
    pub publishers: usize,
    /// Events per second, all publishers together.
    pub rate: u32,
    /// Length of the measured window.
    pub duration_secs: u64,
    /// Load before the measured window starts (not counted).
    pub warmup_secs: u64,
    /// Connection attempts in flight at once.
    pub connect_concurrency: usize,
    /// Topic every event is published on and every client follows.
    pub topic: String,
    /// Fan-out mode when > 0: after connecting, publish this many events one
    /// at a time (instead of the rate-based publishers) and measure each
    /// one's delay to every client.
    pub fanout_events: u32,
    /// Milliseconds between two fan-out events.
    pub fanout_gap_ms: u64,
    /// A name for the report (e.g. the server and scenario).
    pub label: String,
    /// Every client's `X-Learner` starts with this (the load lab's are not logged).
    #[serde(default = "default_learner_prefix")]
    pub learner_prefix: String,
    /// Pollers send neither `X-Learner` nor a cookie, as curl and most
    /// non-browser clients do: the server meets a new learner at every poll.
    #[serde(default)]
    pub anonymous_pollers: bool,
}

fn default_learner_prefix() -> String {
    "load-".into()
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            url: "http://127.0.0.1:8080".into(),
            pid: None,
            pollers: 0,
            poll_interval_ms: 1000,
            long_pollers: 0,
            sse: 0,
            websockets: 0,
            publishers: 1,
            rate: 10,
            duration_secs: 10,
            warmup_secs: 2,
            connect_concurrency: 256,
            topic: "load".into(),
            fanout_events: 0,
            fanout_gap_ms: 200,
            label: String::new(),
            learner_prefix: default_learner_prefix(),
            anonymous_pollers: false,
        }
    }
}

/// What kind of run a scenario is, as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A few events one at a time, each one's delay to every client.
    Fanout,
    /// Pollers asking as fast as the server answers.
    PollThroughput,
    /// Publishers at a rate, clients of any kind.
    Mixed,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Fanout => "fanout",
            Mode::PollThroughput => "poll-throughput",
            Mode::Mixed => "mixed",
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a scenario is refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("bad --url {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("--url must be http://, not {0}")]
    NotHttp(String),
    #[error(
        "{0} is not on this machine: the load generator only drives loopback servers \
         (127.0.0.1, ::1, localhost)"
    )]
    NotLoopback(String),
    #[error("{0} clients asked for; at most {MAX_CLIENTS}")]
    TooManyClients(usize),
    #[error("a {0} s run asked for; at most {MAX_DURATION_SECS} s")]
    TooLong(u64),
    #[error("--duration-secs must be at least 1")]
    NoWindow,
    #[error("{0} events/s asked for; at most {MAX_RATE}")]
    RateTooHigh(u32),
    #[error("at most {MAX_PUBLISHERS} publishers")]
    TooManyPublishers,
    #[error("--connect-concurrency must be 1 to {MAX_CONNECT_CONCURRENCY}")]
    ConnectConcurrency,
    #[error("--topic must be 1 to {MAX_TOPIC_LEN} characters")]
    Topic,
    #[error(
        "{clients} clients need about {needed} open files, the limit is {limit}: \
         raise it with `ulimit -n` or ask for fewer clients"
    )]
    OpenFiles {
        clients: usize,
        needed: u64,
        limit: u64,
    },
}

impl Scenario {
    pub fn clients(&self) -> usize {
        self.pollers + self.long_pollers + self.sse + self.websockets
    }

    /// What kind of run this is, for the report.
    pub fn mode(&self) -> Mode {
        if self.fanout_events > 0 {
            Mode::Fanout
        } else if self.pollers > 0 && self.poll_interval_ms == 0 {
            Mode::PollThroughput
        } else {
            Mode::Mixed
        }
    }

    /// Refuses what is unbounded, too big or not on this machine.
    pub fn check(&self) -> Result<(), ScenarioError> {
        loopback_base(&self.url)?;
        if self.clients() > MAX_CLIENTS {
            return Err(ScenarioError::TooManyClients(self.clients()));
        }
        let secs = if self.fanout_events > 0 {
            (u64::from(self.fanout_events) * self.fanout_gap_ms).div_ceil(1000)
        } else {
            self.duration_secs + self.warmup_secs
        };
        if secs > MAX_DURATION_SECS {
            return Err(ScenarioError::TooLong(secs));
        }
        if self.fanout_events == 0 && self.duration_secs == 0 {
            return Err(ScenarioError::NoWindow);
        }
        if self.rate > MAX_RATE {
            return Err(ScenarioError::RateTooHigh(self.rate));
        }
        if self.publishers > MAX_PUBLISHERS {
            return Err(ScenarioError::TooManyPublishers);
        }
        if !(1..=MAX_CONNECT_CONCURRENCY).contains(&self.connect_concurrency) {
            return Err(ScenarioError::ConnectConcurrency);
        }
        if self.topic.is_empty() || self.topic.len() > MAX_TOPIC_LEN {
            return Err(ScenarioError::Topic);
        }
        // Every client holds a socket; leave room for publishers and the runtime.
        let needed = (self.clients() + self.publishers + 64) as u64;
        if let Some(limit) = procfs::open_files_limit()
            && needed > limit
        {
            return Err(ScenarioError::OpenFiles {
                clients: self.clients(),
                needed,
                limit,
            });
        }
        Ok(())
    }
}

/// `http://host:port` of a loopback URL and its `host:port`, or why it is refused.
pub fn loopback_base(url: &str) -> Result<(String, String), ScenarioError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| ScenarioError::BadUrl {
        url: url.into(),
        reason: e.to_string(),
    })?;
    if parsed.scheme() != "http" {
        return Err(ScenarioError::NotHttp(parsed.scheme().into()));
    }
    let host = parsed.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(ScenarioError::NotLoopback(url.into()));
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let authority = if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok((format!("http://{authority}"), authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_driven() {
        assert!(loopback_base("http://127.0.0.1:8080").is_ok());
        assert!(loopback_base("http://localhost:3000/").is_ok());
        assert_eq!(loopback_base("http://[::1]:9000").unwrap().1, "[::1]:9000");
        assert!(loopback_base("http://10.0.0.1:8080").is_err());
        assert!(loopback_base("http://example.com").is_err());
        assert!(loopback_base("https://127.0.0.1").is_err());
    }

    #[test]
    fn runs_are_bounded() {
        let ok = Scenario {
            sse: 10,
            ..Scenario::default()
        };
        assert!(ok.check().is_ok());
        let too_many = Scenario {
            sse: 15_000,
            websockets: 9_000,
            ..Scenario::default()
        };
        assert!(too_many.check().is_err());
        let too_long = Scenario {
            duration_secs: 600,
            warmup_secs: 5,
            ..Scenario::default()
        };
        assert!(too_long.check().is_err());
    }
}
