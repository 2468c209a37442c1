//! The corporate proxy's response buffer, as a response-body wrapper.
//!
//! A proxy with buffering on (nginx's default `proxy_buffering on`, most
//! corporate proxies and virus scanners) reads the server's answer into a
//! buffer and passes it on when the buffer is full or the answer ends. For a
//! complete answer (a poll) that changes nothing; for an event stream it
//! means silence until [`CAPACITY`] bytes of events and heartbeats have
//! piled up, then a burst. The server's `X-Accel-Buffering: no` is nginx's
//! way out; a proxy the learner does not control ignores it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use futures_util::stream::BoxStream;

/// Bytes held before the proxy passes them on (nginx's `proxy_buffer_size` is one page).
pub const CAPACITY: usize = 4096;

/// A body that passes bytes on only in pieces of at least `capacity` bytes,
/// or whatever is left when the inner body ends.
pub struct ProxyBuffer {
    inner: BoxStream<'static, std::io::Result<Bytes>>,
    held: BytesMut,
    capacity: usize,
    ended: bool,
}

impl ProxyBuffer {
    pub fn new(inner: BoxStream<'static, std::io::Result<Bytes>>, capacity: usize) -> Self {
        ProxyBuffer {
            inner,
            held: BytesMut::new(),
            capacity,
            ended: false,
        }
    }
}

impl Stream for ProxyBuffer {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        while !self.ended {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.held.extend_from_slice(&chunk);
                    if self.held.len() >= self.capacity {
                        let full = self.held.split().freeze();
                        return Poll::Ready(Some(Ok(full)));
                    }
                }
                Poll::Ready(Some(Err(err))) => return Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.held.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(self.held.split().freeze())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use futures_util::stream;

    #[tokio::test]
    async fn holds_until_full_then_passes_the_rest_at_the_end() {
        let chunks = stream::iter((0..10).map(|_| Ok(Bytes::from(vec![b'x'; 1000])))).boxed();
        let out: Vec<usize> = ProxyBuffer::new(chunks, CAPACITY)
            .map(|b| b.expect("ok").len())
            .collect()
            .await;
        assert_eq!(out, vec![5000, 5000]);
    }

    #[tokio::test]
    async fn a_short_answer_passes_whole() {
        let chunks = stream::iter([Ok(Bytes::from_static(b"retry: 2000\n\n"))]).boxed();
        let out: Vec<_> = ProxyBuffer::new(chunks, CAPACITY).collect().await;
        assert_eq!(out.len(), 1);
    }
}
