//! A private `redis-server` for one test: its own free port and directory,
//! append-only file fsynced on every write, so a restart keeps everything
//! Redis acknowledged.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::PATIENCE;

/// redis-server exited at start: its port was not free.
#[derive(Debug)]
struct PortTaken;

pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// Whether this machine can run the Redis tests. Missing `redis-server` fails
/// the test with the fix, unless `PLAYGROUND_TEST_SKIP_REDIS=1` asks to skip
/// (then it says so loudly on stderr).
pub fn redis_available(test: &str) -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var("PLAYGROUND_TEST_SKIP_REDIS").as_deref() == Ok("1") {
        // Straight to stderr: the test harness would swallow `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED {test}: redis-server is not on PATH and PLAYGROUND_TEST_SKIP_REDIS=1. \
             Install it (apt-get install redis-server) to run the Redis backplane tests."
        );
        return false;
    }
    panic!(
        "{test} needs redis-server on PATH: apt-get install redis-server \
         (or set PLAYGROUND_TEST_SKIP_REDIS=1 to skip the Redis tests, loudly)"
    );
}

impl RedisServer {
    /// Starts Redis on a free port; `None` when the test is skipped (see
    /// [`redis_available`]).
    pub async fn start(test: &str) -> Option<Self> {
        if !redis_available(test) {
            return None;
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // A port the OS just handed out can be taken again before
        // redis-server binds it (another test's server on port 0): then
        // redis-server exits at once, and the next free port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let dir = std::env::temp_dir().join(format!(
                "playground-redis-{}-{}-{port}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).expect("redis dir");
            let mut redis = RedisServer {
                port,
                dir,
                child: None,
            };
            if redis.launch().await.is_ok() {
                return Some(redis);
            }
        }
        panic!("redis-server could not bind a free port in five tries");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts redis-server on `self.port` and waits for its `PONG`;
    /// `Err` when it exited instead (the port was taken).
    async fn launch(&mut self) -> Result<(), PortTaken> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let port = self.port;
        let ready = tokio::time::timeout(PATIENCE, async {
            loop {
                let answered = tokio::task::spawn_blocking(move || pings(port))
                    .await
                    .unwrap_or(false);
                // Checked after the PING too: a PONG from someone else's
                // redis-server on this port is not ours.
                if self.exited() {
                    return Err(PortTaken);
                }
                if answered {
                    return Ok(());
                }
                // Waiting for another process to open its port: nothing to await.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(ready.is_ok(), "redis-server never answered PING on {port}");
        ready.unwrap_or(Err(PortTaken))
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| c.try_wait().is_ok_and(|status| status.is_some()))
    }

    /// SIGKILL: no goodbye, no final save (the append-only file has every
    /// acknowledged write already).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port with the same data.
    pub async fn restart(&mut self) {
        self.kill();
        let port = self.port;
        assert!(
            self.launch().await.is_ok(),
            "redis-server could not bind its port {port} again"
        );
    }
}

impl RedisServer {
    /// Forgets everything, as a Redis restarted without persistence would.
    pub fn flush_all(&self) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        let _ = s.set_read_timeout(Some(PATIENCE));
        let mut answer = [0u8; 5];
        s.write_all(b"FLUSHALL\r\n").expect("FLUSHALL");
        s.read_exact(&mut answer).expect("FLUSHALL answer");
        assert_eq!(&answer, b"+OK\r\n");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pings(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
