//! Connections that send nothing useful are closed, and one address cannot
//! hold more sockets than its cap: silent connections, half-sent request
//! heads ("slowloris") and idle keep-alives, against the real server.

use std::time::{Duration, Instant};

use crate::common::{PATIENCE, TestServer};
use realtime_playground::Config;
use realtime_playground::connections::SOCKET_HEADROOM;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_READ: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_secs(3);

async fn server() -> TestServer {
    TestServer::with(Config {
        header_read_timeout_secs: HEADER_READ.as_secs(),
        idle_timeout_secs: IDLE.as_secs(),
        ..Config::for_tests()
    })
    .await
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(tcp: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("the server closes the connection");
    seen
}

#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_after_the_header_read_timeout() {
    let server = server().await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(&server.host).await.expect("tcp");
    let mut slow = TcpStream::connect(&server.host).await.expect("tcp");
    slow.write_all(format!("GET /api/status HTTP/1.1\r\nHost: {}\r\nX-", server.host).as_bytes())
        .await
        .expect("write");
    assert!(
        until_closed(&mut silent).await.is_empty(),
        "nothing answered"
    );
    assert!(until_closed(&mut slow).await.is_empty(), "nothing answered");
    let waited = started.elapsed();
    assert!(waited >= HEADER_READ, "closed after {waited:?}");
    assert!(
        waited < IDLE,
        "the header-read timeout, not the idle one: {waited:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_is_closed_after_the_idle_timeout() {
    let server = server().await;
    let mut tcp = TcpStream::connect(&server.host).await.expect("tcp");
    tcp.write_all(format!("GET /api/status HTTP/1.1\r\nHost: {}\r\n\r\n", server.host).as_bytes())
        .await
        .expect("write");
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.expect("answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    let answered = Instant::now();
    until_closed(&mut tcp).await;
    let idle = answered.elapsed();
    assert!(
        idle >= IDLE - Duration::from_millis(100),
        "closed after {idle:?}"
    );
}

#[tokio::test]
async fn a_stream_being_answered_is_never_idle() {
    let server = server().await;
    let resp = server
        .http
        .get(server.url("/api/sse?topics=news&limit=1"))
        .send()
        .await
        .expect("sse");
    assert_eq!(resp.status(), 200);
    // Longer than both timeouts, then an event still arrives on the stream.
    tokio::time::sleep(IDLE + HEADER_READ).await;
    server
        .publish("news", serde_json::json!({"msg": "late"}))
        .await;
    let body = tokio::time::timeout(PATIENCE, resp.text())
        .await
        .expect("in time")
        .expect("the stream was not cut");
    assert!(body.contains("late"), "{body}");
}

#[tokio::test]
async fn silent_sockets_from_one_address_hit_its_cap_and_others_are_still_answered() {
    const CAP: u32 = 4;
    let server = TestServer::with(Config {
        max_connections_per_address: CAP,
        ..Config::for_tests()
    })
    .await;
    let allowed = CAP as usize + SOCKET_HEADROOM;
    let mut silent = Vec::new();
    for _ in 0..allowed {
        silent.push(TcpStream::connect(&server.host).await.expect("tcp"));
    }
    // The next one from the same address is answered 503 and closed, unread.
    let mut over = TcpStream::connect(&server.host).await.expect("tcp");
    let answer = String::from_utf8_lossy(&until_closed(&mut over).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    // Another address is answered meanwhile.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client");
    let status = other
        .get(server.url("/api/status"))
        .send()
        .await
        .expect("answered");
    assert_eq!(status.status(), 200);
    // Freed sockets make room again.
    drop(silent);
    let mut answered = false;
    for _ in 0..100 {
        if server
            .http
            .get(server.url("/api/status"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "room again once the silent sockets closed");
}

/// Keeping a request in flight until its body is sent must not hide the
/// body's length: an answer of known size keeps its `Content-Length`
/// (clients that read a refused upgrade's body raw, like tungstenite, and
/// the traffic log's bytes on the wire depend on it), and a stream stays
/// chunked.
#[tokio::test]
async fn answers_of_known_length_keep_their_content_length() {
    let server = server().await;
    let res = server.get("/api/status").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().get("transfer-encoding").is_none(),
        "{:?}",
        res.headers()
    );
    let length: usize = res.headers()["content-length"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("a number");
    assert_eq!(res.bytes().await.expect("body").len(), length);

    let stream = server.get("/api/sse?limit=1").await;
    assert_eq!(stream.headers()["transfer-encoding"], "chunked");
}
