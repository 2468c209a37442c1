//! Play verbs of the network-faults lesson: flip a fault switch, start a
//! deploy or a half-open, turn the watchdog on, run a storm, measure the
//! upward path, send something bad. Each is a [`FaultAction`] inside
//! [`super::PlayAction::Fault`], parsed here so the lesson engine's own
//! verbs stay untouched.

/// How the SSE stream's compression layer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GzipMode {
    Off,
    Buffered,
    Flushed,
}

impl GzipMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GzipMode::Off => "off",
            GzipMode::Buffered => "buffered",
            GzipMode::Flushed => "flushed",
        }
    }
}

/// Which clients a storm starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormTransport {
    Sse,
    Websocket,
}

/// How a storm's clients wait before reconnecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormStrategy {
    Fixed,
    BackoffJitter,
}

/// Something deliberately wrong, to find in the traffic log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadRequest {
    /// A WebSocket message the server answers with an error message.
    WsMessage,
    /// A POST the server answers with a 4xx.
    Post,
}

/// One fault play action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    CorporateProxy(bool),
    Gzip(GzipMode),
    /// Seconds of 502s (1–30).
    Deploy(u64),
    HalfOpen,
    Watchdog(bool),
    Storm {
        transport: StormTransport,
        strategy: StormStrategy,
        /// 10–200 clients.
        clients: u64,
    },
    /// Send this many messages up each way (1–20).
    Latency(u64),
    Bad(BadRequest),
}

/// The verbs this module parses.
pub const VERBS: &[&str] = &[
    "fault",
    "deploy",
    "half-open",
    "watchdog",
    "storm",
    "latency",
    "bad",
];

fn on_off(word: &str, line: &str) -> Result<bool, String> {
    match word {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("expected on or off: {line:?}")),
    }
}

fn number_in(word: &str, range: std::ops::RangeInclusive<u64>, line: &str) -> Result<u64, String> {
    word.parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "expected a number from {} to {}: {line:?}",
                range.start(),
                range.end()
            )
        })
}

impl FaultAction {
    /// Parses `verb rest` (the whole line is `line`, for messages).
    pub fn parse(verb: &str, rest: &str, line: &str) -> Result<FaultAction, String> {
        let words: Vec<&str> = rest.split_whitespace().collect();
        Ok(match (verb, words.as_slice()) {
            ("fault", ["proxy", state]) => FaultAction::CorporateProxy(on_off(state, line)?),
            ("fault", ["gzip", mode]) => FaultAction::Gzip(match *mode {
                "off" => GzipMode::Off,
                "buffered" => GzipMode::Buffered,
                "flushed" => GzipMode::Flushed,
                _ => return Err(format!("gzip is off, buffered or flushed: {line:?}")),
            }),
            ("deploy", [seconds]) => FaultAction::Deploy(number_in(seconds, 1..=30, line)?),
            ("half-open", []) => FaultAction::HalfOpen,
            ("watchdog", [state]) => FaultAction::Watchdog(on_off(state, line)?),
            ("storm", [transport, strategy, clients]) => FaultAction::Storm {
                transport: match *transport {
                    "sse" => StormTransport::Sse,
                    "websocket" => StormTransport::Websocket,
                    _ => return Err(format!("a storm is of sse or websocket clients: {line:?}")),
                },
                strategy: match *strategy {
                    "fixed" => StormStrategy::Fixed,
                    "jitter" => StormStrategy::BackoffJitter,
                    _ => return Err(format!("a storm's strategy is fixed or jitter: {line:?}")),
                },
                clients: number_in(clients, 10..=200, line)?,
            },
            ("latency", [n]) => FaultAction::Latency(number_in(n, 1..=20, line)?),
            ("bad", ["ws"]) => FaultAction::Bad(BadRequest::WsMessage),
            ("bad", ["post"]) => FaultAction::Bad(BadRequest::Post),
            _ => return Err(format!("unknown play action {line:?}")),
        })
    }

    /// As the API sends it: `(action, target, text, value)`.
    pub fn wire(
        &self,
    ) -> (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<u64>,
    ) {
        match self {
            FaultAction::CorporateProxy(on) => {
                ("fault", Some("corporate_proxy"), None, Some(u64::from(*on)))
            }
            FaultAction::Gzip(mode) => ("fault", Some("gzip"), Some(mode.as_str()), None),
            FaultAction::Deploy(s) => ("deploy", None, None, Some(*s)),
            FaultAction::HalfOpen => ("half_open", None, None, None),
            FaultAction::Watchdog(on) => ("watchdog", None, None, Some(u64::from(*on))),
            FaultAction::Storm {
                transport,
                strategy,
                clients,
            } => (
                "storm",
                Some(match transport {
                    StormTransport::Sse => "sse",
                    StormTransport::Websocket => "websocket",
                }),
                Some(match strategy {
                    StormStrategy::Fixed => "fixed",
                    StormStrategy::BackoffJitter => "backoff_jitter",
                }),
                Some(*clients),
            ),
            FaultAction::Latency(n) => ("latency", None, None, Some(*n)),
            FaultAction::Bad(BadRequest::WsMessage) => ("bad", Some("ws"), None, None),
            FaultAction::Bad(BadRequest::Post) => ("bad", Some("post"), None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<FaultAction, String> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        FaultAction::parse(verb, rest, line)
    }

    #[test]
    fn parses_every_verb() {
        assert_eq!(
            parse("fault proxy on"),
            Ok(FaultAction::CorporateProxy(true))
        );
        assert_eq!(
            parse("fault gzip flushed"),
            Ok(FaultAction::Gzip(GzipMode::Flushed))
        );
        assert_eq!(parse("deploy 4"), Ok(FaultAction::Deploy(4)));
        assert_eq!(parse("half-open"), Ok(FaultAction::HalfOpen));
        assert_eq!(parse("watchdog off"), Ok(FaultAction::Watchdog(false)));
        assert_eq!(
            parse("storm sse jitter 200"),
            Ok(FaultAction::Storm {
                transport: StormTransport::Sse,
                strategy: StormStrategy::BackoffJitter,
                clients: 200
            })
        );
        assert_eq!(parse("latency 10"), Ok(FaultAction::Latency(10)));
        assert_eq!(parse("bad post"), Ok(FaultAction::Bad(BadRequest::Post)));
        assert_eq!(
            parse("storm websocket fixed 50").map(|a| a.wire()),
            Ok(("storm", Some("websocket"), Some("fixed"), Some(50)))
        );
    }

    #[test]
    fn rejects_what_it_cannot_do() {
        for line in [
            "fault proxy maybe",
            "fault gzip fast",
            "deploy 0",
            "deploy 31",
            "half-open now",
            "storm sse fixed 5000",
            "storm udp fixed 20",
            "latency 100",
            "bad smell",
        ] {
            assert!(parse(line).is_err(), "{line} parsed");
        }
    }
}
