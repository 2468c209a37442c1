//! Which topics a subscription follows, and how many it may.

/// The topics a client asked for; empty means "all topics".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicFilter(Vec<String>);

/// Most topics one subscription may follow, whatever the transport: each
/// one is a string held, and compared with every event, for the stream's life.
pub const MAX_TOPICS: usize = 64;

/// Longest comma-separated topic list a query may carry: [`MAX_TOPICS`]
/// names of up to 64 bytes each, with their commas.
pub const MAX_TOPIC_LIST_BYTES: usize = MAX_TOPICS * 65;

/// Why a topic list was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicListError {
    #[error("The topic list has {bytes} bytes; at most {MAX_TOPIC_LIST_BYTES} are accepted.")]
    TooLong { bytes: usize },
    #[error(
        "The topic list names {topics} topics; one subscription may follow at most {MAX_TOPICS}."
    )]
    TooMany { topics: usize },
}

impl TopicFilter {
    /// [`parse`](Self::parse), refusing lists over [`MAX_TOPIC_LIST_BYTES`]
    /// or [`MAX_TOPICS`] distinct topics.
    pub fn parse_bounded(list: Option<&str>) -> Result<Self, TopicListError> {
        let bytes = list.map_or(0, str::len);
        if bytes > MAX_TOPIC_LIST_BYTES {
            return Err(TopicListError::TooLong { bytes });
        }
        let filter = Self::parse(list);
        match filter.0.len() {
            topics if topics > MAX_TOPICS => Err(TopicListError::TooMany { topics }),
            _ => Ok(filter),
        }
    }

    /// Every topic.
    pub fn all() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list such as `ticker,notifications`.
    pub fn parse(list: Option<&str>) -> Self {
        Self::from_iter(list.unwrap_or_default().split(','))
    }

    pub fn accepts(&self, topic: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t == topic)
    }

    pub fn topics(&self) -> &[String] {
        &self.0
    }

    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: AsRef<str>> FromIterator<S> for TopicFilter {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut topics: Vec<String> = iter
            .into_iter()
            .map(|t| t.as_ref().trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        topics.sort();
        topics.dedup();
        Self(topics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_lists_are_bounded() {
        let many = (0..=MAX_TOPICS)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>();
        assert_eq!(
            TopicFilter::parse_bounded(Some(&many.join(","))),
            Err(TopicListError::TooMany {
                topics: MAX_TOPICS + 1
            })
        );
        assert!(TopicFilter::parse_bounded(Some(&many[1..].join(","))).is_ok());
        let long = "x".repeat(MAX_TOPIC_LIST_BYTES + 1);
        assert!(matches!(
            TopicFilter::parse_bounded(Some(&long)),
            Err(TopicListError::TooLong { .. })
        ));
    }

    #[test]
    fn refusals_explain_the_limit() {
        assert_eq!(
            TopicListError::TooLong { bytes: 5000 }.to_string(),
            "The topic list has 5000 bytes; at most 4160 are accepted."
        );
        assert_eq!(
            TopicListError::TooMany { topics: 65 }.to_string(),
            "The topic list names 65 topics; one subscription may follow at most 64."
        );
    }
}
