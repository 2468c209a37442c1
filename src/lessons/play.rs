//! The lesson engine's own play verbs: one line of a ```` ```play ```` block
//! (`start sse`, `wait 2`, `chat ws hello`…) parsed into a
//! [`PlayAction`]. The network-faults lesson's verbs are
//! [`super::play_faults`]'s.

use super::exercises::{Choice, Factor, Scenario};
use super::play_faults::{FaultAction, VERBS as FAULT_VERBS};
use super::{ChatSide, PlayAction};

/// The live clients `start` and `stop` name.
const CLIENTS: &[&str] = &[
    "poll",
    "long-poll",
    "sse",
    "ws",
    // The HTTP/2 lesson's widget: ten streams or fifty polls over each protocol.
    "streams-h2",
    "streams-h1",
    "polls-h2",
    "polls-h1",
];

/// The feeds `feed` switches.
const FEEDS: &[&str] = &["ticker", "notifications"];

impl PlayAction {
    /// Parses one line of a `play` block.
    pub fn parse(line: &str) -> Result<PlayAction, String> {
        let line = line.trim();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        Ok(match verb {
            "say" if !rest.is_empty() => PlayAction::Say(rest.to_owned()),
            "start" => PlayAction::Start(client(rest, line)?),
            "stop" => PlayAction::Stop(client(rest, line)?),
            "publish" => PlayAction::Publish(rest.to_owned()),
            "wait" => PlayAction::Wait(wait_seconds(rest)?),
            "drop" if rest == "sse" => PlayAction::DropSse,
            "feed" => feed(rest, line)?,
            "chat" => chat(rest, line)?,
            "decide" => decide(rest, line)?,
            "answer" if !rest.is_empty() => PlayAction::Answer(rest.to_owned()),
            "press" if !rest.is_empty() => PlayAction::Press(rest.to_owned()),
            "ws" => ws_send(rest, line)?,
            verb if FAULT_VERBS.contains(&verb) => {
                PlayAction::Fault(FaultAction::parse(verb, rest, line)?)
            }
            _ => return Err(format!("unknown play action {line:?}")),
        })
    }
}

fn client(name: &str, line: &str) -> Result<String, String> {
    CLIENTS
        .contains(&name)
        .then(|| name.to_owned())
        .ok_or_else(|| format!("unknown client {name:?} in {line:?}; known: {CLIENTS:?}"))
}

/// `wait <1 to 10>`.
fn wait_seconds(rest: &str) -> Result<u64, String> {
    let s: u64 = rest
        .parse()
        .map_err(|_| format!("wait needs seconds, not {rest:?}"))?;
    if !(1..=10).contains(&s) {
        return Err(format!("wait must be 1 to 10 seconds, not {s}"));
    }
    Ok(s)
}

/// `feed <name> on|off`.
fn feed(rest: &str, line: &str) -> Result<PlayAction, String> {
    let (name, state) = rest
        .split_once(' ')
        .ok_or_else(|| format!("feed needs a name and on/off: {line:?}"))?;
    let on = match state.trim() {
        "on" => true,
        "off" => false,
        other => return Err(format!("feed state must be on or off, not {other:?}")),
    };
    if !FEEDS.contains(&name) {
        return Err(format!("unknown feed {name:?}"));
    }
    Ok(PlayAction::Feed(name.to_owned(), on))
}

/// `chat sse|ws <text>`.
fn chat(rest: &str, line: &str) -> Result<PlayAction, String> {
    let (side, text) = rest
        .split_once(' ')
        .ok_or_else(|| format!("expected `chat sse|ws <text>`: {line:?}"))?;
    let side = match side {
        "sse" => ChatSide::Sse,
        "ws" => ChatSide::Ws,
        other => return Err(format!("chat side must be sse or ws, not {other:?}")),
    };
    if text.trim().is_empty() {
        return Err(format!("chat needs a text: {line:?}"));
    }
    Ok(PlayAction::Chat(side, text.trim().to_owned()))
}

/// `decide <scenario> <polling|sse|websocket> <factor>`.
fn decide(rest: &str, line: &str) -> Result<PlayAction, String> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let [scenario, choice, factor] = words[..] else {
        return Err(format!(
            "expected `decide <scenario> <polling|sse|websocket> <factor>`: {line:?}"
        ));
    };
    let scenario = Scenario::find(scenario)
        .ok_or_else(|| format!("unknown scenario {scenario:?} in {line:?}"))?;
    let choice =
        Choice::parse(choice).ok_or_else(|| format!("unknown choice {choice:?} in {line:?}"))?;
    let factor = Factor::parse(factor)
        .filter(|f| scenario.options.contains(f))
        .ok_or_else(|| {
            format!(
                "{factor:?} is not a factor scenario {:?} offers",
                scenario.id
            )
        })?;
    Ok(PlayAction::Decide {
        scenario: scenario.id,
        choice,
        factor,
    })
}

/// `ws send <json>`.
fn ws_send(rest: &str, line: &str) -> Result<PlayAction, String> {
    let json = rest
        .strip_prefix("send ")
        .ok_or_else(|| format!("expected `ws send <json>`: {line:?}"))?;
    serde_json::from_str::<serde_json::Value>(json)
        .map_err(|e| format!("ws send needs JSON ({e}): {line:?}"))?;
    Ok(PlayAction::WsSend(json.trim().to_owned()))
}
