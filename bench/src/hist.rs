//! A fixed-size log-linear latency histogram (HDR style): exact below 64, then 64 buckets
//! per power of two, so a percentile is reported with at most 1/64 (1.6 %) relative error.
//! Recording is one index computation and an increment; nothing allocates after `new`.

/// Sub-bucket bits: 2^6 = 64 buckets per octave.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets needed for every `u64`.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Counts of values (e.g. nanoseconds) in log-linear buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    min: u64,
    max: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The bucket of `v`.
fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // e >= SUB_BITS
    let shift = e - SUB_BITS;
    (((shift + 1) as u64) << SUB_BITS) as usize + ((v >> shift) & (SUB - 1)) as usize
}

/// The largest value bucket `i` holds.
fn upper_bound(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = (i >> SUB_BITS) - 1;
    let mant = i & (SUB - 1);
    let lower = (SUB + mant) << shift;
    lower + ((1u64 << shift) - 1)
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.total += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += u128::from(v);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The smallest value recorded (0 if none).
    pub fn min(&self) -> u64 {
        if self.total == 0 {
            0
        } else {
            self.min
        }
    }

    /// The mean (0 if none).
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// The value at quantile `q` (0–1): the upper bound of the bucket holding the
    /// ⌈q·n⌉-th smallest value, never above the maximum recorded. 0 if empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = rank(q, self.total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.min = u64::MAX;
        self.max = 0;
        self.sum = 0;
    }
}

/// The 1-based rank of quantile `q` among `n` values: ⌈q·n⌉, at least 1, at most n.
pub fn rank(q: f64, n: u64) -> u64 {
    ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).clamp(1, n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_tight() {
        let mut prev = 0;
        for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let i = index(v);
            assert!(i >= prev, "index not monotone at {v}");
            prev = i;
            assert!(i < BUCKETS);
            let ub = upper_bound(i);
            assert!(ub >= v, "{v} above its bucket's bound {ub}");
            assert!(
                (ub - v) as f64 <= v as f64 / 64.0 + 1.0,
                "{v}: bound {ub} too loose"
            );
            if i > 0 {
                assert!(upper_bound(i - 1) < v, "{v} fits an earlier bucket");
            }
        }
    }

    #[test]
    fn quantiles() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), 0);
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.min(), 1);
        assert_eq!(h.max(), 1000);
        assert!((h.mean() - 500.5).abs() < 1e-9);
        let p50 = h.quantile(0.5);
        assert!((500..=508).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99);
        assert!((990..=1000).contains(&p99), "{p99}");
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.quantile(0.0), 1);
        h.clear();
        assert_eq!(h.count(), 0);
        assert_eq!(h.quantile(0.99), 0);
    }

    #[test]
    fn ranks() {
        assert_eq!(rank(0.5, 10), 5);
        assert_eq!(rank(0.999, 1000), 999);
        assert_eq!(rank(0.999, 1001), 1000);
        assert_eq!(rank(0.0, 7), 1);
        assert_eq!(rank(1.0, 7), 7);
    }
}
