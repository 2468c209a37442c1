use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::traffic::Direction;

fn entry(t: Transport) -> Entry {
    Entry::new(t, EntryKind::Exchange, Direction::Both, 1)
}

fn who(id: &str) -> Learner {
    Learner::new(id, None)
}

fn from(id: &str, last_octet: u8) -> Learner {
    Learner::new(id, Some(IpAddr::from([127, 0, 0, last_octet])))
}

fn log(capacity: usize, per_learner: usize) -> TrafficLog {
    TrafficLog::new(LogLimits::new(capacity, per_learner), true)
}

#[test]
fn learners_see_only_their_own_entries() {
    let log = log(100, 50);
    log.record(&who("a"), entry(Transport::Poll));
    log.record(&who("b"), entry(Transport::Sse));
    log.record(&who("a"), entry(Transport::Api));
    assert_eq!(log.entries("a", None, 0, 100).len(), 2);
    assert_eq!(log.entries("a", Some(Transport::Poll), 0, 100).len(), 1);
    assert_eq!(log.entries("b", None, 0, 100).len(), 1);
    assert!(log.entries("c", None, 0, 100).is_empty());
    let seqs: Vec<u64> = log
        .entries("a", None, 0, 100)
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 3], "newest last");
    assert_eq!(log.entries("a", None, 1, 100)[0].seq, 3, "since");
}

#[test]
fn bounds_hold_per_learner_and_overall() {
    let log = TrafficLog::new(
        LogLimits {
            per_address: 10,
            ..LogLimits::new(10, 4)
        },
        true,
    );
    for _ in 0..20 {
        log.record(&who("a"), entry(Transport::Poll));
    }
    assert_eq!(log.entries("a", None, 0, 100).len(), 4);
    for i in 0..200_000 {
        log.record(&who(&format!("learner-{i}")), entry(Transport::Poll));
    }
    let (total, learners) = log.size();
    assert!(
        total <= 10 && learners <= 10,
        "{total} entries, {learners} learners"
    );
}

#[test]
fn one_address_alone_may_fill_the_log() {
    let log = log(100, 100);
    for i in 0..1_000 {
        log.record(&from(&format!("mine-{i}"), 1), entry(Transport::Poll));
    }
    assert_eq!(log.size().0, 100);
    assert_eq!(log.entries("mine-999", None, 0, 10).len(), 1);
}

#[test]
fn one_address_flooding_loses_its_own_entries_not_another_address() {
    let log = log(100, 20);
    for _ in 0..10 {
        log.record(&from("quiet", 2), entry(Transport::Poll));
    }
    for i in 0..10_000 {
        log.record(&from(&format!("rotating-{i}"), 1), entry(Transport::Poll));
    }
    assert_eq!(log.entries("quiet", None, 0, 100).len(), 10, "all kept");
    let (total, _) = log.size();
    assert_eq!(total, 100, "full, the quiet address's 10 among them");
    assert_eq!(
        log.entries("rotating-9999", None, 0, 100).len(),
        1,
        "the flood keeps its newest"
    );
    assert!(log.entries("rotating-0", None, 0, 100).is_empty());
}

#[test]
fn learners_idle_past_the_expiry_are_forgotten_unless_something_is_open() {
    let log = TrafficLog::new(
        LogLimits {
            idle_expiry: Duration::from_secs(3600),
            ..LogLimits::new(100, 50)
        },
        true,
    );
    log.record(&who("gone"), entry(Transport::Poll));
    let streaming = who("streaming");
    log.record(
        &streaming,
        Entry::new(Transport::Sse, EntryKind::Opened, Direction::Down, 1),
    );
    let now = log.entries("gone", None, 0, 1)[0].at_ms;
    log.sweep_at(now + 3_599_000);
    assert_eq!(log.size(), (2, 2), "not idle long enough yet");
    log.sweep_at(now + 3_600_000);
    assert!(log.entries("gone", None, 0, 100).is_empty());
    assert_eq!(log.size(), (1, 1), "an open stream keeps its learner");
    assert_eq!(
        log.open_connections("streaming").get(&Transport::Sse),
        Some(&1)
    );
}

#[test]
fn the_last_poll_arrival_is_remembered_per_transport() {
    let log = log(10, 4);
    let a = who("a");
    assert_eq!(log.previous_arrival("a", Transport::Poll), None);
    log.record_answer(&a, entry(Transport::Poll), 2_000);
    log.record_answer(&a, entry(Transport::Poll), 1_000);
    log.record_answer(&a, entry(Transport::LongPoll), 3_000);
    log.record(&a, entry(Transport::Poll));
    assert_eq!(log.previous_arrival("a", Transport::Poll), Some(2_000));
    assert_eq!(log.previous_arrival("a", Transport::LongPoll), Some(3_000));
    assert_eq!(log.previous_arrival("a", Transport::Sse), None);
    assert_eq!(log.previous_arrival("b", Transport::Poll), None);
}

#[test]
fn disabled_log_records_nothing() {
    let log = TrafficLog::new(LogLimits::new(10, 4), false);
    assert!(log.record(&who("a"), entry(Transport::Poll)).is_none());
    assert_eq!(log.size(), (0, 0));
}
