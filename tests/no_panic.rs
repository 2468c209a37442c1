//! Property tests: the parsers that see client or author input never panic,
//! whatever they are given (part of issue 7's fuzzing list).

use proptest::prelude::*;
use realtime_playground::hub::TopicFilter;
use realtime_playground::lessons::checks::Check;
use realtime_playground::lessons::{PlayAction, parse};

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
}
