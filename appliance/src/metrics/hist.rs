//! Duration histograms recorded on the data plane and read by the collector, with
//! `hdrhistogram` (1 ns to 60 s, two significant digits: a value is reported within 1 %).
//!
//! The writer and the reader never wait for each other. Each recording site owns a
//! [`Recorder`] — its own histogram, recorded into without lock, allocation or syscall — and
//! now and then [`Recorder::publish`]es it: *if* the collector is not reading at that moment
//! (`try_lock`), the counts are added into the [`SharedHistogram`] and the recorder starts
//! afresh; otherwise they stay and go with the next publish. The collector locks the shared
//! histogram only to copy it. Several recorders (a port's own loop and its pipeline TX stage)
//! may publish into one shared histogram.

use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The largest duration kept, ns (larger ones are recorded as this).
pub const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept.
const SIGFIG: u8 = 2;

fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("constant histogram bounds")
}

/// What the collector reads: the counts every recorder has published.
#[derive(Debug)]
pub struct SharedHistogram {
    hist: Mutex<Histogram<u64>>,
}

impl Default for SharedHistogram {
    fn default() -> Self {
        SharedHistogram {
            hist: Mutex::new(new_histogram()),
        }
    }
}

impl SharedHistogram {
    /// An empty histogram (about 20 KiB, allocated here once).
    pub fn new() -> Arc<SharedHistogram> {
        Arc::new(SharedHistogram::default())
    }

    /// A recorder publishing into this histogram.
    pub fn recorder(self: &Arc<Self>) -> Recorder {
        Recorder {
            local: new_histogram(),
            shared: Arc::clone(self),
            unpublished: false,
        }
    }

    /// A copy of what has been published so far (cumulative since start).
    pub fn snapshot(&self) -> Histogram<u64> {
        match self.hist.lock() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The writing side of a [`SharedHistogram`], owned by one thread.
#[derive(Debug)]
pub struct Recorder {
    local: Histogram<u64>,
    shared: Arc<SharedHistogram>,
    unpublished: bool,
}

impl Recorder {
    /// Records one duration, ns (0 counts as 1 ns, beyond [`HIGHEST_NS`] as that).
    #[inline]
    pub fn record(&mut self, ns: u64) {
        // In bounds by construction, so this cannot fail.
        let _ = self.local.record(ns.clamp(1, HIGHEST_NS));
        self.unpublished = true;
    }

    /// Hands the counts recorded since the last publish to the collector, unless it is
    /// reading right now (then they wait for the next call). Never blocks; allocates
    /// nothing (both histograms have the same bounds).
    pub fn publish(&mut self) {
        if !self.unpublished {
            return;
        }
        if let Ok(mut shared) = self.shared.hist.try_lock() {
            if shared.add(&self.local).is_ok() {
                self.local.reset();
                self.unpublished = false;
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // The last counts go in even if the collector is reading: wait for it once.
        if self.unpublished {
            if let Ok(mut shared) = self.shared.hist.lock() {
                let _ = shared.add(&self.local);
            }
        }
    }
}

/// Percentiles of a duration histogram, with its buckets so a reader can take the
/// difference of two reports and compute percentiles for the interval between them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Sum of the values, ns (within the histogram's 1 %).
    #[serde(default)]
    pub sum_ns: u64,
    /// `[upper bound ns, count]` of every non-empty bucket, by bound, cumulative since start.
    pub buckets: Vec<[u64; 2]>,
}

impl LatencyReport {
    /// The report of `h`.
    pub fn of(h: &Histogram<u64>) -> LatencyReport {
        let q = |q: f64| {
            if h.is_empty() {
                0
            } else {
                h.highest_equivalent(h.value_at_quantile(q)).min(h.max())
            }
        };
        let mut sum = 0u128;
        let buckets = h
            .iter_recorded()
            .map(|v| {
                sum += u128::from(h.median_equivalent(v.value_iterated_to()))
                    * u128::from(v.count_at_value());
                [
                    h.highest_equivalent(v.value_iterated_to()),
                    v.count_at_value(),
                ]
            })
            .collect();
        LatencyReport {
            count: h.len(),
            p50_ns: q(0.5),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: h.max(),
            sum_ns: sum.min(u128::from(u64::MAX)) as u64,
            buckets,
        }
    }

    /// Cumulative counts at each of `bounds_ns` (ascending): values ≤ the bound, as
    /// Prometheus histogram buckets want them. A histogram bucket is counted under a bound
    /// when its whole range is at or below it, so a count is at most 1 % early.
    pub fn cumulative_at(&self, bounds_ns: &[u64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(bounds_ns.len());
        let mut seen = 0;
        let mut it = self.buckets.iter().peekable();
        for &bound in bounds_ns {
            while let Some(b) = it.next_if(|b| b[0] <= bound) {
                seen += b[1];
            }
            out.push(seen);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorders_publish_into_the_shared_histogram() {
        let shared = SharedHistogram::new();
        let mut a = shared.recorder();
        let mut b = shared.recorder();
        for v in 1..=10_000u64 {
            a.record(v);
        }
        b.record(0);
        b.record(u64::MAX);
        assert_eq!(shared.snapshot().len(), 0, "nothing before a publish");
        a.publish();
        b.publish();
        let h = shared.snapshot();
        assert_eq!(h.len(), 10_002);
        let r = LatencyReport::of(&h);
        assert_eq!(r.count, 10_002);
        for (got, want) in [(r.p50_ns, 5_000u64), (r.p99_ns, 9_900), (r.p999_ns, 9_990)] {
            assert!(got.abs_diff(want) <= want / 100 + 1, "{got} vs {want}");
        }
        assert_eq!(r.buckets.iter().map(|b| b[1]).sum::<u64>(), 10_002);
        assert!(r.max_ns >= HIGHEST_NS, "clamped to the highest value");
        // Published counts leave the recorder: a second publish adds nothing.
        a.publish();
        assert_eq!(shared.snapshot().len(), 10_002);
    }

    #[test]
    fn a_busy_collector_never_blocks_the_recorder() {
        let shared = SharedHistogram::new();
        let mut r = shared.recorder();
        r.record(100);
        {
            let _reading = shared.hist.lock().unwrap();
            r.publish(); // returns at once; the value stays in the recorder
        }
        assert_eq!(shared.snapshot().len(), 0);
        r.record(200);
        r.publish();
        assert_eq!(shared.snapshot().len(), 2);
        // Dropping a recorder hands over what it still holds.
        r.record(300);
        drop(r);
        assert_eq!(shared.snapshot().len(), 3);
    }

    #[test]
    fn prometheus_buckets_are_cumulative() {
        let shared = SharedHistogram::new();
        let mut r = shared.recorder();
        for v in [50, 150, 150, 900, 5_000, 20_000_000] {
            r.record(v);
        }
        r.publish();
        let rep = LatencyReport::of(&shared.snapshot());
        assert_eq!(
            rep.cumulative_at(&[100, 200, 1_000, 10_000, 10_000_000]),
            [1, 3, 4, 5, 5]
        );
        assert!(rep.sum_ns.abs_diff(20_006_250) < 200_000, "{}", rep.sum_ns);
    }
}
