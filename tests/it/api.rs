//! OpenAPI document, Swagger UI, feeds and bad input (acceptance 5 and 6).

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn openapi_lists_every_endpoint_with_tags_and_examples() {
    let server = TestServer::start().await;
    let spec: Value = server
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    let paths = spec["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/events", "post"),
        ("/api/status", "get"),
        ("/api/feeds", "get"),
        ("/api/feeds/{name}", "patch"),
        ("/api/poll", "get"),
        ("/api/long-poll", "get"),
        ("/api/sse", "get"),
        ("/api/ws", "get"),
        ("/api/faults", "put"),
        ("/api/faults/deploy", "post"),
        ("/api/faults/half-open", "post"),
        ("/api/lab/storm", "post"),
        ("/api/lab/storm/{id}", "get"),
        ("/api/grader/runs", "post"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(
            op["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{path} untagged"
        );
        assert!(
            op["description"].as_str().is_some_and(|d| d.len() > 40),
            "{path} needs a description"
        );
    }
    let sse = &paths["/api/sse"]["get"]["responses"]["200"]["content"];
    assert!(sse.get("text/event-stream").is_some());
    assert!(paths["/api/ws"]["get"]["responses"].get("101").is_some());
    let problem = &paths["/api/poll"]["get"]["responses"]["400"]["content"];
    assert!(problem.get("application/problem+json").is_some());
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    // The fault gate's answer in front of every transport.
    for path in [
        "/api/poll",
        "/api/long-poll",
        "/api/sse",
        "/api/ws",
        "/api/ws/echo",
    ] {
        let bad_gateway = &paths[path]["get"]["responses"]["502"];
        assert!(
            bad_gateway["content"]["application/problem+json"]["example"].is_object(),
            "{path}: 502 undocumented"
        );
        assert!(bad_gateway["headers"]["Retry-After"].is_object(), "{path}");
    }
    for name in [
        "Event",
        "EventBatch",
        "PublishRequest",
        "Problem",
        "Reset",
        "FaultSwitches",
        "DeployRequest",
        "HalfOpenRequest",
        "StormRequest",
        "StormRun",
        "GradeRequest",
        "Report",
    ] {
        assert!(
            schemas[name]["example"].is_object(),
            "{name} has no example"
        );
    }
    let yaml = server.get("/openapi.yaml").await;
    assert_eq!(yaml.status(), 200);
    assert!(yaml.text().await.expect("text").contains("/api/long-poll"));
}

#[tokio::test]
async fn swagger_ui_is_served_without_anything_from_another_host() {
    let server = TestServer::start().await;
    let res = server.get("/docs").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.expect("html");
    assert!(html.contains("swagger"), "it is Swagger UI");
    // It embeds the completed document, the same as /openapi.json.
    assert!(
        html.contains("\"maximum\":18446744073709551615"),
        "integer ranges"
    );
    let slash = server.get("/docs/").await;
    assert_eq!(slash.url().path(), "/docs", "/docs/ redirects");
    assert_eq!(slash.status(), 200);
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "@import",
    ] {
        assert!(
            !html.contains(attr),
            "Swagger UI loads something remote: {attr}"
        );
    }
}

#[tokio::test]
async fn home_page_links_every_transport() {
    let server = TestServer::start().await;
    let res = server.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "quoted ETag");
    let html = res.text().await.expect("html");
    for link in [
        "/api/poll",
        "/api/long-poll",
        "/api/sse",
        "/api/ws",
        "/docs",
    ] {
        assert!(html.contains(link), "home page lacks {link}");
    }
    let cached = server
        .http
        .get(server.url("/"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("GET");
    assert_eq!(cached.status(), 304);
    let head = server
        .http
        .head(server.url("/"))
        .send()
        .await
        .expect("HEAD");
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn feeds_start_stop_and_re_rate() {
    let server = TestServer::start().await;
    let feeds: Value = server.get("/api/feeds").await.json().await.expect("json");
    let names: Vec<&str> = feeds
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, vec!["ticker", "notifications"]);
    assert_eq!(feeds[0]["running"], false, "tests start with paused feeds");

    let mut sse = server.sse("/api/sse?topics=ticker", None).await;
    let res = server
        .http
        .patch(server.url("/api/feeds/ticker"))
        .json(&json!({"running": true, "interval_ms": 50}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(res.status(), 200);
    let state: Value = res.json().await.expect("json");
    assert_eq!(
        (state["running"].as_bool(), state["interval_ms"].as_u64()),
        (Some(true), Some(50))
    );
    let tick = next_sse(&mut sse).await.expect("a tick");
    assert_eq!(tick.event, "price");
    let event: Value = serde_json::from_str(&tick.data).expect("json");
    assert!(event["data"]["price"].as_f64().is_some_and(|p| p > 0.0));

    let res = server
        .http
        .patch(server.url("/api/feeds/ticker"))
        .json(&json!({"running": false}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(res.json::<Value>().await.expect("json")["running"], false);
}

async fn assert_problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["type"].is_string());
    assert!(
        body["detail"].as_str().is_some_and(|d| d.len() > 10),
        "detail explains: {body}"
    );
    body
}

#[tokio::test]
async fn bad_input_gets_a_problem_document_never_a_500() {
    let server = TestServer::start().await;
    let body = assert_problem(server.get("/api/poll?since=abc").await, 400).await;
    assert!(body["detail"].as_str().expect("detail").contains("since"));
    assert_problem(server.get("/api/long-poll?timeout=999").await, 400).await;
    assert_problem(server.get("/api/long-poll?timeout=0").await, 400).await;
    assert_problem(server.get("/api/poll?limit=0").await, 400).await;
    assert_problem(server.get("/api/sse?limit=-1").await, 400).await;
    assert_problem(server.get("/api/nowhere").await, 404).await;

    let post = |body: &'static str, ct: &'static str| {
        server
            .http
            .post(server.url("/api/events"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_problem(
        post("this is not json", "application/json")
            .await
            .expect("POST"),
        400,
    )
    .await;
    assert_problem(
        post(r#"{"data": 1}"#, "application/json")
            .await
            .expect("POST"),
        400,
    )
    .await;
    assert_problem(
        post(r#"{"topic": "has space"}"#, "application/json")
            .await
            .expect("POST"),
        400,
    )
    .await;
    assert_problem(
        post(r#"{"topic": "a", "type": "reset"}"#, "application/json")
            .await
            .expect("POST"),
        400,
    )
    .await;
    assert_problem(
        post(r#"{"topic": "a"}"#, "text/plain").await.expect("POST"),
        415,
    )
    .await;

    let huge = format!(r#"{{"topic":"a","data":"{}"}}"#, "x".repeat(100_000));
    let res = server
        .http
        .post(server.url("/api/events"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("POST");
    assert_problem(res, 413).await;

    let res = server
        .http
        .patch(server.url("/api/feeds/nope"))
        .json(&json!({"running": true}))
        .send()
        .await
        .expect("PATCH");
    assert_problem(res, 404).await;
    let res = server
        .http
        .patch(server.url("/api/feeds/ticker"))
        .json(&json!({"interval_ms": 1}))
        .send()
        .await
        .expect("PATCH");
    assert_problem(res, 400).await;
    let res = server
        .http
        .delete(server.url("/api/poll"))
        .send()
        .await
        .expect("DELETE");
    assert_problem(res, 405).await;
}
