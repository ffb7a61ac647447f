//! Latency histograms for the load generators: `hdrhistogram` (1 ns to 60 s, three
//! significant digits, so a percentile is within 0.1 %), behind the few calls the
//! generators make. Recording is an index computation and an increment; nothing allocates
//! after `new`.

/// The largest value kept (larger ones are recorded as this), ns.
pub const HIGHEST: u64 = 60_000_000_000;
const SIGFIG: u8 = 3;

/// Counts of values (e.g. nanoseconds).
#[derive(Debug, Clone)]
pub struct Histogram {
    h: hdrhistogram::Histogram<u64>,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            // Constant, valid bounds: this cannot fail.
            h: hdrhistogram::Histogram::new_with_bounds(1, HIGHEST, SIGFIG)
                .expect("constant histogram bounds"),
            sum: 0,
        }
    }

    /// Records one value (0 counts as 1, beyond [`HIGHEST`] as that; the mean keeps the
    /// exact value).
    #[inline]
    pub fn record(&mut self, v: u64) {
        // In bounds by construction, so this cannot fail.
        let _ = self.h.record(v.clamp(1, HIGHEST));
        self.sum += u128::from(v);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// The largest value recorded (0 if none), within the histogram's precision.
    pub fn max(&self) -> u64 {
        if self.h.is_empty() {
            0
        } else {
            self.h.max()
        }
    }

    /// The smallest value recorded (0 if none), within the histogram's precision.
    pub fn min(&self) -> u64 {
        if self.h.is_empty() {
            0
        } else {
            self.h.min()
        }
    }

    /// The exact mean (0 if none).
    pub fn mean(&self) -> f64 {
        if self.h.is_empty() {
            0.0
        } else {
            self.sum as f64 / self.h.len() as f64
        }
    }

    /// The value at quantile `q` (0–1): the upper end of the bucket holding the
    /// ⌈q·n⌉-th smallest value, never above the maximum recorded. 0 if empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.h.is_empty() {
            return 0;
        }
        let v = self.h.value_at_quantile(q.clamp(0.0, 1.0));
        self.h.highest_equivalent(v).min(self.h.max())
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.h.reset();
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
    fn quantiles() {
        let mut h = Histogram::new();
        assert_eq!(h.quantile(0.5), 0);
        assert_eq!((h.min(), h.max(), h.count()), (0, 0, 0));
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 1000);
        assert_eq!(h.min(), 1);
        assert_eq!(h.max(), 1000);
        assert!((h.mean() - 500.5).abs() < 1e-9);
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.quantile(1.0), 1000);
        assert_eq!(h.quantile(0.0), 1);
        h.clear();
        assert_eq!(h.count(), 0);
        assert_eq!(h.quantile(0.99), 0);
    }

    #[test]
    fn large_values_keep_three_digits() {
        let mut h = Histogram::new();
        for v in [1_234_567u64, 2_000_000, 9_999_999, u64::MAX] {
            h.record(v);
        }
        let p25 = h.quantile(0.25);
        assert!(p25.abs_diff(1_234_567) <= 1_235, "{p25}");
        assert!(h.max() >= HIGHEST);
        assert!(h.mean() > 1e18, "the mean keeps the exact values");
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
