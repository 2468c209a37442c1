//! "Grade my server" against servers that behave and servers that do not:
//! the playground's own endpoints grade all-pass, refused targets get a
//! problem document, and a server that stalls, never ends or floods costs a
//! bounded run.

use std::time::{Duration, Instant};

use crate::common::grading::{grade, post_run};
use crate::common::{PATIENCE, TestServer};
use realtime_playground::Config;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The run's bound (20 s) and a little for the answer to travel.
const RUN_BOUND: Duration = Duration::from_secs(22);

async fn quick_heartbeats() -> TestServer {
    TestServer::with(Config {
        sse_heartbeat_secs: 2,
        ..Config::for_tests()
    })
    .await
}

#[tokio::test]
async fn the_playgrounds_own_sse_endpoint_grades_all_pass() {
    let server = quick_heartbeats().await;
    let card = grade(&server, "me", "sse", &server.url("/api/sse")).await;
    assert!(card.all_pass(), "{}", card.show());
    assert_eq!(card.verdict_header, "all_pass");
    assert_eq!(card.body["lines"].as_array().map(Vec::len), Some(12));
    assert_eq!(card.ids("info"), ["cors"], "{}", card.show());
    let resume = card.line("last_event_id_resume");
    assert!(resume["why"].as_str().is_some_and(|w| !w.is_empty()));
    assert!(
        resume["sent"]
            .as_str()
            .is_some_and(|s| s.contains("last-event-id"))
    );
    assert!(
        card.body["connections"]
            .as_u64()
            .is_some_and(|n| (2..=16).contains(&n))
    );
}

#[tokio::test]
async fn the_playgrounds_websockets_grade_all_pass() {
    let server = TestServer::start().await;
    for path in ["/api/ws", "/api/ws/echo"] {
        let card = grade(&server, "me", "websocket", &server.ws_url(path)).await;
        assert!(card.all_pass(), "{path}:\n{}", card.show());
        assert_eq!(card.body["lines"].as_array().map(Vec::len), Some(6));
        assert!(
            card.line("oversized_message")["detail"]
                .as_str()
                .is_some_and(|d| d.contains("1009")),
            "{}",
            card.show()
        );
    }
}

async fn assert_problem(res: reqwest::Response, status: u16, mentions: &str) {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("problem json");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(mentions),
        "{detail:?} mentions {mentions:?}"
    );
}

#[tokio::test]
async fn targets_outside_loopback_are_refused_with_a_problem() {
    let server = TestServer::start().await;
    let refused = |url: &str, kind: &str| {
        let body = json!({"url": url, "kind": kind});
        let server = &server;
        async move { post_run(server, "me", body).await }
    };
    assert_problem(
        refused("http://10.20.30.40:8000/sse", "sse").await,
        403,
        "loopback",
    )
    .await;
    assert_problem(
        refused("http://[::ffff:8.8.8.8]/sse", "sse").await,
        403,
        "loopback",
    )
    .await;
    assert_problem(
        refused("ws://192.0.2.1/ws", "websocket").await,
        403,
        "--grader-allow-remote",
    )
    .await;
    assert_problem(
        refused("https://127.0.0.1/sse", "sse").await,
        400,
        "http://",
    )
    .await;
    assert_problem(refused("not a url", "sse").await, 400, "not a URL").await;
    let other_port = json!({"url": "http://127.0.0.1:1/sse", "kind": "sse", "publish_url": "http://127.0.0.1:2/events"});
    assert_problem(
        post_run(&server, "me", other_port).await,
        400,
        "same host and port",
    )
    .await;
}

/// A TCP server that accepts and then does `behave` with each connection;
/// says on `accepted` when a connection came in.
async fn misbehaving<F, Fut>(behave: F) -> (String, mpsc::UnboundedReceiver<()>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (accepted, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let _ = accepted.send(());
            tokio::spawn(behave(socket));
        }
    });
    (format!("{addr}"), rx)
}

#[tokio::test]
async fn a_server_that_never_answers_costs_a_bounded_run_and_one_run_per_learner() {
    let server = TestServer::start().await;
    // Accepts, reads nothing, answers nothing, never closes.
    let (addr, mut accepted) = misbehaving(|socket| async move {
        let _held = socket;
        std::future::pending::<()>().await;
    })
    .await;
    let url = format!("http://{addr}/sse");
    let started = Instant::now();
    let first = {
        let client = TestServer::client_of(&server);
        let url = url.clone();
        tokio::spawn(async move { grade(&client, "alice", "sse", &url).await })
    };
    tokio::time::timeout(PATIENCE, accepted.recv())
        .await
        .expect("the run connects");
    // Alice's run is going: her second is refused, Bob's may start.
    let again = post_run(&server, "alice", json!({"url": url, "kind": "sse"})).await;
    assert_problem(again, 429, "still grading").await;
    let card = first.await.expect("first run");
    assert!(started.elapsed() < RUN_BOUND);
    assert_eq!(card.ids("fail"), ["status_200"], "{}", card.show());
    assert!(
        card.line("status_200")["detail"]
            .as_str()
            .is_some_and(|d| d.contains("No answer"))
    );
    assert_eq!(card.ids("skipped").len(), 10, "{}", card.show());
    assert_eq!(card.ids("info"), ["cors"]);
    assert_eq!(card.verdict_header, "not_yet");
}

#[tokio::test]
async fn a_stream_that_floods_bytes_is_cut_at_the_byte_bound() {
    let server = TestServer::start().await;
    // 200 text/event-stream, then one data line that never ends, forever.
    let (addr, _accepted) = misbehaving(|mut socket| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\nretry: 1000\n\ndata: ";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let junk = vec![b'x'; 64 * 1024];
        while socket.write_all(&junk).await.is_ok() {}
    })
    .await;
    let started = Instant::now();
    let card = grade(&server, "me", "sse", &format!("http://{addr}/sse")).await;
    assert!(started.elapsed() < RUN_BOUND);
    let read = card.body["bytes_read"].as_u64().expect("bytes_read");
    // The bound is 1 MiB; the chunk that crosses it is read whole.
    assert!(read <= 2 * 1024 * 1024, "read {read} bytes");
    assert!(
        card.ids("fail")
            .contains(&"first_event_unbuffered".to_owned()),
        "{}",
        card.show()
    );
}

#[tokio::test]
async fn a_stream_that_never_sends_a_byte_fails_within_the_run_bound() {
    let server = TestServer::start().await;
    // Headers, then silence forever (no retry, no events, no heartbeat).
    let (addr, _accepted) = misbehaving(|mut socket| async move {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
        let _ = socket.write_all(head.as_bytes()).await;
        std::future::pending::<()>().await;
    })
    .await;
    let started = Instant::now();
    let card = grade(&server, "me", "sse", &format!("http://{addr}/sse")).await;
    assert!(started.elapsed() < RUN_BOUND);
    assert_eq!(
        card.ids("pass"),
        ["status_200", "content_type", "cache_control_no_cache"],
        "{}",
        card.show()
    );
    assert!(
        card.ids("fail").contains(&"heartbeat_when_idle".to_owned()),
        "{}",
        card.show()
    );
}

#[tokio::test]
async fn a_websocket_that_stops_reading_fails_exactly_the_lines_after_the_handshake() {
    let server = TestServer::start().await;
    // A real handshake, then nothing: no answers, no pongs, no close.
    let (addr, _accepted) = misbehaving(|socket| async move {
        if let Ok(ws) = tokio_tungstenite::accept_async(socket).await {
            let _held = ws;
            std::future::pending::<()>().await;
        }
    })
    .await;
    let started = Instant::now();
    let card = grade(&server, "me", "websocket", &format!("ws://{addr}/ws")).await;
    assert!(started.elapsed() < RUN_BOUND);
    assert_eq!(
        card.ids("pass"),
        ["status_101", "accept_key"],
        "{}",
        card.show()
    );
    assert_eq!(
        card.ids("fail"),
        [
            "echo_answer",
            "ping_pong",
            "clean_close",
            "oversized_message"
        ],
        "{}",
        card.show()
    );
}

#[tokio::test]
async fn a_wrong_accept_key_fails_its_line() {
    let server = TestServer::start().await;
    let (addr, _accepted) = misbehaving(|mut socket| async move {
        let mut buf = [0u8; 2048];
        let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
        let answer = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: d3Jvbmc=\r\n\r\n";
        let _ = socket.write_all(answer.as_bytes()).await;
        std::future::pending::<()>().await;
    })
    .await;
    let card = grade(&server, "me", "websocket", &format!("ws://{addr}/ws")).await;
    assert_eq!(card.ids("pass"), ["status_101"], "{}", card.show());
    assert_eq!(card.ids("fail"), ["accept_key"], "{}", card.show());
    assert_eq!(card.ids("skipped").len(), 4);
}

async fn step_of(server: &TestServer, learner: &str, step: &str) -> Value {
    let progress: Value = server
        .http
        .get(server.url("/api/lessons/whats-next/progress"))
        .header("x-learner", learner)
        .send()
        .await
        .expect("progress")
        .json()
        .await
        .expect("json");
    progress["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == step).cloned())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn lesson_10s_steps_tick_on_the_learners_own_runs_not_on_show_me() {
    let server = quick_heartbeats().await;
    let break_step = "break-it-see-the-exact-line-fail-fix-it";
    let res = server
        .http
        .post(server.url(&format!("/api/lessons/whats-next/steps/{break_step}/enter")))
        .header("x-learner", "carol")
        .send()
        .await
        .expect("enter");
    assert!(res.status().is_success());
    // Show me's run (actor=play) is watched, never done.
    let played = server
        .http
        .post(server.url("/api/grader/runs?actor=play"))
        .header("x-learner", "carol")
        .json(&json!({"url": server.url("/api/sse"), "kind": "sse"}))
        .send()
        .await
        .expect("played run");
    assert_eq!(played.status(), 200);
    let passing = grade(&server, "carol", "sse", &server.url("/api/sse")).await;
    assert!(passing.all_pass(), "{}", passing.show());
    assert_eq!(
        step_of(&server, "carol", break_step).await["done"],
        false,
        "a pass alone"
    );
    // Heartbeats off: exactly one line fails, and the step has its failing run.
    let broken = grade(&server, "carol", "sse", &server.url("/api/sse?heartbeat=0")).await;
    assert_eq!(
        broken.ids("fail"),
        ["heartbeat_when_idle"],
        "{}",
        broken.show()
    );
    assert_eq!(broken.verdict_header, "not_yet");
    let step = step_of(&server, "carol", break_step).await;
    assert_eq!(step["done"], true, "{step}");
}
