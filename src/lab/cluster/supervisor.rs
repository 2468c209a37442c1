//! The instances' processes: starting A and B (all or nothing), killing one
//! as if it crashed, restarting it, and stopping both when this server shuts
//! down or nobody used them for [`IDLE_LIMIT`].

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::log_ring::LogRing;
use super::{ClusterLab, IDLE_LIMIT, Instance, InstanceName, InstanceState};
use crate::problem::ApiError;

/// How long an instance may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// Why an instance did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot run {program}: {source}")]
    CannotRun {
        program: String,
        source: std::io::Error,
    },
    #[error("no stdout")]
    NoStdout,
    #[error("it printed no port within {} s. {log}", START_TIMEOUT.as_secs())]
    NoPort { log: String },
    #[error("it exited. {log}")]
    Exited { log: String },
}

/// A running (or stopped) instance's process and what we know of it.
pub(super) struct Slot {
    name: InstanceName,
    port: u16,
    child: Option<Child>,
    /// Held open: the instance stops when it closes (see `--until-stdin-closes`).
    _stdin: Option<ChildStdin>,
    started_at: SystemTime,
    note: Option<String>,
}

#[derive(Default)]
pub(super) struct Cluster {
    pub(super) slots: Vec<Slot>,
    /// Origins the instances accept requests from (the lesson page's).
    origins: Vec<String>,
}

impl ClusterLab {
    /// Starts A and B unless they exist; `Ok(false)` when they already did.
    pub async fn start(self: &Arc<Self>, origins: Vec<String>) -> Result<bool, ApiError> {
        let redis = self.redis()?.to_owned();
        if self.shutdown.is_shutting_down() {
            return Err(ApiError::unavailable("The server is shutting down."));
        }
        let mut cluster = self.cluster.lock().await;
        if !cluster.slots.is_empty() {
            return Ok(false);
        }
        cluster.origins = origins;
        for name in [InstanceName::A, InstanceName::B] {
            match self.spawn(name, 0, &redis, &cluster.origins).await {
                Ok(slot) => cluster.slots.push(slot),
                Err(why) => {
                    // All or nothing: the one that did start goes too.
                    cluster.slots.clear();
                    return Err(ApiError::unavailable(format!(
                        "Instance {} did not start: {why}",
                        name.as_str()
                    )));
                }
            }
        }
        let generation = self.generation.load(Ordering::SeqCst);
        tokio::spawn(self.clone().watch(generation));
        Ok(true)
    }

    /// `SIGKILL`s one instance, as if it crashed.
    pub async fn stop(&self, name: InstanceName) -> Result<(), ApiError> {
        let mut cluster = self.cluster.lock().await;
        let slot = cluster
            .slots
            .iter_mut()
            .find(|s| s.name == name)
            .ok_or_else(not_started)?;
        if let Some(mut child) = slot.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            slot._stdin = None;
            slot.note = Some(format!(
                "Killed with SIGKILL at {}: like a crash, it closed none of its connections \
                 politely; its clients saw them break.",
                humantime::format_rfc3339_millis(SystemTime::now())
            ));
            tracing::info!(instance = name.as_str(), "cluster lab: instance killed");
        }
        Ok(())
    }

    /// Starts a stopped instance again, on its old port if that is free.
    pub async fn restart(&self, name: InstanceName, origins: Vec<String>) -> Result<(), ApiError> {
        let redis = self.redis()?.to_owned();
        let mut cluster = self.cluster.lock().await;
        for origin in origins {
            if !cluster.origins.contains(&origin) {
                cluster.origins.push(origin);
            }
        }
        let origins = cluster.origins.clone();
        let index = cluster
            .slots
            .iter_mut()
            .position(|s| s.name == name)
            .ok_or_else(not_started)?;
        let slot = &mut cluster.slots[index];
        slot.describe();
        if slot.child.is_some() {
            return Ok(());
        }
        let old_port = slot.port;
        let fresh = match self.spawn(name, old_port, &redis, &origins).await {
            Ok(fresh) => fresh,
            // The old port is taken by now: any free one will do.
            Err(_) => self.spawn(name, 0, &redis, &origins).await.map_err(|why| {
                ApiError::unavailable(format!("Instance {} did not start: {why}", name.as_str()))
            })?,
        };
        cluster.slots[index] = fresh;
        Ok(())
    }

    /// Stops both instances and forgets them.
    pub async fn stop_all(&self) {
        let mut cluster = self.cluster.lock().await;
        self.generation.fetch_add(1, Ordering::SeqCst);
        for slot in &mut cluster.slots {
            if let Some(mut child) = slot.child.take() {
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            }
        }
        cluster.slots.clear();
    }

    /// Stops the instances when the server shuts down or nobody used them for [`IDLE_LIMIT`].
    async fn watch(self: Arc<Self>, generation: u64) {
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => {
                    self.stop_all().await;
                    return;
                }
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if self.idle_for() >= IDLE_LIMIT {
                tracing::info!(
                    "cluster lab: idle for {} s, stopping the instances",
                    IDLE_LIMIT.as_secs()
                );
                self.stop_all().await;
                return;
            }
        }
    }

    /// The ports of the instances running now.
    pub async fn running_ports(&self) -> Vec<u16> {
        let mut cluster = self.cluster.lock().await;
        cluster
            .slots
            .iter_mut()
            .map(Slot::describe)
            .filter(|i| i.state == InstanceState::Running)
            .map(|i| i.port)
            .collect()
    }

    /// The command line of one instance: nothing of it comes from a request.
    fn command(&self, port: u16, redis: &str, origins: &[String]) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            // The parent keeps the learner's progress; instances keep none (and
            // could not: the parent holds the file).
            .args(["--feeds-paused", "--until-stdin-closes", "--ephemeral"])
            .args(&self.settings);
        for origin in origins {
            command.args(["--allowed-origins", origin]);
        }
        // This server's own settings must not leak in (PLAYGROUND_PORT, PLAYGROUND_OPEN…).
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PLAYGROUND_") {
                command.env_remove(&key);
            }
        }
        // Through the environment, so a password in it never shows in `ps`.
        command
            .env("PLAYGROUND_REDIS_URL", redis)
            .env("RUST_LOG", "realtime_playground=warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Starts one instance and waits for the port it prints.
    async fn spawn(
        &self,
        name: InstanceName,
        port: u16,
        redis: &str,
        origins: &[String],
    ) -> Result<Slot, StartError> {
        let mut child = self
            .command(port, redis, origins)
            .spawn()
            .map_err(|source| StartError::CannotRun {
                program: self.program.display().to_string(),
                source,
            })?;
        let stdin = child.stdin.take();
        let log = LogRing::default();
        if let Some(stderr) = child.stderr.take() {
            log.follow(stderr, name.as_str());
        }
        let stdout = child.stdout.take().ok_or(StartError::NoStdout)?;
        let mut lines = BufReader::new(stdout).lines();
        let printed = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = (self.ready_port)(&line) {
                    return Some(port);
                }
            }
            None
        })
        .await;
        let Ok(Some(port)) = printed else {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            // Let the log reader catch the last lines.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let log = log.joined();
            return Err(if printed.is_err() {
                StartError::NoPort { log }
            } else {
                StartError::Exited { log }
            });
        };
        // Keep reading, so a late print never meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tracing::info!(
            instance = name.as_str(),
            port,
            "cluster lab: instance started"
        );
        Ok(Slot {
            name,
            port,
            child: Some(child),
            _stdin: stdin,
            started_at: SystemTime::now(),
            note: None,
        })
    }
}

fn not_started() -> ApiError {
    ApiError::conflict("There are no instances yet: start them with POST /api/lab/cluster.")
}

impl Slot {
    /// Notices an instance that exited by itself, then describes it.
    pub(super) fn describe(&mut self) -> Instance {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            self.child = None;
            self._stdin = None;
            self.note = Some(format!("It exited by itself ({status})."));
        }
        let pid = self.child.as_ref().and_then(Child::id);
        Instance {
            name: self.name,
            state: if self.child.is_some() {
                InstanceState::Running
            } else {
                InstanceState::Stopped
            },
            port: self.port,
            url: format!("http://127.0.0.1:{}", self.port),
            pid,
            started_at: humantime::format_rfc3339_millis(self.started_at).to_string(),
            note: if self.child.is_some() {
                None
            } else {
                self.note.clone()
            },
        }
    }
}
