//! Requests as a named learner (the `X-Learner` header): faults, streams
//! and logs are per learner, so most tests speak as one.

use serde_json::Value;

use super::TestServer;

impl TestServer {
    /// `GET path` as `learner`.
    pub async fn get_as(&self, learner: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("X-Learner", learner)
            .send()
            .await
            .expect("GET")
    }

    /// Opens `/api/sse{query}` as `learner`, checked to be a 200.
    pub async fn sse_as(&self, learner: &str, query: &str) -> reqwest::Response {
        let res = self.get_as(learner, &format!("/api/sse{query}")).await;
        assert_eq!(res.status(), 200, "GET /api/sse{query}");
        res
    }

    /// Sets `learner`'s fault switches (`PUT /api/faults`); returns them all.
    pub async fn set_faults(&self, learner: &str, switches: Value) -> Value {
        let res = self
            .http
            .put(self.url("/api/faults"))
            .header("X-Learner", learner)
            .json(&switches)
            .send()
            .await
            .expect("PUT /api/faults");
        assert_eq!(res.status(), 200);
        res.json().await.expect("switches")
    }
}
