//! The reports of one bench run, by server and scenario, read from the
//! `<server>-<scenario>.json` files `bench/run.sh` saved, and the numbers
//! the targets and tables take from them.

use std::collections::BTreeMap;
use std::path::Path;

use loadgen::{Kind, Report};

use super::SummaryError;

/// The server every target is about; the others are compared with it.
pub const OURS: &str = "playground";

/// All reports of one run, by server and scenario.
pub struct BenchRun {
    pub reports: BTreeMap<(String, String), Report>,
}

impl BenchRun {
    pub fn load(dir: &Path) -> Result<BenchRun, SummaryError> {
        let mut reports = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|source| SummaryError::ReadDir {
            dir: dir.into(),
            source,
        })?;
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
            let text = std::fs::read_to_string(&path)?;
            let report: Report =
                serde_json::from_str(&text).map_err(|source| SummaryError::Parse {
                    path: path.clone(),
                    source,
                })?;
            reports.insert((server.to_owned(), scenario.to_owned()), report);
        }
        Ok(BenchRun { reports })
    }

    pub fn get(&self, server: &str, scenario: &str) -> Option<&Report> {
        self.reports.get(&(server.to_owned(), scenario.to_owned()))
    }

    pub fn has(&self, server: &str) -> bool {
        self.reports.keys().any(|(s, _)| s == server)
    }

    /// Median over the poll rounds (`poll`, `poll2`, …) of `server`.
    pub fn poll_rps(&self, server: &str) -> Option<f64> {
        let mut v: Vec<f64> = self.poll_rounds(server);
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    pub fn poll_rounds(&self, server: &str) -> Vec<f64> {
        self.reports
            .iter()
            .filter(|((s, scenario), _)| s == server && scenario.starts_with("poll"))
            .filter_map(|(_, r)| r.poll_requests_per_sec())
            .collect()
    }

    pub fn fanout_p99(&self, server: &str) -> Option<f64> {
        self.get(server, "fanout")?.stream_p99_ms()
    }

    pub fn kib(&self, server: &str, kind: Kind) -> Option<f64> {
        self.get(server, "connect")?.stage(kind)?.kib_per_connection
    }

    pub fn sustained(&self, server: &str) -> Option<f64> {
        self.get(server, "sustained").map(|r| r.deliveries_per_sec)
    }

    /// Errors over all of `server`'s scenarios.
    pub fn errors(&self, server: &str) -> u64 {
        self.reports
            .iter()
            .filter(|((s, _), _)| s == server)
            .map(|(_, r)| r.errors_total)
            .sum()
    }
}
