//! Progress survives a restart: the real binary, stopped with SIGTERM or
//! killed with SIGKILL, started again on the same `--data-dir`, still knows
//! what a learner did (steps done, hints, predictions, challenge bests). A
//! damaged or busy progress file stops the start with a clear error and is
//! left as it was; `--ephemeral` writes nothing.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::PATIENCE;
use realtime_playground::app::server::{READY_LINE, port_from_ready_line};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_realtime-playground");
const LEARNER: &str = "lia";
const CHALLENGE: &str = "ten-updates-three-requests";
/// The start-up line that says where progress is kept.
const PROGRESS_LINE: &str = "  Progress:   ";
/// Starting a debug build (lessons rendered, the file checked) takes a few seconds.
const START_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// A fresh directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("rp-persistence-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with our settings only: none of the caller's PLAYGROUND_* or XDG_DATA_HOME.
fn command(args: &[&str], env: &[(&str, &Path)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(["--port", "0", "--feeds-paused"]).args(args);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PLAYGROUND_") {
            command.env_remove(&key);
        }
    }
    command
        .env_remove("XDG_DATA_HOME")
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(k, v)| (k, v.as_os_str())))
        .kill_on_drop(true);
    command
}

struct Running {
    child: Child,
    base: String,
    /// What the start-up line says about progress.
    progress: String,
    http: reqwest::Client,
}

/// Starts the binary and reads its start-up lines up to the one about progress.
async fn start(args: &[&str], env: &[(&str, &Path)]) -> Running {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (port, progress) = tokio::time::timeout(START_PATIENCE, async {
        let mut port = None;
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.starts_with(READY_LINE) {
                port = port_from_ready_line(&line);
            } else if let Some(progress) = line.strip_prefix(PROGRESS_LINE) {
                return (port.expect("the port line first"), progress.to_owned());
            }
        }
        panic!("the binary never said where progress is kept");
    })
    .await
    .expect("started in time");
    // Keep reading: a closed pipe would kill the binary at its next print.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Running {
        child,
        base: format!("http://127.0.0.1:{port}"),
        progress,
        http: reqwest::Client::new(),
    }
}

/// Starts the binary expecting it to refuse: its exit status and stderr.
async fn refused(args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = command(args, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("stderr");
    let status = tokio::time::timeout(START_PATIENCE, async {
        pipe.read_to_string(&mut stderr).await.expect("read stderr");
        child.wait().await.expect("exit status")
    })
    .await
    .expect("the binary should stop by itself, not serve");
    (status, stderr)
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGTERM: a graceful shutdown.
    Term,
    /// SIGKILL: no chance to flush anything.
    Kill,
}

impl Running {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("X-Learner", LEARNER);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        assert!(status.is_success(), "{method} {path}: {status}");
        if status == reqwest::StatusCode::NO_CONTENT {
            return Value::Null;
        }
        res.json().await.expect("json")
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str) -> Value {
        self.call(reqwest::Method::POST, path, None).await
    }

    async fn stop(mut self, how: Stop) {
        match how {
            Stop::Term => {
                // The SIGTERM handler is installed once the server serves: one answer proves it.
                self.get("/api/status").await;
                crate::common::terminate(&self.child)
            }
            Stop::Kill => self.child.start_kill().expect("SIGKILL"),
        }
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("stopped in time")
            .expect("exit status");
        if let Stop::Term = how {
            assert!(status.success(), "a clean shutdown: {status}");
        }
    }
}

/// The polling lesson's first step (five empty polls) and a step with hints and a prediction.
struct Steps {
    first: String,
    helped: String,
}

async fn steps(server: &Running) -> Steps {
    let lesson = server.get("/api/lessons/polling").await;
    let steps = lesson["steps"].as_array().expect("steps");
    let id = |s: &Value| s["id"].as_str().expect("id").to_owned();
    let helped = steps
        .iter()
        .skip(1)
        .find(|s| s["hints"].as_u64() > Some(0) && !s["predict"].is_null())
        .expect("a polling step with hints and a prediction");
    Steps {
        first: id(&steps[0]),
        helped: id(helped),
    }
}

/// A learner's work: a step done, a hint taken and a prediction on another, a challenge solved.
async fn learn(server: &Running, steps: &Steps) {
    server
        .post(&format!("/api/lessons/polling/steps/{}/enter", steps.first))
        .await;
    for _ in 0..5 {
        let empty = server.get("/api/poll?since=0").await;
        assert!(empty.is_null(), "feeds paused: every poll is empty");
    }
    let base = format!("/api/lessons/polling/steps/{}", steps.helped);
    server.post(&format!("{base}/enter")).await;
    server.post(&format!("{base}/hints")).await;
    let prediction = Some(json!({ "value": 7 }));
    server
        .call(
            reqwest::Method::PUT,
            &format!("{base}/prediction"),
            prediction,
        )
        .await;

    // Ten for three: ten events published (by nobody in particular), then one poll carries them all.
    server
        .post(&format!("/api/lab/challenges/{CHALLENGE}/start"))
        .await;
    for n in 0..10 {
        let res = server
            .http
            .post(format!("{}/api/events", server.base))
            .json(&json!({ "topic": "golf", "type": "test", "data": n }))
            .send()
            .await
            .expect("publish");
        assert_eq!(res.status(), 202);
    }
    let poll = server.get("/api/poll?since=0").await;
    assert_eq!(poll["events"].as_array().map(Vec::len), Some(10));
}

/// What the server remembers of the learner's work.
#[derive(Debug, PartialEq)]
struct Kept {
    first_done: bool,
    hints_used: Option<u64>,
    hints_shown: Option<usize>,
    prediction: Option<f64>,
    done_steps_in_list: Option<u64>,
    challenge_best: Option<u64>,
}

const ALL_OF_IT: Kept = Kept {
    first_done: true,
    hints_used: Some(1),
    hints_shown: Some(1),
    prediction: Some(7.0),
    done_steps_in_list: Some(1),
    challenge_best: Some(1),
};

async fn kept(server: &Running, steps: &Steps) -> Kept {
    let progress = server.get("/api/lessons/polling/progress").await;
    let step = |id: &str| {
        progress["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
            .expect("step")
    };
    let helped = step(&steps.helped);
    let hints = server
        .get(&format!(
            "/api/lessons/polling/steps/{}/hints",
            steps.helped
        ))
        .await;
    let list = server.get("/api/lessons").await;
    let polling = list
        .as_array()
        .expect("lessons")
        .iter()
        .find(|l| l["slug"] == "polling")
        .cloned()
        .expect("the polling lesson");
    let challenge = server
        .get(&format!("/api/lab/challenges/{CHALLENGE}"))
        .await;
    Kept {
        first_done: step(&steps.first)["done"] == true,
        hints_used: helped["hints_used"].as_u64(),
        hints_shown: hints["hints"].as_array().map(Vec::len),
        prediction: helped["prediction"]["value"].as_f64(),
        done_steps_in_list: polling["done_steps"].as_u64(),
        challenge_best: challenge["best"].as_u64(),
    }
}

async fn survives(how: Stop, name: &str) {
    let dir = TempDir::new(name);
    let data_dir = dir.path().join("data");
    let args = ["--data-dir", data_dir.to_str().expect("utf-8 path")];
    let file = data_dir.join("progress.redb");

    let first = start(&args, &[]).await;
    assert_eq!(first.progress, format!("kept in {}", file.display()));
    let steps = steps(&first).await;
    learn(&first, &steps).await;
    assert_eq!(kept(&first, &steps).await, ALL_OF_IT, "before the restart");
    first.stop(how).await;

    let second = start(&args, &[]).await;
    assert_eq!(
        kept(&second, &steps).await,
        ALL_OF_IT,
        "after {how:?} and a restart on the same --data-dir"
    );
    second.stop(Stop::Kill).await;
}

#[tokio::test]
async fn progress_survives_a_sigterm_and_a_restart() {
    survives(Stop::Term, "term").await;
}

#[tokio::test]
async fn progress_survives_a_sigkill_and_a_restart() {
    survives(Stop::Kill, "kill").await;
}

#[tokio::test]
async fn a_damaged_file_stops_the_start_names_the_file_and_is_left_alone() {
    let dir = TempDir::new("corrupt");
    let file = dir.path().join("progress.redb");
    let garbage = b"this is not a progress database\n".repeat(200);
    std::fs::write(&file, &garbage).expect("write garbage");
    let (status, stderr) = refused(&["--data-dir", dir.path().to_str().expect("utf-8 path")]).await;
    assert!(!status.success(), "exit status {status}");
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("--ephemeral"),
        "names the file and a way out: {stderr}"
    );
    assert_eq!(
        std::fs::read(&file).expect("still there"),
        garbage,
        "never silently reset"
    );
}

#[tokio::test]
async fn a_file_another_server_holds_stops_the_start() {
    let dir = TempDir::new("busy");
    let args = ["--data-dir", dir.path().to_str().expect("utf-8 path")];
    let holder = start(&args, &[]).await;
    let (status, stderr) = refused(&args).await;
    assert!(!status.success(), "exit status {status}");
    let file = dir.path().join("progress.redb");
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("in use"),
        "says the file is in use: {stderr}"
    );
    holder.stop(Stop::Kill).await;
}

#[tokio::test]
async fn by_default_progress_lives_in_the_xdg_data_directory() {
    let dir = TempDir::new("xdg");
    let server = start(&[], &[("XDG_DATA_HOME", dir.path())]).await;
    let file = dir.path().join("realtime-playground/progress.redb");
    assert_eq!(server.progress, format!("kept in {}", file.display()));
    assert!(file.is_file(), "{} exists", file.display());
    server.stop(Stop::Term).await;
}

#[tokio::test]
async fn ephemeral_writes_nothing_to_any_data_directory() {
    let dir = TempDir::new("ephemeral");
    let xdg = dir.path().join("xdg");
    let chosen = dir.path().join("chosen");
    let env = [
        ("XDG_DATA_HOME", xdg.as_path()),
        ("PLAYGROUND_DATA_DIR", chosen.as_path()),
    ];
    let server = start(&["--ephemeral"], &env).await;
    assert_eq!(server.progress, "not kept (--ephemeral)");
    let steps = steps(&server).await;
    learn(&server, &steps).await;
    assert_eq!(kept(&server, &steps).await, ALL_OF_IT, "kept in memory");
    server.stop(Stop::Term).await;
    assert!(!xdg.exists(), "nothing in XDG_DATA_HOME");
    assert!(!chosen.exists(), "nothing in PLAYGROUND_DATA_DIR");
}
