//! Lessons: every file parses, checks are known names, the seed is covered,
//! and doing a step's action with a learner's cookie ticks that step for
//! that learner only (issue 5, acceptance 1 and 2).

mod common;

use common::*;
use realtime_playground::lessons::{load_all, parse};
use serde_json::{Value, json};

#[test]
fn all_eleven_lessons_parse_in_order() {
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
            "scaling"
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

async fn progress(server: &TestServer, learner: &str, slug: &str) -> Value {
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
    server.stop().await;
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
    server.stop().await;
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

    // The decision exercise is judged on the server.
    let answer = |scenario: &str, answer: &str| {
        server
            .http
            .post(server.url("/api/lessons/when-to-use/answers"))
            .header("X-Learner", "wes")
            .json(&json!({"kind": "decision", "scenario": scenario, "answer": answer}))
            .send()
    };
    let r: Value = answer("chat", "websocket")
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(r["correct"], true);
    let r: Value = answer("stocks", "websocket")
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (r["correct"].as_bool(), r["best"].as_str()),
        (Some(false), Some("sse"))
    );
    let bad = answer("nope", "sse").await.expect("answer");
    assert_eq!(bad.status(), 400);

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
    server.stop().await;
}

#[tokio::test]
async fn unknown_lessons_are_404_problems() {
    let server = TestServer::start().await;
    let res = server.get("/api/lessons/nope").await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    server.stop().await;
}

#[test]
fn the_scaling_lesson_covers_what_issue_9_asks() {
    let lessons = load_all().expect("lessons parse");
    let l = lessons
        .iter()
        .find(|l| l.meta.slug == "scaling")
        .expect("the scaling lesson");
    assert_eq!(l.meta.order as usize, lessons.len(), "it comes last");
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
