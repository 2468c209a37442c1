//! Lessons: markdown files in `lessons/` (data, not code), rendered next to
//! live clients, with steps that tick themselves off when the learner's own
//! traffic shows they did them.
//!
//! - [`parse`] reads a file: front matter, steps, widgets, checks, play scripts.
//! - [`play`] and [`play_faults`] parse a play script's lines ("show me").
//! - [`render`] turns markdown into sanitized, highlighted HTML.
//! - [`highlight_css`] is the code colours for both page themes, each AA-readable.
//! - [`checks`] parses conditions like `polls >= 5` and counts traffic for them:
//!   [`transport_checks`], [`delivery_checks`], [`fault_checks`] and
//!   [`grader_checks`] each count their own names.
//! - [`progress`] remembers, per learner and step, the step's window, what is
//!   done or watched, hints taken and predictions.
//! - [`judge`] evaluates a lesson's checks for a learner: step by step, only
//!   the learner's own traffic in the step's window.
//! - [`other_instances`] adds what other instances of this server (the
//!   scaling lesson's cluster) counted of the learner's traffic.
//! - [`exercises`] holds the answers the decision and interview exercises are judged by.
//! - [`api`] is `/api/lessons…`.

pub mod api;
pub mod checks;
pub mod delivery_checks;
pub mod exercises;
pub mod fault_checks;
pub mod grader_checks;
pub mod highlight_css;
pub mod judge;
pub mod other_instances;
pub mod parse;
pub mod play;
pub mod play_faults;
pub mod progress;
pub mod protocol_checks;
pub mod render;
pub mod transport_checks;

use std::sync::Arc;

use rust_embed::RustEmbed;

pub use checks::Check;
use parse::FrontMatter;

#[derive(RustEmbed)]
#[folder = "lessons/"]
struct LessonFiles;

/// One parsed lesson.
#[derive(Debug, Clone)]
pub struct Lesson {
    pub meta: FrontMatter,
    pub intro_html: String,
    pub steps: Vec<Step>,
}

/// One `## ` section of a lesson.
#[derive(Debug, Clone)]
pub struct Step {
    /// Anchor made from the title.
    pub id: String,
    pub title: String,
    pub html: String,
    pub widget: Option<String>,
    pub checks: Vec<Check>,
    pub play: Vec<PlayAction>,
    /// Up to three hints, rendered HTML, revealed one at a time.
    pub hints: Vec<String>,
    /// A number the learner predicts before measuring it.
    pub predict: Option<Predict>,
}

/// A ```` ```predict ```` block: ask for a number, then put it beside the measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predict {
    pub question: String,
    /// The counter (a check name) the prediction is compared with.
    pub measure: &'static str,
    /// What the number counts, e.g. `requests`.
    pub unit: String,
    /// Why the measurement comes out as it does, shown once the step is done.
    pub explain: String,
}

/// One thing play mode does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayAction {
    Say(String),
    Start(String),
    Stop(String),
    Publish(String),
    Feed(String, bool),
    DropSse,
    WsSend(String),
    Wait(u64),
    /// Sends a chat message from one side of the chat widget.
    Chat(ChatSide, String),
    /// Answers a scenario of the decision exercise.
    Decide {
        scenario: &'static str,
        choice: exercises::Choice,
        factor: exercises::Factor,
    },
    /// Writes and submits the interview answer.
    Answer(String),
    /// Presses the live widget's button with this label (the cluster's
    /// "Kill A", "Publish on B"…).
    Press(String),
    /// The network-faults lesson's verbs (`fault`, `deploy`, `storm`…).
    Fault(play_faults::FaultAction),
}

/// The two halves of the chat widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatSide {
    /// Receives over SSE, sends with `POST /api/chat`.
    Sse,
    /// Sends and receives over one WebSocket.
    Ws,
}

impl ChatSide {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatSide::Sse => "sse",
            ChatSide::Ws => "ws",
        }
    }
}

/// Every lesson, in order. Parsed once and kept until a file changes:
/// release builds embed the files (so never), debug builds read `lessons/`
/// from disk, so an edited lesson shows on reload.
pub struct Library;

type Cache = Option<(Vec<[u8; 32]>, Arc<Vec<Lesson>>)>;

/// One cache per process: every server in it serves the same files.
static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(None);

impl Library {
    pub fn load() -> Result<Library, String> {
        Library.lessons()?;
        Ok(Library)
    }

    pub fn lessons(&self) -> Result<Arc<Vec<Lesson>>, String> {
        let fingerprint: Vec<[u8; 32]> = lesson_names()
            .iter()
            .filter_map(|n| LessonFiles::get(n))
            .map(|f| f.metadata.sha256_hash())
            .collect();
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((seen, lessons)) = cache.as_ref()
            && *seen == fingerprint
        {
            return Ok(lessons.clone());
        }
        let lessons = Arc::new(load_all()?);
        *cache = Some((fingerprint, lessons.clone()));
        Ok(lessons)
    }
}

fn lesson_names() -> Vec<String> {
    // `NN-slug.md`; the folder's README.md is about the lessons, not one of them.
    let mut names: Vec<String> = LessonFiles::iter()
        .filter(|n| n.ends_with(".md") && n.starts_with(|c: char| c.is_ascii_digit()))
        .map(|n| n.into_owned())
        .collect();
    names.sort();
    names
}

/// Parses every lesson and checks the set: unique slugs, orders 1..=n.
pub fn load_all() -> Result<Vec<Lesson>, String> {
    let mut lessons = Vec::new();
    for name in lesson_names() {
        let file = LessonFiles::get(&name).ok_or_else(|| format!("{name}: cannot be read"))?;
        let text = std::str::from_utf8(&file.data).map_err(|_| format!("{name}: not UTF-8"))?;
        let lesson = parse::parse(&name, text)?;
        let expected = name
            .trim_end_matches(".md")
            .split_once('-')
            .map(|(_, slug)| slug.to_owned())
            .unwrap_or_default();
        if lesson.meta.slug != expected {
            return Err(format!(
                "{name}: slug {:?} does not match the file name",
                lesson.meta.slug
            ));
        }
        lessons.push(lesson);
    }
    lessons.sort_by_key(|l| l.meta.order);
    for (i, lesson) in lessons.iter().enumerate() {
        if lesson.meta.order as usize != i + 1 {
            return Err(format!(
                "lesson {:?} has order {}, expected {}",
                lesson.meta.slug,
                lesson.meta.order,
                i + 1
            ));
        }
    }
    Ok(lessons)
}
