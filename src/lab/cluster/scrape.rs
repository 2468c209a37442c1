//! Asking a running instance over HTTP on a learner's behalf.
//!
//! The page's requests to an instance carry the learner's cookie (same host,
//! so same site), so each instance keeps that learner's traffic in its own
//! log. What to ask (which path) is the caller's business: the lab only
//! reaches its instances, as the learner (`X-Learner`), briefly (1 s).

use super::ClusterLab;

impl ClusterLab {
    /// `GET path` on the instance at `port`, as `learner`: its answer as
    /// JSON, whatever the status; `None` when it did not answer JSON (it is
    /// dying or starting).
    pub async fn get_json(
        &self,
        port: u16,
        learner: &str,
        path: &str,
    ) -> Option<serde_json::Value> {
        let url = format!("http://127.0.0.1:{port}{path}");
        let res = self
            .http
            .get(url)
            .header("X-Learner", learner)
            .send()
            .await
            .ok()?;
        res.json().await.ok()
    }

    /// `POST path` (no body) on the instance at `port`, as `learner`; an
    /// instance that does not answer is let be.
    pub async fn post_as(&self, port: u16, learner: &str, path: &str) {
        let url = format!("http://127.0.0.1:{port}{path}");
        let _ = self
            .http
            .post(url)
            .header("X-Learner", learner)
            .send()
            .await;
    }
}
