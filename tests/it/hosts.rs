//! DNS rebinding: a page on a domain that resolves to 127.0.0.1 sends
//! `Host: rebind.example:PORT` and a matching `Origin`. Every kind of
//! request (page, API read, publish, traffic log, WebSocket upgrade, static
//! file, Swagger UI, the OpenAPI document) gets `421` problem+json; the
//! names the server was given still work.

use crate::common::{PATIENCE, TestServer};
use realtime_playground::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `request` on a fresh connection and returns the whole answer.
async fn exchange(server: &TestServer, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(&server.host)
        .await
        .expect("tcp");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        let mut chunk = [0u8; 8192];
        // Until the head and (for problems) the body are in: they are small.
        loop {
            let n = tcp.read(&mut chunk).await.unwrap_or(0);
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if n == 0 || text.starts_with("HTTP/1.1 101") && text.contains("\r\n\r\n") {
                break;
            }
        }
    })
    .await
    .expect("answer in time");
    String::from_utf8_lossy(&answer).into_owned()
}

fn request(method: &str, path: &str, host: &str, extra: &str) -> String {
    let body = if method == "POST" {
        r#"{"topic":"news","type":"x","data":{}}"#
    } else {
        ""
    };
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n{extra}\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// Every kind of request the server answers.
fn every_kind() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("GET", "/", ""),
        ("GET", "/api/status", ""),
        ("POST", "/api/events", ""),
        ("GET", "/api/traffic", ""),
        ("GET", "/api/ws", UPGRADE),
        ("GET", "/js/api.js", ""),
        ("GET", "/docs", ""),
        ("GET", "/openapi.json", ""),
        ("GET", "/no/such/path", ""),
    ]
}

#[tokio::test]
async fn a_rebound_host_gets_421_on_every_kind_of_request() {
    let server = TestServer::start().await;
    let port = server.host.rsplit_once(':').expect("port").1.to_owned();
    let foreign = format!("rebind.example:{port}");
    for (method, path, extra) in every_kind() {
        let answer = exchange(&server, &request(method, path, &foreign, extra)).await;
        assert!(
            answer.starts_with("HTTP/1.1 421"),
            "{method} {path} with Host {foreign}: {answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{method} {path}: {answer}"
        );
        assert!(answer.contains("--allowed-hosts"), "{answer}");
    }
    // A name that merely starts like a loopback one, and no Host at all, are refused too.
    let lookalike = format!("localhost.rebind.example:{port}");
    let lookalike = request("GET", "/api/status", &lookalike, "");
    assert!(
        exchange(&server, &lookalike)
            .await
            .starts_with("HTTP/1.1 421")
    );
    let no_host = "GET /api/status HTTP/1.1\r\nConnection: close\r\n\r\n";
    assert!(exchange(&server, no_host).await.starts_with("HTTP/1.1 421"));
    // Nothing was published.
    assert_eq!(server.status().await["last_id"], 0);
}

#[tokio::test]
async fn the_names_the_server_was_given_are_answered() {
    let server = TestServer::with(Config {
        allowed_hosts: vec!["workshop.local".into()],
        ..Config::for_tests()
    })
    .await;
    let port = server.host.rsplit_once(':').expect("port").1.to_owned();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("LOCALHOST:{port}"),
        format!("workshop.local:{port}"),
    ] {
        for (method, path, extra) in every_kind() {
            let answer = exchange(&server, &request(method, path, &host, extra)).await;
            let expected = match path {
                "/api/ws" => "HTTP/1.1 101",
                "/api/events" => "HTTP/1.1 202",
                "/no/such/path" => "HTTP/1.1 404",
                _ => "HTTP/1.1 200",
            };
            assert!(
                answer.starts_with(expected),
                "{method} {path} with Host {host}: {answer}"
            );
        }
    }
}

#[tokio::test]
async fn the_document_lists_the_421_on_every_operation() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = server
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            let misdirected = &op["responses"]["421"];
            assert_eq!(
                misdirected["content"]["application/problem+json"]["example"]["status"], 421,
                "{method} {path}"
            );
        }
    }
}
