//! realtime-playground: learn polling, long-polling, Server-Sent Events and
//! WebSockets by using all four against the same live stream of updates.
//!
//! A map of the crate, in the order a request meets it:
//!
//! - [`server`] binds the socket, assembles the routes and runs until shutdown.
//! - [`api`] is the OpenAPI surface that is not a transport: publishing
//!   events, controlling the built-in feeds, server status.
//! - [`transports`] holds one file per way of getting updates: short polling,
//!   long-polling, Server-Sent Events and WebSockets. Each reads from the hub
//!   and knows nothing of the others.
//! - [`hub`] numbers every event, keeps a bounded replay buffer and fans
//!   events out to live subscribers; gaps are reported, never skipped.
//! - [`backplane`] is where publishing goes: straight into this process's
//!   hub (the default), or with `--redis-url` through a Redis stream that
//!   numbers events for every instance, each mirroring it into its own hub
//!   ([`backplane::redis`]); chat and presence cross instances the same way.
//! - [`traffic`] measures every learner's requests, frames and events and
//!   tells them as sentences; transports report to it through a `Tap`.
//! - [`lessons`] loads the markdown lessons, renders them, and judges each
//!   step's checks against the learner's traffic.
//! - [`lab`] races one feed over all four transports with real clients and
//!   measures each lane (the seed's comparison table, measured); it also runs
//!   bounded load tests (load lab), reconnect storms, and two instances over
//!   Redis (cluster lab). Its fault switches and actions reach the transports
//!   through a middleware in front of them and a valve in every open stream.
//! - [`cluster_progress`] (app-layer glue) lets lessons count what the
//!   cluster lab's instances saw, so neither imports the other.
//! - [`grader`] is "Grade my server": a bounded client of the learner's own
//!   SSE or WebSocket server that answers with a report card.
//! - [`drops`] lets a learner make the server cut their own connections.
//! - [`feed`] runs the built-in publishers (`ticker`, `notifications`).
//! - [`chat`] is the WebSocket chat room (a separate, bounded broadcast).
//! - [`load`] is the load generator behind `loadgen` and `bench/run.sh`:
//!   many real clients of every transport, measured from the outside.
//! - [`memory`] gives the allocator's free pages back after the load lab's bursts.
//! - [`limits`] caps how fast a learner, an address, a socket and the server
//!   may publish, and
//!   [`connections`] counts open long-lived connections and caps them per address.
//! - [`hosts`] answers only to the names this server was given (DNS
//!   rebinding), before any route runs.
//! - [`security`] keeps other sites out (Origin checks) and sends the
//!   security headers (CSP without inline scripts, nosniff, referrer policy);
//!   [`cors`] lets the origins of `--allowed-origins` read answers.
//! - [`problem`] turns every error into an RFC 9457 problem document.
//! - [`frontend`] serves the embedded web UI from `frontend/`;
//!   [`swagger_page`] is Swagger UI's page with its accessibility fixes.
//! - [`serve`] is the accept loop: HTTP/1.1 by hyper, requests answered by the app;
//!   [`request_span`] gives each request a tracing span only when it is recorded.
//!   [`idle`] closes connections that send no request in time.
//! - [`sockets`] frees connections whose client stopped reading or hung up,
//!   and refuses an address's sockets beyond its cap.
//! - [`shutdown`] is the one signal long-lived work watches to wrap up.
//! - [`storage`] keeps lesson progress and challenge best scores in a file
//!   (redb) so they survive a restart; `--ephemeral` keeps nothing.
//! - [`config`] lists every tunable, as flags and environment variables.

pub mod api;
pub mod backplane;
pub mod body_limit;
pub mod chat;
pub mod cluster_progress;
pub mod config;
pub mod connections;
pub mod cors;
pub mod drops;
pub mod feed;
pub mod frontend;
pub mod grader;
pub mod hosts;
pub mod hub;
pub mod idle;
pub mod lab;
pub mod lessons;
pub mod limits;
pub mod load;
pub mod memory;
pub mod openapi;
pub mod problem;
pub mod request_span;
pub mod security;
pub mod serve;
pub mod server;
pub mod shutdown;
pub mod sockets;
pub mod state;
pub mod storage;
pub mod swagger_page;
pub mod traffic;
pub mod transports;

pub use config::Config;
pub use server::{BoundServer, bind};
