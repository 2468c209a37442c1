//! Other instances of this server that keep part of a learner's traffic in
//! their own logs (the scaling lesson's cluster).
//!
//! Each instance judges the same lesson files against its own log; this
//! server adds up what they counted ([`Elsewhere`]) and opens or resets the
//! learner's steps there too, so every instance counts from the same moment.
//! Lessons reach the instances only through [`OtherInstances`], which the app
//! layer implements with the cluster lab: the lab knows nothing of lessons.

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::checks::Check;
use super::judge::{Effect, Elsewhere};

/// A running instance, as the implementer names it (the cluster lab: its port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceId(pub u16);

/// The other instances, reached over HTTP as the learner.
pub trait OtherInstances: Send + Sync {
    /// The instances running now.
    fn running(&self) -> BoxFuture<'_, Vec<InstanceId>>;
    /// `GET path` on one instance as `learner`: its JSON answer, `None` when
    /// it gave none (it is dying or starting).
    fn get<'a>(
        &'a self,
        at: InstanceId,
        learner: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Option<Value>>;
    /// `POST path` on one instance as `learner`; no answer is fine.
    fn post<'a>(&'a self, at: InstanceId, learner: &'a str, path: &'a str) -> BoxFuture<'a, ()>;
}

/// What the running instances counted for `learner` in lesson `slug`, per
/// step and check name, summed (the learner's own and what "show me" did,
/// apart). With [`Effect::Record`], an instance that has not entered a step
/// the learner is in (it started after the learner entered it) opens that
/// step from the start of its log: all its traffic came after that moment.
pub async fn counted(
    others: &dyn OtherInstances,
    learner: &str,
    slug: &str,
    effect: Effect,
) -> Elsewhere {
    let mut values = Elsewhere::new();
    for at in others.running().await {
        let path = format!("/api/lessons/{slug}/progress");
        let Some(report) = others.get(at, learner, &path).await else {
            continue;
        };
        for step in add_report(&mut values, &report) {
            if effect == Effect::Record {
                let path = format!("/api/lessons/{slug}/steps/{step}/enter?from_start=true");
                others.post(at, learner, &path).await;
            }
        }
    }
    values
}

/// Opens a step's window on every running instance too.
pub async fn enter_step(others: &dyn OtherInstances, learner: &str, slug: &str, step: &str) {
    post_to_all(
        others,
        learner,
        &format!("/api/lessons/{slug}/steps/{step}/enter"),
    )
    .await;
}

/// Starts the lesson over on every running instance too.
pub async fn reset_lesson(others: &dyn OtherInstances, learner: &str, slug: &str) {
    post_to_all(others, learner, &format!("/api/lessons/{slug}/reset")).await;
}

async fn post_to_all(others: &dyn OtherInstances, learner: &str, path: &str) {
    for at in others.running().await {
        others.post(at, learner, path).await;
    }
}

/// Adds one instance's progress report (the JSON of `GET
/// /api/lessons/{slug}/progress`) to `values`; answers the ids of the steps
/// it has not entered, which count nothing yet.
fn add_report(values: &mut Elsewhere, report: &Value) -> Vec<String> {
    let mut not_entered = Vec::new();
    for step in report["steps"].as_array().into_iter().flatten() {
        let Some(id) = step["id"].as_str() else {
            continue;
        };
        if step["entered"] == false {
            not_entered.push(id.to_owned());
            continue;
        }
        let mine = values.mine.entry(id.to_owned()).or_default();
        let shown = values.shown.entry(id.to_owned()).or_default();
        for check in step["checks"].as_array().into_iter().flatten() {
            // The condition as written, read by the same parser as the lesson file.
            let Ok(parsed) = Check::parse(check["text"].as_str().unwrap_or_default()) else {
                continue;
            };
            let value = |key: &str| check[key].as_u64().unwrap_or_default();
            *mine.entry(parsed.name.to_owned()).or_default() += value("value");
            *shown.entry(parsed.name.to_owned()).or_default() += value("watched_value");
        }
    }
    not_entered
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    /// Two instances that answer fixed reports and remember what was posted.
    struct Fake {
        reports: Vec<Value>,
        posted: Mutex<Vec<(u16, String)>>,
    }

    impl OtherInstances for Fake {
        fn running(&self) -> BoxFuture<'_, Vec<InstanceId>> {
            let ids = (0..self.reports.len() as u16).map(InstanceId).collect();
            Box::pin(async move { ids })
        }

        fn get<'a>(
            &'a self,
            at: InstanceId,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Option<Value>> {
            Box::pin(async move { self.reports.get(usize::from(at.0)).cloned() })
        }

        fn post<'a>(&'a self, at: InstanceId, _: &'a str, path: &'a str) -> BoxFuture<'a, ()> {
            let mut posted = self.posted.lock().expect("posted");
            posted.push((at.0, path.to_owned()));
            Box::pin(async {})
        }
    }

    fn report(entered: bool, value: u64, watched: u64) -> Value {
        json!({ "steps": [{
            "id": "resume",
            "entered": entered,
            "checks": [
                { "text": "sse_events >= 2", "value": value, "watched_value": watched },
                { "text": "not a check", "value": 99, "watched_value": 99 },
            ],
        }] })
    }

    fn fake(reports: Vec<Value>) -> Fake {
        Fake {
            reports,
            posted: Mutex::new(Vec::new()),
        }
    }

    #[tokio::test]
    async fn counts_are_summed_over_the_instances_per_check_name() {
        let others = fake(vec![report(true, 2, 1), report(true, 3, 0)]);
        let values = counted(&others, "ana", "scaling", Effect::Look).await;
        assert_eq!(values.mine["resume"]["sse_events"], 5);
        assert_eq!(values.shown["resume"]["sse_events"], 1);
        assert_eq!(
            values.mine["resume"].len(),
            1,
            "unparsable checks count nothing"
        );
    }

    #[tokio::test]
    async fn a_late_instance_opens_the_step_from_its_start_only_when_recording() {
        let others = fake(vec![report(true, 2, 0), report(false, 7, 0)]);
        let looked = counted(&others, "ana", "scaling", Effect::Look).await;
        assert_eq!(
            looked.mine["resume"]["sse_events"], 2,
            "not entered: counts nothing"
        );
        assert!(
            others.posted.lock().expect("posted").is_empty(),
            "a look changes nothing"
        );
        counted(&others, "ana", "scaling", Effect::Record).await;
        assert_eq!(
            *others.posted.lock().expect("posted"),
            [(
                1,
                "/api/lessons/scaling/steps/resume/enter?from_start=true".to_owned()
            )]
        );
    }

    #[tokio::test]
    async fn entering_and_resetting_reach_every_instance() {
        let others = fake(vec![json!({}), json!({})]);
        enter_step(&others, "ana", "scaling", "resume").await;
        reset_lesson(&others, "ana", "scaling").await;
        let posted = others.posted.lock().expect("posted");
        assert_eq!(posted.len(), 4);
        assert_eq!(posted[3], (1, "/api/lessons/scaling/reset".to_owned()));
    }
}
