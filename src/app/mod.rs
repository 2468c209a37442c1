//! The app layer: the only place that knows every feature at once. It builds
//! the shared state ([`state`]), lists the routes and the OpenAPI service
//! ([`server`]), and runs the network edge around them.
//!
//! Everything below it (core, transports, traffic, lab, lessons, grader)
//! receives narrow parts of the state and never imports `app`; the layering
//! test (`tests/it/layering.rs`) keeps it that way.
//!
//! - [`server`] binds the socket, assembles the routes and runs until shutdown;
//!   [`state`] builds what the endpoints share; [`startup`] says why either
//!   failed.
//! - [`api`] is the OpenAPI surface that is neither a transport nor a lab:
//!   publishing, feeds, status, chat over HTTP, dropping one's connections,
//!   the traffic log.
//! - [`accept_loop`] is the accept loop (HTTP/1.1 by hyper; with `--tls`,
//!   HTTP/2 or HTTP/1.1 by ALPN, the certificate from [`tls`], clear text on
//!   a TLS port redirected by [`plain_on_tls`]); [`sockets`] frees
//!   connections whose client stopped reading and caps sockets per address;
//!   [`idle`] closes connections that send no request in time.
//! - [`hosts`] answers only to the names this server was given (DNS
//!   rebinding); [`security`] keeps other sites out and sends the security
//!   headers; [`cors`] lets `--allowed-origins` read answers;
//!   [`body_limit`] caps request bodies; [`request_span`] traces requests.
//! - [`openapi`] completes the generated document; [`frontend`] serves the
//!   embedded UI and [`swagger_page`] Swagger UI's page.

pub mod accept_loop;
pub mod api;
pub mod body_limit;
pub mod cluster_progress;
pub mod cors;
pub mod frontend;
pub mod hosts;
pub mod idle;
pub mod openapi;
pub mod plain_on_tls;
pub mod request_span;
pub mod security;
pub mod server;
pub mod sockets;
pub mod startup;
pub mod state;
pub mod swagger_page;
pub mod tls;
