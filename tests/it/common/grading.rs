//! Asking the playground's grader for a report card, and reading it.

use serde_json::{Value, json};

use super::TestServer;

/// A report card as the API returned it.
pub struct Card {
    pub verdict_header: String,
    pub body: Value,
}

impl Card {
    /// Ids of the lines with this verdict, in card order.
    pub fn ids(&self, verdict: &str) -> Vec<String> {
        self.body["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["verdict"] == verdict)
            .filter_map(|l| l["id"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn line(&self, id: &str) -> &Value {
        self.body["lines"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["id"] == id))
            .unwrap_or(&Value::Null)
    }

    pub fn all_pass(&self) -> bool {
        self.body["all_pass"] == true
    }

    /// The card, one line per rule, for an assertion message.
    pub fn show(&self) -> String {
        self.body["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| format!("{} {}: {}", l["verdict"], l["id"], l["detail"]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `POST /api/grader/runs` as `learner`; the raw answer.
pub async fn post_run(server: &TestServer, learner: &str, body: Value) -> reqwest::Response {
    server
        .http
        .post(server.url("/api/grader/runs"))
        .header("x-learner", learner)
        .json(&body)
        .send()
        .await
        .expect("POST /api/grader/runs")
}

/// Grades `url` as `kind` and returns the card (asserting a 200).
pub async fn grade(server: &TestServer, learner: &str, kind: &str, url: &str) -> Card {
    let res = post_run(server, learner, json!({"url": url, "kind": kind})).await;
    assert_eq!(res.status(), 200, "grading {url}");
    let verdict_header = res
        .headers()
        .get("x-grader-verdict")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.json().await.expect("report json");
    Card {
        verdict_header,
        body,
    }
}
