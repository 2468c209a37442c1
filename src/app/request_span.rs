//! poem's [`Tracing`] middleware, paid for only when its output is wanted.
//!
//! poem's middleware opens an `INFO` span per request (remote address,
//! method, URI) and logs an `INFO` event per answer. Even when the filter
//! drops both (the default: `poem=warn`), it formats the client's address
//! into a `String` and wraps the request's future in its own, on every
//! request. [`RequestSpan`] asks the subscriber first: when poem's span would
//! be recorded, the request goes through poem's middleware exactly as
//! before; otherwise straight to the app.

use std::sync::Arc;

use futures_util::TryFutureExt;
use futures_util::future::Either;
use poem::middleware::{Tracing, TracingEndpoint};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The target of poem's request spans and events (its module path).
const POEM_TRACING_TARGET: &str = "poem::middleware::tracing_mw";

pub struct RequestSpan;

impl<E: Endpoint> Middleware<E> for RequestSpan {
    type Output = RequestSpanEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        let inner = Arc::new(inner);
        RequestSpanEndpoint {
            traced: Tracing.transform(inner.clone()),
            inner,
        }
    }
}

pub struct RequestSpanEndpoint<E> {
    inner: Arc<E>,
    traced: TracingEndpoint<Arc<E>>,
}

impl<E: Endpoint> Endpoint for RequestSpanEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Result<Response>> + Send {
        if tracing::span_enabled!(target: POEM_TRACING_TARGET, tracing::Level::INFO) {
            Either::Left(Box::pin(self.traced.call(req)))
        } else {
            Either::Right(
                self.inner
                    .as_ref()
                    .call(req)
                    .map_ok(IntoResponse::into_response),
            )
        }
    }
}
