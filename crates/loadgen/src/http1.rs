//! One keep-alive HTTP/1.1 connection per client, through hyper's low-level
//! client connection rather than reqwest.
//!
//! The poll-throughput mode asks tens of thousands of times a second on the
//! same two cores as the server, and a full client's pool and per-request
//! cost would be measured instead of the server's. [`Http1`] serves the
//! short pollers and the long-pollers; the SSE clients use `handshake`
//! directly.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;

use crate::clock::now_us;
use crate::dial::dial;
use crate::shared::Shared;

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
    /// The answer if it is one a poll may give (`200` with news, `204`
    /// without), else the status as an error.
    pub fn polled(self) -> Result<Answer, FetchError> {
        match self.status {
            200 | 204 => Ok(self),
            s => Err(FetchError::Status(s)),
        }
    }

    /// The cursor for the next request: the header, else `"last_id"` in the body.
    pub fn cursor(&self) -> Option<u64> {
        self.last_id.or_else(|| {
            let v: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
            v["last_id"].as_u64()
        })
    }
}

/// Why a request got no usable answer; its message is what the report
/// keeps, its [`kind`](FetchError::kind) what the report counts it under.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("closed by the server: {0}")]
    Closed(hyper::Error),
    #[error("read: {0}")]
    Read(hyper::Error),
    #[error("body: {0}")]
    Body(Box<dyn std::error::Error + Send + Sync>),
    #[error("bad path {path}: {reason}")]
    BadPath { path: String, reason: String },
    #[error("status {0}")]
    Status(u16),
}

impl FetchError {
    /// A hyper error: the server closed the connection, or reading failed.
    pub fn from_hyper(e: hyper::Error) -> FetchError {
        if e.is_closed() || e.is_canceled() || e.is_incomplete_message() {
            FetchError::Closed(e)
        } else {
            FetchError::Read(e)
        }
    }

    /// Short error kind for the report.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Connect(_) => "connect",
            FetchError::Closed(_) => "closed by server",
            FetchError::Status(_) => "bad status",
            FetchError::Read(_) | FetchError::Body(_) | FetchError::BadPath { .. } => "read/parse",
        }
    }
}

/// Opens client `n`'s connection and hands it to hyper: the connection runs
/// in its own task (it ends when the sender and every response are dropped).
pub(crate) async fn handshake(
    shared: &Shared,
    n: usize,
) -> Result<SendRequest<Empty<Bytes>>, FetchError> {
    let stream = dial(shared, n)
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| FetchError::Connect(e.to_string()))?;
    tokio::spawn(async move {
        // Its errors reach the requests in flight; nothing more to do here.
        let _ = conn.await;
    });
    Ok(sender)
}

/// A `GET path` with the headers every server needs, and the learner's name
/// unless the client has none.
pub fn get(path: Uri, host: &HeaderValue, learner: Option<&HeaderValue>) -> Request<Empty<Bytes>> {
    let mut request = Request::new(Empty::new());
    *request.uri_mut() = path;
    let headers = request.headers_mut();
    headers.insert(HOST, host.clone());
    if let Some(learner) = learner {
        headers.insert(X_LEARNER, learner.clone());
    }
    request
}

/// One keep-alive HTTP/1.1 connection for GETs, reopened after an error or
/// when the server closes it.
pub struct Http1 {
    shared: Arc<Shared>,
    /// The client's number (picks its source address).
    n: usize,
    host: HeaderValue,
    /// `None`: a client that never says who it is (and keeps no cookie).
    learner: Option<HeaderValue>,
    sender: Option<SendRequest<Empty<Bytes>>>,
    /// The last request's path, parsed: an idle poller repeats it.
    path: String,
    uri: Uri,
}

impl Http1 {
    pub(crate) fn new(shared: Arc<Shared>, n: usize, learner: Option<&str>) -> Http1 {
        Http1 {
            host: HeaderValue::from_str(&shared.authority).expect("an authority is a header value"),
            learner: learner
                .map(|l| HeaderValue::from_str(l).expect("a learner name is a header value")),
            shared,
            n,
            sender: None,
            path: String::new(),
            uri: Uri::from_static("/"),
        }
    }

    /// Opens the connection now (it is also opened on demand).
    pub async fn connect(&mut self) -> Result<(), FetchError> {
        self.open().await.map(|_| ())
    }

    /// The open connection, opened first if there is none or it closed.
    async fn open(&mut self) -> Result<&mut SendRequest<Empty<Bytes>>, FetchError> {
        let sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => handshake(&self.shared, self.n).await?,
        };
        Ok(self.sender.insert(sender))
    }

    /// `GET path`; on any error the connection is dropped (the next call reconnects).
    pub async fn get(&mut self, path: &str) -> Result<Answer, FetchError> {
        let r = self.exchange(path).await;
        if r.is_err() {
            self.sender = None;
        }
        r
    }

    async fn exchange(&mut self, path: &str) -> Result<Answer, FetchError> {
        self.connect().await?;
        if path != self.path {
            self.uri =
                path.parse()
                    .map_err(|e: hyper::http::uri::InvalidUri| FetchError::BadPath {
                        path: path.into(),
                        reason: e.to_string(),
                    })?;
            self.path = path.to_owned();
        }
        let request = get(self.uri.clone(), &self.host, self.learner.as_ref());
        let mut sender = self.open().await?;
        if sender.ready().await.is_err() {
            // Closed since the last answer (e.g. `Connection: close`): reopen once.
            self.sender = None;
            sender = self.open().await?;
            sender.ready().await.map_err(FetchError::from_hyper)?;
        }
        let response = sender
            .send_request(request)
            .await
            .map_err(FetchError::from_hyper)?;
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
                Ok(e) => FetchError::from_hyper(*e),
                Err(e) => FetchError::Body(e),
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
