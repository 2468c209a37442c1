//! The answers exercises are judged by: the scenarios of "When to use each"
//! (from the seed's guidance) and the key points of the interview answer.

/// A scenario of the decision exercise.
pub struct Scenario {
    pub id: &'static str,
    pub title: &'static str,
    /// `polling`, `sse` or `websocket`.
    pub best: &'static str,
    pub why: &'static str,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "notifications",
        title: "In-app notifications (\"Ada commented on your post\")",
        best: "sse",
        why: "Updates flow one way, from server to browser, and arrive at unpredictable times. SSE pushes them \
              over one HTTP response and reconnects by itself if the network blips.",
    },
    Scenario {
        id: "dashboard",
        title: "A live operations dashboard (CPU, orders per minute)",
        best: "sse",
        why: "The browser only watches; it never needs to talk back over the same channel. SSE keeps one \
              cheap stream open and plays well with ordinary HTTP infrastructure.",
    },
    Scenario {
        id: "stocks",
        title: "Stock price updates",
        best: "sse",
        why: "A steady server-to-client stream. Ids and Last-Event-ID let a reconnecting client catch up \
              on exactly what it missed.",
    },
    Scenario {
        id: "activity",
        title: "An activity feed (\"3 new posts\")",
        best: "sse",
        why: "One-directional and append-only, a natural fit for an event stream with ids. Posting is a \
              normal HTTP request on the side.",
    },
    Scenario {
        id: "chat",
        title: "A chat application",
        best: "websocket",
        why: "Both sides talk constantly and with low latency; one full-duplex connection avoids a request \
              per message. (SSE + POST works for light chat, but this is WebSockets' home ground.)",
    },
    Scenario {
        id: "game",
        title: "A multiplayer game",
        best: "websocket",
        why: "Many small messages in both directions, many times a second: the per-request overhead of HTTP \
              would dominate, and latency matters.",
    },
    Scenario {
        id: "collab",
        title: "Collaborative editing (several people in one document)",
        best: "websocket",
        why: "Every keystroke goes up and everyone else's edits come down, continuously: a two-way \
              conversation, not a feed.",
    },
    Scenario {
        id: "nightly-report",
        title: "Checking whether a nightly report has finished",
        best: "polling",
        why: "Real time is not critical and the check is rare: a simple poll every minute is the least \
              code and works through any proxy.",
    },
];

/// One key point of a strong interview answer, and words that show it.
pub struct KeyPoint {
    pub point: &'static str,
    pub any_of: &'static [&'static str],
}

pub const MODEL_ANSWER: &str = "I pick SSE when the data flows mostly from the server to the client — \
notifications, dashboards, live prices — and I want the simplest thing that works: it is plain HTTP, so \
proxies, load balancers, auth and devtools all just work, and EventSource reconnects on its own and resumes \
with Last-Event-ID. If the client has to send a steady stream of messages back, like chat or a game, I use \
WebSockets instead.";

pub const KEY_POINTS: &[KeyPoint] = &[
    KeyPoint {
        point: "Direction: the data flows mostly from server to client",
        any_of: &[
            "server to client",
            "server-to-client",
            "one-way",
            "one way",
            "one direction",
            "unidirectional",
            "server → client",
            "server->client",
            "push",
        ],
    },
    KeyPoint {
        point: "Simplicity: it is plain HTTP, so existing infrastructure works",
        any_of: &[
            "http",
            "simple",
            "simpler",
            "proxy",
            "proxies",
            "load balancer",
        ],
    },
    KeyPoint {
        point: "Built-in reconnection (EventSource, Last-Event-ID)",
        any_of: &[
            "reconnect",
            "last-event-id",
            "last event id",
            "resume",
            "eventsource",
        ],
    },
    KeyPoint {
        point: "When not: two-way, chatty traffic calls for WebSockets",
        any_of: &[
            "websocket",
            "two-way",
            "two way",
            "bidirectional",
            "full duplex",
            "chat",
            "game",
        ],
    },
];
