//! The load generator: many real clients of every transport against one
//! server, measured from the outside.
//!
//! Why a crate of its own: the numbers the README promises (how many
//! connections, how fast one event reaches all of them, how many polls a
//! second) must be measured the same way against this server and against
//! its peers written in other languages, by `bench/run.sh` through the
//! `loadgen` binary, and, bounded, from the browser in the load lab (which
//! runs `realtime-playground loadgen …`). So the core is one
//! `async fn run(Scenario) -> Report` that speaks only the HTTP contract
//! every peer implements (`POST /api/events`, `/api/poll`,
//! `/api/long-poll`, `/api/sse`, `/api/ws`) and knows nothing of the
//! server's internals: the server crate depends on this one, never the
//! other way.
//!
//! A map, in the order a run meets it:
//!
//! - [`scenario`]: what to run against which server, and the bounds every
//!   run keeps (loopback only, bounded in time and count).
//! - [`run`](mod@run): connect every client kind by kind, open the measured
//!   window, stop everybody, report.
//! - One file per client: [`sse`], [`websocket`], [`long_poll`], [`poll`]
//!   (the last two over [`http1`]'s keep-alive connection), and the
//!   [`publisher`]s, which stamp each event with the clock `clock` reads
//!   back at every client; `dial` spreads the clients over loopback
//!   source addresses.
//! - `shared` holds what the client tasks count, [`histogram`] their
//!   delays; [`report`] is what a run measured (saved as JSON) and `table`
//!   prints it; [`procfs`] reads the server's memory and CPU from `/proc`.
//! - [`cli`] is the command line's run, the same in the `loadgen` binary and
//!   in `realtime-playground loadgen …`. The binary alone adds `summarize`,
//!   the bench report writer (targets, ratios, `bench/RESULTS.md`).

pub mod cli;
mod clock;
mod dial;
pub mod histogram;
pub mod http1;
pub mod kind;
pub mod long_poll;
mod percentile;
pub mod poll;
pub mod procfs;
pub mod publisher;
pub mod report;
pub mod run;
pub mod scenario;
mod shared;
pub mod sse;
mod table;
pub mod websocket;

pub use clock::{now_us, sent_us_values};
pub use dial::dial_loopback;
pub use histogram::{Delays, Histogram};
pub use http1::X_LEARNER;
pub use kind::Kind;
pub use percentile::percentile;
pub use report::Report;
pub use run::{RunError, run};
pub use scenario::{
    MAX_CLIENTS, MAX_DURATION_SECS, MAX_RATE, Mode, Scenario, ScenarioError, loopback_base,
};
