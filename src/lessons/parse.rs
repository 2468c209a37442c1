//! Reading a lesson file: YAML front matter, then markdown in which every
//! `## ` heading starts a step. Inside a step, three kinds of fenced block
//! are instructions rather than text:
//!
//! - ```` ```try sse ```` — a live widget goes here;
//! - ```` ```check ```` — conditions on the learner's traffic, one per line;
//! - ```` ```play ```` — what play mode does ("show me"), one action per line;
//! - ```` ```hint ```` — one hint (markdown), up to three per step, in order;
//! - ```` ```predict ```` — YAML `question`, `measure` (a check name), `unit`,
//!   `explain`: the learner predicts a number before measuring it.
//!
//! Anything malformed (an unknown widget, check or action) is an error that
//! names the file and the line, so a broken lesson fails the tests.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::checks::Check;
use super::exercises::{Choice, Factor, Scenario};
use super::render::{self, slugify};
use super::{ChatSide, Lesson, PlayAction, Predict, Step};

pub const WIDGETS: &[&str] = &[
    "poll",
    "long-poll",
    "sse",
    "ws",
    "publish",
    "feeds",
    "compare",
    "decide",
    "interview",
    "chat",
    "load",
    "cluster",
    "sequence",
    "faults",
    "grader",
    // "Write the code yourself": the editor, a starting file and a scenario
    // (frontend/js/widgets/exercise-*.js).
    "exercise-poll-since",
    "exercise-sse-watchdog",
    "exercise-ws-reconnect",
    "exercise-long-poll-backoff",
    "exercise-chat",
];
pub const TRANSPORTS: &[&str] = &[
    "overview",
    "poll",
    "long_poll",
    "sse",
    "websocket",
    "compare",
];
const CLIENTS: &[&str] = &["poll", "long-poll", "sse", "ws"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub slug: String,
    pub title: String,
    pub order: u32,
    pub transport: String,
    pub summary: String,
    pub minutes: u32,
}

/// Most hints a step may have.
pub const MAX_HINTS: usize = 3;

enum Special {
    Widget(String),
    Checks(Vec<Check>),
    Play(Vec<PlayAction>),
    Hint(String),
    Predict(Predict),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictBlock {
    question: String,
    measure: String,
    unit: String,
    explain: String,
}

fn parse_predict(text: &str) -> Result<Predict, String> {
    let block: PredictBlock =
        serde_yaml::from_str(text).map_err(|e| format!("predict block: {e}"))?;
    let measure = super::checks::known(&block.measure)
        .ok_or_else(|| format!("predict: unknown measure {:?}", block.measure))?;
    Ok(Predict {
        question: block.question.trim().to_owned(),
        measure,
        unit: block.unit.trim().to_owned(),
        explain: block.explain.trim().to_owned(),
    })
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// Parses one lesson file.
pub fn parse(file: &str, source: &str) -> Result<Lesson, String> {
    let err = |line: usize, msg: String| format!("{file}:{line}: {msg}");
    let rest = source.strip_prefix("---\n").ok_or_else(|| {
        err(
            1,
            "a lesson starts with YAML front matter between --- lines".into(),
        )
    })?;
    let end = rest
        .find("\n---\n")
        .ok_or_else(|| err(1, "the front matter is not closed with ---".into()))?;
    let meta: FrontMatter =
        serde_yaml::from_str(&rest[..end]).map_err(|e| err(2, format!("front matter: {e}")))?;
    if !TRANSPORTS.contains(&meta.transport.as_str()) {
        return Err(err(
            2,
            format!(
                "transport {:?} is not one of {TRANSPORTS:?}",
                meta.transport
            ),
        ));
    }
    let body_start = 4 + end + 5;
    let body = &source[body_start..];
    let at = |offset: usize| line_of(source, body_start + offset);

    // Where each step's heading is, and every special block.
    let mut headings: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut specials: Vec<(std::ops::Range<usize>, Special)> = Vec::new();
    let mut open_heading: Option<(std::ops::Range<usize>, String)> = None;
    let mut open_block: Option<(std::ops::Range<usize>, String, String)> = None;
    for (event, range) in Parser::new_ext(body, render::options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H1,
                ..
            }) => {
                return Err(err(
                    at(range.start),
                    "use `## ` for steps and `### ` inside them, not `# `".into(),
                ));
            }
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => {
                open_heading = Some((range, String::new()));
            }
            Event::Text(t) | Event::Code(t) if open_heading.is_some() => {
                if let Some((_, title)) = open_heading.as_mut() {
                    title.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some(h) = open_heading.take() {
                    headings.push(h);
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.starts_with("try ")
                    || ["check", "play", "hint", "predict"].contains(&&*info) =>
            {
                open_block = Some((range, info.to_string(), String::new()));
            }
            Event::Text(t) if open_block.is_some() => {
                if let Some((_, _, text)) = open_block.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((range, info, text)) = open_block.take() else {
                    continue;
                };
                let line = at(range.start);
                let special = if let Some(widget) = info.strip_prefix("try ") {
                    let widget = widget.trim();
                    if !WIDGETS.contains(&widget) {
                        return Err(err(
                            line,
                            format!("unknown widget {widget:?}; known: {WIDGETS:?}"),
                        ));
                    }
                    Special::Widget(widget.to_owned())
                } else if info == "check" {
                    let checks = text
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(Check::parse)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| err(line, e))?;
                    if !checks.is_empty() && checks.iter().all(Check::holds_at_zero) {
                        return Err(err(
                            line,
                            "every check here holds before the learner acts; add one that needs an action (e.g. `polls >= 1`)".into(),
                        ));
                    }
                    Special::Checks(checks)
                } else if info == "hint" {
                    if text.trim().is_empty() {
                        return Err(err(line, "an empty hint".into()));
                    }
                    Special::Hint(text)
                } else if info == "predict" {
                    Special::Predict(parse_predict(&text).map_err(|e| err(line, e))?)
                } else {
                    let actions = text
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(PlayAction::parse)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| err(line, e))?;
                    Special::Play(actions)
                };
                specials.push((range, special));
            }
            _ => {}
        }
    }
    if headings.is_empty() {
        return Err(err(at(0), "a lesson needs at least one `## ` step".into()));
    }

    let intro = &body[..headings[0].0.start];
    let mut steps = Vec::new();
    for (i, (range, title)) in headings.iter().enumerate() {
        let end = headings.get(i + 1).map_or(body.len(), |(r, _)| r.start);
        let mut text = String::new();
        let mut cursor = range.end;
        let mut step = Step {
            id: slugify(title),
            title: title.trim().to_owned(),
            html: String::new(),
            widget: None,
            checks: Vec::new(),
            play: Vec::new(),
            hints: Vec::new(),
            predict: None,
        };
        for (block, special) in specials
            .iter()
            .filter(|(r, _)| r.start >= range.end && r.end <= end)
        {
            text.push_str(&body[cursor..block.start]);
            cursor = block.end;
            let line = at(block.start);
            match special {
                Special::Widget(w) => {
                    if step.widget.replace(w.clone()).is_some() {
                        return Err(err(line, "at most one widget per step".into()));
                    }
                    text.push_str(&format!(
                        "\n<div class=\"widget\" data-widget=\"{w}\"></div>\n\n"
                    ));
                }
                Special::Checks(c) => {
                    if !step.checks.is_empty() {
                        return Err(err(line, "at most one check block per step".into()));
                    }
                    step.checks = c.clone();
                }
                Special::Play(p) => {
                    if !step.play.is_empty() {
                        return Err(err(line, "at most one play block per step".into()));
                    }
                    step.play = p.clone();
                }
                Special::Hint(h) => {
                    if step.hints.len() == MAX_HINTS {
                        return Err(err(line, format!("at most {MAX_HINTS} hints per step")));
                    }
                    step.hints.push(render::to_html(h));
                }
                Special::Predict(p) => {
                    if step.predict.replace(p.clone()).is_some() {
                        return Err(err(line, "at most one predict block per step".into()));
                    }
                }
            }
        }
        let needs_checks = !step.hints.is_empty() || step.predict.is_some();
        if needs_checks && step.checks.is_empty() {
            return Err(err(
                at(range.start),
                format!(
                    "step {:?} has hints or a prediction but no check",
                    step.title
                ),
            ));
        }
        text.push_str(&body[cursor..end]);
        step.html = render::to_html(&text);
        if steps.iter().any(|s: &Step| s.id == step.id) {
            return Err(err(
                at(range.start),
                format!("two steps are called {:?}", step.title),
            ));
        }
        steps.push(step);
    }
    Ok(Lesson {
        meta,
        intro_html: render::to_html(intro),
        steps,
    })
}

impl PlayAction {
    /// Parses one line of a `play` block.
    pub fn parse(line: &str) -> Result<PlayAction, String> {
        let line = line.trim();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let client = |name: &str| -> Result<String, String> {
            CLIENTS
                .contains(&name)
                .then(|| name.to_owned())
                .ok_or_else(|| format!("unknown client {name:?} in {line:?}; known: {CLIENTS:?}"))
        };
        Ok(match verb {
            "say" if !rest.is_empty() => PlayAction::Say(rest.to_owned()),
            "start" => PlayAction::Start(client(rest)?),
            "stop" => PlayAction::Stop(client(rest)?),
            "publish" => PlayAction::Publish(rest.to_owned()),
            "wait" => {
                let s: u64 = rest
                    .parse()
                    .map_err(|_| format!("wait needs seconds, not {rest:?}"))?;
                if !(1..=10).contains(&s) {
                    return Err(format!("wait must be 1 to 10 seconds, not {s}"));
                }
                PlayAction::Wait(s)
            }
            "drop" if rest == "sse" => PlayAction::DropSse,
            "feed" => {
                let (name, state) = rest
                    .split_once(' ')
                    .ok_or_else(|| format!("feed needs a name and on/off: {line:?}"))?;
                let on = match state.trim() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("feed state must be on or off, not {other:?}")),
                };
                if !["ticker", "notifications"].contains(&name) {
                    return Err(format!("unknown feed {name:?}"));
                }
                PlayAction::Feed(name.to_owned(), on)
            }
            "chat" => {
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
                PlayAction::Chat(side, text.trim().to_owned())
            }
            "decide" => {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let [scenario, choice, factor] = words[..] else {
                    return Err(format!(
                        "expected `decide <scenario> <polling|sse|websocket> <factor>`: {line:?}"
                    ));
                };
                let scenario = Scenario::find(scenario)
                    .ok_or_else(|| format!("unknown scenario {scenario:?} in {line:?}"))?;
                let choice = Choice::parse(choice)
                    .ok_or_else(|| format!("unknown choice {choice:?} in {line:?}"))?;
                let factor = Factor::parse(factor)
                    .filter(|f| scenario.options.contains(f))
                    .ok_or_else(|| {
                        format!(
                            "{factor:?} is not a factor scenario {:?} offers",
                            scenario.id
                        )
                    })?;
                PlayAction::Decide {
                    scenario: scenario.id,
                    choice,
                    factor,
                }
            }
            "answer" if !rest.is_empty() => PlayAction::Answer(rest.to_owned()),
            "press" if !rest.is_empty() => PlayAction::Press(rest.to_owned()),
            "ws" => {
                let json = rest
                    .strip_prefix("send ")
                    .ok_or_else(|| format!("expected `ws send <json>`: {line:?}"))?;
                serde_json::from_str::<serde_json::Value>(json)
                    .map_err(|e| format!("ws send needs JSON ({e}): {line:?}"))?;
                PlayAction::WsSend(json.trim().to_owned())
            }
            verb if super::play_faults::VERBS.contains(&verb) => {
                PlayAction::Fault(super::play_faults::FaultAction::parse(verb, rest, line)?)
            }
            _ => return Err(format!("unknown play action {line:?}")),
        })
    }
}
