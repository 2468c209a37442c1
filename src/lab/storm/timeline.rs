//! A storm's timeline: when each client got back, as a histogram of
//! 100-millisecond buckets after the drop, with its peak and percentiles.

use crate::traffic::stats::percentile;

/// Width of one bucket, in milliseconds.
pub const BUCKET_MS: u64 = 100;

/// What the reconnect times add up to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Reconnects per bucket; bucket i covers [i × 100, (i + 1) × 100) ms after the drop.
    pub buckets: Vec<u32>,
    /// The fullest bucket's count.
    pub peak: u32,
    /// Where the fullest bucket starts (ms after the drop).
    pub peak_at_ms: Option<u64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub reconnected: u32,
}

impl Timeline {
    /// Builds the timeline from each reconnected client's time, in ms after the drop.
    pub fn of(reconnect_ms: &[f64]) -> Timeline {
        let mut sorted = reconnect_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut buckets = Vec::new();
        for ms in &sorted {
            let i = (ms.max(0.0) / BUCKET_MS as f64) as usize;
            if buckets.len() <= i {
                buckets.resize(i + 1, 0);
            }
            buckets[i] += 1;
        }
        // The first fullest bucket.
        let peak = buckets.iter().copied().max().unwrap_or(0);
        let peak_at_ms = buckets
            .iter()
            .position(|b| *b == peak && peak > 0)
            .map(|i| i as u64 * BUCKET_MS);
        Timeline {
            peak,
            peak_at_ms,
            p50_ms: percentile(&sorted, 0.5),
            p99_ms: percentile(&sorted, 0.99),
            max_ms: sorted.last().copied(),
            reconnected: sorted.len() as u32,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_peak_and_percentiles() {
        let t = Timeline::of(&[1010.0, 1020.0, 1090.0, 1150.0, 250.0]);
        assert_eq!(t.buckets, vec![0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 1]);
        assert_eq!((t.peak, t.peak_at_ms), (3, Some(1000)));
        assert_eq!(t.reconnected, 5);
        assert_eq!(t.max_ms, Some(1150.0));
        assert_eq!(t.p50_ms, Some(1020.0));
    }

    #[test]
    fn nobody_back_is_an_empty_timeline() {
        let t = Timeline::of(&[]);
        assert!(t.buckets.is_empty());
        assert_eq!((t.peak, t.peak_at_ms, t.p50_ms), (0, None, None));
    }
}
