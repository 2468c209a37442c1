//! A browser-mode race's report, checked before the lab keeps it.
//!
//! In browser mode the server only publishes; the learner's browser races
//! its own clients and reports what each lane saw. The report is the
//! client's word, so it is held to what the server knows: the lanes that
//! exist, the events it published and the run's length. A report that claims
//! more unique events than were published, or a delay longer than the run,
//! is refused with the reason instead of landing in the result table.

use super::Lane;
use crate::traffic::Transport;

/// Most errors a lane may list, and the longest each may be.
const MAX_ERRORS: usize = 20;
const MAX_ERROR_CHARS: usize = 300;
/// More than any browser lane makes in a 60 s race.
const MAX_REQUESTS: u64 = 1_000_000;
const MAX_BYTES: u64 = 1 << 32;

/// Why a report was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BadReport {
    #[error("A race has at most four lanes.")]
    TooManyLanes,
    #[error("{0:?} is not a lane: use poll, long_poll, sse or websocket.")]
    UnknownLane(String),
    #[error("The {0} lane is reported twice.")]
    RepeatedLane(String),
    #[error(
        "The {lane} lane reports {unique} distinct events, but the race published {published}."
    )]
    MoreThanPublished {
        lane: String,
        unique: u64,
        published: u64,
    },
    #[error("The {lane} lane's counts do not add up: {why}.")]
    Inconsistent { lane: String, why: &'static str },
    #[error(
        "The {lane} lane reports a delay of {ms} ms in a race of {duration_s} s (is the clock right?)."
    )]
    ImpossibleDelay {
        lane: String,
        ms: f64,
        duration_s: u64,
    },
    #[error(
        "The {0} lane lists too many or too long errors (at most {MAX_ERRORS} of {MAX_ERROR_CHARS} characters)."
    )]
    TooManyErrors(String),
}

/// Checks `lanes` against a race that published `published` events in `duration_s` seconds.
pub fn check(lanes: &[Lane], published: u64, duration_s: u64) -> Result<(), BadReport> {
    if lanes.len() > 4 {
        return Err(BadReport::TooManyLanes);
    }
    let mut seen = Vec::new();
    for lane in lanes {
        let name = lane.transport.clone();
        match Transport::parse(&name) {
            Some(t) if t != Transport::Api => {
                if seen.contains(&t) {
                    return Err(BadReport::RepeatedLane(name));
                }
                seen.push(t);
            }
            _ => return Err(BadReport::UnknownLane(name)),
        }
        check_lane(lane, published, duration_s)?;
    }
    Ok(())
}

fn check_lane(lane: &Lane, published: u64, duration_s: u64) -> Result<(), BadReport> {
    let inconsistent = |why| BadReport::Inconsistent {
        lane: lane.transport.clone(),
        why,
    };
    if lane.duplicated > lane.received {
        return Err(inconsistent("more duplicates than events received"));
    }
    let unique = lane.received - lane.duplicated;
    if unique > published {
        return Err(BadReport::MoreThanPublished {
            lane: lane.transport.clone(),
            unique,
            published,
        });
    }
    if lane.lost > published {
        return Err(inconsistent("more events lost than published"));
    }
    if lane.empty > lane.requests {
        return Err(inconsistent("more empty answers than requests"));
    }
    if !(0.0..=1.0).contains(&lane.empty_share) {
        return Err(inconsistent("the empty share is not between 0 and 1"));
    }
    if lane.requests > MAX_REQUESTS || lane.connections > MAX_REQUESTS {
        return Err(inconsistent("more requests than a race can make"));
    }
    let bytes = [
        lane.bytes_up,
        lane.bytes_down,
        lane.header_bytes,
        lane.payload_bytes,
    ];
    if bytes.iter().any(|b| *b > MAX_BYTES) {
        return Err(inconsistent("more bytes than a race can move"));
    }
    // The browser measures delays against the server's clock, so a skewed
    // clock stretches them; an hour is past any skew worth reporting.
    let longest = (duration_s as f64 + 3600.0) * 1000.0;
    for ms in [lane.delay_p50_ms, lane.delay_p95_ms, lane.delay_max_ms]
        .into_iter()
        .flatten()
    {
        if !ms.is_finite() || ms < 0.0 || ms > longest {
            return Err(BadReport::ImpossibleDelay {
                lane: lane.transport.clone(),
                ms,
                duration_s,
            });
        }
    }
    if lane.errors.len() > MAX_ERRORS
        || lane
            .errors
            .iter()
            .any(|e| e.chars().count() > MAX_ERROR_CHARS)
    {
        return Err(BadReport::TooManyErrors(lane.transport.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(transport: &str, received: u64) -> Lane {
        Lane {
            transport: transport.into(),
            requests: 10,
            connections: 1,
            empty: 2,
            empty_share: 0.2,
            received,
            lost: 0,
            duplicated: 0,
            bytes_up: 100,
            bytes_down: 1000,
            header_bytes: 300,
            payload_bytes: 800,
            delay_p50_ms: Some(3.0),
            delay_p95_ms: Some(9.0),
            delay_max_ms: Some(12.0),
            errors: Vec::new(),
            protocol: None,
        }
    }

    #[test]
    fn an_honest_report_passes() {
        let lanes = [
            lane("poll", 5),
            lane("long_poll", 5),
            lane("sse", 5),
            lane("websocket", 5),
        ];
        assert_eq!(check(&lanes, 5, 10), Ok(()));
    }

    #[test]
    fn more_events_than_published_is_refused() {
        let err = check(&[lane("sse", 999_999)], 960, 10).expect_err("refused");
        assert!(matches!(
            err,
            BadReport::MoreThanPublished {
                unique: 999_999,
                published: 960,
                ..
            }
        ));
        // Duplicates are allowed on top of what was published.
        let mut twice = lane("sse", 10);
        twice.duplicated = 5;
        assert_eq!(check(&[twice], 5, 10), Ok(()));
    }

    #[test]
    fn unknown_repeated_and_extra_lanes_are_refused() {
        assert!(matches!(
            check(&[lane("carrier-pigeon", 1)], 5, 10),
            Err(BadReport::UnknownLane(_))
        ));
        assert!(matches!(
            check(&[lane("api", 1)], 5, 10),
            Err(BadReport::UnknownLane(_))
        ));
        assert!(matches!(
            check(&[lane("sse", 1), lane("sse", 1)], 5, 10),
            Err(BadReport::RepeatedLane(_))
        ));
        let five = vec![lane("sse", 1); 5];
        assert_eq!(check(&five, 5, 10), Err(BadReport::TooManyLanes));
    }

    #[test]
    fn impossible_numbers_are_refused() {
        let mut slow = lane("poll", 1);
        slow.delay_max_ms = Some(1e9);
        assert!(matches!(
            check(&[slow.clone()], 5, 10),
            Err(BadReport::ImpossibleDelay { .. })
        ));
        slow.delay_max_ms = Some(-1.0);
        assert!(matches!(
            check(&[slow], 5, 10),
            Err(BadReport::ImpossibleDelay { .. })
        ));
        let mut nan = lane("poll", 1);
        nan.delay_p50_ms = Some(f64::NAN);
        assert!(matches!(
            check(&[nan], 5, 10),
            Err(BadReport::ImpossibleDelay { .. })
        ));
        let mut empty = lane("poll", 1);
        empty.empty = 11;
        assert!(matches!(
            check(&[empty], 5, 10),
            Err(BadReport::Inconsistent { .. })
        ));
        let mut noisy = lane("poll", 1);
        noisy.errors = vec!["x".into(); 21];
        assert!(matches!(
            check(&[noisy], 5, 10),
            Err(BadReport::TooManyErrors(_))
        ));
    }
}
