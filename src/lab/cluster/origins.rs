//! The page origins the instances accept requests from (CORS, WebSocket
//! origin check): taken from configuration only, and only plain ones, since
//! each becomes a flag on an instance's command line.

use crate::config::Config;

/// Whether `origin` is a plain `http(s)://host[:port]` (nothing that could
/// become another flag or a second value).
fn plain_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority.len() <= 200
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// The origins the lesson page may have: this server by each name its Host
/// allow-list accepts (`own`, from the app), and `--allowed-origins`. Never
/// a request's `Host` or `Origin`: a rebound name must not become an allowed origin.
pub(super) fn configured_page_origins(own: Vec<String>, config: &Config) -> Vec<String> {
    let mut origins = own;
    for origin in &config.allowed_origins {
        let origin = origin.trim_end_matches('/').to_owned();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    origins.retain(|o| plain_origin(o));
    origins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_reach_the_command_line() {
        assert!(plain_origin("http://127.0.0.1:8080"));
        assert!(plain_origin("http://[::1]:8080"));
        assert!(plain_origin("https://play.example"));
        assert!(!plain_origin("http://a,b"));
        assert!(!plain_origin("http://x --redis-url"));
        assert!(!plain_origin("file://"));
        assert!(!plain_origin("javascript:alert(1)"));
    }
}
