//! Security headers and cross-site request checks (part of issue 7).

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn pages_send_a_csp_without_inline_scripts_and_every_answer_is_nosniff() {
    let server = TestServer::start().await;
    for path in ["/", "/lessons/polling", "/traffic.html", "/lab.html"] {
        let res = server.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .expect("script-src");
        assert!(!script_src.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    }
    // Swagger UI's inline blocks are allowed by hash, not by 'unsafe-inline'.
    let docs = server.get("/docs").await;
    let csp = docs.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("'sha256-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let api = server.get("/api/poll").await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn state_changing_requests_from_another_origin_are_refused() {
    let server = TestServer::start().await;
    let post = |origin: Option<&str>| {
        let mut req = server
            .http
            .post(server.url("/api/events"))
            .json(&json!({"topic": "csrf"}));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send()
    };
    let evil = post(Some("http://evil.example")).await.expect("post");
    assert_eq!(evil.status(), 403);
    assert_eq!(evil.headers()["content-type"], "application/problem+json");
    let own = format!("http://{}", server.host);
    assert_eq!(post(Some(&own)).await.expect("post").status(), 202);
    assert_eq!(
        post(None).await.expect("post").status(),
        202,
        "curl and scripts send no Origin"
    );
    // Reading stays open to anyone.
    let read = server
        .http
        .get(server.url("/api/poll"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(read.status(), 200);
}
