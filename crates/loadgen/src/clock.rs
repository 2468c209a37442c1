//! The clock publishers and clients share, and finding it in an event.
//!
//! Every publisher puts its own clock in the event (`"data": {"sent_us":
//! <unix µs>}`) and every client subtracts it from its own at reception;
//! both run on this machine, so no server timestamp is trusted.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch: the clock publishers and clients share.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// Every number that follows `"sent_us":` in `bytes` (spaces allowed after
/// the colon, as some JSON encoders write them). No full JSON parse: this
/// runs once per delivery, thousands of times a second.
pub fn sent_us_values(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    const KEY: &[u8] = b"\"sent_us\":";
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + KEY.len() <= bytes.len() {
            let found = bytes[at..].windows(KEY.len()).position(|w| w == KEY)?;
            at += found + KEY.len();
            while bytes.get(at) == Some(&b' ') {
                at += 1;
            }
            let digits = bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let value = std::str::from_utf8(&bytes[at..at + digits])
                .ok()
                .and_then(|s| s.parse().ok());
            at += digits;
            if value.is_some() {
                return value;
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_us_is_found_with_or_without_spaces() {
        let body =
            br#"{"events":[{"id":1,"data":{"sent_us":17}},{"id":2,"data":{"sent_us": 42}}]}"#;
        assert_eq!(sent_us_values(body).collect::<Vec<_>>(), vec![17, 42]);
        assert_eq!(sent_us_values(b"data: {\"x\":1}").count(), 0);
        assert_eq!(sent_us_values(b"\"sent_us\":").count(), 0);
    }
}
