//! Binds the socket, assembles the routes and runs until shutdown.
//!
//! Binding and running are two steps so a caller (a test, or `main` printing
//! the URL) learns the real port before the first request, even with port 0.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{ContactObject, OpenApiService};

use crate::app::accept_loop::Listener;
use crate::app::api::chat::ChatApi;
use crate::app::api::drops::DropsApi;
use crate::app::api::events::EventsApi;
use crate::app::api::traffic::TrafficApi;
use crate::app::body_limit::BodyLimit;
use crate::app::cors::Cors;
use crate::app::frontend::Frontend;
use crate::app::hosts::HostAllowList;
use crate::app::idle::ConnectionTimeouts;
use crate::app::request_span::RequestSpan;
use crate::app::security::SecurityHeaders;
use crate::app::sockets::SocketAcceptor;
use crate::app::startup::StartupError;
use crate::app::state::AppState;
use crate::app::tls::{Certificate, Offer};
use crate::config::Config;
use crate::grader::api::GraderApi;
use crate::lab::LabApi;
use crate::lab::challenges_api::ChallengesApi;
use crate::lab::cluster::ClusterLabApi;
use crate::lab::faults::FaultsApi;
use crate::lab::faults::gate::FaultGate;
use crate::lab::load::LoadLabApi;
use crate::lab::storm::api::StormApi;
use crate::lessons::api::LessonsApi;
use crate::problem::ProblemDetails;
use crate::storage::Keeping;
use crate::traffic::{Capture, LearnerIdentity};
use crate::transports::echo::EchoApi;
use crate::transports::long_polling::LongPollingApi;
use crate::transports::polling::PollingApi;
use crate::transports::sse::SseApi;
use crate::transports::websocket::WebSocketApi;

const API_DESCRIPTION: &str = "\
Four ways to get the same live stream of events: **short polling**, **long-polling**, \
**Server-Sent Events** and **WebSockets**. Start or re-rate the built-in feeds under *Feeds*, \
publish your own event under *Events*, then watch it arrive through each transport.\n\n\
Streaming endpoints never end on their own; give `/api/sse` a `limit` or `duration` \
when trying it here. Errors are `application/problem+json` (RFC 9457).";

/// Every API the service documents, in the order Swagger UI lists them.
type Apis = (
    EventsApi,
    PollingApi,
    LongPollingApi,
    SseApi,
    WebSocketApi,
    EchoApi,
    TrafficApi,
    LessonsApi,
    DropsApi,
    ChatApi,
    LabApi,
    LoadLabApi,
    ClusterLabApi,
    StormApi,
    FaultsApi,
    // poem-openapi's tuples stop at 16: the last two share one slot.
    (ChallengesApi, GraderApi),
);

/// Builds the OpenAPI service (shared by the router and the spec tests).
pub fn api_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let ctx = state.transport_context();
    OpenApiService::new(
        (
            EventsApi {
                state: state.clone(),
            },
            PollingApi {
                hub: state.hub.clone(),
            },
            LongPollingApi { ctx: ctx.clone() },
            SseApi { ctx: ctx.clone() },
            WebSocketApi {
                ctx: ctx.clone(),
                backplane: state.backplane.clone(),
                chat: state.chat.clone(),
                limits: state.limits.clone(),
            },
            EchoApi { ctx },
            TrafficApi {
                log: state.traffic.clone(),
                shutdown: state.shutdown.clone(),
                heartbeat: state.config.sse_heartbeat(),
                retry_ms: state.config.sse_retry_ms,
                connections: state.connections.clone(),
                config: state.config.clone(),
            },
            LessonsApi {
                library: state.lessons.clone(),
                progress: state.progress.clone(),
                traffic: state.traffic.clone(),
                others: state.cluster_lab.clone(),
            },
            DropsApi {
                drops: state.drops.clone(),
            },
            ChatApi {
                backplane: state.backplane.clone(),
                limits: state.limits.clone(),
            },
            LabApi {
                lab: state.lab.clone(),
            },
            LoadLabApi {
                lab: state.load_lab.clone(),
            },
            ClusterLabApi {
                lab: state.cluster_lab.clone(),
                backplane: state.backplane.clone(),
            },
            StormApi {
                lab: state.storm_lab.clone(),
            },
            FaultsApi {
                faults: state.faults.clone(),
            },
            (
                ChallengesApi {
                    challenges: state.challenges.clone(),
                    traffic: state.traffic.clone(),
                    faults: state.faults.clone(),
                },
                GraderApi {
                    grader: state.grader.clone(),
                },
            ),
        ),
        "realtime-playground",
        env!("CARGO_PKG_VERSION"),
    )
    .description(API_DESCRIPTION)
    .contact(ContactObject::new().name("realtime-playground"))
    .url_prefix("/api")
}

/// Every route of the app.
pub fn app(state: &AppState) -> impl Endpoint + 'static {
    let api = api_service(state);
    let raw = api.spec();
    let doc = crate::app::openapi::document(&raw, &state.config);
    let docs_html = crate::app::swagger_page::accessible(&crate::app::openapi::swagger_ui_html(
        &api.swagger_ui_html(),
        &raw,
        &doc,
    ));
    // With Redis, the cluster lab's instances are other origins on this machine.
    let security = SecurityHeaders::new(&docs_html, state.config.allowed_origins.clone())
        .pages_reach_loopback_ports(state.config.redis_url.is_some())
        .pages_reach_the_tls_ports(&match state.config.http1_port {
            Some(http1) => vec![state.config.port, http1],
            None => vec![],
        });
    let cors = Cors::new(&state.config.allowed_origins);
    let docs = poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.clone()));
    let allow = crate::app::openapi::AllowHeader::new(&doc);
    let spec_json = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let spec_yaml = serde_yaml::to_string(&doc).unwrap_or_default();
    Route::new()
        .nest("/api", api)
        .at("/docs", docs)
        .at(
            "/docs/",
            poem::endpoint::make_sync(|_| poem::web::Redirect::permanent("/docs")),
        )
        .at(
            "/openapi.json",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec_json.clone())
            }),
        )
        .at(
            "/openapi.yaml",
            poem::endpoint::make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/x-yaml")
                    .header("Content-Disposition", "inline; filename=\"spec.yaml\"")
                    .body(spec_yaml.clone())
            }),
        )
        .at(
            "/highlight.css",
            poem::endpoint::make_sync(|_| {
                poem::Response::builder()
                    .content_type("text/css; charset=utf-8")
                    .header("Cache-Control", "no-cache")
                    .body(crate::lessons::highlight_css::stylesheet())
            }),
        )
        .nest("/", Frontend)
        .with(BodyLimit::new(state.config.max_body_bytes as usize))
        .with(ProblemDetails)
        .with(allow)
        // The learner's simulated proxy (fault switches): inside the capture,
        // so its 502s, refused upgrades and wrapped streams are what the log sees.
        .with(FaultGate::new(state.faults.clone()))
        // Inside the capture, so its headers count in the bytes on the wire.
        .with(security)
        // Outside the Origin check, so a listed origin's preflight is answered.
        .with(cors)
        .with(Capture::new(state.traffic.clone()))
        .with(LearnerIdentity)
        .with(RequestSpan)
        // Outermost: a rebound name gets nothing, not even a route.
        .with(HostAllowList::new(&state.config.allowed_hosts))
}

/// A server whose sockets are bound but which is not serving yet.
pub struct BoundServer {
    listeners: Vec<Listener<SocketAcceptor>>,
    state: AppState,
    local_addr: SocketAddr,
    /// `--http1-port`: the HTTPS port that offers HTTP/1.1 only.
    http1_addr: Option<SocketAddr>,
    certificate: Option<Certificate>,
}

/// Binds `config.bind:config.port` (port 0 picks a free one), and with
/// `--tls --http1-port` the comparison port; loads or makes the certificate;
/// connects to Redis when `--redis-url` asks for it, and starts the feeds.
pub async fn bind(config: Config) -> Result<BoundServer, StartupError> {
    if config.http1_port.is_some() && !config.serves_tls() {
        return Err(StartupError::Http1PortWithoutTls);
    }
    let certificate = match config.serves_tls() {
        true => Some(Certificate::load(&config, &Keeping::from_config(&config)?)?),
        false => None,
    };
    let (acceptor, local_addr) = bound(SocketAddr::new(config.bind, config.port))?;
    let http1 = match config.http1_port {
        Some(port) => Some(bound(SocketAddr::new(config.bind, port))?),
        None => None,
    };
    let mut config = config;
    // From here on the configuration says which ports the server really has.
    config.port = local_addr.port();
    if let Some((_, addr)) = &http1 {
        config.http1_port = Some(addr.port());
        // The two ports are one server: each one's pages may use the other.
        config.allowed_origins.extend(
            [local_addr.port(), addr.port()]
                .into_iter()
                .flat_map(|port| LOOPBACK_NAMES.map(|name| format!("https://{name}:{port}"))),
        );
    }
    // The lab's own clients (the race's lanes, the storm, the load generator)
    // speak plain HTTP/1.1: with --tls they get a loopback-only port of their own.
    let lab = match certificate {
        Some(_) => Some(bound(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?),
        None => None,
    };
    let lab_addr = lab.as_ref().map_or(local_addr, |(_, addr)| *addr);
    let write_timeout = config.write_timeout();
    let state = AppState::connect(config, lab_addr).await?;
    let watched = |acceptor| {
        SocketAcceptor::new(
            acceptor,
            write_timeout,
            state.peers.clone(),
            state.connections.clone(),
        )
    };
    let tls = |offer| certificate.as_ref().map(|c| c.acceptor(offer)).transpose();
    let mut listeners = vec![Listener {
        acceptor: watched(acceptor),
        tls: tls(Offer::Http2AndHttp1)?,
    }];
    let http1_addr = http1.as_ref().map(|(_, addr)| *addr);
    if let Some((acceptor, _)) = http1 {
        listeners.push(Listener {
            acceptor: watched(acceptor),
            tls: tls(Offer::Http1Only)?,
        });
    }
    if let Some((acceptor, _)) = lab {
        listeners.push(Listener {
            acceptor: watched(acceptor),
            tls: None,
        });
    }
    Ok(BoundServer {
        listeners,
        state,
        local_addr,
        http1_addr,
        certificate,
    })
}

/// The names a browser reaches this machine's server by (and the generated
/// certificate is valid for).
const LOOPBACK_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A listening socket on `addr`, and the address it really got.
fn bound(addr: SocketAddr) -> Result<(TcpAcceptor, SocketAddr), StartupError> {
    let listener = listen(addr).map_err(StartupError::Listen)?;
    let acceptor = TcpAcceptor::from_tokio(listener).map_err(StartupError::Listen)?;
    let local_addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or(StartupError::NoAddress)?;
    Ok((acceptor, local_addr))
}

/// Pending connections the kernel may queue before `accept` (it caps this at
/// `net.core.somaxconn`). The usual 128 overflows when a class opens its
/// tabs at once or a load test connects thousands of clients.
const LISTEN_BACKLOG: u32 = 4096;

/// The first line the binary prints, followed by the port. Whatever starts
/// the binary and needs its port (the cluster lab, tests, bench/run.sh) reads it.
pub const READY_LINE: &str = "realtime-playground is running on port ";

/// The port in the binary's [`READY_LINE`], if `line` is that line.
pub fn port_from_ready_line(line: &str) -> Option<u16> {
    line.strip_prefix(READY_LINE)?.trim().parse().ok()
}

fn listen(addr: SocketAddr) -> io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted server can take its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl BoundServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `--http1-port`'s address, when asked for.
    pub fn http1_addr(&self) -> Option<SocketAddr> {
        self.http1_addr
    }

    /// The certificate served with `--tls` (its PEM lets a client trust it).
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// `https` with `--tls`, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.certificate.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The shared state, e.g. to publish from a test.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `signal` resolves, then shuts down gracefully: streams
    /// end, long-polls answer, WebSockets get close code 1001, and the call
    /// returns within the configured grace period.
    pub async fn run(self, signal: impl Future<Output = ()> + Send + 'static) -> io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        let grace = self.state.config.shutdown_grace();
        let trigger = shutdown.clone();
        let signal = async move {
            tokio::select! {
                _ = signal => {},
                _ = trigger.wait() => {},
            }
            tracing::info!("shutting down");
            trigger.trigger();
        };
        let app = app(&self.state);
        let timeouts = ConnectionTimeouts::of(&self.state.config);
        let server = crate::app::accept_loop::serve(self.listeners, app, signal, grace, timeouts);
        // Upgraded WebSockets are not connections hyper still serves; they get the same grace, in parallel.
        let sessions = async {
            shutdown.wait().await;
            if !shutdown.drain(grace).await {
                tracing::warn!("some WebSocket sessions did not close in time");
            }
        };
        let (served, ()) = tokio::join!(server, sessions);
        served
    }
}
