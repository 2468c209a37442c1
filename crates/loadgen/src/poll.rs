//! Short pollers: `GET /api/poll?since=<last>` every interval, or as fast as
//! the server answers (interval 0: the poll-throughput mode).
//!
//! Pollers speak HTTP/1.1 through hyper's low-level client connection
//! ([`Http1`]: one keep-alive connection, no pool) rather than through
//! reqwest: the throughput mode asks tens of thousands of times a second on
//! the same two cores as the server, and a full client's pool and
//! per-request cost would be measured instead of the server's. The same
//! connection type serves the long-pollers; the SSE clients use hyper's
//! handshake directly (`handshake`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Kind, Shared, now_us};

/// Largest response body accepted (a poll answers at most 1000 events).
const MAX_RESPONSE: usize = 8 * 1024 * 1024;

/// The header that names the learner (the servers count clients by it).
pub const X_LEARNER: HeaderName = HeaderName::from_static("x-learner");

/// One answer: status, the `X-Last-Event-Id` header, the body.
pub struct Answer {
    pub status: u16,
    pub last_id: Option<u64>,
    pub body: Bytes,
    /// Received at (µs since the epoch), when the head arrived.
    pub at_us: u64,
}

impl Answer {
    /// The cursor for the next request: the header, else `"last_id"` in the body.
    pub fn cursor(&self) -> Option<u64> {
        self.last_id.or_else(|| {
            let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
            v["last_id"].as_u64()
        })
    }
}

/// Opens client `n`'s connection and hands it to hyper: the connection runs
/// in its own task (it ends when the sender and every response are dropped).
pub(crate) async fn handshake(
    shared: &Shared,
    n: usize,
) -> Result<SendRequest<Empty<Bytes>>, String> {
    let stream = super::dial(shared, n)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tokio::spawn(async move {
        // Its errors reach the requests in flight; nothing more to do here.
        let _ = conn.await;
    });
    Ok(sender)
}

/// A `GET path` with the headers every server needs.
pub fn get(path: Uri, host: &HeaderValue, learner: &HeaderValue) -> Request<Empty<Bytes>> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = path;
    let headers = request.headers_mut();
    headers.insert(HOST, host.clone());
    headers.insert(X_LEARNER, learner.clone());
    request
}

/// One keep-alive HTTP/1.1 connection for GETs, reopened after an error or
/// when the server closes it.
pub struct Http1 {
    shared: Arc<Shared>,
    /// The client's number (picks its source address).
    n: usize,
    host: HeaderValue,
    learner: HeaderValue,
    sender: Option<SendRequest<Empty<Bytes>>>,
    /// The last request's path, parsed: an idle poller repeats it.
    path: String,
    uri: Uri,
}

impl Http1 {
    pub(crate) fn new(shared: Arc<Shared>, n: usize, learner: &str) -> Http1 {
        Http1 {
            host: HeaderValue::from_str(&shared.authority).expect("an authority is a header value"),
            learner: HeaderValue::from_str(learner).expect("a learner name is a header value"),
            shared,
            n,
            sender: None,
            path: String::new(),
            uri: Uri::from_static("/"),
        }
    }

    /// Opens the connection now (it is also opened on demand).
    pub async fn connect(&mut self) -> Result<(), String> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            self.sender = Some(handshake(&self.shared, self.n).await?);
        }
        Ok(())
    }

    /// `GET path`; on any error the connection is dropped (the next call reconnects).
    pub async fn get(&mut self, path: &str) -> Result<Answer, String> {
        let r = self.exchange(path).await;
        if r.is_err() {
            self.sender = None;
        }
        r
    }

    async fn exchange(&mut self, path: &str) -> Result<Answer, String> {
        self.connect().await?;
        if path != self.path {
            self.uri = path.parse().map_err(|e| format!("bad path {path}: {e}"))?;
            self.path = path.to_owned();
        }
        let request = get(self.uri.clone(), &self.host, &self.learner);
        let mut sender = self.sender.as_mut().ok_or("no connection")?;
        if sender.ready().await.is_err() {
            // Closed since the last answer (e.g. `Connection: close`): reopen once.
            self.sender = None;
            self.connect().await?;
            sender = self.sender.as_mut().ok_or("no connection")?;
            sender.ready().await.map_err(|e| hyper_error(&e))?;
        }
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| hyper_error(&e))?;
        let at_us = now_us();
        let status = response.status().as_u16();
        let last_id = response
            .headers()
            .get("x-last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(e) => hyper_error(&e),
                Err(e) => format!("body: {e}"),
            })?
            .to_bytes();
        Ok(Answer {
            status,
            last_id,
            body,
            at_us,
        })
    }
}

/// A hyper error as the message [`error_kind`] sorts.
pub fn hyper_error(e: &hyper::Error) -> String {
    if e.is_closed() || e.is_canceled() || e.is_incomplete_message() {
        format!("closed by the server: {e}")
    } else {
        format!("read: {e}")
    }
}

/// Short error kind for the report.
pub fn error_kind(e: &str) -> &'static str {
    if e.starts_with("connect") {
        "connect"
    } else if e.starts_with("closed") {
        "closed by server"
    } else if e.starts_with("status") {
        "bad status"
    } else {
        "read/parse"
    }
}

/// A short poller: asks, records what came, waits `interval` (or not at all).
pub(crate) async fn run(
    shared: Arc<Shared>,
    n: usize,
    learner: String,
    permit: OwnedSemaphorePermit,
    interval: Duration,
) {
    let mut http = Http1::new(shared.clone(), n, &learner);
    let mut permit = Some(permit);
    let t0 = Instant::now();
    let mut since: Option<u64> = None;
    let mut tick = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval(interval);
        t.set_missed_tick_behavior(MissedTickBehavior::Delay);
        t
    });
    let path_for = |since: Option<u64>| match since {
        Some(s) => format!("/api/poll?since={s}&topics={}&limit=1000", shared.topic),
        None => format!("/api/poll?topics={}&limit=1000", shared.topic),
    };
    let mut path = path_for(since);
    // A poll is answered at once, so the stop signal is checked between
    // requests (cheaper than racing every request against it).
    while !shared.stop.is_cancelled() {
        if let Some(tick) = tick.as_mut() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shared.stop.cancelled() => return,
            }
        }
        let answer = http.get(&path).await;
        let result = answer.and_then(|a| match a.status {
            200 | 204 => Ok(a),
            s => Err(format!("status {s}")),
        });
        match result {
            Ok(a) => {
                if permit.take().is_some() {
                    shared.connected(Kind::Poll, t0.elapsed());
                }
                shared.answered(Kind::Poll, a.status == 204);
                if a.status == 200 {
                    shared.delivered(Kind::Poll, &a.body, a.at_us);
                }
                let next = a.cursor().or(since);
                if next != since {
                    since = next;
                    path = path_for(since);
                }
            }
            Err(e) => {
                if permit.take().is_some() {
                    // A poller that never got an answer is not retried.
                    shared.failed(Kind::Poll, error_kind(&e), &e);
                    return;
                }
                shared.error(Kind::Poll, error_kind(&e), &e);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shared.stop.cancelled() => return,
                }
            }
        }
    }
}
