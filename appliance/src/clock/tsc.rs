//! A clock built on the CPU's time-stamp counter (TSC), for data planes whose NIC has no
//! hardware clock (DPDK PMDs without timesync, which is every PMD on this project's test
//! machines).
//!
//! The model is `ns(tsc) = base_ns + (tsc − base_tsc) · ns_per_tick`: an offset and a rate,
//! calibrated against a reference clock (CLOCK_REALTIME → TAI) by least squares over a
//! burst of paired readings, kept on track by [`TscClock::track`] (a frequency-locked loop
//! that slews, never steps, unless the error is gross), and adjustable like a PHC
//! ([`TscClock::adjust_frequency`], [`TscClock::step`]) so a servo can discipline it.
//!
//! Reading it costs one `rdtsc` and a multiply: no syscall on the hot path. It needs an
//! invariant TSC (`constant_tsc nonstop_tsc` in /proc/cpuinfo), which [`invariant_tsc`]
//! checks.

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// A calibration or tracking problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TscError {
    /// Too few samples to fit a line.
    #[error("TSC calibration needs at least 2 samples spanning time, got {0}")]
    TooFewSamples(usize),
    /// The fitted rate is not a plausible CPU frequency.
    #[error("TSC calibration found {hz:.0} Hz, outside 100 MHz – 10 GHz")]
    ImplausibleRate {
        /// The fitted frequency.
        hz: f64,
    },
}

/// The TSC clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TscClock {
    base_tsc: u64,
    base_ns: i128,
    ns_per_tick: f64,
    /// The calibrated rate, before any frequency adjustment.
    nominal_ns_per_tick: f64,
    /// The tracking loop's integral term, ppb.
    integral_ppb: f64,
}

/// Most the tracking loop may adjust the rate, ppb (the kernel slews CLOCK_REALTIME by at
/// most 500 ppm, so the reference cannot move faster than that).
const MAX_TRACK_PPB: f64 = 500_000.0;
/// Proportional and integral gains of the tracking loop (linuxptp's PI servo defaults).
const KP: f64 = 0.7;
const KI: f64 = 0.3;
/// Errors beyond this are stepped, not slewed (ns).
const STEP_THRESHOLD_NS: i128 = 1_000_000;

impl TscClock {
    /// Fits `ns = a + b·tsc` to `(tsc, reference_ns)` pairs by least squares; a TSC rate
    /// outside 100 MHz–10 GHz is refused.
    pub fn from_samples(samples: &[(u64, i128)]) -> Result<TscClock, TscError> {
        Self::fit(samples, 1e8..=1e10)
    }

    /// [`Self::from_samples`] for a reference in other units than ns (a NIC's device clock):
    /// `plausible_hz` bounds the TSC ticks per 10⁹ reference units.
    pub fn fit(
        samples: &[(u64, i128)],
        plausible_hz: std::ops::RangeInclusive<f64>,
    ) -> Result<TscClock, TscError> {
        if samples.len() < 2 {
            return Err(TscError::TooFewSamples(samples.len()));
        }
        let (t0, n0) = samples[0];
        // Work relative to the first sample so f64 keeps its precision.
        let pts: Vec<(f64, f64)> = samples
            .iter()
            .map(|&(t, n)| (t.wrapping_sub(t0) as f64, (n - n0) as f64))
            .collect();
        let k = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / k;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / k;
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if sxx <= 0.0 {
            return Err(TscError::TooFewSamples(samples.len()));
        }
        let b = sxy / sxx;
        let hz = 1e9 / b;
        if !plausible_hz.contains(&hz) {
            return Err(TscError::ImplausibleRate { hz });
        }
        let a = my - b * mx;
        Ok(TscClock {
            base_tsc: t0,
            base_ns: n0 + a.round() as i128,
            ns_per_tick: b,
            nominal_ns_per_tick: b,
            integral_ppb: 0.0,
        })
    }

    /// Calibrates by reading `n` pairs `spacing` apart. Each pair takes the TSC on both sides
    /// of the reference read and uses the midpoint (the reference read's cost cancels).
    pub fn calibrate(
        mut read_tsc: impl FnMut() -> u64,
        mut read_reference_ns: impl FnMut() -> i128,
        n: usize,
        mut wait: impl FnMut(),
    ) -> Result<TscClock, TscError> {
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let a = read_tsc();
            let r = read_reference_ns();
            let b = read_tsc();
            samples.push((a + (b.wrapping_sub(a)) / 2, r));
            wait();
        }
        TscClock::from_samples(&samples)
    }

    /// The time at counter value `tsc`, ns on the reference's timescale.
    #[inline]
    pub fn ns_at(&self, tsc: u64) -> i128 {
        let dt = tsc.wrapping_sub(self.base_tsc) as i64 as f64;
        self.base_ns + i128::from(round_i64(dt * self.ns_per_tick))
    }

    /// The counter value at which the clock reads `ns` (the inverse of [`Self::ns_at`]).
    #[inline]
    pub fn tsc_at(&self, ns: i128) -> u64 {
        let dt = round_i64((ns - self.base_ns) as f64 / self.ns_per_tick);
        self.base_tsc.wrapping_add(dt as u64)
    }

    /// The counter's frequency as currently modelled, Hz.
    pub fn frequency_hz(&self) -> f64 {
        1e9 / self.ns_per_tick
    }

    /// Current frequency adjustment relative to the calibration, ppb.
    pub fn frequency_adjustment_ppb(&self) -> f64 {
        (self.ns_per_tick / self.nominal_ns_per_tick - 1.0) * 1e9
    }

    /// Moves the origin to `tsc` without changing the time it reads (keeps f64 deltas small
    /// and makes rate changes continuous).
    fn rebase(&mut self, tsc: u64) {
        self.base_ns = self.ns_at(tsc);
        self.base_tsc = tsc;
    }

    /// Sets the frequency adjustment (like `clock_adjtime(ADJ_FREQUENCY)` on a PHC): the clock
    /// runs `ppb` parts per billion faster than calibrated, from `tsc` on, continuously.
    pub fn adjust_frequency(&mut self, tsc: u64, ppb: f64) {
        self.rebase(tsc);
        self.ns_per_tick = self.nominal_ns_per_tick * (1.0 + ppb * 1e-9);
    }

    /// Steps the clock by `ns` (like `clock_adjtime(ADJ_SETOFFSET)`).
    pub fn step(&mut self, ns: i128) {
        self.base_ns += ns;
    }

    /// One tracking update against the reference: `reference_ns` was read at `tsc`, and
    /// `interval_s` seconds passed since the previous update. Gross errors (> 1 ms) are
    /// stepped; smaller ones are slewed away by a PI loop on the frequency (never a step).
    /// Returns the error before the update (ours − reference).
    pub fn track(&mut self, tsc: u64, reference_ns: i128, interval_s: f64) -> i128 {
        let err = self.ns_at(tsc) - reference_ns;
        if err.abs() > STEP_THRESHOLD_NS {
            self.rebase(tsc);
            self.step(-err);
            self.integral_ppb = self.frequency_adjustment_ppb();
            return err;
        }
        // err ns accumulated over interval_s seconds is err/interval_s ppb of rate error.
        let e_ppb = err as f64 / interval_s.max(0.001);
        self.integral_ppb = (self.integral_ppb - KI * e_ppb).clamp(-MAX_TRACK_PPB, MAX_TRACK_PPB);
        let ppb = (self.integral_ppb - KP * e_ppb).clamp(-MAX_TRACK_PPB, MAX_TRACK_PPB);
        self.adjust_frequency(tsc, ppb);
        err
    }
}

/// Reads the reference `tries` times, each between two TSC reads (as [`TscClock::calibrate`]
/// does), and keeps the narrowest: its width in ticks, its TSC midpoint and the reference
/// reading. A read the thread was preempted in is wide and loses to any other.
pub fn narrowest_read(
    tries: usize,
    mut read_tsc: impl FnMut() -> u64,
    mut read_reference_ns: impl FnMut() -> i128,
) -> Option<(u64, u64, i128)> {
    (0..tries)
        .map(|_| {
            let a = read_tsc();
            let r = read_reference_ns();
            let width = read_tsc().wrapping_sub(a);
            (width, a.wrapping_add(width / 2), r)
        })
        .min_by_key(|&(width, _, _)| width)
}

/// A [`TscClock`] published by one thread (the one that disciplines it) and read by others
/// (the TX stage computing one-step launch times and residence times), without locks: a
/// sequence lock over atomics. The writer makes the sequence odd, stores the model, makes it
/// even again; a reader retries while the sequence is odd or changed under it. Reads cost a
/// few loads; a retry happens only during a publish (once a second).
#[derive(Debug)]
pub struct SharedTscClock {
    seq: AtomicU64,
    base_tsc: AtomicU64,
    base_ns_hi: AtomicU64,
    base_ns_lo: AtomicU64,
    ns_per_tick: AtomicU64,
}

impl SharedTscClock {
    /// Starts with `c`.
    pub fn new(c: &TscClock) -> SharedTscClock {
        let s = SharedTscClock {
            seq: AtomicU64::new(0),
            base_tsc: AtomicU64::new(0),
            base_ns_hi: AtomicU64::new(0),
            base_ns_lo: AtomicU64::new(0),
            ns_per_tick: AtomicU64::new(0),
        };
        s.publish(c);
        s
    }

    /// Publishes a new model. One writer at a time (the thread that owns the [`TscClock`]).
    pub fn publish(&self, c: &TscClock) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.base_tsc.store(c.base_tsc, Ordering::Relaxed);
        let ns = c.base_ns as u128;
        self.base_ns_hi.store((ns >> 64) as u64, Ordering::Relaxed);
        self.base_ns_lo.store(ns as u64, Ordering::Relaxed);
        self.ns_per_tick
            .store(c.ns_per_tick.to_bits(), Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The time at counter value `tsc` by the latest published model (see [`TscClock::ns_at`]).
    #[inline]
    pub fn ns_at(&self, tsc: u64) -> i128 {
        self.load().ns_at(tsc)
    }

    /// The latest published model.
    pub fn load(&self) -> TscClock {
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let base_tsc = self.base_tsc.load(Ordering::Relaxed);
            let hi = self.base_ns_hi.load(Ordering::Relaxed);
            let lo = self.base_ns_lo.load(Ordering::Relaxed);
            let npt = f64::from_bits(self.ns_per_tick.load(Ordering::Relaxed));
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != s1 {
                continue;
            }
            return TscClock {
                base_tsc,
                base_ns: (((hi as u128) << 64) | lo as u128) as i128,
                ns_per_tick: npt,
                nominal_ns_per_tick: npt,
                integral_ppb: 0.0,
            };
        }
    }

    /// The counter value at which the latest model reads `ns` (see [`TscClock::tsc_at`]).
    #[inline]
    pub fn tsc_at(&self, ns: i128) -> u64 {
        self.load().tsc_at(ns)
    }
}

/// `x` rounded half away from zero, saturating at the i64 range. On every conversion: unlike
/// `f64::round` (a libm call without SSE4.1) and `as i128` (a software conversion) this is
/// an add and one instruction.
#[inline]
fn round_i64(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// Whether /proc/cpuinfo says the TSC is invariant (runs at a constant rate in every
/// P-/C-state): both `constant_tsc` and `nonstop_tsc`.
pub fn invariant_tsc() -> bool {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| {
            s.lines()
                .find(|l| l.starts_with("flags"))
                .is_some_and(|l| l.contains(" constant_tsc") && l.contains(" nonstop_tsc"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simulated TSC: `hz` ticks per second of true time, starting at `t0`.
    fn tsc_at(true_ns: i128, hz: f64, t0: u64) -> u64 {
        t0 + (true_ns as f64 * hz / 1e9) as u64
    }

    #[test]
    fn the_narrowest_reference_read_counts() {
        // TSC reads around four reference reads; the second was preempted for 300 µs.
        let mut tsc = [
            1_000u64, 1_900, 10_000, 310_000, 400_000, 400_800, 800_000, 801_000,
        ]
        .into_iter();
        let mut reference = [5_000i128, 320_000, 700_400, 1_100_000].into_iter();
        let best = narrowest_read(4, || tsc.next().unwrap(), || reference.next().unwrap());
        assert_eq!(best, Some((800, 400_400, 700_400)));
        assert_eq!(narrowest_read(0, || 0, || 0), None);
    }

    #[test]
    fn calibrates_rate_and_offset() {
        let hz = 2_100_123_456.0;
        let start: i128 = 1_700_000_037_000_000_000;
        let samples: Vec<(u64, i128)> = (0..100)
            .map(|k| {
                let t = start + k * 1_000_000; // 1 ms apart
                                               // ±30 ns reference read noise, deterministic.
                let noise = (k * 7919) % 61 - 30;
                (tsc_at(t - start, hz, 1 << 40), t + noise)
            })
            .collect();
        let c = TscClock::from_samples(&samples).unwrap();
        assert!(
            (c.frequency_hz() - hz).abs() < 2_000.0,
            "{}",
            c.frequency_hz()
        );
        // One second after calibration it reads within 1 µs of the truth.
        let t = start + 1_100_000_000;
        let err = c.ns_at(tsc_at(t - start, hz, 1 << 40)) - t;
        assert!(err.abs() < 1_000, "error {err} ns");
    }

    #[test]
    fn frequency_adjustment_is_continuous_and_takes_effect() {
        let mut c = TscClock::from_samples(&[(0, 0), (1_000_000_000, 500_000_000)]).unwrap();
        assert_eq!(c.ns_at(2_000_000_000), 1_000_000_000);
        let before = c.ns_at(2_000_000_000);
        c.adjust_frequency(2_000_000_000, 1_000.0); // +1 ppm
        assert_eq!(c.ns_at(2_000_000_000), before, "no jump");
        // 2e9 ticks later (1 s nominal) it has gained 1 µs.
        assert_eq!(c.ns_at(4_000_000_000) - before, 1_000_001_000);
        c.step(-5);
        assert_eq!(c.ns_at(4_000_000_000) - before, 1_000_000_995);
        assert!((c.frequency_adjustment_ppb() - 1_000.0).abs() < 1e-6);
    }

    #[test]
    fn tracking_follows_a_drifting_reference() {
        let hz = 2.1e9;
        // Calibrate perfectly, then the reference drifts +20 ppm (e.g. NTP slewing).
        let mut c = TscClock::from_samples(&[(0, 0), (2_100_000_000, 1_000_000_000)]).unwrap();
        let mut errs = Vec::new();
        for k in 1..=120 {
            let true_ns: i128 = k * 1_000_000_000;
            let reference = true_ns + (true_ns * 20 / 1_000_000);
            let tsc = (true_ns as f64 * hz / 1e9) as u64;
            errs.push(c.track(tsc, reference, 1.0));
        }
        let last = errs.last().copied().unwrap_or_default();
        assert!(
            last.abs() < 100,
            "tracking error after 2 min {last} ns; {errs:?}"
        );
        assert!((c.frequency_adjustment_ppb() - 20_000.0).abs() < 10.0);
        // A gross error is stepped away at once.
        let tsc = (121e9 * hz / 1e9) as u64;
        c.track(tsc, 121_000_000_000 + 50_000_000, 1.0);
        assert!((c.ns_at(tsc) - 121_000_000_000 - 50_000_000).abs() < 10);
    }

    #[test]
    fn shared_clock_reads_what_was_published_even_under_concurrent_publishes() {
        let mut c = TscClock::from_samples(&[(0, 0), (1_000_000_000, 500_000_000)]).unwrap();
        let shared = std::sync::Arc::new(SharedTscClock::new(&c));
        assert_eq!(shared.ns_at(2_000_000_000), c.ns_at(2_000_000_000));
        // A negative base and a base beyond 64 bits survive the split into words.
        c.step(-(1i128 << 70));
        shared.publish(&c);
        assert_eq!(shared.ns_at(123_456_789), c.ns_at(123_456_789));
        // Every model published below reads exactly V at tsc T, with a different base and
        // rate each: a reader mixing the words of two models (a torn read) would not.
        const T: u64 = 1_000_000_000_000;
        const V: i128 = 1_700_000_000_000_000_000;
        let model = |k: u64| {
            let npt = 0.4 + k as f64 * 1e-7;
            let base_tsc = k * 1_000;
            let dt = T.wrapping_sub(base_tsc) as i64 as f64;
            TscClock {
                base_tsc,
                base_ns: V - (dt * npt).round() as i128,
                ns_per_tick: npt,
                nominal_ns_per_tick: npt,
                integral_ppb: 0.0,
            }
        };
        shared.publish(&model(0));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let shared = std::sync::Arc::clone(&shared);
            let done = std::sync::Arc::clone(&done);
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) || reads < 1_000 {
                    assert_eq!(shared.ns_at(T), V, "torn read after {reads} reads");
                    reads += 1;
                }
            })
        };
        for k in 0..2_000_000 {
            shared.publish(&model(k));
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
    }

    #[test]
    fn tsc_at_inverts_ns_at() {
        let c = TscClock::from_samples(&[(1_000, 5_000_000_000), (2_600_001_000, 6_000_000_000)])
            .unwrap();
        for tsc in [1_000u64, 77_777_777, 2_600_001_000, 9_999_999_999] {
            let back = c.tsc_at(c.ns_at(tsc));
            assert!(back.abs_diff(tsc) <= 2, "{tsc} → {back}");
        }
        let shared = SharedTscClock::new(&c);
        assert_eq!(shared.tsc_at(5_500_000_000), c.tsc_at(5_500_000_000));
    }

    #[test]
    fn round_i64_matches_f64_round() {
        for x in [
            0.0,
            0.4,
            0.5,
            0.6,
            1.5,
            2.5,
            -0.4,
            -0.5,
            -0.6,
            -1.5,
            -2.5,
            1e15 + 0.5,
            -1e15 - 0.5,
            123_456_789.49,
            -123_456_789.51,
        ] {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
        assert_eq!(round_i64(1e300), i64::MAX);
        assert_eq!(round_i64(-1e300), i64::MIN);
    }

    #[test]
    fn rejects_nonsense() {
        assert_eq!(
            TscClock::from_samples(&[(1, 1)]),
            Err(TscError::TooFewSamples(1))
        );
        assert!(matches!(
            TscClock::from_samples(&[(0, 0), (10, 1_000_000_000)]),
            Err(TscError::ImplausibleRate { .. })
        ));
    }
}
