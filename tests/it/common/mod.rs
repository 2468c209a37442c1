//! A real server on port 0 and helpers to drive it with real clients.

pub mod binary;
pub mod grading;
pub mod learner;
pub mod proxy;
pub mod redis_server;
pub mod tls;

use std::time::Duration;

use eventsource_stream::{Event as SseEvent, Eventsource};
use futures_util::{Stream, StreamExt};
use realtime_playground::app::state::AppState;
use realtime_playground::{Config, bind};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for any single wait in a test, so a bug fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Asks `check` again (every 10 ms) until it answers `Some`, and returns
/// that; fails the test with `what` after [`PATIENCE`]. For state the server
/// only shows when asked (its status, a traffic log), where there is no
/// event to wait on.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(found) = check().await {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    match found {
        Ok(found) => found,
        Err(_) => panic!("{what}: not within {PATIENCE:?}"),
    }
}

pub struct TestServer {
    pub base: String,
    pub host: String,
    pub http: reqwest::Client,
    /// The server's shared state, to publish in-process when HTTP would be too slow.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with(Config::for_tests()).await
    }

    pub async fn with(config: Config) -> Self {
        Self::serving(bind(config).await.expect("bind"))
    }

    /// Serves a bound server until the test stops (or drops) it.
    pub fn serving(server: realtime_playground::BoundServer) -> Self {
        let addr = server.local_addr();
        let state = server.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        TestServer {
            base: format!("http://{addr}"),
            host: addr.to_string(),
            http: reqwest::Client::new(),
            state,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// A handle to the same server for another task (it does not stop it).
    pub fn client_of(server: &TestServer) -> TestServer {
        TestServer {
            base: server.base.clone(),
            host: server.host.clone(),
            http: server.http.clone(),
            state: server.state.clone(),
            stop: None,
            done: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.host)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("GET")
    }

    /// Publishes through `POST /api/events`; returns the new id.
    pub async fn publish(&self, topic: &str, data: Value) -> u64 {
        let res = self
            .http
            .post(self.url("/api/events"))
            .json(&serde_json::json!({"topic": topic, "type": "test", "data": data}))
            .send()
            .await
            .expect("POST /api/events");
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.expect("json");
        body["id"].as_u64().expect("id")
    }

    pub async fn status(&self) -> Value {
        self.get("/api/status")
            .await
            .json()
            .await
            .expect("status json")
    }

    /// `learner`'s traffic log entries (`query` as `GET /api/traffic` takes it).
    pub async fn traffic_of(&self, learner: &str, query: &str) -> Vec<Value> {
        let log: Value = self
            .http
            .get(self.url(&format!("/api/traffic{query}")))
            .header("X-Learner", learner)
            .send()
            .await
            .expect("traffic")
            .json()
            .await
            .expect("json");
        log["entries"].as_array().expect("entries").clone()
    }

    /// Waits until the hub has exactly `n` live subscribers (a held
    /// long-poll, an open stream...), so a test publishes only once its
    /// client is really listening.
    pub async fn wait_for_subscribers(&self, n: u64) {
        eventually(&format!("the hub reaching {n} subscribers"), || async {
            (self.status().await["subscribers"].as_u64() == Some(n)).then_some(())
        })
        .await
    }

    /// Opens an SSE stream; `last_event_id` goes into the header.
    pub async fn sse(
        &self,
        path: &str,
        last_event_id: Option<&str>,
    ) -> impl Stream<Item = SseEvent> + Unpin + use<> {
        let mut req = self.http.get(self.url(path));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.expect("GET sse");
        assert_eq!(res.status(), 200);
        res.bytes_stream()
            .eventsource()
            .map(|e| e.expect("valid SSE"))
            .boxed()
    }

    pub async fn ws(&self) -> Ws {
        self.ws_with_origin(None).await.expect("websocket connect")
    }

    /// A WebSocket that identifies as `learner` (for traffic-log tests).
    pub async fn ws_as(&self, learner: &str) -> Ws {
        let mut req = self
            .ws_url("/api/ws")
            .into_client_request()
            .expect("request");
        req.headers_mut()
            .insert("X-Learner", learner.parse().expect("learner header"));
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        ws
    }

    pub async fn ws_with_origin(&self, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
        let mut req = self.ws_url("/api/ws").into_client_request()?;
        if let Some(origin) = origin {
            req.headers_mut()
                .insert("Origin", origin.parse().expect("origin header"));
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(ws)
    }

    /// Stops the server gracefully and waits for it (dropping it only
    /// signals and abandons it).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(PATIENCE, done).await;
        }
    }
}

/// A test that ends (or fails) without [`TestServer::stop`] still stops its server.
impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            done.abort();
        }
    }
}

/// The real binary, started as a user would (port 0, feeds paused, no
/// progress file, plus `args`), and the port it printed. Killed when
/// dropped. stderr is piped (the log), so read it or it may fill.
pub async fn spawn_binary(args: &[&str]) -> (tokio::process::Child, u16) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_realtime-playground"))
        // Never the learner's own progress file, and never one another test holds.
        .args(["--port", "0", "--feeds-paused", "--ephemeral"])
        .args(args)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let port = tokio::time::timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.starts_with(realtime_playground::app::server::READY_LINE) {
                return realtime_playground::app::server::port_from_ready_line(&line)
                    .expect("port number");
            }
        }
        panic!("the binary never printed its port (do its arguments {args:?} parse?)");
    })
    .await
    .expect("started in time");
    // Keep reading: a closed pipe would kill the binary at its next print.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, port)
}

/// A client whose connections come from `127.0.0.<last>` (Linux routes all
/// of 127/8 to loopback): another machine in the room, as the server sees it.
pub fn client_from(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
            127, 0, 0, last,
        )))
        .build()
        .expect("client")
}

/// Sends SIGTERM to a child started by [`spawn_binary`].
pub fn terminate(child: &tokio::process::Child) {
    let pid = child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Waits until the server counts exactly `n` open long-lived connections
/// (`connections.total` in `/api/status`): proof that closed or vanished
/// clients were cleaned up.
pub async fn wait_for_connections(server: &TestServer, n: u64) {
    eventually(&format!("open connections reaching {n}"), || async {
        let status = server.status().await;
        (status["connections"]["total"].as_u64() == Some(n)).then_some(())
    })
    .await
}

/// Next SSE event that is not the `retry`-only preamble.
pub async fn next_sse(stream: &mut (impl Stream<Item = SseEvent> + Unpin)) -> Option<SseEvent> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let e = stream.next().await?;
            if !e.data.is_empty() || !e.event.is_empty() && e.event != "message" {
                return Some(e);
            }
        }
    })
    .await
    .expect("timed out waiting for an SSE event")
}

/// Next event that carries an id (skips the `retry` preamble and comments).
pub async fn next_numbered<E: std::fmt::Debug>(
    events: &mut (impl Stream<Item = Result<eventsource_stream::Event, E>> + Unpin),
) -> eventsource_stream::Event {
    loop {
        let e = events.next().await.expect("open").expect("valid");
        if !e.id.is_empty() {
            return e;
        }
    }
}

/// Next JSON text message from a WebSocket.
pub async fn next_json(ws: &mut Ws) -> Value {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str()).expect("json");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    })
    .await
    .expect("timed out waiting for a WebSocket message")
}

/// Next message of the given `type`, skipping others.
pub async fn next_of_type(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next_json(ws).await;
        if m["type"] == kind {
            return m;
        }
    }
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    use futures_util::SinkExt;
    ws.send(Message::text(value.to_string()))
        .await
        .expect("send");
}
