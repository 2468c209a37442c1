//! Interview answers were accepted at 20 KB each for every lesson slug, so
//! 10,000 self-named learners grew the server by hundreds of MB. Now a
//! lesson takes only the answers it asks for, and an answer is at most 2000
//! characters; anything else is a `400` problem document and nothing is kept.

use crate::common::*;
use serde_json::{Value, json};

async fn answer(server: &TestServer, slug: &str, body: Value) -> (u16, Value) {
    let res = server
        .http
        .post(server.url(&format!("/api/lessons/{slug}/answers")))
        .header("X-Learner", "l-0123456789abcdef0123456789abcdef")
        .json(&body)
        .send()
        .await
        .expect("POST answers");
    let status = res.status().as_u16();
    if status != 200 {
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    (status, res.json().await.expect("json"))
}

#[tokio::test]
async fn answers_are_kept_only_for_lessons_that_ask_and_only_when_short() {
    let server = TestServer::start().await;
    let short = json!({"kind": "interview", "answer": "SSE when data flows server to client."});
    // Lessons that ask for no interview answer refuse one.
    for slug in ["polling", "when-to-use", "sse"] {
        let (status, problem) = answer(&server, slug, short.clone()).await;
        assert_eq!(status, 400, "{slug}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("asks for no interview"))
        );
    }
    // A decision where the lesson asks for none.
    let decision = json!({"kind": "decision", "scenario": "x", "answer": "sse", "factor": "y"});
    assert_eq!(answer(&server, "interview", decision).await.0, 400);

    // The attack's size (20 KB) and one character over the cap are refused.
    for text in ["é".repeat(10_000), "a".repeat(2001)] {
        let (status, problem) = answer(
            &server,
            "interview",
            json!({"kind": "interview", "answer": text}),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("2000")),
            "{problem}"
        );
    }
    // The cap itself and an ordinary answer are accepted.
    let (status, _) = answer(
        &server,
        "interview",
        json!({"kind": "interview", "answer": "ü".repeat(2000)}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, result) = answer(&server, "interview", short).await;
    assert_eq!(status, 200);
    assert!(
        result["key_points"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
}
