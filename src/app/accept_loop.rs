//! The accept loop: every connection served as HTTP/1.1 by hyper, every
//! request answered by the poem app.
//!
//! poem's own `Server` serves each connection through hyper-util's "auto"
//! builder, which reads the first bytes to tell HTTP/1 from HTTP/2. Those few
//! rewound bytes make hyper grow its read buffer from 8 to 16 KiB on the
//! second read, and the auto connection future is larger, so an idle SSE
//! stream cost ~29 KiB. Browsers speak HTTP/2 only over TLS, which this
//! server does not, so HTTP/1.1 is all it needs; hyper's http1 builder
//! drops that cost (bench/RESULTS.md has the numbers).
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
use http_body_util::combinators::BoxBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::idle::{Activity, ConnectionTimeouts, InFlight};

type App = Arc<BoxEndpoint<'static, Response>>;

/// Serves `app` on every connection `acceptor` hands over until `signal`
/// resolves; then lets requests in flight finish for up to `grace`.
pub async fn serve<A, E>(
    mut acceptor: A,
    app: E,
    signal: impl Future<Output = ()>,
    grace: Duration,
    timeouts: ConnectionTimeouts,
) -> io::Result<()>
where
    A: Acceptor,
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let app: App = Arc::new(app.into_endpoint().map_to_response().boxed());
    let connections = TaskTracker::new();
    let finish = CancellationToken::new();
    let abandon = CancellationToken::new();
    let mut backoff = Backoff::default();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            accepted = acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    backoff.reset();
                    let peer = Peer { local, remote, scheme };
                    let (app, finish, abandon) = (app.clone(), finish.clone(), abandon.clone());
                    connections.spawn(serve_connection(io, peer, app, timeouts, finish, abandon));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    // Out of file descriptors (or a similar transient failure): a
                    // listener that stays ready would spin; wait, longer each time.
                    tokio::select! {
                        _ = &mut signal => break,
                        _ = tokio::time::sleep(backoff.next()) => {}
                    }
                }
            },
        }
    }
    drop(acceptor);
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

async fn serve_connection<Io>(
    io: Io,
    peer: Peer,
    app: App,
    timeouts: ConnectionTimeouts,
    finish: CancellationToken,
    abandon: CancellationToken,
) where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let activity = Arc::new(Activity::default());
    let clock = activity.clone();
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        // In flight until the answer's body is dropped (sent, or the connection gone).
        let busy = activity.begin();
        let app = app.clone();
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
            let resp: hyper::Response<BoxBody<Bytes, io::Error>> = answer.await.into();
            let resp = resp.map(|body| InFlight::new(body, busy));
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(err) = served {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            return;
        }
        expired = clock.expired(timeouts) => {
            // Nothing in flight: closing loses no answer.
            tracing::debug!(?expired, "closed a connection that sent no request in time");
            return;
        }
        _ = finish.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn => {}
        _ = abandon.cancelled() => {}
    }
}
