//! The cluster lab (issue 9, scaling lesson): a server started with
//! `--redis-url` starts two instances of itself that share its Redis; an
//! event published on A reaches an SSE client on B; A can be killed and
//! started again; the instances accept the page's origin (CORS) and end with
//! the server. Without `--redis-url` the lab answers `409` with the fix.
//!
//! The server under test is the real binary (the lab starts `current_exe`),
//! with its own `redis-server` on a free port (see `common::redis_server`).

use std::time::Duration;

use crate::common::redis_server::RedisServer;
use crate::common::*;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Whether a process runs (a zombie does not count).
fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest.chars().next());
        !matches!(state, Some(Some('Z' | 'X')))
    })
}

async fn wait_until_gone(pids: &[u64]) {
    let gone = tokio::time::timeout(PATIENCE, async {
        while pids.iter().any(|&p| alive(p)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(gone.is_ok(), "instances still running: {pids:?}");
}

fn instance<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no instance {name}: {status}"))
}

#[tokio::test]
async fn two_instances_share_events_one_is_killed_and_restarted() {
    let Some(redis) = RedisServer::start("two_instances_share_events…").await else {
        return;
    };
    let url = redis.url();
    let (mut parent, port) = spawn_binary(&["--redis-url", &url, "--sse-retry-ms", "300"]).await;
    let base = format!("http://127.0.0.1:{port}");
    let page = base.clone();
    let http = reqwest::Client::new();

    // The page may reach other ports of 127.0.0.1 (its CSP says so).
    let home = http
        .get(format!("{base}/lessons/scaling"))
        .send()
        .await
        .expect("page");
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("connect-src 'self' http://127.0.0.1:*"),
        "{csp}"
    );

    let before: Value = http
        .get(format!("{base}/api/lab/cluster"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(before["available"], true);
    assert_eq!(before["instances"], json!([]));

    // Start: both answer, each on its own port.
    let res = http
        .post(format!("{base}/api/lab/cluster"))
        .header("Origin", &page)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 201);
    let status: Value = res.json().await.expect("json");
    let (a, b) = (instance(&status, "A"), instance(&status, "B"));
    assert_eq!(
        (&a["state"], &b["state"]),
        (&json!("running"), &json!("running"))
    );
    let (a_url, b_url) = (
        a["url"].as_str().expect("url").to_owned(),
        b["url"].as_str().expect("url").to_owned(),
    );
    assert_ne!(a_url, b_url);
    let pids = [
        a["pid"].as_u64().expect("pid"),
        b["pid"].as_u64().expect("pid"),
    ];
    assert!(pids.iter().all(|&p| alive(p)));

    // A second start changes nothing.
    let again = http
        .post(format!("{base}/api/lab/cluster"))
        .send()
        .await
        .expect("POST");
    assert_eq!(again.status(), 200);

    // The page's origin may read from B (CORS); another site may not.
    let listed = http
        .get(format!("{b_url}/api/poll"))
        .header("Origin", &page)
        .send()
        .await
        .expect("GET B");
    assert_eq!(
        listed.headers()["access-control-allow-origin"],
        page.as_str()
    );
    let foreign = http
        .get(format!("{b_url}/api/poll"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("GET B");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // A preflight for a JSON POST from the page is approved.
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{a_url}/api/events"))
        .header("Origin", &page)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("OPTIONS A");
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        page.as_str()
    );

    // SSE on B, publish on A: B's client gets it.
    let res = http
        .get(format!("{b_url}/api/sse?topics=scaling"))
        .header("Origin", &page)
        .send()
        .await
        .expect("SSE on B");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], page.as_str());
    let mut stream = res
        .bytes_stream()
        .eventsource()
        .map(|e| e.expect("SSE"))
        .boxed();
    let published = |on: String, n: u64| {
        let http = http.clone();
        let page = page.clone();
        async move {
            let res = http
                .post(format!("{on}/api/events"))
                .header("Origin", page)
                .json(&json!({"topic": "scaling", "data": {"n": n}}))
                .send()
                .await
                .expect("publish");
            assert_eq!(res.status(), 202);
            res.json::<Value>().await.expect("json")["id"]
                .as_u64()
                .expect("id")
        }
    };
    let first = published(a_url.clone(), 1).await;
    let got = next_sse(&mut stream).await.expect("an event on B");
    assert_eq!(got.id, first.to_string());

    // Kill A: it is stopped, its port refuses, B carries on.
    let res = http
        .post(format!("{base}/api/lab/cluster/A/stop"))
        .header("Origin", &page)
        .send()
        .await
        .expect("stop A");
    assert_eq!(res.status(), 200);
    let status: Value = res.json().await.expect("json");
    let a = instance(&status, "A");
    assert_eq!(a["state"], "stopped");
    assert!(a["note"].as_str().expect("note").contains("SIGKILL"), "{a}");
    wait_until_gone(&pids[..1]).await;
    assert!(
        http.get(format!("{a_url}/api/status"))
            .send()
            .await
            .is_err()
    );
    let second = published(b_url.clone(), 2).await;
    assert_eq!(
        next_sse(&mut stream).await.expect("event").id,
        second.to_string()
    );

    // Start A again: it answers (on its old port when free) and shares the stream.
    let res = http
        .post(format!("{base}/api/lab/cluster/A/start"))
        .header("Origin", &page)
        .send()
        .await
        .expect("start A");
    assert_eq!(res.status(), 200);
    let status: Value = res.json().await.expect("json");
    let a = instance(&status, "A");
    assert_eq!(a["state"], "running");
    let a_url = a["url"].as_str().expect("url").to_owned();
    let third = published(a_url.clone(), 3).await;
    assert_eq!(
        next_sse(&mut stream).await.expect("event").id,
        third.to_string()
    );
    // A knows what it missed while it was down: a poll from the first id finds all three.
    let batch: Value = http
        .get(format!(
            "{a_url}/api/poll?topics=scaling&since={}",
            first - 1
        ))
        .send()
        .await
        .expect("poll A")
        .json()
        .await
        .expect("json");
    let ids: Vec<u64> = batch["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, vec![first, second, third]);

    // The lesson's checks count what the instances saw of a learner: a
    // resume with Last-Event-ID on B, by "ana", ticks the SSE step on this server.
    let progress = |learner: &'static str| {
        let http = http.clone();
        let url = format!("{base}/api/lessons/scaling/progress");
        async move {
            http.get(url)
                .header("X-Learner", learner)
                .send()
                .await
                .expect("progress")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let resumes = |p: &Value| {
        p["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .flat_map(|s| s["checks"].as_array().expect("checks"))
            .find(|c| {
                c["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("sse_reconnected_with_last_event_id"))
            })
            .expect("the resume check")["value"]
            .as_u64()
            .expect("value")
    };
    // Each learner enters the step; the instances open the same window.
    let lesson: Value = http
        .get(format!("{base}/api/lessons/scaling"))
        .send()
        .await
        .expect("lesson")
        .json()
        .await
        .expect("json");
    let step = lesson["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["checks"].as_array().is_some_and(|c| {
                c.iter().any(|c| {
                    c["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("sse_reconnected_with_last_event_id"))
                })
            })
        })
        .expect("the resume step")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for learner in ["ana", "bob"] {
        let res = http
            .post(format!("{base}/api/lessons/scaling/steps/{step}/enter"))
            .header("X-Learner", learner)
            .send()
            .await
            .expect("enter");
        assert_eq!(res.status(), 200);
    }
    assert_eq!(resumes(&progress("ana").await), 0, "nothing yet");
    let resumed = http
        .get(format!(
            "{b_url}/api/sse?topics=scaling&limit=1&last_event_id={first}"
        ))
        .header("X-Learner", "ana")
        .send()
        .await
        .expect("resume on B");
    assert_eq!(resumed.status(), 200);
    let _ = resumed.bytes().await;
    assert_eq!(resumes(&progress("ana").await), 1, "B's log counted");
    assert_eq!(resumes(&progress("bob").await), 0, "only ana's own traffic");

    // DELETE stops both.
    let pids = [
        a["pid"].as_u64().expect("pid"),
        instance(&status, "B")["pid"].as_u64().expect("pid"),
    ];
    let res = http
        .delete(format!("{base}/api/lab/cluster"))
        .header("Origin", &page)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json")["instances"],
        json!([])
    );
    wait_until_gone(&pids).await;

    // Started again, the instances end with the server.
    let status: Value = http
        .post(format!("{base}/api/lab/cluster"))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    let pids = [
        instance(&status, "A")["pid"].as_u64().expect("pid"),
        instance(&status, "B")["pid"].as_u64().expect("pid"),
    ];
    terminate(&parent);
    let _ = tokio::time::timeout(PATIENCE, parent.wait()).await;
    wait_until_gone(&pids).await;
    drop(redis);
}

#[tokio::test]
async fn without_redis_the_lab_says_how_to_start_it() {
    let server = TestServer::start().await;
    let status = server.get("/api/lab/cluster").await;
    assert_eq!(status.status(), 200);
    let status: Value = status.json().await.expect("json");
    assert_eq!(status["available"], false);
    assert!(
        status["hint"]
            .as_str()
            .expect("hint")
            .contains("--redis-url"),
        "{status}"
    );
    for path in [
        "/api/lab/cluster",
        "/api/lab/cluster/A/stop",
        "/api/lab/cluster/B/start",
    ] {
        let res = server
            .http
            .post(server.url(path))
            .send()
            .await
            .expect("POST");
        assert_eq!(res.status(), 409, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("problem");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(
            detail.contains("redis-server")
                && detail.contains("--redis-url redis://127.0.0.1:6379/"),
            "{path}: {detail}"
        );
    }
    let unknown = server
        .http
        .post(server.url("/api/lab/cluster/C/stop"))
        .send()
        .await
        .expect("POST");
    assert_eq!(unknown.status(), 400);
    // Without Redis the pages keep the strict policy.
    let page = server.get("/lessons/scaling").await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(!csp.contains("127.0.0.1:*"), "{csp}");
}

#[tokio::test]
async fn cors_answers_only_the_listed_origins() {
    let server = TestServer::with(realtime_playground::Config {
        allowed_origins: vec!["http://127.0.0.1:9999".into()],
        ..realtime_playground::Config::for_tests()
    })
    .await;
    let get = |origin: &'static str| {
        server
            .http
            .get(server.url("/api/poll"))
            .header("Origin", origin)
            .send()
    };
    let listed = get("http://127.0.0.1:9999").await.expect("GET");
    assert_eq!(
        listed.headers()["access-control-allow-origin"],
        "http://127.0.0.1:9999"
    );
    let exposed = listed.headers()["access-control-expose-headers"]
        .to_str()
        .expect("expose");
    assert!(exposed.contains("x-last-event-id"), "{exposed}");
    let foreign = get("http://evil.example").await.expect("GET");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Never a wildcard: credentials go only to the exact, listed origin.
    assert_eq!(listed.headers()["access-control-allow-credentials"], "true");
    assert!(
        foreign
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    // The listed origin may POST (preflight, then the request); another may not.
    let preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/events"))
        .header("Origin", "http://127.0.0.1:9999")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .expect("OPTIONS");
    assert_eq!(preflight.status(), 204);
    assert!(
        preflight.headers()["access-control-allow-methods"]
            .to_str()
            .expect("methods")
            .contains("POST")
    );
    let foreign_preflight = server
        .http
        .request(reqwest::Method::OPTIONS, server.url("/api/events"))
        .header("Origin", "http://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("OPTIONS");
    assert!(
        foreign_preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
