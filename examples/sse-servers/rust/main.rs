//! The lesson's SSE server in Rust: poem and tokio.
//!
//!     cargo run --example sse-server -- --port 4000   # then: curl -N localhost:4000/sse
//!
//! `--port 0` picks a free port; the first line printed names the URL.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use poem::http::{HeaderMap, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::sse::{Event, SSE};
use poem::web::{Data, Json};
use poem::{EndpointExt, Route, Server, get, handler, post};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const KEPT: usize = 1000; // the replay buffer holds this many events

#[derive(Clone)]
struct Note {
    id: u64,
    data: Value,
}

struct Store {
    events: Vec<Note>,
    newest: u64,
}

#[derive(Clone)]
struct App {
    store: Arc<Mutex<Store>>,
    live: broadcast::Sender<Note>,
}

fn frame(n: &Note) -> Event {
    Event::message(n.data.to_string())
        .id(n.id.to_string())
        .event_type("note")
}

/// `None` for a missing or garbled id: no resume point, never an error
/// (an error status would end the client's EventSource for good).
fn resume_point(headers: &HeaderMap) -> Option<u64> {
    headers.get("last-event-id")?.to_str().ok()?.parse().ok()
}

/// Whether events after `last` were lost (reset), and those still kept.
fn replay(store: &Store, last: Option<u64>) -> (bool, Vec<Note>) {
    let Some(last) = last else {
        return (false, Vec::new());
    };
    let oldest = store.events.first().map_or(store.newest + 1, |n| n.id);
    let lost = last > store.newest || last + 1 < oldest; // another run's id, or out of the buffer
    let missed = store
        .events
        .iter()
        .filter(|n| lost || n.id > last)
        .cloned()
        .collect();
    (lost, missed)
}

#[handler]
fn publish(app: Data<&App>, Json(data): Json<Value>) -> (StatusCode, Json<Value>) {
    let note = {
        let mut store = app.store.lock().unwrap_or_else(PoisonError::into_inner);
        store.newest += 1;
        let note = Note {
            id: store.newest,
            data,
        };
        store.events.push(note.clone());
        if store.events.len() > KEPT {
            store.events.remove(0);
        }
        note
    };
    let _ = app.live.send(note.clone()); // no listener is fine
    (StatusCode::ACCEPTED, Json(json!({ "id": note.id })))
}

#[handler]
fn sse(app: Data<&App>, headers: &HeaderMap) -> SSE {
    let live = app.live.subscribe(); // listen first: nothing slips between replay and live
    let last = resume_point(headers);
    let (lost, missed) = replay(
        &app.store.lock().unwrap_or_else(PoisonError::into_inner),
        last,
    );
    let reset = Event::message(r#"{"message":"events were lost; reload"}"#).event_type("reset");
    let sent = missed
        .last()
        .map(|n| n.id)
        .or(last.filter(|_| !lost))
        .unwrap_or(0);
    let head = std::iter::once(Event::retry(2000))
        .chain(lost.then_some(reset))
        .chain(missed.iter().map(frame).collect::<Vec<_>>());
    let live = stream::unfold((live, sent), |(mut rx, sent)| async move {
        loop {
            match rx.recv().await {
                Ok(n) if n.id > sent => return Some((frame(&n), (rx, n.id))), // skip what the replay sent
                Ok(_) => continue,
                // Fell behind or shut down: end the stream, the browser resumes with Last-Event-ID.
                Err(_) => return None,
            }
        }
    });
    SSE::new(stream::iter(head).chain(live)).keep_alive(Duration::from_secs(15))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = match args.iter().position(|a| a == "--port") {
        Some(at) => args
            .get(at + 1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(4000),
        None => 4000,
    };
    // Ids start at the clock (ms): a restarted server never reuses one.
    let newest = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let app = App {
        store: Arc::new(Mutex::new(Store {
            events: Vec::new(),
            newest,
        })),
        live: broadcast::channel(KEPT).0,
    };
    let routes = Route::new()
        .at("/events", post(publish))
        .at("/sse", get(sse))
        .data(app);
    let acceptor = TcpListener::bind(("127.0.0.1", port))
        .into_acceptor()
        .await?;
    let port = acceptor.local_addr()[0]
        .as_socket_addr()
        .map_or(port, |a| a.port());
    println!("SSE server listening on http://127.0.0.1:{port}/sse");
    Server::new_with_acceptor(acceptor).run(routes).await
}
