//! A bench run, summed up: the targets of issue 8 with the measured value,
//! PASS or MISS and by how much, the ratio of this server to each peer, and
//! `bench/RESULTS.md` with the machine it ran on.
//!
//! `bench/run.sh` saves one JSON [`loadgen::Report`] per server and scenario
//! as `<server>-<scenario>.json` in one directory; servers are `playground`,
//! `playground-traffic` (the traffic log on), `playground-redis`, `node` and
//! `fastapi`; scenarios are `connect`, `fanout`, `sustained` and `poll`.
//! The per-core comparison (issue 19, `per_core`) adds `core-<server>-…`
//! reports and the 50,000-connection run. Whatever is missing is reported as
//! missing, never guessed.
//!
//! Only the `loadgen` binary has this: the server's binary runs scenarios
//! (`realtime-playground loadgen …`) but never writes a bench record.

mod bench_run;
mod format;
mod per_core;
mod record;
mod tables;
mod targets;
mod tls;

use std::path::PathBuf;

use bench_run::BenchRun;

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

/// Why a bench run could not be summed up.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("{}: {source}", dir.display())]
    ReadDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("{}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Prints the tables and writes the markdown record.
pub fn summarize(args: &SummaryArgs) -> Result<(), SummaryError> {
    let run = BenchRun::load(&args.dir)?;
    let tables = tables::tables(&run);
    println!("{tables}");
    let Some(out) = &args.out else {
        return Ok(());
    };
    let record = record::record(args, &run, &tables);
    std::fs::write(out, record).map_err(|source| SummaryError::Write {
        path: out.clone(),
        source,
    })?;
    eprintln!("loadgen: recorded in {}", out.display());
    Ok(())
}
