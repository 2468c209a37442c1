//! Two instances behind one Redis (`--redis-url`): one event sequence for
//! pollers, SSE and WebSocket clients on both, Last-Event-ID that works
//! across instances, chat and presence across instances, and a Redis restart
//! that loses no accepted event. Each test starts its own `redis-server` on a
//! free port (see `common::redis_server`).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::redis_server::RedisServer;
use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use realtime_playground::Config;
use serde_json::{Value, json};

fn shared(redis: &RedisServer) -> Config {
    Config {
        redis_url: Some(redis.url()),
        ..Config::for_tests()
    }
}

/// Publishes through `POST /api/events` on `server`; returns the id.
async fn publish_on(server: &TestServer, topic: &str, data: Value) -> u64 {
    server.publish(topic, data).await
}

/// Reads SSE events (skipping the preamble) until one with id `last` came;
/// returns every (id, data) seen, and fails on a reset.
async fn sse_until(
    stream: &mut (impl Stream<Item = eventsource_stream::Event> + Unpin),
    last: u64,
) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    loop {
        let e = next_sse(stream).await.expect("the stream goes on");
        assert_ne!(e.event, "reset", "unexpected reset: {}", e.data);
        let id: u64 = e.id.parse().expect("numeric id");
        let event: Value = serde_json::from_str(&e.data).expect("json");
        seen.push((id, event["data"].clone()));
        if id >= last {
            return seen;
        }
    }
}

async fn ws_until(ws: &mut Ws, last: u64) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    loop {
        let m = next_json(ws).await;
        assert_ne!(m["type"], "reset", "unexpected reset: {m}");
        if m["type"] != "event" {
            continue;
        }
        let id = m["event"]["id"].as_u64().expect("id");
        seen.push((id, m["event"]["data"].clone()));
        if id >= last {
            return seen;
        }
    }
}

/// A short poller: asks again and again from its cursor until it has `last`.
async fn poll_until(server: &TestServer, topic: &str, last: u64) -> Vec<(u64, Value)> {
    let mut seen = Vec::new();
    let mut since = 0;
    tokio::time::timeout(PATIENCE, async {
        while since < last {
            let res = server
                .get(&format!("/api/poll?topics={topic}&since={since}"))
                .await;
            if res.status() == 204 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            let batch: Value = res.json().await.expect("batch");
            assert!(batch.get("reset").is_none(), "unexpected reset: {batch}");
            for e in batch["events"].as_array().expect("events") {
                seen.push((e["id"].as_u64().expect("id"), e["data"].clone()));
            }
            since = batch["last_id"].as_u64().expect("last_id");
        }
    })
    .await
    .expect("the poller got every event in time");
    seen
}

async fn subscribe_ws(server: &TestServer, topic: &str) -> Ws {
    let mut ws = server.ws().await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type":"subscribe","topics":[topic]})).await;
    next_of_type(&mut ws, "ack").await;
    ws
}

/// Waits until `/api/status` on `server` shows a backplane for which `ok` holds.
async fn wait_for_backplane(server: &TestServer, what: &str, ok: impl Fn(&Value) -> bool) {
    let outcome = tokio::time::timeout(PATIENCE, async {
        loop {
            if ok(&server.status().await["backplane"]) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the backplane never became {what}: {}",
        server.status().await["backplane"]
    );
}

#[tokio::test]
async fn events_from_either_instance_reach_every_client_on_both_in_one_order() {
    let Some(redis) =
        RedisServer::start("events_from_either_instance_reach_every_client_on_both_in_one_order")
            .await
    else {
        return;
    };
    let a = TestServer::with(shared(&redis)).await;
    let b = TestServer::with(shared(&redis)).await;
    let mut sse_a = a.sse("/api/sse?topics=t", None).await;
    let mut sse_b = b.sse("/api/sse?topics=t", None).await;
    let mut ws_a = subscribe_ws(&a, "t").await;
    let mut ws_b = subscribe_ws(&b, "t").await;
    a.wait_for_subscribers(2).await;
    b.wait_for_subscribers(2).await;

    // Taking turns: each answer's id follows the previous one.
    let mut ids = Vec::new();
    for n in 0..6 {
        let on = if n % 2 == 0 { &a } else { &b };
        ids.push(publish_on(on, "t", json!({"turn": n})).await);
    }
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    // At once from both: Redis decides the order, everyone must see that one.
    let burst = futures_util::future::join_all((0..10).map(|n| {
        let on = if n % 2 == 0 { &a } else { &b };
        publish_on(on, "t", json!({"burst": n}))
    }))
    .await;
    ids.extend(burst);
    ids.sort_unstable();
    let last = *ids.last().expect("ids");
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no id twice, none skipped: {ids:?}"
    );

    let reference = sse_until(&mut sse_a, last).await;
    let seen_ids: Vec<u64> = reference.iter().map(|(id, _)| *id).collect();
    assert_eq!(seen_ids, ids, "SSE on A: every event once, in id order");
    assert_eq!(sse_until(&mut sse_b, last).await, reference, "SSE on B");
    assert_eq!(ws_until(&mut ws_a, last).await, reference, "WebSocket on A");
    assert_eq!(ws_until(&mut ws_b, last).await, reference, "WebSocket on B");
    assert_eq!(poll_until(&a, "t", last).await, reference, "poller on A");
    assert_eq!(poll_until(&b, "t", last).await, reference, "poller on B");

    // A WebSocket publish on B reaches the WebSocket on A.
    send_json(
        &mut ws_b,
        json!({"type":"publish","topic":"t","data":"from ws"}),
    )
    .await;
    let ack = next_of_type(&mut ws_b, "ack").await;
    let id = ack["id"].as_u64().expect("the ack carries the id");
    assert_eq!(id, last + 1);
    assert_eq!(ws_until(&mut ws_a, id).await, vec![(id, json!("from ws"))]);
    a.stop().await;
}

#[tokio::test]
async fn an_sse_client_moves_from_a_killed_instance_to_another_and_gets_exactly_what_it_missed() {
    let Some(redis) = RedisServer::start(
        "an_sse_client_moves_from_a_killed_instance_to_another_and_gets_exactly_what_it_missed",
    )
    .await
    else {
        return;
    };
    // A is a real process (clock ids, the default), killed without warning.
    let (mut a, port_a) = spawn_binary(&["--redis-url", &redis.url()]).await;
    let b = TestServer::with(shared(&redis)).await;
    let http = reqwest::Client::new();
    let a_url = |path: &str| format!("http://127.0.0.1:{port_a}{path}");
    let res = http
        .get(a_url("/api/sse?topics=m"))
        .send()
        .await
        .expect("SSE on A");
    let mut on_a = res
        .bytes_stream()
        .eventsource()
        .map(|e| e.expect("valid SSE"))
        .boxed();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let status: Value = http
                .get(a_url("/api/status"))
                .send()
                .await
                .expect("status")
                .json()
                .await
                .expect("json");
            if status["subscribers"] == 1 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the stream on A subscribed");

    let mut published = Vec::new();
    for n in 0..3 {
        let res = http
            .post(a_url("/api/events"))
            .json(&json!({"topic":"m","data":n}))
            .send()
            .await
            .expect("publish on A");
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.expect("json");
        published.push(body["id"].as_u64().expect("id"));
    }
    // B shares A's ids (the first instance set the base; B adopted it).
    assert!(published[0] > 1_000_000, "clock ids: {published:?}");
    // The client has read two of the three when A dies; the third may be in
    // flight, and is lost with the connection.
    let seen = sse_until(&mut on_a, published[1]).await;
    assert_eq!(seen.last().map(|(id, _)| *id), Some(published[1]));
    a.kill().await.expect("kill A");
    drop(on_a);
    // Two more happen while the client is away.
    published.push(publish_on(&b, "m", json!(3)).await);
    published.push(publish_on(&b, "m", json!(4)).await);

    // It reconnects to B as EventSource would, with its Last-Event-ID.
    let last_seen = published[1].to_string();
    let mut on_b = b.sse("/api/sse?topics=m", Some(&last_seen)).await;
    let missed = sse_until(&mut on_b, published[4]).await;
    assert_eq!(
        missed,
        vec![
            (published[2], json!(2)),
            (published[3], json!(3)),
            (published[4], json!(4)),
        ],
        "exactly the missed events, once, in order"
    );
    // And it is live on B from there.
    let next = publish_on(&b, "m", json!(5)).await;
    assert_eq!(sse_until(&mut on_b, next).await, vec![(next, json!(5))]);
}

/// What the background publisher saw for one publish.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Accepted(u64),
    Unavailable,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_under_load_loses_no_accepted_event() {
    let Some(mut redis) =
        RedisServer::start("redis_restarting_under_load_loses_no_accepted_event").await
    else {
        return;
    };
    let a = TestServer::with(shared(&redis)).await;
    let b = TestServer::with(shared(&redis)).await;
    let mut sse_a = a.sse("/api/sse?topics=load", None).await;
    let mut sse_b = b.sse("/api/sse?topics=load", None).await;
    let mut ws_a = subscribe_ws(&a, "load").await;
    a.wait_for_subscribers(2).await;
    b.wait_for_subscribers(1).await;

    // Light load: one publish after another, taking turns between A and B.
    let (tx, mut outcomes) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    let publisher = {
        let (a, b, stop) = (
            TestServer::client_of(&a),
            TestServer::client_of(&b),
            stop.clone(),
        );
        tokio::spawn(async move {
            for n in 0u64.. {
                if stop.is_cancelled() {
                    return;
                }
                let on = if n % 2 == 0 { &a } else { &b };
                let res = on
                    .http
                    .post(on.url("/api/events"))
                    .json(&json!({"topic":"load","data":n}))
                    .send()
                    .await
                    .expect("the instance itself answers");
                let outcome = match res.status().as_u16() {
                    202 => {
                        let body: Value = res.json().await.expect("json");
                        Outcome::Accepted(body["id"].as_u64().expect("id"))
                    }
                    503 => {
                        assert_eq!(
                            res.headers()["content-type"],
                            "application/problem+json",
                            "a problem document"
                        );
                        let problem: Value = res.json().await.expect("json");
                        assert!(
                            problem["detail"]
                                .as_str()
                                .is_some_and(|d| d.contains("Redis")),
                            "{problem}"
                        );
                        Outcome::Unavailable
                    }
                    other => panic!("unexpected status {other}"),
                };
                if tx.send(outcome).is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut log = Vec::new();
    let mut wait_for =
        async |log: &mut Vec<Outcome>, what: &str, done: &dyn Fn(&[Outcome]) -> bool| {
            let got = tokio::time::timeout(PATIENCE, async {
                while !done(log) {
                    log.push(outcomes.recv().await.expect("the publisher runs"));
                }
            })
            .await;
            assert!(got.is_ok(), "never saw {what}: {log:?}");
        };
    let accepted = |log: &[Outcome]| {
        log.iter()
            .filter(|o| matches!(o, Outcome::Accepted(_)))
            .count()
    };

    wait_for(&mut log, "5 accepted publishes", &|l| accepted(l) >= 5).await;
    redis.kill();
    let before_outage = log.len();
    wait_for(&mut log, "a 503 while Redis is down", &|l| {
        l[before_outage..]
            .iter()
            .any(|o| matches!(o, Outcome::Unavailable))
    })
    .await;
    wait_for_backplane(&a, "reconnecting on A", |b| b["state"] == "reconnecting").await;
    wait_for_backplane(&b, "reconnecting on B", |b| b["state"] == "reconnecting").await;
    // A WebSocket publish gets a typed error; the socket stays open.
    send_json(
        &mut ws_a,
        json!({"type":"publish","topic":"other","data":0,"ref":7}),
    )
    .await;
    let error = next_of_type(&mut ws_a, "error").await;
    assert_eq!(
        (error["code"].as_str(), error["ref"].as_u64()),
        (Some("unavailable"), Some(7))
    );

    redis.restart().await;
    wait_for_backplane(&a, "connected again on A", |b| b["state"] == "connected").await;
    wait_for_backplane(&b, "connected again on B", |b| b["state"] == "connected").await;
    let after_outage = log.len();
    wait_for(&mut log, "5 accepted publishes after the restart", &|l| {
        accepted(&l[after_outage..]) >= 5
    })
    .await;
    stop.cancel();
    drop(outcomes);
    let _ = publisher.await;

    let accepted_ids: BTreeSet<u64> = log
        .iter()
        .filter_map(|o| match o {
            Outcome::Accepted(id) => Some(*id),
            Outcome::Unavailable => None,
        })
        .collect();
    let last = *accepted_ids.last().expect("accepted ids");
    let on_a: Vec<u64> = sse_until(&mut sse_a, last)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let on_b: Vec<u64> = sse_until(&mut sse_b, last)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(on_a, on_b, "both instances deliver the same sequence");
    assert!(
        on_a.windows(2).all(|w| w[1] == w[0] + 1),
        "no duplicate, no gap: {on_a:?}"
    );
    let delivered: BTreeSet<u64> = on_a.iter().copied().collect();
    let lost: Vec<_> = accepted_ids.difference(&delivered).collect();
    assert!(lost.is_empty(), "accepted but never delivered: {lost:?}");
    // Neither instance restarted: same servers, still answering.
    assert_eq!(a.status().await["backplane"]["state"], "connected");
    a.stop().await;
}

#[tokio::test]
async fn redis_losing_its_data_starts_a_new_run_that_clients_are_told_about() {
    let Some(redis) =
        RedisServer::start("redis_losing_its_data_starts_a_new_run_that_clients_are_told_about")
            .await
    else {
        return;
    };
    let clock = Config {
        event_ids: realtime_playground::config::EventIds::Clock,
        ..shared(&redis)
    };
    let a = TestServer::with(clock.clone()).await;
    let b = TestServer::with(clock).await;
    let mut sse_b = b.sse("/api/sse?topics=x", None).await;
    b.wait_for_subscribers(1).await;
    let old = publish_on(&a, "x", json!("before")).await;
    assert_eq!(
        sse_until(&mut sse_b, old).await,
        vec![(old, json!("before"))]
    );

    redis.flush_all();
    // Publishing fails the base check until an instance notices and the
    // instances agree on a new base; then it works again.
    let new = tokio::time::timeout(PATIENCE, async {
        loop {
            let res = a
                .http
                .post(a.url("/api/events"))
                .json(&json!({"topic":"x","data":"after"}))
                .send()
                .await
                .expect("publish");
            match res.status().as_u16() {
                202 => return res.json::<Value>().await.expect("json")["id"].as_u64(),
                503 => tokio::time::sleep(Duration::from_millis(50)).await,
                other => panic!("unexpected status {other}"),
            }
        }
    })
    .await
    .expect("publishing works again")
    .expect("id");
    assert!(new > old, "ids never go backwards: {new} after {old}");

    let reset = next_sse(&mut sse_b).await.expect("a reset");
    assert_eq!(reset.event, "reset", "{reset:?}");
    let reset: Value = serde_json::from_str(&reset.data).expect("json");
    assert_eq!(reset["reason"], "restarted");
    let next = next_sse(&mut sse_b).await.expect("the new event");
    assert_eq!(next.id, new.to_string());
    a.stop().await;
}

#[tokio::test]
async fn chat_and_presence_span_instances() {
    let Some(redis) = RedisServer::start("chat_and_presence_span_instances").await else {
        return;
    };
    let a = TestServer::with(shared(&redis)).await;
    let b = TestServer::with(shared(&redis)).await;
    let mut ws_a = a.ws().await;
    let mut ws_b = b.ws().await;
    let name_a = next_of_type(&mut ws_a, "welcome").await["client_id"].clone();
    let name_b = next_of_type(&mut ws_b, "welcome").await["client_id"].clone();
    assert_ne!(name_a, name_b, "client ids are unique across instances");

    for server in [&a, &b] {
        wait_for_backplane(server, "2 instances with 2 WebSockets", |b| {
            b["instances"] == 2 && b["websockets"] == 2
        })
        .await;
        let status = server.status().await["backplane"].clone();
        assert_eq!(status["kind"], "redis");
        assert_eq!(status["url"], redis.url());
    }

    send_json(&mut ws_a, json!({"type":"chat","text":"hello from A"})).await;
    assert_eq!(next_of_type(&mut ws_a, "ack").await["for"], "chat");
    let got = next_of_type(&mut ws_b, "chat").await;
    assert_eq!(
        (&got["from"], &got["text"]),
        (&name_a, &json!("hello from A"))
    );
    send_json(&mut ws_b, json!({"type":"chat","text":"hi from B"})).await;
    // The next chat A sees is B's answer, not its own message back.
    let got = next_of_type(&mut ws_a, "chat").await;
    assert_eq!((&got["from"], &got["text"]), (&name_b, &json!("hi from B")));

    // POST /api/chat (the SSE way) is an event, so it crosses too.
    let mut sse_b = b.sse("/api/sse?topics=chat", None).await;
    b.wait_for_subscribers(1).await;
    let res = a
        .http
        .post(a.url("/api/chat"))
        .json(&json!({"text":"posted on A"}))
        .send()
        .await
        .expect("POST /api/chat");
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.expect("json")["id"]
        .as_u64()
        .expect("id");
    let seen = sse_until(&mut sse_b, id).await;
    assert_eq!(
        seen.last().map(|(_, d)| d["text"].clone()),
        Some(json!("posted on A"))
    );

    drop(ws_b);
    wait_for_backplane(&a, "1 WebSocket left", |b| b["websockets"] == 1).await;
    b.stop().await;
}

#[tokio::test]
async fn without_redis_the_hub_stays_in_memory() {
    let server = TestServer::start().await;
    let backplane = server.status().await["backplane"].clone();
    assert_eq!(backplane, json!({"kind": "memory", "state": "local"}));
}

#[tokio::test]
async fn an_unreachable_redis_stops_the_start_with_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = Config {
        redis_url: Some(format!("redis://:secret@127.0.0.1:{port}/")),
        ..Config::for_tests()
    };
    let Err(err) = realtime_playground::bind(config).await else {
        panic!("started without its Redis");
    };
    let message = err.to_string();
    assert!(message.contains("cannot reach Redis"), "{message}");
    assert!(
        !message.contains("secret"),
        "no password in messages: {message}"
    );
}
