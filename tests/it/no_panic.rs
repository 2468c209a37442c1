//! Property tests: the parsers that see client or author input never panic,
//! whatever they are given (part of issue 7's fuzzing list).

use proptest::prelude::*;
use realtime_playground::hub::{Cursor, Hub, NewEvent, TopicFilter};
use realtime_playground::lessons::checks::Check;
use realtime_playground::lessons::{PlayAction, parse};
use realtime_playground::transports::publish_rules::validate_names;
use realtime_playground::transports::sse::parse_last_event_id;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn checks_parse_or_fail_cleanly(line in ".{0,80}") {
        let _ = Check::parse(&line);
    }

    #[test]
    fn check_like_lines_parse_or_fail_cleanly(
        name in "[a-z_]{0,40}", op in "(>=|>|==|<=|<|=>|!)?", n in "[0-9a-z-]{0,25}"
    ) {
        let _ = Check::parse(&format!("{name} {op} {n}"));
    }

    #[test]
    fn play_actions_parse_or_fail_cleanly(line in "(say|start|stop|publish|wait|drop|feed|ws)? ?.{0,60}") {
        let _ = PlayAction::parse(&line);
    }

    #[test]
    fn lesson_files_parse_or_fail_cleanly(body in ".{0,400}", meta in "[a-z: \\n0-9-]{0,120}") {
        let _ = parse::parse("fuzz.md", &format!("---\n{meta}\n---\n{body}"));
        let _ = parse::parse("fuzz.md", &body);
    }

    #[test]
    fn topic_lists_never_panic(list in ".{0,200}") {
        let filter = TopicFilter::parse(Some(&list));
        prop_assert!(filter.topics().iter().all(|t| !t.is_empty()));
    }

    #[test]
    fn last_event_ids_parse_or_fail_cleanly(raw in ".{0,40}", n in any::<u64>()) {
        let _ = parse_last_event_id(Some(&raw));
        prop_assert_eq!(parse_last_event_id(Some(&n.to_string())).ok(), Some(Some(n)));
    }

    #[test]
    fn names_are_checked_without_panicking(topic in ".{0,80}", kind in ".{0,80}") {
        let _ = validate_names(&topic, &kind);
    }

    /// Any cursor a client can send, against any state of the ring: no panic,
    /// and events come back in id order after the cursor (or after a reset).
    #[test]
    fn any_cursor_catches_up_cleanly(
        base in prop_oneof![Just(0u64), any::<u64>().prop_map(|b| b / 2)],
        published in 0usize..40,
        capacity in 1usize..16,
        since in prop_oneof![any::<u64>(), 0u64..64, Just(u64::MAX)],
    ) {
        let hub = Hub::starting_after(base, capacity, 8);
        for n in 0..published {
            hub.publish(NewEvent { topic: "t".into(), kind: "k".into(), data: n.into() });
        }
        let since = if since < 64 { base.saturating_add(since) } else { since };
        let caught = hub.catch_up(Cursor::After(since));
        let ids: Vec<u64> = caught.events.iter().map(|e| e.id).collect();
        prop_assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
        if caught.reset.is_none() {
            prop_assert!(ids.iter().all(|&id| id > since));
        }
    }
}
