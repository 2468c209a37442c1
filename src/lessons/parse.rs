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

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::checks::Check;
use super::render::{self, slugify};
use super::{Lesson, PlayAction, Predict, Step};

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
    "http2",
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
    let (meta, start) = front_matter(file, source)?;
    let body = Body {
        file,
        source,
        start,
        text: &source[start..],
    };
    let (headings, blocks) = body.scan()?;
    let Some(first) = headings.first() else {
        return Err(body.err(0, "a lesson needs at least one `## ` step"));
    };
    let intro = &body.text[..first.range.start];
    let mut steps: Vec<Step> = Vec::new();
    for (i, heading) in headings.iter().enumerate() {
        let end = headings
            .get(i + 1)
            .map_or(body.text.len(), |h| h.range.start);
        let step = body.step(heading, end, &blocks)?;
        if steps.iter().any(|s| s.id == step.id) {
            return Err(body.err(
                heading.range.start,
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

/// The front matter, checked, and where the body starts.
fn front_matter(file: &str, source: &str) -> Result<(FrontMatter, usize), String> {
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
    Ok((meta, 4 + end + 5))
}

/// A `## ` heading: where it stands in the body, and its text.
struct Heading {
    range: Range<usize>,
    title: String,
}

/// A special block, parsed, and where it stands in the body.
type Block = (Range<usize>, Special);

/// The markdown after the front matter. Offsets are into `text`; errors
/// name the line of the whole file.
struct Body<'a> {
    file: &'a str,
    source: &'a str,
    start: usize,
    text: &'a str,
}

impl Body<'_> {
    fn err(&self, offset: usize, msg: impl Into<String>) -> String {
        let line = line_of(self.source, self.start + offset);
        format!("{}:{line}: {}", self.file, msg.into())
    }

    /// Where each step's heading is, and every special block.
    fn scan(&self) -> Result<(Vec<Heading>, Vec<Block>), String> {
        let mut headings = Vec::new();
        let mut blocks = Vec::new();
        let mut open_heading: Option<Heading> = None;
        // The block's range, its info string and its text so far.
        let mut open_block: Option<(Range<usize>, String, String)> = None;
        for (event, range) in Parser::new_ext(self.text, render::options()).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H1,
                    ..
                }) => {
                    return Err(self.err(
                        range.start,
                        "use `## ` for steps and `### ` inside them, not `# `",
                    ));
                }
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H2,
                    ..
                }) => {
                    let title = String::new();
                    open_heading = Some(Heading { range, title });
                }
                Event::Text(t) | Event::Code(t) if open_heading.is_some() => {
                    if let Some(heading) = open_heading.as_mut() {
                        heading.title.push_str(&t);
                    }
                }
                Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                    headings.extend(open_heading.take());
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if is_special(&info) => {
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
                    let special =
                        Special::parse(&info, &text).map_err(|e| self.err(range.start, e))?;
                    blocks.push((range, special));
                }
                _ => {}
            }
        }
        Ok((headings, blocks))
    }

    /// The step under `heading`, which runs to `end`, with the special
    /// blocks inside it put in their places.
    fn step(&self, heading: &Heading, end: usize, blocks: &[Block]) -> Result<Step, String> {
        let mut step = Step {
            id: slugify(&heading.title),
            title: heading.title.trim().to_owned(),
            html: String::new(),
            widget: None,
            checks: Vec::new(),
            play: Vec::new(),
            hints: Vec::new(),
            predict: None,
        };
        let mut text = String::new();
        let mut cursor = heading.range.end;
        for (block, special) in blocks
            .iter()
            .filter(|(r, _)| r.start >= heading.range.end && r.end <= end)
        {
            text.push_str(&self.text[cursor..block.start]);
            cursor = block.end;
            place(&mut step, special, &mut text).map_err(|e| self.err(block.start, e))?;
        }
        let needs_checks = !step.hints.is_empty() || step.predict.is_some();
        if needs_checks && step.checks.is_empty() {
            return Err(self.err(
                heading.range.start,
                format!(
                    "step {:?} has hints or a prediction but no check",
                    step.title
                ),
            ));
        }
        text.push_str(&self.text[cursor..end]);
        step.html = render::to_html(&text);
        Ok(step)
    }
}

/// Whether a fenced block's info string makes it a special block.
fn is_special(info: &str) -> bool {
    info.starts_with("try ") || ["check", "play", "hint", "predict"].contains(&info)
}

impl Special {
    /// Parses a special block's text.
    fn parse(info: &str, text: &str) -> Result<Special, String> {
        if let Some(widget) = info.strip_prefix("try ") {
            let widget = widget.trim();
            if !WIDGETS.contains(&widget) {
                return Err(format!("unknown widget {widget:?}; known: {WIDGETS:?}"));
            }
            return Ok(Special::Widget(widget.to_owned()));
        }
        Ok(match info {
            "check" => Special::Checks(parse_checks(text)?),
            "hint" if text.trim().is_empty() => return Err("an empty hint".into()),
            "hint" => Special::Hint(text.to_owned()),
            "predict" => Special::Predict(parse_predict(text)?),
            _ => Special::Play(
                lines(text)
                    .map(PlayAction::parse)
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        })
    }
}

/// The lines of a block that are not blank.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim().is_empty())
}

fn parse_checks(text: &str) -> Result<Vec<Check>, String> {
    let checks = lines(text)
        .map(Check::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if !checks.is_empty() && checks.iter().all(Check::holds_at_zero) {
        return Err("every check here holds before the learner acts; add one that needs an action (e.g. `polls >= 1`)".into());
    }
    Ok(checks)
}

/// Puts one special block into its step: the widget's placeholder into
/// the step's markdown `text`, the rest into the step's fields.
fn place(step: &mut Step, special: &Special, text: &mut String) -> Result<(), String> {
    match special {
        Special::Widget(w) => {
            if step.widget.replace(w.clone()).is_some() {
                return Err("at most one widget per step".into());
            }
            text.push_str(&format!(
                "\n<div class=\"widget\" data-widget=\"{w}\"></div>\n\n"
            ));
        }
        Special::Checks(c) => {
            if !step.checks.is_empty() {
                return Err("at most one check block per step".into());
            }
            step.checks = c.clone();
        }
        Special::Play(p) => {
            if !step.play.is_empty() {
                return Err("at most one play block per step".into());
            }
            step.play = p.clone();
        }
        Special::Hint(h) => {
            if step.hints.len() == MAX_HINTS {
                return Err(format!("at most {MAX_HINTS} hints per step"));
            }
            step.hints.push(render::to_html(h));
        }
        Special::Predict(p) => {
            if step.predict.replace(p.clone()).is_some() {
                return Err("at most one predict block per step".into());
            }
        }
    }
    Ok(())
}
