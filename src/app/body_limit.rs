//! Caps request bodies so a client cannot make the server buffer without end.
//!
//! poem's own `SizeLimit` demands a `Content-Length` on every request (even a
//! GET); this one checks the header when present and otherwise reads at most
//! `max + 1` bytes, so chunked uploads are bounded too.

use futures_util::future::Either;
use poem::error::ReadBodyError;
use poem::http::{Method, StatusCode, header};
use poem::{Body, Endpoint, Middleware, Request, Result};

pub struct BodyLimit {
    max: usize,
}

impl BodyLimit {
    pub fn new(max: usize) -> Self {
        BodyLimit { max }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint {
            inner,
            max: self.max,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large() -> poem::Error {
    poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE)
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    /// A request without a body (GET, HEAD, OPTIONS) goes straight through:
    /// the inner future is returned as it is, so this layer adds nothing to
    /// the future every request allocates. A request with a body takes a
    /// boxed detour to be checked.
    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            Either::Left(self.inner.call(req))
        } else {
            Either::Right(Box::pin(self.limited(req)))
        }
    }
}

impl<E: Endpoint> BodyLimitEndpoint<E> {
    async fn limited(&self, mut req: Request) -> Result<E::Output> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match declared {
            Some(len) if len > self.max as u64 => return Err(too_large()),
            Some(_) => {}
            None => {
                let body = req.take_body();
                let bytes = body
                    .into_bytes_limit(self.max)
                    .await
                    .map_err(|err| match err {
                        ReadBodyError::PayloadTooLarge => too_large(),
                        other => other.into(),
                    })?;
                req.set_body(Body::from_bytes(bytes));
            }
        }
        self.inner.call(req).await
    }
}
