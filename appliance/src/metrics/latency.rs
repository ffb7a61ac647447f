//! Measurements the data plane records on its hot path and the control socket reports.
//!
//! [`LatencyHistogram`] is a log-linear histogram of nanosecond values over atomic counters:
//! recording is two relaxed atomic adds and a compare (no lock, no allocation, no syscall),
//! from any thread; reading takes a [`HistogramSnapshot`] at any time from any other thread.
//! Values below 64 ns have a bucket each; above, every power of two is split into 32
//! buckets, so a reported value is at most 1/32 (3.1 %) above the true one.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Sub-buckets per power of two (2^SUB_BITS).
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Values below this have a bucket each.
const LINEAR: u64 = 64;
/// The exponent of LINEAR.
const LINEAR_EXP: u32 = 6;
const BUCKETS: usize = LINEAR as usize + (64 - LINEAR_EXP as usize) * SUB;

fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let m = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    LINEAR as usize + (e - LINEAR_EXP) as usize * SUB + m
}

/// The largest value that falls in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    if i < LINEAR as usize {
        return i as u64;
    }
    let k = i - LINEAR as usize;
    let e = (k / SUB) as u32 + LINEAR_EXP;
    let m = (k % SUB) as u64;
    let width = 1u64 << (e - SUB_BITS);
    ((SUB as u64 + m) << (e - SUB_BITS)).saturating_add(width - 1)
}

/// A histogram of nanosecond values (see the module docs).
pub struct LatencyHistogram {
    counts: Box<[AtomicU64]>,
    max: AtomicU64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.snapshot();
        f.debug_struct("LatencyHistogram")
            .field("count", &s.count())
            .field("max", &s.max)
            .finish()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (about 15 KiB, allocated here once).
    pub fn new() -> LatencyHistogram {
        LatencyHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max: AtomicU64::new(0),
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&self, ns: u64) {
        self.counts[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        if ns > self.max.load(Ordering::Relaxed) {
            self.max.fetch_max(ns, Ordering::Relaxed);
        }
    }

    /// The counts so far (cumulative since creation).
    pub fn snapshot(&self) -> HistogramSnapshot {
        let buckets = self
            .counts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let n = c.load(Ordering::Relaxed);
                (n > 0).then_some([upper_bound(i), n])
            })
            .collect();
        HistogramSnapshot {
            buckets,
            max: self.max.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's counts at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// `[upper bound ns, count]` of every non-empty bucket, by bound.
    pub buckets: Vec<[u64; 2]>,
    /// The largest value recorded.
    pub max: u64,
}

impl HistogramSnapshot {
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b[1]).sum()
    }

    /// The value at quantile `q` (0–1): the upper bound of the bucket holding it (never above
    /// the maximum recorded); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for b in &self.buckets {
            seen += b[1];
            if seen >= rank {
                return b[0].min(self.max);
            }
        }
        self.max
    }

    /// The summary the control socket reports.
    pub fn report(&self) -> LatencyReport {
        LatencyReport {
            count: self.count(),
            p50_ns: self.quantile(0.5),
            p99_ns: self.quantile(0.99),
            p999_ns: self.quantile(0.999),
            max_ns: self.max,
            buckets: self.buckets.clone(),
        }
    }
}

/// Percentiles of a [`LatencyHistogram`], with its buckets so a reader can take the
/// difference of two reports and compute percentiles for the interval between them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LatencyReport {
    /// Values recorded since start.
    pub count: u64,
    /// Median, ns.
    pub p50_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// 99.9th percentile, ns.
    pub p999_ns: u64,
    /// Largest value, ns.
    pub max_ns: u64,
    /// `[upper bound ns, count]` of every non-empty bucket, by bound, cumulative since start.
    pub buckets: Vec<[u64; 2]>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order_within_one_32nd() {
        let mut last = 0;
        for i in 0..BUCKETS {
            let u = upper_bound(i);
            assert!(i == 0 || u > last, "bucket {i} bound {u} not above {last}");
            assert_eq!(bucket_of(u), i, "upper bound {u} of bucket {i}");
            if i + 1 < BUCKETS {
                assert_eq!(bucket_of(u + 1), i + 1, "value after bucket {i}");
            }
            last = u;
        }
        assert_eq!(upper_bound(BUCKETS - 1), u64::MAX);
        for v in [64u64, 65, 100, 999, 1_000, 4_999, 123_456_789, u64::MAX / 3] {
            let u = upper_bound(bucket_of(v));
            assert!(u >= v && (u - v) as f64 <= v as f64 / 32.0, "{v} → {u}");
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = LatencyHistogram::new();
        // 1..=10_000 ns once each: p50 = 5 000, p99 = 9 900, p99.9 = 9 990 (within 1/32).
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 10_000);
        assert_eq!(s.max, 10_000);
        for (q, want) in [
            (0.5, 5_000u64),
            (0.99, 9_900),
            (0.999, 9_990),
            (1.0, 10_000),
        ] {
            let got = s.quantile(q);
            assert!(
                got >= want && got - want <= want / 32,
                "q{q}: {got}, want {want}"
            );
        }
        assert_eq!(HistogramSnapshot::default().quantile(0.5), 0);
        let r = s.report();
        assert_eq!(r.count, 10_000);
        assert_eq!(r.buckets.iter().map(|b| b[1]).sum::<u64>(), 10_000);
    }

    #[test]
    fn records_from_several_threads() {
        let h = std::sync::Arc::new(LatencyHistogram::new());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let h = std::sync::Arc::clone(&h);
                std::thread::spawn(move || {
                    for i in 0..10_000u64 {
                        h.record(i * 4 + t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 40_000);
        assert_eq!(s.max, 39_999);
    }
}
