//! The accept loop: every connection served by hyper, every request answered
//! by the poem app.
//!
//! poem's own `Server` serves each connection through hyper-util's "auto"
//! builder, which reads the first bytes to tell HTTP/1 from HTTP/2. Those few
//! rewound bytes make hyper grow its read buffer from 8 to 16 KiB on the
//! second read, and the auto connection future is larger, so an idle SSE
//! stream cost ~29 KiB. Browsers speak HTTP/2 only over TLS, where the
//! handshake (ALPN) already says which protocol follows, so a clear-text
//! connection is always HTTP/1.1 and hyper's http1 builder serves it
//! (bench/RESULTS.md has the numbers). With `--tls` ([`crate::app::tls`]) a
//! connection whose handshake chose `h2` is served by hyper's http2 builder,
//! through the [`FrameMeter`] that measures each stream's bytes.
//!
//! A WebSocket over HTTP/2 (RFC 8441) opens with `CONNECT` and
//! `:protocol: websocket` and is accepted with `200`, not `101`. The app's
//! WebSocket handlers speak the HTTP/1.1 handshake, so [`Http2WebSocket`]
//! translates the request on the way in and the answer on the way out; the
//! frames after it are the same RFC 6455 frames.
//!
//! Every connection also runs the [`crate::app::idle`] clock: one that sends no
//! request head in time is closed.
//!
//! Shutdown follows poem's contract: stop accepting, ask every connection to
//! finish its request in flight, and drop whatever is still open after the
//! grace period.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::Either;
use http_body_util::combinators::BoxBody;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Request, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::idle::{Activity, ConnectionTimeouts, InFlight};
use crate::app::plain_on_tls::{Replayed, TLS_HANDSHAKE, redirect_to_https};
use crate::traffic::h2_meter::{FrameMeter, Meter};

type App = Arc<BoxEndpoint<'static, Response>>;
/// What hyper sends back: the app's answer, in flight until its body is dropped.
type Answer = hyper::Response<InFlight<BoxBody<Bytes, io::Error>>>;

/// HTTP/2 streams one connection may have open at once: each is a request in
/// flight, as a connection of its own would be over HTTP/1.1.
const MAX_STREAMS_PER_CONNECTION: u32 = 200;

/// A listening socket, and whether its connections start with a TLS handshake.
pub struct Listener<A> {
    pub acceptor: A,
    pub tls: Option<TlsAcceptor>,
}

/// What every connection task shares.
#[derive(Clone)]
struct Serving {
    app: App,
    timeouts: ConnectionTimeouts,
    connections: TaskTracker,
    /// Finish the request in flight, take no new one.
    finish: CancellationToken,
    /// The grace period is over: drop the connection.
    abandon: CancellationToken,
}

/// Serves `app` on every connection the listeners hand over until `signal`
/// resolves; then lets requests in flight finish for up to `grace`.
pub async fn serve<A, E>(
    listeners: Vec<Listener<A>>,
    app: E,
    signal: impl Future<Output = ()>,
    grace: Duration,
    timeouts: ConnectionTimeouts,
) -> io::Result<()>
where
    A: Acceptor + 'static,
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let serving = Serving {
        app: Arc::new(app.into_endpoint().map_to_response().boxed()),
        timeouts,
        connections: TaskTracker::new(),
        finish: CancellationToken::new(),
        abandon: CancellationToken::new(),
    };
    let stop = CancellationToken::new();
    let accepting = TaskTracker::new();
    for listener in listeners {
        accepting.spawn(accept_until(listener, serving.clone(), stop.clone()));
    }
    accepting.close();
    signal.await;
    stop.cancel();
    accepting.wait().await;
    let Serving {
        connections,
        finish,
        abandon,
        ..
    } = serving;
    finish.cancel();
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the grace period; closing them"
        );
        abandon.cancel();
        connections.wait().await;
    }
    Ok(())
}

/// Accepts on one listener until `stop`, each connection in its own task.
async fn accept_until<A: Acceptor>(
    mut listener: Listener<A>,
    serving: Serving,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::default();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    backoff.reset();
                    let scheme = if listener.tls.is_some() { Scheme::HTTPS } else { scheme };
                    let peer = Peer { local, remote, scheme };
                    let task = serve_socket(io, peer, listener.tls.clone(), serving.clone());
                    serving.connections.spawn(task);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    // Out of file descriptors (or a similar transient failure): a
                    // listener that stays ready would spin; wait, longer each time.
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(backoff.next()) => {}
                    }
                }
            },
        }
    }
}

/// The wait after failed accepts: 10 ms, doubling up to 1 s, back to the
/// start after a success.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = Duration::from_millis(10 << self.failures.min(7)).min(Duration::from_secs(1));
        self.failures = self.failures.saturating_add(1);
        wait
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// What poem's request needs to know about the connection it came on.
#[derive(Clone)]
struct Peer {
    local: LocalAddr,
    remote: RemoteAddr,
    scheme: Scheme,
}

/// Serves one accepted socket: clear HTTP/1.1, or TLS and then whatever
/// protocol its handshake chose. Not an `async fn`: one would keep its own
/// copy of the arguments beside the future it hands them to, and this
/// future is what every open connection's task holds.
fn serve_socket<Io>(
    io: Io,
    peer: Peer,
    tls: Option<TlsAcceptor>,
    serving: Serving,
) -> impl Future<Output = ()> + Send + 'static
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match tls {
        None => Either::Left(serve_http1(io, peer, serving)),
        // Boxed: the handshake's and HTTP/2's state would otherwise make every
        // clear-text connection's task as big as theirs (~7 KB each).
        Some(tls) => Either::Right(Box::pin(serve_tls(io, peer, tls, serving))),
    }
}

/// The TLS handshake, then HTTP/2 or HTTP/1.1 as ALPN chose.
async fn serve_tls<Io>(io: Io, peer: Peer, tls: TlsAcceptor, serving: Serving)
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    // A handshake is part of the first request: the same deadline.
    let deadline = tokio::time::Instant::now() + serving.timeouts.header_read;
    let mut io = io;
    let mut first = [0u8; 1];
    match tokio::time::timeout_at(deadline, io.read(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return, // closed, failed or silent before a byte
    }
    let io = Replayed::new(first[0], io);
    if first[0] != TLS_HANDSHAKE {
        return redirect_to_https(io).await;
    }
    let handshake = tokio::time::timeout_at(deadline, tls.accept(io));
    let stream = match handshake.await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake not finished in time");
            return;
        }
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        serve_http2(stream, peer, serving).await
    } else {
        serve_http1(stream, peer, serving).await
    }
}

/// Clear or TLS HTTP/1.1. Built outside the `async` block, which then holds
/// only the connection, its activity and the server's handles: what every
/// idle stream's task keeps for its whole life.
fn serve_http1<Io>(io: Io, peer: Peer, serving: Serving) -> impl Future<Output = ()> + Send
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let activity = Arc::new(Activity::default());
    let service = request_service(serving.app.clone(), peer, activity.clone(), None);
    // Boxed: pinned inside the block it would be kept twice (the captured
    // value and the pinned local).
    let mut conn = Box::pin(
        http1::Builder::new()
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades(),
    );
    async move {
        if drive(conn.as_mut(), &activity, &serving).await {
            conn.as_mut().graceful_shutdown();
            finish_within_grace(conn.as_mut(), &serving).await;
        }
    }
}

async fn serve_http2<Io>(io: Io, peer: Peer, serving: Serving)
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let metered = FrameMeter::new(io);
    let meter = metered.meter();
    let activity = Arc::new(Activity::default());
    let service = request_service(serving.app.clone(), peer, activity.clone(), Some(meter));
    let conn = http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .enable_connect_protocol()
        // Streams one connection may run at once (the HTTP/2 lesson quotes it).
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .serve_connection(TokioIo::new(metered), service);
    tokio::pin!(conn);
    if drive(conn.as_mut(), &activity, &serving).await {
        conn.as_mut().graceful_shutdown();
        finish_within_grace(conn, &serving).await;
    }
}

/// Serves a connection until it ends (`false`: nothing left to do) or the
/// server is shutting down (`true`: shut it down gracefully).
async fn drive<C>(conn: std::pin::Pin<&mut C>, activity: &Activity, serving: &Serving) -> bool
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    tokio::select! {
        served = conn => {
            if let Err(err) = served {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            false
        }
        expired = activity.expired(serving.timeouts) => {
            // Nothing in flight: closing loses no answer.
            tracing::debug!(?expired, "closed a connection that sent no request in time");
            false
        }
        _ = serving.finish.cancelled() => true,
    }
}

async fn finish_within_grace<C: Future>(conn: std::pin::Pin<&mut C>, serving: &Serving) {
    tokio::select! {
        _ = conn => {}
        _ = serving.abandon.cancelled() => {}
    }
}

/// The service hyper calls for each request of one connection. Over HTTP/2,
/// each request takes its stream's meter and the WebSocket translation.
fn request_service(
    app: App,
    peer: Peer,
    activity: Arc<Activity>,
    meter: Option<Meter>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = Answer,
    Error = Infallible,
    Future = impl Future<Output = Result<Answer, Infallible>> + Send + 'static,
> + Clone
+ Send
+ 'static {
    service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        // In flight until the answer's body is dropped (sent, or the connection gone).
        let busy = activity.begin();
        let app = app.clone();
        let websocket = match &meter {
            Some(meter) => {
                // Claimed now, in the order hyper accepts streams (see h2_meter).
                if let Some(stream) = meter.claim() {
                    req.extensions_mut().insert(Arc::new(stream));
                }
                Http2Request::adapt(&mut req)
            }
            None => None,
        };
        let req = Request::from((
            req,
            peer.local.clone(),
            peer.remote.clone(),
            peer.scheme.clone(),
        ));
        // hyper keeps one slot for the request future per connection, sized for
        // it, for the connection's whole life; boxed, the ~2 KiB of poem's
        // future is only held while a request is being answered.
        let answer = Box::pin(async move { app.get_response(req).await });
        async move {
            let mut resp = answer.await;
            if let Some(websocket) = websocket {
                websocket.answer(&mut resp);
            }
            let resp: hyper::Response<BoxBody<Bytes, io::Error>> = resp.into();
            let resp = resp.map(|body| InFlight::new(body, busy));
            Ok::<_, Infallible>(resp)
        }
    })
}

/// What an HTTP/2 request needs before the app, which reads HTTP/1.1 habits.
struct Http2Request;

/// A WebSocket opened over HTTP/2 (RFC 8441), translated to the HTTP/1.1 handshake.
struct Http2WebSocket;

impl Http2Request {
    /// Gives the request a `Host` from `:authority` (HTTP/2 clients send no
    /// `Host`; the host and origin checks read it), and turns an extended
    /// `CONNECT` for a WebSocket into the `GET` + `Upgrade` the handlers know.
    fn adapt<B>(req: &mut hyper::Request<B>) -> Option<Http2WebSocket> {
        use poem::http::{HeaderValue, Method, header};
        if !req.headers().contains_key(header::HOST)
            && let Some(authority) = req.uri().authority()
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            req.headers_mut().insert(header::HOST, host);
        }
        let is_websocket = req.method() == Method::CONNECT
            && req
                .extensions()
                .get::<hyper::ext::Protocol>()
                .is_some_and(|p| p.as_str().eq_ignore_ascii_case("websocket"));
        if !is_websocket {
            return None;
        }
        *req.method_mut() = Method::GET;
        let headers = req.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        // The key only proves an HTTP/1.1 server read the request; HTTP/2 has no
        // use for it (RFC 8441 §5), so any valid one does.
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        headers
            .entry(header::SEC_WEBSOCKET_VERSION)
            .or_insert(HeaderValue::from_static("13"));
        Some(Http2WebSocket)
    }
}

impl Http2WebSocket {
    /// `101 Switching Protocols` becomes `200`, without the HTTP/1.1-only headers.
    fn answer(self, resp: &mut Response) {
        use poem::http::{StatusCode, header};
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return;
        }
        resp.set_status(StatusCode::OK);
        let headers = resp.headers_mut();
        for name in [
            header::CONNECTION,
            header::UPGRADE,
            header::SEC_WEBSOCKET_ACCEPT,
        ] {
            headers.remove(name);
        }
    }
}
