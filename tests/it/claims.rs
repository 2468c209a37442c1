//! `lessons/README.md` maps each of the seed's 36 claims to the step that
//! proves it and one line of that step's check block. This test reads the
//! table as markdown (pulldown-cmark, tables extension) and fails when a
//! claim is missing or twice, or a row names a lesson, step or check that
//! does not exist.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use realtime_playground::lessons::load_all;

/// Number of claims in `shared/notes/seed-claims.md`.
const CLAIMS: u32 = 36;

/// The rows of every table in `markdown`, each as its cells' text (head rows included).
fn table_rows(markdown: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Option<Vec<String>> = None;
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => row = Some(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::End(TagEnd::TableCell) => {
                if let (Some(r), Some(c)) = (row.as_mut(), cell.take()) {
                    r.push(c.trim().to_owned());
                }
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => rows.extend(row.take()),
            _ => {}
        }
    }
    rows
}

/// The claims table: rows after the head `# | claim | lesson | step | check`.
fn claim_rows() -> Vec<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/README.md");
    let text = std::fs::read_to_string(path).expect("lessons/README.md");
    let rows = table_rows(&text);
    let head = rows
        .iter()
        .position(|r| r == &["#", "claim", "lesson", "step", "check"])
        .expect("a table headed | # | claim | lesson | step | check |");
    rows[head + 1..]
        .iter()
        .take_while(|r| r.len() == 5)
        .cloned()
        .collect()
}

#[test]
fn every_seed_claim_has_a_step_whose_check_proves_it() {
    let lessons = load_all().expect("lessons parse");
    let rows = claim_rows();
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for row in &rows {
        let [number, claim, lesson, step, check] = &row[..] else {
            unreachable!("rows have five cells");
        };
        let Ok(n) = number.parse::<u32>() else {
            problems.push(format!("{number:?} is not a claim number"));
            continue;
        };
        seen.push(n);
        if claim.is_empty() {
            problems.push(format!("claim {n} has no text"));
        }
        let Some(l) = lessons.iter().find(|l| l.meta.slug == *lesson) else {
            problems.push(format!("claim {n}: there is no lesson {lesson:?}"));
            continue;
        };
        let Some(s) = l.steps.iter().find(|s| s.id == *step) else {
            problems.push(format!("claim {n}: lesson {lesson} has no step {step:?}"));
            continue;
        };
        if !s.checks.iter().any(|c| c.text == *check) {
            let lines: Vec<&str> = s.checks.iter().map(|c| c.text.as_str()).collect();
            problems.push(format!(
                "claim {n}: {lesson}#{step} has no check line {check:?} (it has {lines:?})"
            ));
        }
    }
    for n in 1..=CLAIMS {
        match seen.iter().filter(|s| **s == n).count() {
            1 => {}
            0 => problems.push(format!("claim {n} has no row")),
            k => problems.push(format!("claim {n} has {k} rows")),
        }
    }
    if let Some(extra) = seen.iter().find(|n| !(1..=CLAIMS).contains(*n)) {
        problems.push(format!("there is no claim {extra}"));
    }
    assert!(
        problems.is_empty(),
        "lessons/README.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_table_reader_sees_cells_as_written() {
    let rows = table_rows("| # | check |\n|---|---|\n| 7 | `polls >= 3` |\n\ntext\n");
    assert_eq!(rows, vec![vec!["#", "check"], vec!["7", "polls >= 3"]]);
}
