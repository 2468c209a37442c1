//! `--tls`: HTTP/2 and HTTP/1.1 by ALPN, every transport over HTTP/2, and
//! HTTP/2 byte counts that match what a proxy on the plaintext side counts.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use http_body_util::{BodyDataStream, BodyExt};
use hyper::Version;
use serde_json::{Value, json};

use crate::common::tls::{CountingProxy, TlsClient, TlsServer};
use crate::common::{PATIENCE, eventually, next_numbered};

/// `learner`'s entries whose path starts with `path`, oldest first.
async fn entries_for(tls: &TlsServer, learner: &str, path: &str) -> Vec<Value> {
    tls.traffic_of(learner)
        .await
        .into_iter()
        .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with(path)))
        .collect()
}

#[tokio::test]
async fn poll_long_poll_and_sse_work_over_http2() {
    let tls = TlsServer::start().await;
    let client = tls.client().await;
    let learner = "h2-learner";
    let first = client.get("/api/poll?topic=h2", learner).await;
    assert_eq!(first.version(), Version::HTTP_2, "ALPN chose h2");
    assert_eq!(first.status(), 204);

    // A long-poll held open on the connection, answered by a publish.
    let held = {
        let client = TlsClient::connect(tls.addr, &tls.pem).await;
        tokio::spawn(async move {
            let res = client
                .get("/api/long-poll?topic=h2&since=0&timeout=20", learner)
                .await;
            let version = res.version();
            let body = res.into_body().collect().await.expect("body").to_bytes();
            (
                version,
                serde_json::from_slice::<Value>(&body).expect("json"),
            )
        })
    };
    tls.wait_for_subscribers(1).await;
    let id = client.publish("h2", json!({"n": 1})).await;
    let (version, body) = tokio::time::timeout(PATIENCE, held)
        .await
        .expect("answered")
        .expect("task");
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(body["events"][0]["id"].as_u64(), Some(id));

    // An SSE stream on the same connection as the polls.
    let res = client
        .get(
            &format!("/api/sse?topic=h2&limit=2&last_event_id={id}"),
            learner,
        )
        .await;
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let mut events = BodyDataStream::new(res.into_body()).eventsource().boxed();
    tls.wait_for_subscribers(1).await;
    let second = client.publish("h2", json!({"n": 2})).await;
    let third = client.publish("h2", json!({"n": 3})).await;
    let got = [
        next_numbered(&mut events).await,
        next_numbered(&mut events).await,
    ];
    assert_eq!(
        got.map(|e| e.id.parse::<u64>().expect("id")),
        [second, third]
    );

    let entries = eventually("the stream's end in the log", || async {
        let entries = tls.traffic_of(learner).await;
        entries
            .iter()
            .any(|e| e["transport"] == "sse" && e["kind"] == "closed")
            .then_some(entries)
    })
    .await;
    for e in &entries {
        assert_eq!(e["protocol"], "h2", "every entry says HTTP/2: {e}");
    }
    // The poll and the stream came on `client`'s one connection, as two of
    // its streams; the long-poll on the other client's connection.
    let place = |e: &Value| {
        let p = &e["http2"];
        (p["connection"].as_u64(), p["stream"].as_u64())
    };
    let of = |transport: &str| {
        entries
            .iter()
            .find(|e| e["transport"] == transport && e["kind"] != "closed")
            .map(place)
            .expect(transport)
    };
    let (poll, sse, long_poll) = (of("poll"), of("sse"), of("long_poll"));
    assert!(
        poll.0.is_some() && poll.1.is_some(),
        "numbered: {entries:?}"
    );
    assert_eq!(poll.0, sse.0, "one connection: {entries:?}");
    assert_ne!(poll.1, sse.1, "a stream each: {entries:?}");
    assert_ne!(poll.0, long_poll.0, "the other client's connection");

    // The HAR export names the scheme and version the requests really used.
    let har = client.json("/api/traffic.har", learner).await;
    let first = &har["log"]["entries"][0];
    assert!(
        first["request"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")),
        "{first}"
    );
    assert_eq!(first["request"]["httpVersion"], "HTTP/2", "{first}");
    let closed = entries
        .iter()
        .find(|e| e["transport"] == "sse" && e["kind"] == "closed")
        .expect("closed");
    assert!(
        closed["frames"].as_u64().unwrap_or(0) >= 3,
        "head, events and end, in frames: {closed}"
    );
}

#[tokio::test]
async fn the_http1_port_offers_http1_only() {
    let tls = TlsServer::start().await;
    let client = TlsClient::connect(tls.http1, &tls.pem).await;
    let res = client.get("/api/poll?topic=h1", "h1-learner").await;
    assert_eq!(
        res.version(),
        Version::HTTP_11,
        "ALPN offered http/1.1 only"
    );
    assert_eq!(res.status(), 204);
    let entry = eventually("the poll in the log", || async {
        entries_for(&tls, "h1-learner", "/api/poll").await.pop()
    })
    .await;
    assert_eq!(entry["protocol"], "http/1.1");
}

/// Polls through a proxy that counts plaintext; returns the proxy's bytes
/// for the poll and the log's entry for it.
async fn measured_poll(
    client: &TlsClient,
    proxy: &CountingProxy,
    tls: &TlsServer,
    learner: &str,
    nth: usize,
) -> (u64, Value) {
    let before = proxy.counted.total();
    let res = client.get("/api/poll?topic=count&since=0", learner).await;
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    res.into_body().collect().await.expect("body");
    let entry = eventually("the poll in the log", || async {
        entries_for(tls, learner, "/api/poll")
            .await
            .get(nth)
            .cloned()
    })
    .await;
    // The client's WINDOW_UPDATE for the body may still be on its way: wait
    // until the count stops moving.
    let mut seen = proxy.counted.total();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = proxy.counted.total();
        if now == seen {
            break;
        }
        seen = now;
    }
    (seen - before, entry)
}

#[tokio::test]
async fn http2_poll_bytes_match_a_counting_proxy_within_five_percent() {
    let tls = TlsServer::start().await;
    let publisher = tls.client().await;
    for n in 0..5 {
        publisher
            .publish("count", json!({"n": n, "text": "x".repeat(100)}))
            .await;
    }
    let proxy = CountingProxy::start(tls.addr, &tls.pem).await;
    let client = TlsClient::connect(proxy.addr, &proxy.pem).await;
    let learner = "counted";
    // The first poll also opens the connection (preface, SETTINGS): measure
    // the second and the third.
    let (_, first) = measured_poll(&client, &proxy, &tls, learner, 0).await;
    for nth in 1..3 {
        let (wire, entry) = measured_poll(&client, &proxy, &tls, learner, nth).await;
        let logged =
            entry["bytes_up"].as_u64().expect("up") + entry["bytes_down"].as_u64().expect("down");
        let off = (logged as f64 - wire as f64).abs() / wire as f64;
        assert!(
            off <= 0.05,
            "poll {nth}: the log says {logged} B, the proxy saw {wire} B ({:.1} % apart)",
            off * 100.0
        );
        assert_eq!(entry["protocol"], "h2");
        let (h_first, h_now) = (
            first["header_bytes"].as_u64().expect("header bytes"),
            entry["header_bytes"].as_u64().expect("header bytes"),
        );
        assert!(
            h_now * 2 < h_first,
            "HPACK: repeated headers shrink ({h_first} B → {h_now} B)"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_labs_own_clients_race_on_a_tls_server() {
    // Their loopback port of plain HTTP: the race works as it does without --tls.
    let tls = TlsServer::start().await;
    let client = tls.client().await;
    let res = client
        .send(
            "POST",
            "/api/lab/runs",
            "racer",
            Some(json!({"duration_s": 1, "rate_ms": 250, "poll_interval_ms": 250})),
        )
        .await;
    assert_eq!(res.status(), 202);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    let id = serde_json::from_slice::<Value>(&body).expect("json")["id"]
        .as_u64()
        .expect("id");
    let run = eventually("the race to finish", || async {
        let run = client.json(&format!("/api/lab/runs/{id}"), "racer").await;
        (run["status"] == "done").then_some(run)
    })
    .await;
    let published = run["published"].as_u64().expect("published");
    assert!(published >= 3, "{run}");
    for lane in run["lanes"].as_array().expect("lanes") {
        assert_eq!(lane["errors"], json!([]), "{lane}");
        assert_eq!(lane["lost"], 0, "{lane}");
        assert_eq!(lane["protocol"], "http/1.1", "the server's clients: {lane}");
    }
}

#[tokio::test]
async fn clear_text_http_on_a_tls_port_is_redirected_to_https() {
    let tls = TlsServer::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = client
        .get(format!("http://{}/lessons/http2?step=1", tls.addr))
        .send()
        .await
        .expect("an answer, not a closed connection");
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        format!("https://{}/lessons/http2?step=1", tls.addr).as_str()
    );
    // The port still speaks TLS to TLS clients.
    let first = tls.client().await.get("/api/status", "after").await;
    assert_eq!(first.status(), 200);
}
