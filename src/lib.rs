//! realtime-playground: learn polling, long-polling, Server-Sent Events and
//! WebSockets by using all four against the same live stream of updates.
//!
//! A map of the crate, in layers: each one imports only from those above it
//! in this list (`tests/it/layering.rs` checks it).
//!
//! **Core**, what every layer shares:
//! - [`hub`] numbers every event, keeps a bounded replay buffer and fans
//!   events out to live subscribers; gaps are reported, never skipped.
//! - [`backplane`] is where publishing goes: straight into this process's
//!   hub (the default), or with `--redis-url` through a Redis stream that
//!   numbers events for every instance ([`backplane::redis`]); chat and
//!   presence cross instances the same way.
//! - [`feed`] runs the built-in publishers (`ticker`, `notifications`);
//!   [`chat`] is the chat room (a separate, bounded broadcast).
//! - [`limits`] caps how fast a learner, an address, a socket and the server
//!   may publish; [`connections`] counts open long-lived connections, caps
//!   them per address, and tells a handler when its client hung up.
//! - [`problem`] turns every error into an RFC 9457 problem document (every
//!   layer answers with it); [`text`] is the string type request bodies use;
//!   [`origin`] is the one same-origin rule; [`learner_table`] bounds every
//!   per-learner store by count, client address and idle time.
//! - [`config`] lists every tunable; [`shutdown`] is the one signal
//!   long-lived work watches; [`memory`] gives free pages back to the OS.
//!
//! **Traffic**: [`traffic`] measures every learner's requests, frames and
//! events and tells them as sentences; transports report to it through a
//! `Tap`. [`drops`] lets a learner make the server cut their own connections.
//!
//! **Transports**: [`transports`] holds one file per way of getting updates
//! (polling, long-polling, SSE, WebSocket); each reads from the hub through a
//! small context and knows nothing of the others or of the features above.
//!
//! **Features**: [`lab`] races one feed over all four transports with real
//! clients (the seed's comparison table, measured), runs load tests, reconnect
//! storms, two instances over Redis, and the fault switches (which reach the
//! transports through a middleware and the transports' `FaultSource` seam);
//! [`grader`] is "Grade my server". The load generator behind `loadgen`,
//! `bench/run.sh` and the load lab is the workspace crate `loadgen`
//! (`crates/loadgen/`): this crate uses it, never the reverse.
//!
//! **Lessons**: [`lessons`] loads the markdown lessons, renders them, and
//! judges each step's checks against the learner's traffic. [`storage`] keeps
//! lesson progress and challenge best scores in a file (redb).
//!
//! **App**: [`app`] builds the shared state, wires every route, serves the
//! frontend and runs the network edge (hosts, origins, timeouts, sockets).

pub mod app;
pub mod backplane;
pub mod chat;
pub mod config;
pub mod connections;
pub mod drops;
pub mod feed;
pub mod grader;
pub mod hub;
pub mod lab;
pub mod learner_table;
pub mod lessons;
pub mod limits;
pub mod memory;
pub mod origin;
pub mod problem;
pub mod shutdown;
pub mod storage;
pub mod text;
pub mod traffic;
pub mod transports;

pub use app::server::{BoundServer, bind};
pub use app::startup::StartupError;
pub use config::Config;
