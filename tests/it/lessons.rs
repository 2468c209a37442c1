//! Lessons: every file parses, checks are known names, the seed is covered,
//! and doing a step's action with a learner's cookie ticks that step for
//! that learner only (issue 5, acceptance 1 and 2).

use crate::common::*;
use realtime_playground::lessons::{load_all, parse};
use serde_json::{Value, json};

#[test]
fn every_lesson_parses_in_order() {
    let lessons = load_all().expect("lessons parse");
    let slugs: Vec<&str> = lessons.iter().map(|l| l.meta.slug.as_str()).collect();
    assert_eq!(
        slugs,
        vec![
            "real-time",
            "polling",
            "long-polling",
            "sse",
            "websockets",
            "key-differences",
            "when-to-use",
            "common-mistake",
            "interview",
            "whats-next",
            "scaling",
            "network-faults",
            "write-the-code",
            "http2"
        ]
    );
    for l in &lessons {
        assert!(l.steps.len() >= 3, "{} has too few steps", l.meta.slug);
        for s in &l.steps {
            assert!(!s.html.contains("<script"), "{}#{}", l.meta.slug, s.id);
        }
    }
    for slug in ["polling", "long-polling", "sse", "websockets"] {
        let l = lessons
            .iter()
            .find(|l| l.meta.slug == slug)
            .expect("lesson");
        let checked = l.steps.iter().filter(|s| !s.checks.is_empty()).count();
        assert!(checked >= 3, "{slug}: {checked} checked steps");
        assert!(
            l.steps.iter().all(|s| !s.play.is_empty()),
            "{slug}: every step can be played"
        );
    }
}

#[test]
fn unknown_checks_widgets_and_actions_are_rejected() {
    let lesson = |step: &str| {
        format!(
            "---\nslug: x\ntitle: X\norder: 1\ntransport: poll\nsummary: s\nminutes: 1\n---\n\n## A step\n\n{step}\n"
        )
    };
    assert!(parse::parse("x.md", &lesson("```check\npolls >= 1\n```")).is_ok());
    let err = parse::parse("x.md", &lesson("```check\npols >= 1\n```")).expect_err("unknown check");
    assert!(
        err.contains("unknown check") && err.contains("x.md:"),
        "{err}"
    );
    assert!(parse::parse("x.md", &lesson("```try telepathy\n```")).is_err());
    assert!(parse::parse("x.md", &lesson("```play\nfly away\n```")).is_err());
    assert!(parse::parse("x.md", &lesson("```play\nwait 99\n```")).is_err());
    assert!(parse::parse("x.md", "no front matter").is_err());
    let h1 =
        "---\nslug: x\ntitle: X\norder: 1\ntransport: poll\nsummary: s\nminutes: 1\n---\n\n# Big\n";
    assert!(parse::parse("x.md", h1).is_err());
}

#[test]
fn the_seed_is_covered() {
    let lessons = load_all().expect("lessons parse");
    let all: String = lessons
        .iter()
        .flat_map(|l| {
            std::iter::once(l.intro_html.clone())
                .chain(l.steps.iter().map(|s| format!("{}\n{}", s.title, s.html)))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    for needle in [
        // Polling: dialogue, pros and cons.
        "any update",
        "works everywhere",
        "bandwidth",
        "server load",
        "delay",
        // SSE.
        "eventsource",
        "last-event-id",
        "retry",
        "one direction",
        "reconnect",
        // WebSockets.
        "101",
        "sec-websocket-accept",
        "full duplex",
        "upgrade",
        "harder to scale",
        "debug",
        // The table.
        "many requests",
        "one long connection",
        "persistent",
        "two-way",
        "efficiency",
        "complexity",
        // When to use each, with the examples.
        "notifications",
        "dashboard",
        "stock",
        "activity feed",
        "chat",
        "multiplayer",
        "collaborative editing",
        // Common mistake, interview, what's next.
        "websockets for everything",
        "when would you choose sse over websockets",
        "fastapi",
    ] {
        assert!(all.contains(needle), "the lessons never mention {needle:?}");
    }
}

/// The learner's progress, judged and kept (what the lesson page sends as the learner goes).
async fn progress(server: &TestServer, learner: &str, slug: &str) -> Value {
    post_as(server, learner, &format!("/api/lessons/{slug}/progress")).await
}

/// The learner's progress as a `GET` shows it: judged now, nothing kept.
async fn look(server: &TestServer, learner: &str, slug: &str) -> Value {
    server
        .http
        .get(server.url(&format!("/api/lessons/{slug}/progress")))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("progress")
        .json()
        .await
        .expect("json")
}

/// `done_steps` of lesson `slug` in the learner's lesson list.
async fn listed_done(server: &TestServer, learner: &str, slug: &str) -> Option<u64> {
    let list: Value = server
        .http
        .get(server.url("/api/lessons"))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    list.as_array()?.iter().find(|l| l["slug"] == slug)?["done_steps"].as_u64()
}

fn step_done(p: &Value, id: &str) -> bool {
    p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {p}"))["done"]
        == true
}

async fn post_as(server: &TestServer, learner: &str, path: &str) -> Value {
    let res = server
        .http
        .post(server.url(path))
        .header("X-Learner", learner)
        .send()
        .await
        .expect("post");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

/// Enters a step: only what the learner does after this counts for it.
async fn enter(server: &TestServer, learner: &str, slug: &str, step: &str) -> Value {
    post_as(
        server,
        learner,
        &format!("/api/lessons/{slug}/steps/{step}/enter"),
    )
    .await
}

async fn polls(server: &TestServer, learner: &str, n: usize, actor_play: bool) {
    let path = if actor_play {
        "/api/poll?since=0&actor=play"
    } else {
        "/api/poll?since=0"
    };
    for _ in 0..n {
        let res = server
            .http
            .get(server.url(path))
            .header("X-Learner", learner)
            .send()
            .await
            .expect("poll");
        assert_eq!(res.status(), 204);
    }
}

#[tokio::test]
async fn a_step_counts_only_what_its_learner_did_after_entering_it() {
    let server = TestServer::start().await;
    let lesson: Value = server
        .get("/api/lessons/polling")
        .await
        .json()
        .await
        .expect("json");
    let first = lesson["steps"][0].clone();
    assert!(
        first["checks"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("empty_polls"))
    );
    let step = first["id"].as_str().expect("id").to_owned();

    // Traffic before entering the step does not count.
    polls(&server, "ana", 6, false).await;
    let entered = enter(&server, "ana", "polling", &step).await;
    assert_eq!(
        (entered["entered"].as_bool(), entered["done"].as_bool()),
        (Some(true), Some(false))
    );
    enter(&server, "ben", "polling", &step).await;
    assert!(!step_done(
        &progress(&server, "ana", "polling").await,
        &step
    ));

    // Play mode's polls make the step watched, not done.
    polls(&server, "ana", 6, true).await;
    let p = progress(&server, "ana", "polling").await;
    let s = &p["steps"][0];
    assert_eq!(
        (s["done"].as_bool(), s["watched"].as_bool()),
        (Some(false), Some(true)),
        "{p}"
    );
    assert_eq!(s["checks"][0]["value"], 0);
    assert!(s["checks"][0]["watched_value"].as_u64() >= Some(5));

    // The learner's own polls tick it, for them only.
    polls(&server, "ana", 6, false).await;
    let ana = progress(&server, "ana", "polling").await;
    assert!(step_done(&ana, &step), "ana's polls count: {ana}");
    assert!(
        !step_done(&progress(&server, "ben", "polling").await, &step),
        "ben did nothing"
    );

    // Done stays done when the step is entered again; listing shows it; resetting forgets it.
    enter(&server, "ana", "polling", &step).await;
    assert!(step_done(&progress(&server, "ana", "polling").await, &step));
    let list: Value = server
        .http
        .get(server.url("/api/lessons"))
        .header("X-Learner", "ana")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (
            list[1]["done_steps"].as_u64(),
            list[1]["done_alone"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let reset = post_as(&server, "ana", "/api/lessons/polling/reset").await;
    assert!(!step_done(&reset, &step));
}

#[tokio::test]
async fn a_get_of_progress_only_looks_and_a_post_keeps_it() {
    let server = TestServer::start().await;
    let lesson: Value = server
        .get("/api/lessons/polling")
        .await
        .json()
        .await
        .expect("json");
    let step = lesson["steps"][0]["id"].as_str().expect("id").to_owned();
    enter(&server, "gil", "polling", &step).await;
    polls(&server, "gil", 6, false).await;

    // The GET shows the step done, as a POST would keep it, and keeps nothing.
    let looked = look(&server, "gil", "polling").await;
    assert!(step_done(&looked, &step), "{looked}");
    assert_eq!(listed_done(&server, "gil", "polling").await, Some(0));
    assert_eq!(
        look(&server, "gil", "polling").await,
        looked,
        "a GET changes nothing"
    );

    // The POST answers the same and keeps it: done stays done in a new window.
    assert_eq!(progress(&server, "gil", "polling").await, looked);
    assert_eq!(listed_done(&server, "gil", "polling").await, Some(1));
    enter(&server, "gil", "polling", &step).await;
    assert!(step_done(&look(&server, "gil", "polling").await, &step));
    server.stop().await;
}

#[tokio::test]
async fn hints_show_me_and_predictions_are_recorded() {
    let server = TestServer::start().await;
    let lessons = load_all().expect("lessons");
    let (slug, step) = lessons
        .iter()
        .find_map(|l| {
            l.steps
                .iter()
                .find(|s| s.hints.len() >= 2 && s.predict.is_some() && !s.play.is_empty())
                .map(|s| (l.meta.slug.clone(), s.clone()))
        })
        .expect("a step with hints, a prediction and a play script");
    let base = format!("/api/lessons/{slug}/steps/{}", step.id);
    enter(&server, "hal", &slug, &step.id).await;

    // Hints come one at a time and are remembered.
    let first = post_as(&server, "hal", &format!("{base}/hints")).await;
    assert_eq!(first["hints"].as_array().map(Vec::len), Some(1));
    let second = post_as(&server, "hal", &format!("{base}/hints")).await;
    assert_eq!(second["hints"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        second["hints"][1]["html"].as_str(),
        Some(step.hints[1].as_str())
    );
    let kept: Value = server
        .http
        .get(server.url(&format!("{base}/hints")))
        .header("X-Learner", "hal")
        .send()
        .await
        .expect("hints")
        .json()
        .await
        .expect("json");
    assert_eq!(kept["hints"].as_array().map(Vec::len), Some(2));
    let other: Value = server
        .http
        .get(server.url(&format!("{base}/hints")))
        .header("X-Learner", "ivy")
        .send()
        .await
        .expect("hints")
        .json()
        .await
        .expect("json");
    assert_eq!(
        other["hints"].as_array().map(Vec::len),
        Some(0),
        "another learner's hints are their own"
    );

    // A prediction is kept; a bad one is a problem.
    let bad = server
        .http
        .put(server.url(&format!("{base}/prediction")))
        .header("X-Learner", "hal")
        .json(&json!({"value": -3}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let res = server
        .http
        .put(server.url(&format!("{base}/prediction")))
        .header("X-Learner", "hal")
        .json(&json!({"value": 7}))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 200);
    let shown = post_as(&server, "hal", &format!("{base}/shown")).await;
    assert_eq!(
        (shown["shown"].as_bool(), shown["hints_used"].as_u64()),
        (Some(true), Some(2))
    );
    let p = progress(&server, "hal", &slug).await;
    let st = p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == step.id.as_str())
        .expect("step")
        .clone();
    assert_eq!(st["prediction"]["value"], 7.0);
    assert!(
        st["prediction"]["sentence"].is_null(),
        "no sentence before it is measured"
    );

    // Unknown steps are 404 problems.
    let res = server
        .http
        .post(server.url(&format!("/api/lessons/{slug}/steps/nope/enter")))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn sse_reconnect_with_last_event_id_ticks_its_step() {
    let server = TestServer::start().await;
    let lesson: Value = server
        .get("/api/lessons/sse")
        .await
        .json()
        .await
        .expect("json");
    let step = lesson["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["checks"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["text"] == "sse_reconnected_with_last_event_id")
            })
        })
        .expect("a reconnect step")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    enter(&server, "eve", "sse", &step).await;
    enter(&server, "other", "sse", &step).await;
    let res = server
        .http
        .get(server.url("/api/sse?limit=1"))
        .header("X-Learner", "eve")
        .header("Last-Event-ID", "0")
        .send()
        .await
        .expect("sse");
    assert_eq!(res.status(), 200);
    drop(res);
    assert!(step_done(&progress(&server, "eve", "sse").await, &step));
    assert!(!step_done(&progress(&server, "other", "sse").await, &step));
}

#[tokio::test]
async fn websocket_sends_tick_and_exercises_are_judged() {
    let server = TestServer::start().await;
    let lesson: Value = server
        .get("/api/lessons/websockets")
        .await
        .json()
        .await
        .expect("json");
    let sending_step = lesson["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["checks"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["text"].as_str().is_some_and(|t| t.starts_with("ws_sent")))
            })
        })
        .expect("a ws_sent step")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    enter(&server, "wes", "websockets", &sending_step).await;
    let mut ws = server.ws_as("wes").await;
    next_of_type(&mut ws, "welcome").await;
    for _ in 0..3 {
        send_json(&mut ws, json!({"type": "ping"})).await;
        next_of_type(&mut ws, "pong").await;
    }
    let p = progress(&server, "wes", "websockets").await;
    let sent = p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
        .find(|c| c["text"].as_str().is_some_and(|t| t.starts_with("ws_sent")))
        .expect("a ws_sent check");
    assert!(sent["value"].as_u64() >= Some(3), "{sent}");

    // The decision exercise is judged on the server: technique and factor.
    let answer = |scenario: &str, answer: &str, factor: &str| {
        server
            .http
            .post(server.url("/api/lessons/when-to-use/answers"))
            .header("X-Learner", "wes")
            .json(&json!({"kind": "decision", "scenario": scenario, "answer": answer, "factor": factor}))
            .send()
    };
    let judged = |res: reqwest::Response| async move {
        let v: Value = res.json().await.expect("json");
        v
    };
    let r = judged(
        answer("chat", "websocket", "client-talks")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(r["correct"], true);
    let r = judged(
        answer("stocks", "websocket", "direction")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        (r["correct"].as_bool(), r["best"].as_str()),
        (Some(false), Some("sse"))
    );
    // The right column for the wrong reason is not right.
    let r = judged(
        answer("llm-tokens", "sse", "client-talks")
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        (r["correct"].as_bool(), r["factor"].as_str()),
        (Some(false), Some("one-answer")),
        "{r}"
    );
    for (scenario, choice, factor) in [
        ("nope", "sse", "direction"),
        ("chat", "websocket", ""),
        ("chat", "websocket", "one-answer"),
    ] {
        let bad = answer(scenario, choice, factor).await.expect("answer");
        assert_eq!(bad.status(), 400, "{scenario} {choice} {factor:?}");
        assert_eq!(bad.headers()["content-type"], "application/problem+json");
    }

    // The interview answer gets its key points back.
    let r: Value = server
        .http
        .post(server.url("/api/lessons/interview/answers"))
        .header("X-Learner", "wes")
        .json(&json!({"kind": "interview", "answer": "When data flows one way, server to client, and I want plain HTTP with automatic reconnect."}))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let covered = r["key_points"]
        .as_array()
        .expect("points")
        .iter()
        .filter(|k| k["covered"] == true)
        .count();
    assert!(covered >= 3, "{r}");
    assert!(
        r["model_answer"]
            .as_str()
            .is_some_and(|m| m.contains("Last-Event-ID"))
    );
}

#[tokio::test]
async fn unknown_lessons_are_404_problems() {
    let server = TestServer::start().await;
    let res = server.get("/api/lessons/nope").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[test]
fn the_scaling_lesson_covers_what_issue_9_asks() {
    let lessons = load_all().expect("lessons parse");
    let l = lessons
        .iter()
        .find(|l| l.meta.slug == "scaling")
        .expect("the scaling lesson");
    assert_eq!(l.meta.order, 11, "it comes after the ten core lessons");
    let text: String = l
        .steps
        .iter()
        .map(|s| format!("{}\n{}", s.title, s.html))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
    for needle in [
        "last-event-id",
        "shared stream",
        "closed (1006)",
        "since",
        "sticky sessions",
        "load balancer",
        "idle",
        "heartbeat",
        "--sse-heartbeat-secs",
        "--ws-ping-interval-secs",
        "redis-server",
        "--redis-url",
    ] {
        assert!(
            text.contains(needle),
            "the scaling lesson never says {needle:?}"
        );
    }
    assert!(
        l.steps
            .iter()
            .any(|s| s.widget.as_deref() == Some("cluster")),
        "the cluster widget is in the lesson"
    );
}

/// Answers one exercise as `learner`, as play mode when `play`.
async fn answer_as(server: &TestServer, learner: &str, slug: &str, body: Value, play: bool) {
    let path = format!(
        "/api/lessons/{slug}/answers{}",
        if play { "?actor=play" } else { "" }
    );
    let res = server
        .http
        .post(server.url(&path))
        .header("X-Learner", learner)
        .json(&body)
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 200, "{body}");
}

#[tokio::test]
async fn an_answer_counts_only_in_a_step_entered_before_it_and_plays_answers_are_watched() {
    let server = TestServer::start().await;
    let interview = json!({"kind": "interview", "answer": "SSE when data flows server to client."});
    // Answered in the first interview step; the second step entered later
    // (no traffic in between) does not tick on arrival.
    enter(&server, "ida", "interview", "write-your-answer").await;
    answer_as(&server, "ida", "interview", interview.clone(), false).await;
    let later = enter(&server, "ida", "interview", "likely-follow-up-questions").await;
    assert_eq!(later["done"], false, "{later}");
    let p = progress(&server, "ida", "interview").await;
    assert!(step_done(&p, "write-your-answer"));
    assert!(!step_done(&p, "likely-follow-up-questions"), "{p}");

    // Play mode's answer is watched, not done; the learner's own then ticks it.
    answer_as(&server, "ida", "interview", interview.clone(), true).await;
    let p = progress(&server, "ida", "interview").await;
    let step = p["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "likely-follow-up-questions")
        .expect("step")
        .clone();
    assert_eq!(
        (step["done"].as_bool(), step["watched"].as_bool()),
        (Some(false), Some(true)),
        "{step}"
    );
    answer_as(&server, "ida", "interview", interview, false).await;
    assert!(step_done(
        &progress(&server, "ida", "interview").await,
        "likely-follow-up-questions"
    ));
}

#[test]
fn every_checked_step_of_lessons_six_to_eleven_has_hints_and_a_show_me() {
    let lessons = load_all().expect("lessons parse");
    for l in lessons.iter().filter(|l| l.meta.order >= 6) {
        let checked: Vec<_> = l.steps.iter().filter(|s| !s.checks.is_empty()).collect();
        assert!(!checked.is_empty(), "{} has no checked step", l.meta.slug);
        for s in checked {
            assert!(
                (1..=3).contains(&s.hints.len()) && !s.play.is_empty(),
                "{}#{}: {} hints, {} play actions",
                l.meta.slug,
                s.id,
                s.hints.len(),
                s.play.len()
            );
        }
    }
}
/// The id of the step of `slug` whose prediction measures `measure`, or
/// whose checks include `check`.
fn step_of(slug: &str, measure: Option<&str>, check: Option<&str>) -> String {
    let lessons = load_all().expect("lessons");
    let lesson = lessons
        .iter()
        .find(|l| l.meta.slug == slug)
        .expect("lesson");
    lesson
        .steps
        .iter()
        .find(|s| {
            measure.is_some_and(|m| s.predict.as_ref().is_some_and(|p| p.measure == m))
                || check.is_some_and(|c| s.checks.iter().any(|k| k.text == c))
        })
        .unwrap_or_else(|| panic!("{slug}: no step measuring {measure:?} or checking {check:?}"))
        .id
        .clone()
}

/// Waits until the step is done for the learner (the traffic is recorded
/// as it happens, a moment after the client saw it); returns its progress.
async fn done_step(server: &TestServer, learner: &str, slug: &str, step: &str) -> Value {
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let p = progress(server, learner, slug).await;
            let s = p["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .find(|s| s["id"] == step)
                .expect("step")
                .clone();
            if s["done"] == true {
                return s;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{slug}#{step} never ticked for {learner}"))
}

async fn predict(server: &TestServer, learner: &str, slug: &str, step: &str, value: f64) {
    let res = server
        .http
        .put(server.url(&format!("/api/lessons/{slug}/steps/{step}/prediction")))
        .header("X-Learner", learner)
        .json(&json!({ "value": value }))
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn predictions_in_bytes_are_measured_from_the_learners_own_frames() {
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;

    let server = TestServer::start().await;

    // SSE: the bytes of the one event pushed down the learner's stream.
    let step = step_of("sse", Some("sse_event_bytes"), None);
    enter(&server, "una", "sse", &step).await;
    predict(&server, "una", "sse", &step, 150.0).await;
    let res = server
        .http
        .get(server.url("/api/sse"))
        .header("X-Learner", "una")
        .send()
        .await
        .expect("sse");
    let mut stream = res
        .bytes_stream()
        .eventsource()
        .map(|e| e.expect("valid SSE"))
        .boxed();
    server.wait_for_subscribers(1).await;
    let res = server
        .http
        .post(server.url("/api/events"))
        .header("X-Learner", "una")
        .json(&json!({"topic": "demo", "type": "note", "data": {"text": "Hello from the lesson"}}))
        .send()
        .await
        .expect("publish");
    assert_eq!(res.status(), 202);
    let e = next_sse(&mut stream).await.expect("the event");
    let wire = format!("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.event, e.data).len() as u64;
    let s = done_step(&server, "una", "sse", &step).await;
    assert_eq!(s["prediction"]["measured"].as_u64(), Some(wire), "{s}");
    assert!(
        s["prediction"]["sentence"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!(
                "You predicted 150 bytes; you measured {wire} bytes"
            ))),
        "{s}"
    );
    drop(stream);

    // WebSocket: one JSON ping up (masked: 6 header bytes) and its pong down (2).
    let step = step_of("websockets", Some("ws_ping_bytes"), None);
    enter(&server, "una", "websockets", &step).await;
    predict(&server, "una", "websockets", &step, 40.0).await;
    let mut ws = server.ws_as("una").await;
    next_of_type(&mut ws, "welcome").await;
    send_json(&mut ws, json!({"type": "ping"})).await;
    next_of_type(&mut ws, "pong").await;
    let s = done_step(&server, "una", "websockets", &step).await;
    let ping = r#"{"type":"ping"}"#.len() as u64;
    assert_eq!(
        s["prediction"]["measured"].as_u64(),
        Some(ping + 6 + ping + 2),
        "{s}"
    );

    // A second ping in a new window is over that step's budget of one.
    enter(&server, "val", "websockets", &step).await;
    let mut other = server.ws_as("val").await;
    next_of_type(&mut other, "welcome").await;
    for _ in 0..2 {
        send_json(&mut other, json!({"type": "ping"})).await;
        next_of_type(&mut other, "pong").await;
    }
    assert!(!step_done(
        &progress(&server, "val", "websockets").await,
        &step
    ));

    // The debugging step ticks on an error answer, not on any message.
    let step = step_of("websockets", None, Some("ws_sent <= 4"));
    enter(&server, "una", "websockets", &step).await;
    send_json(&mut ws, json!({"type": "echo", "data": 1})).await;
    next_of_type(&mut ws, "echo").await;
    assert!(!step_done(
        &progress(&server, "una", "websockets").await,
        &step
    ));
    send_json(&mut ws, json!({"type": "subscribe", "topics": "ticker"})).await;
    next_of_type(&mut ws, "error").await;
    done_step(&server, "una", "websockets", &step).await;
}
