//! Clear-text HTTP that reaches a `--tls` port: an old bookmark, or
//! `http://` typed out of habit. A TLS client's first byte is always 22 (a
//! handshake record); anything else is answered, in clear text and parsed by
//! hyper, with a redirect to the same address over `https://` instead of a
//! connection that just closes (which a browser shows as an empty response).

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, HeaderValue, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The first byte of every TLS connection: a handshake record (RFC 8446, 5.1).
pub const TLS_HANDSHAKE: u8 = 22;

/// A connection whose first byte was read to tell TLS from clear text, and
/// is handed back before the rest.
pub struct Replayed<Io> {
    first: Option<u8>,
    io: Io,
}

impl<Io> Replayed<Io> {
    pub fn new(first: u8, io: Io) -> Self {
        Replayed {
            first: Some(first),
            io,
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for Replayed<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() > 0
            && let Some(byte) = self.first.take()
        {
            buf.put_slice(&[byte]);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for Replayed<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Answers one clear-text request with a redirect to `https://` and closes.
pub async fn redirect_to_https<Io>(io: Io)
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
        Ok::<_, Infallible>(redirect(&req))
    });
    let served = http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(err) = served {
        tracing::debug!(error = %err, "clear-text request on the TLS port");
    }
}

/// `308` to the same host and path over `https://`; `400` without a Host.
fn redirect<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let (status, location) = match host {
        Some(host) => (
            StatusCode::PERMANENT_REDIRECT,
            Some(format!("https://{host}{path}")),
        ),
        None => (StatusCode::BAD_REQUEST, None),
    };
    let text = match &location {
        Some(url) => format!("This port speaks HTTPS only: {url}\n"),
        None => "This port speaks HTTPS only.\n".to_owned(),
    };
    let mut res = Response::new(Full::new(Bytes::from(text)));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    if let Some(value) = location.and_then(|l| l.parse().ok()) {
        headers.insert(LOCATION, value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_clear_text_request_is_sent_to_https() {
        let (client, server) = tokio::io::duplex(4096);
        let (mut client, server) = (client, server);
        let task = tokio::spawn(async move {
            let mut server = server;
            let mut first = [0u8; 1];
            server.read_exact(&mut first).await.expect("first byte");
            assert_ne!(first[0], TLS_HANDSHAKE);
            redirect_to_https(Replayed::new(first[0], server)).await;
        });
        client
            .write_all(b"GET /lessons/http2?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.expect("read");
        task.await.expect("served");
        assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
        assert!(
            answer.contains("location: https://127.0.0.1:8080/lessons/http2?x=1\r\n"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn without_a_host_it_says_why() {
        let req = Request::get("/").body(()).expect("request");
        let res = redirect(&req);
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.headers().get(LOCATION).is_none());
    }
}
