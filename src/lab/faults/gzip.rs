//! The "gzip on the stream" switch, as a response-body wrapper: the SSE
//! stream compressed the way a compression layer would do it.
//!
//! `buffered` is what a naive layer does: bytes come out only when the
//! deflate buffers fill (tens of kilobytes) or the stream ends, so events sit
//! on the server — the reason compression must stay off event streams.
//! `flushed` adds a sync flush (`Z_SYNC_FLUSH`) after every chunk the stream
//! writes (one SSE field each): every event leaves at once, compressed, at
//! the cost of a few bytes per flush.

use std::io::Write;

use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};

/// Compresses `chunks` with gzip; with `flush_each`, flushes after every chunk.
pub fn encode(
    chunks: BoxStream<'static, std::io::Result<Bytes>>,
    flush_each: bool,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let end = stream::once(async { None });
    chunks
        .map(Some)
        .chain(end)
        .scan(Some(encoder), move |state, chunk| {
            let out = match (state.as_mut(), chunk) {
                (Some(encoder), Some(Ok(chunk))) => encoder
                    .write_all(&chunk)
                    .and_then(|()| if flush_each { encoder.flush() } else { Ok(()) })
                    .map(|()| Bytes::from(std::mem::take(encoder.get_mut()))),
                (Some(_), Some(Err(err))) => Err(err),
                (Some(_), None) => state
                    .take()
                    .map_or(Ok(Vec::new()), |encoder| encoder.finish())
                    .map(Bytes::from),
                (None, _) => Ok(Bytes::new()),
            };
            std::future::ready(Some(out))
        })
        // Nothing compressed yet: write nothing (an empty chunk would end the body).
        .filter(|out| std::future::ready(!matches!(out, Ok(b) if b.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn chunks(n: usize) -> BoxStream<'static, std::io::Result<Bytes>> {
        stream::iter((0..n).map(|i| Ok(Bytes::from(format!("id: {i}\ndata: {{\"n\":{i}}}\n\n")))))
            .boxed()
    }

    fn gunzip(bytes: &[u8]) -> String {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut out)
            .expect("valid gzip");
        out
    }

    #[tokio::test]
    async fn buffered_writes_nothing_until_the_end() {
        let out: Vec<_> = encode(chunks(5), false).collect().await;
        // Everything comes out when the stream ends: the header and deflate
        // data at the finish, not one piece per event.
        assert!(out.len() <= 2, "{} pieces", out.len());
        let all: Vec<u8> = out.into_iter().flat_map(|b| b.expect("ok")).collect();
        assert_eq!(gunzip(&all).matches("id: ").count(), 5);
    }

    #[tokio::test]
    async fn flushed_writes_every_event_at_once() {
        let pieces: Vec<Bytes> = encode(chunks(5), true)
            .map(|b| b.expect("ok"))
            .collect()
            .await;
        assert_eq!(pieces.len(), 6, "one piece per event, then the trailer");
        // Every flushed prefix decompresses to the events written so far.
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        for (i, piece) in pieces.iter().take(5).enumerate() {
            decoder.write_all(piece).expect("inflate");
            decoder.flush().expect("flush");
            let text = String::from_utf8_lossy(decoder.get_ref()).into_owned();
            assert_eq!(text.matches("id: ").count(), i + 1, "{text}");
        }
    }
}
