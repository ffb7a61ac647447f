//! Offset statistics.

use std::fmt;

/// Summary of `(offset_ns, path_delay_ns)` samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OffsetStats {
    /// Number of samples.
    pub n: usize,
    /// Mean offset, ns.
    pub mean_ns: f64,
    /// Standard deviation of the offset (population), ns.
    pub stddev_ns: f64,
    /// Largest |offset|, ns.
    pub max_abs_ns: i64,
    /// Mean path delay, ns.
    pub mean_path_delay_ns: f64,
}

impl OffsetStats {
    /// Statistics of `samples`.
    ///
    /// # Panics
    /// If `samples` is empty.
    pub fn of(samples: &[(i64, i64)]) -> OffsetStats {
        assert!(!samples.is_empty(), "no offset samples");
        let n = samples.len();
        let mean = samples.iter().map(|s| s.0 as f64).sum::<f64>() / n as f64;
        let var = samples
            .iter()
            .map(|s| (s.0 as f64 - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        OffsetStats {
            n,
            mean_ns: mean,
            stddev_ns: var.sqrt(),
            max_abs_ns: samples.iter().map(|s| s.0.abs()).max().unwrap_or(0),
            mean_path_delay_ns: samples.iter().map(|s| s.1 as f64).sum::<f64>() / n as f64,
        }
    }
}

impl fmt::Display for OffsetStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n={} offset mean {:+.0} ns, stddev {:.0} ns, max |{}| ns; path delay mean {:.0} ns",
            self.n, self.mean_ns, self.stddev_ns, self.max_abs_ns, self.mean_path_delay_ns
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures() {
        let s = OffsetStats::of(&[(-2, 10), (2, 20), (-4, 30), (4, 40)]);
        assert_eq!(s.n, 4);
        assert_eq!(s.mean_ns, 0.0);
        assert!((s.stddev_ns - 10f64.sqrt()).abs() < 1e-9);
        assert_eq!(s.max_abs_ns, 4);
        assert_eq!(s.mean_path_delay_ns, 25.0);
    }
}
