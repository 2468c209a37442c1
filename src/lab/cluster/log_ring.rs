//! An instance's last log lines: kept so a failed start can say why (the
//! instance's own words), bounded so a chatty instance costs nothing.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Lines of an instance's log kept to explain a failed start.
const LOG_LINES: usize = 20;

/// The last [`LOG_LINES`] lines an instance wrote to its standard error.
#[derive(Clone, Default)]
pub struct LogRing {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl LogRing {
    /// Reads `stream` line by line until it closes, in a task of its own;
    /// each line goes to the debug log under `instance` and into the ring.
    pub fn follow(&self, stream: impl AsyncRead + Unpin + Send + 'static, instance: &'static str) {
        let ring = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(instance, "{line}");
                ring.push(line);
            }
        });
    }

    fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.push_back(line);
        while lines.len() > LOG_LINES {
            lines.pop_front();
        }
    }

    /// The kept lines, joined with ` / `.
    pub fn joined(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let said: Vec<&str> = lines.iter().map(String::as_str).collect();
        said.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_lines_are_kept() {
        let ring = LogRing::default();
        for n in 0..LOG_LINES + 5 {
            ring.push(format!("line {n}"));
        }
        let joined = ring.joined();
        assert!(joined.starts_with("line 5 / line 6"), "{joined}");
        assert!(joined.ends_with(&format!("line {}", LOG_LINES + 4)));
    }
}
