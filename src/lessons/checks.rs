//! Checks: named conditions over a learner's own traffic, such as
//! `polls >= 5` or `sse_reconnected_with_last_event_id`. Lessons declare
//! them as data; this module parses and evaluates them.

use std::collections::HashMap;
use std::sync::Arc;

use super::fault_checks::FaultTally;
use crate::traffic::Entry;

/// A known check name, as the `'static` string counters are keyed by:
/// one of [`super::transport_checks::NAMES`], [`super::fault_checks::NAMES`],
/// [`super::delivery_checks::NAMES`], [`super::grader_checks::NAMES`] and
/// [`super::protocol_checks::NAMES`].
/// A lesson naming anything else is rejected.
pub fn known(name: &str) -> Option<&'static str> {
    all_names().map(|(n, _)| n).find(|n| *n == name)
}

/// Every name and its description.
pub fn all_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    super::transport_checks::NAMES
        .iter()
        .chain(super::fault_checks::NAMES)
        .chain(super::delivery_checks::NAMES)
        .chain(super::grader_checks::NAMES)
        .chain(super::protocol_checks::NAMES)
        .map(|(n, d)| (*n, *d))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ge,
    Gt,
    Eq,
    Le,
    Lt,
}

/// One parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub op: Op,
    pub target: u64,
    /// The condition as written.
    pub text: String,
}

impl Check {
    /// Parses `name`, or `name OP integer`.
    pub fn parse(line: &str) -> Result<Check, String> {
        let text = line.trim().to_owned();
        let mut parts = text.split_whitespace();
        let raw_name = parts.next().ok_or("empty check")?;
        let name = known(raw_name).ok_or_else(|| format!("unknown check {raw_name:?}"))?;
        let (op, target) = match (parts.next(), parts.next()) {
            (None, _) => (Op::Ge, 1),
            (Some(op), Some(n)) => {
                let op = match op {
                    ">=" => Op::Ge,
                    ">" => Op::Gt,
                    "==" => Op::Eq,
                    "<=" => Op::Le,
                    "<" => Op::Lt,
                    other => return Err(format!("unknown comparison {other:?} in {text:?}")),
                };
                let n = n
                    .parse::<u64>()
                    .map_err(|_| format!("{n:?} is not a whole number in {text:?}"))?;
                (op, n)
            }
            (Some(_), None) => return Err(format!("comparison without a number in {text:?}")),
        };
        if parts.next().is_some() {
            return Err(format!("unexpected text after {text:?}"));
        }
        Ok(Check {
            name,
            op,
            target,
            text,
        })
    }

    pub fn holds(&self, value: u64) -> bool {
        match self.op {
            Op::Ge => value >= self.target,
            Op::Gt => value > self.target,
            Op::Eq => value == self.target,
            Op::Le => value <= self.target,
            Op::Lt => value < self.target,
        }
    }

    /// Whether the condition holds before anything happened (a budget such
    /// as `polls <= 3`). A step needs at least one check that does not, or
    /// it would tick without the learner acting.
    pub fn holds_at_zero(&self) -> bool {
        self.holds(0)
    }

    pub fn describe(&self) -> &'static str {
        all_names()
            .find(|(n, _)| *n == self.name)
            .map_or("", |(_, d)| d)
    }
}

/// Counts of everything checks can ask about.
#[derive(Debug, Default, Clone)]
pub struct Counters(HashMap<&'static str, u64>);

impl Counters {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    pub fn add(&mut self, name: &'static str, n: u64) {
        *self.0.entry(name).or_default() += n;
    }

    /// Adds to a counter named at run time (unknown names are ignored).
    pub fn add_named(&mut self, name: &str, n: u64) {
        if let Some(known) = known(name) {
            self.add(known, n);
        }
    }

    /// Counts what traffic entries show.
    pub fn from_entries<'a>(entries: impl IntoIterator<Item = &'a Arc<Entry>>) -> Counters {
        let entries: Vec<&Entry> = entries.into_iter().map(|e| e.as_ref()).collect();
        let mut c = Counters::default();
        super::transport_checks::count(&mut c, entries.iter().copied());
        super::delivery_checks::count(&mut c, entries.iter().copied());
        super::protocol_checks::count(&mut c, entries.iter().copied());
        let mut faults = FaultTally::default();
        for e in entries {
            faults.count(&mut c, e);
            super::grader_checks::count(&mut c, e);
        }
        c
    }
}

/// An entry's path without its query.
pub fn route(e: &Entry) -> Option<&str> {
    e.path.as_deref().map(|p| p.split('?').next().unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_comparisons() {
        let c = Check::parse("polls >= 5").expect("parse");
        assert_eq!((c.name, c.op, c.target), ("polls", Op::Ge, 5));
        assert!(c.holds(5) && !c.holds(4));
        let c = Check::parse("sse_reconnected_with_last_event_id").expect("parse");
        assert!(c.holds(1) && !c.holds(0));
        assert!(Check::parse("pols >= 5").is_err());
        assert!(Check::parse("polls => 5").is_err());
        assert!(Check::parse("polls >= five").is_err());
        assert!(Check::parse("polls >=").is_err());
        assert!(Check::parse("polls <= 3").expect("parse").holds_at_zero());
        assert!(!Check::parse("polls >= 1").expect("parse").holds_at_zero());
    }

    #[test]
    fn add_named_ignores_unknown_names() {
        let mut named = Counters::default();
        named.add_named("sse_events", 2);
        named.add_named("no_such_check", 5);
        assert_eq!(
            (named.get("sse_events"), named.get("no_such_check")),
            (2, 0)
        );
    }
}
