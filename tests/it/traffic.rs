//! The traffic log against the real server with real clients (issue 4).

use crate::common::*;
use futures_util::StreamExt;
use realtime_playground::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

async fn log_of(server: &TestServer, learner: &str, query: &str) -> Vec<Value> {
    let res = server
        .http
        .get(server.url(&format!("/api/traffic{query}")))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("GET /api/traffic");
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.expect("json");
    assert_eq!(page["learner"], learner);
    page["entries"].as_array().expect("entries").clone()
}

/// Sends one request over a fresh TCP connection and returns every byte of the answer.
async fn raw_exchange(server: &TestServer, request: &str) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(&server.host)
        .await
        .expect("tcp");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    answer
}

#[tokio::test]
async fn ten_polls_make_ten_entries_with_true_sizes() {
    let server = TestServer::start().await;
    let mut received = vec![];
    for i in 0..10 {
        if i == 5 {
            server.publish("demo", json!({"n": i})).await;
        }
        let res = server
            .http
            .get(server.url("/api/poll?since=0&limit=5"))
            .header("X-Learner", "alice")
            .send()
            .await
            .expect("poll");
        let status = res.status().as_u16();
        received.push((status, res.bytes().await.expect("body").len() as u64));
    }
    let polls = log_of(&server, "alice", "?transport=poll").await;
    assert_eq!(polls.len(), 10);
    for (entry, (status, body)) in polls.iter().zip(&received) {
        assert_eq!(entry["status"], *status);
        assert_eq!(
            entry["body_bytes"], *body,
            "body bytes equal what reqwest got"
        );
        assert_eq!(entry["empty"], *status == 204);
        assert!(
            entry["narration"]
                .as_str()
                .is_some_and(|n| n.starts_with("Client → \"Any update since #0?\""))
        );
    }
    assert_eq!(received.iter().filter(|(s, _)| *s == 204).count(), 5);

    // On-wire sizes against a raw TCP client that sees every byte.
    let newest = server.status().await["last_id"].as_u64().expect("last_id");
    for path in [
        format!("/api/poll?since={newest}"),
        "/api/poll?since=0".to_string(),
    ] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nX-Learner: wire\r\nConnection: close\r\n\r\n",
            server.host
        );
        let answer = raw_exchange(&server, &request).await;
        let entries = log_of(&server, "wire", "").await;
        let entry = entries.last().expect("entry");
        assert_eq!(entry["path"], path.as_str());
        assert_eq!(
            entry["bytes_up"],
            request.len() as u64,
            "request bytes are exact"
        );
        let logged = entry["bytes_down"].as_f64().expect("bytes_down");
        let real = answer.len() as f64;
        assert!(
            (logged - real).abs() / real <= 0.05,
            "{path}: logged {logged} B, wire {real} B"
        );
    }
}

#[tokio::test]
async fn a_learner_never_sees_another_learners_traffic() {
    let server = TestServer::start().await;
    for _ in 0..3 {
        server
            .http
            .get(server.url("/api/poll"))
            .header("X-Learner", "alice")
            .send()
            .await
            .expect("poll");
    }
    let bob = |path: &str| {
        server
            .http
            .get(server.url(path))
            .header("X-Learner", "bob")
            .send()
    };
    assert!(log_of(&server, "bob", "").await.is_empty());
    let stats: Value = bob("/api/traffic/stats")
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["transports"][0]["requests"], 0);
    let har: Value = bob("/api/traffic.har")
        .await
        .expect("har")
        .json()
        .await
        .expect("json");
    assert_eq!(har["log"]["entries"].as_array().map(Vec::len), Some(0));
    let res = server
        .http
        .delete(server.url("/api/traffic"))
        .header("X-Learner", "bob")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.json::<Value>().await.expect("json")["removed"], 0);
    assert_eq!(
        log_of(&server, "alice", "").await.len(),
        3,
        "bob's clear left alice alone"
    );

    // Bob's live stream carries his entries only.
    let res = server
        .http
        .get(server.url("/api/traffic/stream?limit=1"))
        .header("X-Learner", "bob")
        .send()
        .await
        .expect("stream");
    let mut stream = res.bytes_stream().eventsource();
    server
        .http
        .get(server.url("/api/poll"))
        .header("X-Learner", "alice")
        .send()
        .await
        .expect("poll");
    server
        .http
        .get(server.url("/api/status"))
        .header("X-Learner", "bob")
        .send()
        .await
        .expect("status");
    let first = tokio::time::timeout(PATIENCE, async {
        loop {
            let e = stream.next().await.expect("open").expect("valid");
            if e.event == "entry" {
                return e;
            }
        }
    })
    .await
    .expect("entry");
    let entry: Value = serde_json::from_str(&first.data).expect("json");
    assert_eq!(entry["path"], "/api/status");

    // And alice can clear her own.
    let res = server
        .http
        .delete(server.url("/api/traffic"))
        .header("X-Learner", "alice")
        .send()
        .await
        .expect("delete");
    assert_eq!(res.json::<Value>().await.expect("json")["removed"], 4);
}

use eventsource_stream::Eventsource;

#[tokio::test]
async fn cookies_identify_browsers_without_a_header() {
    let server = TestServer::start().await;
    let res = server.get("/api/poll").await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let pair = cookie.split(';').next().expect("pair").to_owned();
    let id = pair.trim_start_matches("learner=").to_owned();
    let res = server
        .http
        .get(server.url("/api/poll"))
        .header("Cookie", &pair)
        .send()
        .await
        .expect("poll");
    assert!(
        res.headers().get("set-cookie").is_none(),
        "known learners get no new cookie"
    );
    assert_eq!(log_of(&server, &id, "").await.len(), 2);
}

#[tokio::test]
async fn sse_connection_and_event_sizes_match_what_the_client_parsed() {
    let server = TestServer::start().await;
    let res = server
        .http
        .get(server.url("/api/sse?limit=5"))
        .header("X-Learner", "sse-learner")
        .send()
        .await
        .expect("sse");
    let mut body = res.bytes_stream();
    let opening = body.next().await.expect("chunk").expect("bytes");
    assert_eq!(&opening[..], b"retry: 2000\nid: 0\n\n");
    server.wait_for_subscribers(1).await;
    for n in 0..5 {
        server
            .publish("demo", json!({ "n": n, "pad": "x".repeat(n * 10) }))
            .await;
    }
    // Split what arrived into events exactly as an SSE parser does: at blank lines.
    let mut text = String::new();
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.expect("bytes")).expect("utf-8"));
    }
    let parsed: Vec<usize> = text.split_inclusive("\n\n").map(str::len).collect();
    assert_eq!(parsed.len(), 5);

    let entries = log_of(&server, "sse-learner", "?transport=sse").await;
    let opened: Vec<_> = entries.iter().filter(|e| e["kind"] == "opened").collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["status"], 200);
    let events: Vec<_> = entries.iter().filter(|e| e["kind"] == "event").collect();
    assert_eq!(events.len(), 5);
    for (entry, size) in events.iter().zip(&parsed) {
        assert_eq!(entry["bytes_down"], *size as u64);
        assert!(entry["delays_ms"][0].as_f64().is_some_and(|d| d >= 0.0));
        assert!(
            entry["narration"]
                .as_str()
                .is_some_and(|n| n.contains("over the open SSE stream"))
        );
    }
    // The opening block is logged field by field, to the byte.
    let field =
        |name: &str| -> Vec<&Value> { entries.iter().filter(|e| e["frame"] == name).collect() };
    let (retry, resume) = (field("retry"), field("id"));
    assert_eq!((retry.len(), resume.len()), (1, 1));
    assert_eq!(retry[0]["bytes_down"], "retry: 2000\n".len());
    assert_eq!(resume[0]["bytes_down"], "id: 0\n\n".len());
    assert!(
        resume[0]["narration"]
            .as_str()
            .is_some_and(|n| n.contains("resume after id 0") && n.contains("no event fires")),
        "{}",
        resume[0]["narration"]
    );

    // The connection's end is logged once the response is done.
    let closed = eventually("the stream's closed entry", || async {
        let entries = log_of(&server, "sse-learner", "?transport=sse").await;
        entries.into_iter().find(|e| e["kind"] == "closed")
    })
    .await;
    assert!(
        closed["close_reason"]
            .as_str()
            .is_some_and(|r| r.contains("limit"))
    );
}

#[tokio::test]
async fn websocket_frames_are_logged_both_ways_with_sizes() {
    let server = TestServer::start().await;
    let mut ws = server.ws_as("ws-learner").await;
    let welcome = next_json(&mut ws).await;
    let ping = json!({"type": "ping"}).to_string();
    send_json(&mut ws, json!({"type": "ping"})).await;
    let pong = next_json(&mut ws).await;
    assert_eq!(pong["type"], "pong");
    let bye = tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Normal,
        reason: "bye".into(),
    };
    ws.close(Some(bye)).await.expect("close");
    while let Some(Ok(_)) = ws.next().await {}

    let closed = eventually("the socket's closed entry", || async {
        let entries = log_of(&server, "ws-learner", "?transport=websocket").await;
        entries
            .iter()
            .any(|e| e["kind"] == "closed")
            .then_some(entries)
    })
    .await;
    let kinds: Vec<(&str, &str)> = closed
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or(""),
                e["direction"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("opened", "both"));
    let welcome_len = welcome.to_string().len() as u64;
    let down = closed
        .iter()
        .find(|e| e["direction"] == "down" && e["frame"] == "text")
        .expect("welcome frame");
    assert_eq!(down["body_bytes"], welcome_len);
    assert_eq!(
        down["bytes_down"],
        welcome_len + 2,
        "unmasked, short frame: 2 header bytes"
    );
    let up = closed
        .iter()
        .find(|e| e["direction"] == "up" && e["frame"] == "text")
        .expect("ping message");
    assert_eq!(up["body_bytes"], ping.len() as u64);
    assert_eq!(
        up["bytes_up"],
        ping.len() as u64 + 6,
        "masked frame: 2 header + 4 mask bytes"
    );
    assert_eq!(up["preview"], ping);
    assert!(
        closed
            .iter()
            .any(|e| e["frame"] == "close" && e["direction"] == "up")
    );
    let end = closed
        .iter()
        .find(|e| e["kind"] == "closed")
        .expect("closed");
    assert_eq!(end["close_code"], 1000);
}

#[tokio::test]
async fn stats_count_empty_answers_and_bytes_per_event() {
    let server = TestServer::start().await;
    let poll = || {
        server
            .http
            .get(server.url("/api/poll?since=0"))
            .header("X-Learner", "stats")
            .send()
    };
    for _ in 0..20 {
        assert_eq!(poll().await.expect("poll").status(), 204);
    }
    let id = server.publish("demo", json!({})).await;
    let res = server
        .http
        .get(server.url(&format!("/api/poll?since={}", id - 1)))
        .header("X-Learner", "stats")
        .send()
        .await
        .expect("poll");
    assert_eq!(res.status(), 200);

    let stats: Value = server
        .http
        .get(server.url("/api/traffic/stats?window=600"))
        .header("X-Learner", "stats")
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    let poll_stats = stats["transports"]
        .as_array()
        .expect("transports")
        .iter()
        .find(|t| t["transport"] == "poll")
        .expect("poll stats")
        .clone();
    let entries = log_of(&server, "stats", "?transport=poll").await;
    assert_eq!(entries.len(), 21);
    let empty = entries.iter().filter(|e| e["empty"] == true).count();
    assert_eq!(empty, 20);
    assert_eq!(poll_stats["requests"], 21);
    assert_eq!(poll_stats["empty"], 20);
    assert!((poll_stats["empty_share"].as_f64().expect("share") - 20.0 / 21.0).abs() < 1e-9);
    assert_eq!(poll_stats["events_delivered"], 1);
    let sum: u64 = entries
        .iter()
        .map(|e| e["bytes_up"].as_u64().unwrap_or(0) + e["bytes_down"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(poll_stats["bytes_per_event"].as_f64(), Some(sum as f64));
    let summary = poll_stats["summary"].as_str().expect("summary");
    assert!(
        summary.starts_with("Last 600 s: 21 polls, 20 empty, 1 update — "),
        "{summary}"
    );
}

#[tokio::test]
async fn har_export_is_har_1_2_with_the_same_exchanges() {
    let server = TestServer::start().await;
    let learner = "har";
    let get = |path: &'static str| {
        server
            .http
            .get(server.url(path))
            .header("X-Learner", learner)
            .send()
    };
    get("/api/poll").await.expect("poll");
    get("/api/status").await.expect("status");
    server
        .http
        .post(server.url("/api/events"))
        .header("X-Learner", learner)
        .json(&json!({"topic": "demo"}))
        .send()
        .await
        .expect("post");
    let res = get("/api/traffic.har").await.expect("har");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .expect("cd")
            .contains(".har")
    );
    let har: Value = res.json().await.expect("json");
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert!(log["creator"]["name"].is_string() && log["creator"]["version"].is_string());
    let entries = log["entries"].as_array().expect("entries");
    let ours = log_of(&server, learner, "").await;
    assert_eq!(entries.len(), ours.len());
    for (h, e) in entries.iter().zip(&ours) {
        for field in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!h[field].is_null(), "HAR entry lacks {field}");
        }
        let req = &h["request"];
        for field in [
            "method",
            "url",
            "httpVersion",
            "cookies",
            "headers",
            "queryString",
            "headersSize",
            "bodySize",
        ] {
            assert!(!req[field].is_null(), "request lacks {field}");
        }
        let resp = &h["response"];
        for field in [
            "status",
            "statusText",
            "httpVersion",
            "cookies",
            "headers",
            "content",
            "redirectURL",
            "headersSize",
            "bodySize",
        ] {
            assert!(!resp[field].is_null(), "response lacks {field}");
        }
        assert!(resp["content"]["size"].is_number() && resp["content"]["mimeType"].is_string());
        assert_eq!(req["method"], e["method"]);
        assert!(
            req["url"]
                .as_str()
                .expect("url")
                .ends_with(e["path"].as_str().expect("path"))
        );
        assert_eq!(resp["status"], e["status"]);
    }
}

#[tokio::test]
async fn websocket_messages_appear_in_the_har_like_chrome_writes_them() {
    let server = TestServer::start().await;
    let mut ws = server.ws_as("har-ws").await;
    next_json(&mut ws).await;
    ws.send(Message::text(r#"{"type":"echo","data":"hello"}"#))
        .await
        .expect("send");
    next_json(&mut ws).await;
    let har: Value = server
        .http
        .get(server.url("/api/traffic.har"))
        .header("X-Learner", "har-ws")
        .send()
        .await
        .expect("har")
        .json()
        .await
        .expect("json");
    let entry = &har["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 101);
    let messages = entry["_webSocketMessages"].as_array().expect("messages");
    let kinds: Vec<&str> = messages.iter().filter_map(|m| m["type"].as_str()).collect();
    assert_eq!(kinds, vec!["receive", "send", "receive"]);
    assert_eq!(messages[1]["opcode"], 1);
    assert_eq!(messages[1]["data"], r#"{"type":"echo","data":"hello"}"#);
    assert!(messages[0]["time"].as_f64().is_some());
}

use futures_util::SinkExt;

#[tokio::test]
async fn the_log_stays_within_its_bound_under_many_learners() {
    let server = TestServer::with(Config {
        traffic_log_size: 50,
        traffic_per_learner: 10,
        ..Config::for_tests()
    })
    .await;
    for i in 0..400 {
        server
            .http
            .get(server.url("/api/poll"))
            .header("X-Learner", format!("crowd-{}", i % 40))
            .send()
            .await
            .expect("poll");
    }
    let mut kept = 0;
    for i in 0..40 {
        let n = log_of(&server, &format!("crowd-{i}"), "").await.len();
        assert!(n <= 10, "per-learner bound");
        kept += n;
    }
    assert!(kept <= 50, "overall bound: {kept}");
}
