//! The learner id the traffic page shows is the one a terminal names itself
//! with: the browser's HttpOnly cookie and `curl -H 'X-Learner: <id>'` land
//! in one log, so the page's ready-to-paste curl line really works.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn the_id_the_page_shows_puts_terminal_traffic_in_the_browsers_log() {
    let server = TestServer::start().await;
    // The browser: its first answer sets the cookie, and the page reads its id.
    let res = server.get("/api/traffic").await;
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let browser = |path: &str| {
        server
            .http
            .get(server.url(path))
            .header("Cookie", &cookie)
            .send()
    };
    let page: Value = browser("/api/traffic")
        .await
        .expect("traffic")
        .json()
        .await
        .expect("json");
    let id = page["learner"].as_str().expect("learner").to_owned();
    assert_eq!(cookie, format!("learner={id}"));

    // The terminal: the page's curl lines, with the header and no cookie.
    let terminal = |path: &str| {
        server
            .http
            .get(server.url(path))
            .header("X-Learner", &id)
            .send()
    };
    let res = terminal("/api/poll").await.expect("poll");
    assert!(res.status().is_success());
    let res = terminal("/api/sse?limit=1").await.expect("sse");
    assert_eq!(res.status(), 200);
    let body = tokio::spawn(res.bytes());
    server.wait_for_subscribers(1).await;
    server.publish("demo", json!({"from": "curl"})).await;
    let streamed = tokio::time::timeout(PATIENCE, body)
        .await
        .expect("the stream ends after one event")
        .expect("task")
        .expect("body");
    assert!(String::from_utf8_lossy(&streamed).contains("\"from\":\"curl\""));

    // The browser's log holds the terminal's requests.
    let page: Value = browser("/api/traffic")
        .await
        .expect("traffic")
        .json()
        .await
        .expect("json");
    let entries = page["entries"].as_array().expect("entries");
    let has = |transport: &str, kind: &str| {
        entries
            .iter()
            .any(|e| e["transport"] == transport && e["kind"] == kind)
    };
    assert!(has("poll", "exchange"), "{entries:?}");
    assert!(has("sse", "opened") && has("sse", "event"), "{entries:?}");
}

/// The web UI's own reads (the feeds' state, the fault switches) carry
/// `X-Playground-Page` and stay out of the learner's log; the same read
/// without it (Swagger UI, curl) is logged, and the header hides no write.
#[tokio::test]
async fn the_pages_own_reads_stay_out_of_the_log_and_hide_no_write() {
    let server = TestServer::start().await;
    let as_learner = |req: reqwest::RequestBuilder| req.header("X-Learner", "page-reads");
    let page_read = as_learner(server.http.get(server.url("/api/status")))
        .header("X-Playground-Page", "1")
        .send()
        .await
        .expect("status");
    assert_eq!(page_read.status(), 200);
    let learner_read = as_learner(server.http.get(server.url("/api/faults")))
        .send()
        .await
        .expect("faults");
    assert_eq!(learner_read.status(), 200);
    let write = as_learner(server.http.post(server.url("/api/events")))
        .header("X-Playground-Page", "1")
        .json(&json!({"topic": "demo", "type": "note", "data": {"text": "hidden?"}}))
        .send()
        .await
        .expect("publish");
    assert!(write.status().is_success());

    let log = server.traffic_of("page-reads", "").await;
    let paths: Vec<&str> = log.iter().filter_map(|e| e["path"].as_str()).collect();
    assert!(
        !paths.contains(&"/api/status"),
        "the page's read is not logged: {paths:?}"
    );
    assert!(
        paths.contains(&"/api/faults"),
        "a read without the header is: {paths:?}"
    );
    assert!(
        paths.contains(&"/api/events"),
        "the header hides no write: {paths:?}"
    );
}
