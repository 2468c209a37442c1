//! The answers exercises are judged by: the scenarios of "When to use each"
//! and the key points of the interview answer.
//!
//! A scenario is judged twice: the technique, and the *deciding factor*.
//! Picking a column is easy to guess; naming what tipped the choice is the
//! skill, so a decision counts as correct only when both are right. The
//! first eight scenarios are the seed article's examples; the rest are the
//! ambiguous cases of 2026 (LLM streams, uploads, corporate proxies, CDNs).

/// A technique the learner can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Polling,
    Sse,
    WebSocket,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::Polling, Choice::Sse, Choice::WebSocket];

    /// The id used on the wire: `polling`, `sse` or `websocket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Polling => "polling",
            Choice::Sse => "sse",
            Choice::WebSocket => "websocket",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Choice::Polling => "Polling",
            Choice::Sse => "SSE",
            Choice::WebSocket => "WebSockets",
        }
    }

    pub fn parse(id: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.as_str() == id)
    }
}

/// What can decide between the techniques.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The data flows from the server to the user.
    Direction,
    /// The client sends as much as it receives, and fast.
    ClientTalks,
    /// Seconds or minutes of delay harm no one.
    Freshness,
    /// Proxies, CDNs and caches on the path.
    InBetween,
    /// One request whose answer is streamed back as it is produced.
    OneAnswer,
    /// The browser already knows what it would be told.
    ClientKnows,
}

impl Factor {
    pub const ALL: [Factor; 6] = [
        Factor::Direction,
        Factor::ClientTalks,
        Factor::Freshness,
        Factor::InBetween,
        Factor::OneAnswer,
        Factor::ClientKnows,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Direction => "direction",
            Factor::ClientTalks => "client-talks",
            Factor::Freshness => "freshness",
            Factor::InBetween => "in-between",
            Factor::OneAnswer => "one-answer",
            Factor::ClientKnows => "client-knows",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Factor::Direction => "Who talks: the data flows from the server to the user",
            Factor::ClientTalks => "The client sends as often as it receives, and it must be fast",
            Factor::Freshness => "How fresh: seconds or minutes of delay harm no one",
            Factor::InBetween => "What sits in between: proxies, CDNs and caches on the path",
            Factor::OneAnswer => "One request, one answer streamed back while it is produced",
            Factor::ClientKnows => "The browser already knows; the server has little to add",
        }
    }

    pub fn parse(id: &str) -> Option<Factor> {
        Factor::ALL.into_iter().find(|f| f.as_str() == id)
    }
}

/// Where a scenario comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The seed article's own examples.
    Article,
    /// Ambiguous, realistic cases where the factor matters more than the column.
    Harder,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Article => "article",
            Group::Harder => "harder",
        }
    }
}

/// A scenario of the decision exercise.
pub struct Scenario {
    pub id: &'static str,
    pub title: &'static str,
    pub group: Group,
    pub best: Choice,
    /// What decides it.
    pub factor: Factor,
    /// The factors offered, the deciding one among them.
    pub options: [Factor; 3],
    pub why: &'static str,
}

/// A judged decision.
pub struct Verdict {
    pub choice_right: bool,
    pub factor_right: bool,
    pub feedback: String,
}

impl Verdict {
    /// Both the technique and the deciding factor.
    pub fn correct(&self) -> bool {
        self.choice_right && self.factor_right
    }
}

impl Scenario {
    pub fn find(id: &str) -> Option<&'static Scenario> {
        SCENARIOS.iter().find(|s| s.id == id)
    }

    pub fn judge(&self, choice: Choice, factor: Factor) -> Verdict {
        let choice_right = choice == self.best;
        let factor_right = factor == self.factor;
        let head = match (choice_right, factor_right) {
            (true, true) => "Yes, and for the right reason.".to_owned(),
            (true, false) => format!(
                "Right technique, but the deciding factor is another: \u{201c}{}\u{201d}.",
                self.factor.label()
            ),
            (false, true) => format!("Right factor, but it points to {}.", self.best.label()),
            (false, false) => format!(
                "Not the best fit: {}, because \u{201c}{}\u{201d}.",
                self.best.label(),
                self.factor.label()
            ),
        };
        Verdict {
            choice_right,
            factor_right,
            feedback: format!("{head} {}", self.why),
        }
    }
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        id: "notifications",
        title: "In-app notifications (\"Ada commented on your post\")",
        group: Group::Article,
        best: Choice::Sse,
        factor: Factor::Direction,
        options: [Factor::Direction, Factor::ClientTalks, Factor::Freshness],
        why: "Updates flow one way, from server to browser, at unpredictable times. SSE pushes them over \
              one HTTP response and resumes from the last id after a network blip. Marking one as read \
              is an ordinary request.",
    },
    Scenario {
        id: "dashboard",
        title: "A live operations dashboard (CPU, orders per minute)",
        group: Group::Article,
        best: Choice::Sse,
        factor: Factor::Direction,
        options: [Factor::Freshness, Factor::Direction, Factor::ClientTalks],
        why: "The screen only displays what the server computes; it never talks back over the same \
              channel. One stream per viewer replaces constant polling. If a minute of staleness were \
              fine, polling would do too.",
    },
    Scenario {
        id: "stocks",
        title: "Stock price updates on a watchlist",
        group: Group::Article,
        best: Choice::Sse,
        factor: Factor::Direction,
        options: [Factor::ClientTalks, Factor::Freshness, Factor::Direction],
        why: "Prices stream one way to many viewers; SSE delivers each tick in milliseconds, as fast as a \
              socket does for this direction. Placing an order is a separate, ordinary request.",
    },
    Scenario {
        id: "activity",
        title: "An activity feed (\"3 new posts\")",
        group: Group::Article,
        best: Choice::Sse,
        factor: Factor::Direction,
        options: [Factor::Direction, Factor::InBetween, Factor::ClientTalks],
        why: "Append-only and one-directional: a natural event stream. Ids map onto Last-Event-ID, so a \
              reconnecting page gets exactly the entries it missed.",
    },
    Scenario {
        id: "chat",
        title: "A chat application with typing indicators and presence",
        group: Group::Article,
        best: Choice::WebSocket,
        factor: Factor::ClientTalks,
        options: [Factor::Direction, Factor::ClientTalks, Factor::InBetween],
        why: "Every participant sends as well as receives, constantly: messages, typing, presence. One \
              full-duplex connection carries both directions in small frames instead of a request per \
              message. (SSE + POST works for a light chat, as lesson 8 shows.)",
    },
    Scenario {
        id: "game",
        title: "A multiplayer game",
        group: Group::Article,
        best: Choice::WebSocket,
        factor: Factor::ClientTalks,
        options: [Factor::Freshness, Factor::ClientTalks, Factor::Direction],
        why: "Input goes up many times a second while world state comes down: HTTP's per-request cost \
              would dominate, and the upward latency matters as much as the downward.",
    },
    Scenario {
        id: "collab",
        title: "Collaborative editing: several people typing in one document, cursors visible",
        group: Group::Article,
        best: Choice::WebSocket,
        factor: Factor::ClientTalks,
        options: [Factor::Direction, Factor::ClientTalks, Factor::Freshness],
        why: "Every keystroke becomes an operation sent up and relayed to the other editors within \
              milliseconds: a continuous conversation in both directions, not a feed.",
    },
    Scenario {
        id: "nightly-report",
        title: "Checking whether a nightly report has finished",
        group: Group::Article,
        best: Choice::Polling,
        factor: Factor::Freshness,
        options: [Factor::Direction, Factor::Freshness, Factor::InBetween],
        why: "The check is rare and a minute of delay harms no one: a poll every minute is the least code \
              and passes through any proxy. The direction alone would say SSE; freshness says it is not \
              worth a stream.",
    },
    Scenario {
        id: "llm-tokens",
        title: "Streaming an AI assistant's answer token by token (the prompt goes up in a POST)",
        group: Group::Harder,
        best: Choice::Sse,
        factor: Factor::OneAnswer,
        options: [Factor::ClientTalks, Factor::OneAnswer, Factor::Freshness],
        why: "The user speaks once per answer: one POST with the prompt (and an Authorization header), one \
              response streamed back while the model writes it. That is SSE's wire format read with \
              fetch() and a stream reader (EventSource can neither POST nor set headers), and it is how \
              the big LLM APIs stream. A socket adds nothing until audio flows both ways at once.",
    },
    Scenario {
        id: "upload-progress",
        title: "A progress bar while a 2 GB video uploads, then \"processing…\" until it is ready",
        group: Group::Harder,
        best: Choice::Polling,
        factor: Factor::ClientKnows,
        options: [Factor::Direction, Factor::ClientKnows, Factor::ClientTalks],
        why: "The uploading browser counts its own bytes (XMLHttpRequest's upload progress event), so the \
              bar needs no channel from the server at all. Only \"processing… ready\" is the server's \
              news, and a poll every few seconds covers it (an SSE stream also works if the page has \
              one). A WebSocket to report bytes the client already knows is the common mistake in miniature.",
    },
    Scenario {
        id: "corporate-proxy",
        title: "An internal tool whose users sit behind a corporate proxy that inspects TLS, buffers responses and refuses WebSocket upgrades",
        group: Group::Harder,
        best: Choice::Polling,
        factor: Factor::InBetween,
        options: [Factor::InBetween, Factor::Direction, Factor::Freshness],
        why: "The path decides. A proxy that buffers responses holds an SSE stream back until it ends; one \
              that refuses Upgrade never lets a WebSocket open. Plain requests pass everywhere, so poll or \
              long-poll (what Socket.IO falls back to). Through an ordinary HTTPS tunnel SSE would be fine: \
              it is the inspecting proxy that changes the answer.",
    },
    Scenario {
        id: "cdn-status",
        title: "A public status page behind a CDN, watched by 100,000 people, updated every 30 s",
        group: Group::Harder,
        best: Choice::Polling,
        factor: Factor::InBetween,
        options: [Factor::Direction, Factor::InBetween, Factor::ClientKnows],
        why: "Everyone sees the same answer, so the CDN can serve identical polls from its cache: 100,000 \
              viewers cost the origin about one request per cache period. 100,000 SSE streams would each \
              pass through the CDN to the origin, since most CDNs do not fan one stream out to many \
              viewers. The direction says SSE; the cache in between says poll.",
    },
];

/// One key point of a strong interview answer, and words that show it.
pub struct KeyPoint {
    pub point: &'static str,
    pub any_of: &'static [&'static str],
}

pub const MODEL_ANSWER: &str = "I pick SSE when the data flows mostly from the server to the client — \
notifications, dashboards, live prices — and I want the simplest thing that works: it is plain HTTP, so \
proxies, load balancers, cookie sessions and devtools just work, and EventSource reconnects on its own \
after a network drop and resumes with Last-Event-ID (though not after an error status such as a 502, \
which I handle in a few lines). If the client has to send a steady stream of messages back, like chat or \
a game, I use WebSockets instead.";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_offers_its_deciding_factor_once() {
        for s in SCENARIOS {
            assert_eq!(
                s.options.iter().filter(|f| **f == s.factor).count(),
                1,
                "{}",
                s.id
            );
            assert!(
                s.options[0] != s.options[1]
                    && s.options[1] != s.options[2]
                    && s.options[0] != s.options[2],
                "{}: offered twice",
                s.id
            );
        }
        let ids: std::collections::HashSet<_> = SCENARIOS.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), SCENARIOS.len(), "ids are unique");
    }

    #[test]
    fn a_decision_is_correct_only_with_the_right_factor() {
        let llm = Scenario::find("llm-tokens").expect("scenario");
        assert!(llm.judge(Choice::Sse, Factor::OneAnswer).correct());
        let v = llm.judge(Choice::Sse, Factor::ClientTalks);
        assert!(v.choice_right && !v.factor_right && !v.correct());
        assert!(v.feedback.starts_with("Right technique"), "{}", v.feedback);
        let v = llm.judge(Choice::WebSocket, Factor::OneAnswer);
        assert!(v.feedback.starts_with("Right factor, but it points to SSE"));
        assert_eq!(Choice::parse("websocket"), Some(Choice::WebSocket));
        assert_eq!(Factor::parse("in-between"), Some(Factor::InBetween));
        assert_eq!(Factor::parse("vibes"), None);
    }
}
