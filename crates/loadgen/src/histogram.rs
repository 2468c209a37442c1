//! A log-linear histogram of microsecond delays, filled from many tasks.
//!
//! Delays go into atomic counters instead of a list: 10,000 clients
//! receiving tens of thousands of events a second must not queue behind one
//! lock, and the percentiles need only ~1.5 % precision.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two: values are kept to 1/64 (≈ 1.6 %).
const SUB: usize = 64;
/// Enough buckets for 2^45 µs (about a year).
const BUCKETS: usize = SUB * 41;

/// Log-linear histogram of microsecond values, safe to fill from many tasks.
pub struct Histogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
    n: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
            n: AtomicU64::new(0),
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < 2 * SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as usize; // ≥ 7
    let shift = msb - 6;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((shift + 1) * SUB + sub).min(BUCKETS - 1)
}

/// Middle of a bucket's range.
fn value_of(bucket: usize) -> u64 {
    if bucket < 2 * SUB {
        return bucket as u64;
    }
    let shift = bucket / SUB - 1;
    let sub = (bucket % SUB) as u64;
    ((SUB as u64 + sub) << shift) + ((1u64 << shift) >> 1)
}

impl Histogram {
    pub fn record(&self, us: u64) {
        self.counts[bucket_of(us)].fetch_add(1, Relaxed);
        self.max.fetch_max(us, Relaxed);
        self.n.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.n.load(Relaxed)
    }

    /// Nearest-rank quantile (`p` from 0 to 1), in µs.
    pub fn quantile(&self, p: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (bucket, c) in self.counts.iter().enumerate() {
            seen += c.load(Relaxed);
            if seen >= rank {
                // Never above the true maximum.
                return Some(value_of(bucket).min(self.max.load(Relaxed)));
            }
        }
        Some(self.max.load(Relaxed))
    }

    pub fn max(&self) -> Option<u64> {
        (self.count() > 0).then(|| self.max.load(Relaxed))
    }

    /// p50, p99 and max in milliseconds.
    pub fn summary_ms(&self) -> Delays {
        let ms = |v: Option<u64>| v.map(|us| (us as f64 / 10.0).round() / 100.0);
        Delays {
            p50_ms: ms(self.quantile(0.50)),
            p99_ms: ms(self.quantile(0.99)),
            max_ms: ms(self.max()),
        }
    }
}

/// Delay percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Delays {
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_close() {
        for v in [
            0,
            1,
            63,
            64,
            127,
            128,
            129,
            1000,
            12_345,
            999_999,
            3_600_000_000,
        ] {
            let mid = value_of(bucket_of(v));
            let err = (mid as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 0.016, "{v} → {mid}");
        }
        for b in 0..BUCKETS - 1 {
            assert!(value_of(b) < value_of(b + 1));
        }
    }

    #[test]
    fn quantiles_follow_the_values() {
        let h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.02, "{p50}");
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.02, "{p99}");
        assert_eq!(h.max(), Some(1_000_000));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
