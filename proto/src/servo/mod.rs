//! Clock servos: turn offset measurements of a clock against its reference into a step and
//! a frequency correction for that clock. Sans-IO: samples in, decisions out; no clock reads.
//!
//! * [`PiServo`] — a proportional-integral servo in the manner of linuxptp's `pi.c`: the first
//!   two samples estimate the frequency error (and step the clock if it is too far off), then
//!   every sample corrects the frequency by `kp·offset + ki·Σoffset`. Outliers are rejected
//!   while locked, and the servo reports how well it holds: [`ServoState`].
//! * [`LinregServo`] — a linear-regression servo after linuxptp's `linreg.c`, tried against
//!   the PI servo in the simulation (see `bench/README.md` for which wins where).
//! * [`gnss`] — pairs a GNSS receiver's PPS edges with its NMEA time of day, checked for
//!   consistency, into the offsets a servo needs.
//! * [`holdover`] — what may be announced: free-running, locked or holdover, the holdover
//!   error bound, and the clockClass / accuracy / variance / traceability that follow.
//! * [`nmea`] — NMEA 0183 time sentences from a GNSS receiver (RMC, ZDA, u-blox PUBX,04),
//!   and a reader that assembles them from serial bytes.
//! * [`sim`] — a simulated oscillator (initial frequency error, random-walk frequency noise,
//!   white phase noise on the measurements, a resolution) to judge servos by, used by the
//!   tests and by `bench`'s `servo_sim`.
//!
//! Sign conventions: an **offset** is `clock − reference` (positive: the clock is ahead); the
//! servo answers with the **step** to add to the clock and the **frequency** (ppb) to set on
//! it, absolute, positive meaning faster.

pub mod gnss;
pub mod holdover;
pub mod linreg;
pub mod nmea;
pub mod sim;

pub use linreg::{LinregConfig, LinregServo};

/// What every servo offers: samples in, what to do to the clock out.
pub trait Servo {
    /// One measurement: the clock was `offset_ns` ahead of its reference at the clock's time
    /// `local_ns`. Returns what to do to the clock.
    fn sample(&mut self, offset_ns: i64, local_ns: u64) -> ServoOutput;
    /// The state after the last sample.
    fn state(&self) -> ServoState;
    /// The frequency correction last asked for, ppb: what holdover keeps.
    fn frequency_ppb(&self) -> f64;
    /// What the servo has done.
    fn counters(&self) -> ServoCounters;
}

/// How far the servo has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServoState {
    /// No frequency estimate yet (fewer than two samples since the start or a reset).
    Unlocked,
    /// Correcting, the last offset outside the lock threshold.
    Locking,
    /// The last offset within the lock threshold.
    Locked,
    /// The last `stable_samples` offsets within the lock threshold: the clock is as good as
    /// its reference allows (a grandmaster announces class 6 only from here).
    LockedStable,
}

impl ServoState {
    /// The state's name (`unlocked`, `locking`, `locked`, `locked-stable`).
    pub fn name(self) -> &'static str {
        match self {
            ServoState::Unlocked => "unlocked",
            ServoState::Locking => "locking",
            ServoState::Locked => "locked",
            ServoState::LockedStable => "locked-stable",
        }
    }

    /// Whether the clock follows its reference (locked or locked-stable).
    pub fn is_locked(self) -> bool {
        self >= ServoState::Locked
    }
}

/// A PI servo's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PiConfig {
    /// Nominal seconds between samples (the gains are scaled to it as linuxptp does).
    pub interval_s: f64,
    /// Proportional gain at a 1 s interval (linuxptp: 0.7 hardware, 0.1 software).
    pub kp_scale: f64,
    /// Integral gain at a 1 s interval (linuxptp: 0.3 hardware, 0.001 software).
    pub ki_scale: f64,
    /// The first correction steps the clock if the offset is larger than this, ns (0: never).
    pub first_step_threshold_ns: u64,
    /// Any later offset larger than this steps the clock and restarts the servo, ns (0:
    /// never; the clock is then only slewed).
    pub step_threshold_ns: u64,
    /// The largest frequency correction, ppb (the clock's own limit).
    pub max_frequency_ppb: f64,
    /// An offset within this counts as locked, ns.
    pub lock_threshold_ns: u64,
    /// Consecutive locked samples before locked-stable.
    pub stable_samples: u32,
    /// While locked, a sample more than this many times the recent rms offset (and beyond
    /// the lock threshold) is an outlier and skipped; 0 turns the filter off.
    pub outlier_factor: f64,
    /// Consecutive outliers after which they are believed (the reference moved) and the
    /// servo goes back to locking.
    pub max_outliers: u32,
    /// Estimate the frequency from the first two samples, as linuxptp does (right for a
    /// precise reference). Off for a noisy one, whose two samples would differ by their
    /// noise: ±300 µs of jitter a second apart reads as ±300 ppm; the integral finds the
    /// frequency instead.
    pub initial_frequency_estimate: bool,
}

impl PiConfig {
    /// linuxptp's hardware-stamping defaults (kp 0.7, ki 0.3, first step above 20 µs, no
    /// later steps) for samples every `interval_s`, locked within 100 ns, stable after 16.
    pub fn hardware(interval_s: f64) -> Self {
        PiConfig {
            interval_s,
            kp_scale: 0.7,
            ki_scale: 0.3,
            first_step_threshold_ns: 20_000,
            step_threshold_ns: 0,
            max_frequency_ppb: 500_000.0,
            lock_threshold_ns: 100,
            stable_samples: 16,
            outlier_factor: 6.0,
            max_outliers: 3,
            initial_frequency_estimate: true,
        }
    }

    /// The gains (kp, ki) at this interval: `scale · interval^exponent` (exponents −0.3 and
    /// 0.4), capped at `scale / interval`, as linuxptp's `pi.c` computes them.
    pub fn gains(&self) -> (f64, f64) {
        let t = if self.interval_s.is_finite() && self.interval_s > 0.0 {
            self.interval_s
        } else {
            1.0
        };
        let kp = (self.kp_scale * t.powf(-0.3)).min(self.kp_scale / t);
        let ki = (self.ki_scale * t.powf(0.4)).min(self.ki_scale / t);
        (kp, ki)
    }
}

/// What the servo asks of the clock after a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServoOutput {
    /// Add this to the clock, ns (a step), if any.
    pub step_ns: Option<i64>,
    /// Set the clock's frequency correction to this, ppb (positive: faster); `None` leaves it
    /// as it is (an outlier, or the first sample).
    pub frequency_ppb: Option<f64>,
    /// The servo's state after the sample.
    pub state: ServoState,
}

/// Counts of what the servo did, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServoCounters {
    /// Samples taken (including rejected ones).
    pub samples: u64,
    /// Steps asked for.
    pub steps: u64,
    /// Samples skipped as outliers.
    pub outliers: u64,
    /// Restarts (a step past the first, a sample out of time order).
    pub resets: u64,
}

/// Offsets kept for the outlier filter's rms.
const WINDOW: usize = 16;

/// A proportional-integral clock servo (see the module documentation).
#[derive(Debug, Clone)]
pub struct PiServo {
    cfg: PiConfig,
    kp: f64,
    ki: f64,
    /// Samples since the start or a reset, up to 2.
    count: u8,
    /// The first sample after a (re)start: (offset ns, local time ns).
    first: (i64, u64),
    /// The frequency error estimate, ppb, in the servo's sign (as an offset grows).
    drift: f64,
    /// Whether the first correction is done (the first-step threshold applies to it only).
    first_done: bool,
    judge: LockJudge,
    last_frequency: f64,
    counters: ServoCounters,
}

/// Judges a servo's lock from the offsets it accepts, and its outliers: shared by the servos.
#[derive(Debug, Clone)]
pub(crate) struct LockJudge {
    lock_threshold_ns: u64,
    stable_samples: u32,
    outlier_factor: f64,
    max_outliers: u32,
    state: ServoState,
    in_lock: u32,
    recent: [f64; WINDOW],
    recent_len: usize,
    recent_at: usize,
    outliers_in_row: u32,
}

impl LockJudge {
    pub(crate) fn new(
        lock_threshold_ns: u64,
        stable_samples: u32,
        outlier_factor: f64,
        max_outliers: u32,
    ) -> Self {
        LockJudge {
            lock_threshold_ns,
            stable_samples,
            outlier_factor,
            max_outliers,
            state: ServoState::Unlocked,
            in_lock: 0,
            recent: [0.0; WINDOW],
            recent_len: 0,
            recent_at: 0,
            outliers_in_row: 0,
        }
    }

    /// Back to unlocked, the recent offsets forgotten.
    pub(crate) fn reset(&mut self) {
        self.state = ServoState::Unlocked;
        self.in_lock = 0;
        self.recent_len = 0;
        self.outliers_in_row = 0;
    }

    /// Correcting, not yet judged (after a step, or the first estimate).
    pub(crate) fn locking(&mut self) {
        self.in_lock = 0;
        self.state = ServoState::Locking;
    }

    /// Whether `offset_ns` is an outlier against the recent offsets (only while locked, and
    /// only up to `max_outliers` in a row; the next one is believed, from locking).
    pub(crate) fn is_outlier(&mut self, offset_ns: i64) -> bool {
        if self.outlier_factor <= 0.0 || !self.state.is_locked() || self.recent_len < 4 {
            return false;
        }
        if self.outliers_in_row >= self.max_outliers {
            self.outliers_in_row = 0;
            self.in_lock = 0;
            self.recent_len = 0;
            return false;
        }
        let n = self.recent_len as f64;
        let rms = (self.recent[..self.recent_len]
            .iter()
            .map(|x| x * x)
            .sum::<f64>()
            / n)
            .sqrt();
        let limit = (self.outlier_factor * rms).max(self.lock_threshold_ns as f64);
        let out = (offset_ns as f64).abs() > limit;
        if out {
            self.outliers_in_row += 1;
        } else {
            self.outliers_in_row = 0;
        }
        out
    }

    /// Notes an accepted offset: the lock state and the recent offsets.
    pub(crate) fn accept(&mut self, offset_ns: i64) {
        self.recent[self.recent_at] = offset_ns as f64;
        self.recent_at = (self.recent_at + 1) % WINDOW;
        self.recent_len = (self.recent_len + 1).min(WINDOW);
        if offset_ns.unsigned_abs() <= self.lock_threshold_ns {
            self.in_lock = self.in_lock.saturating_add(1);
        } else {
            self.in_lock = 0;
        }
        self.state = if self.in_lock == 0 {
            ServoState::Locking
        } else if self.in_lock >= self.stable_samples.max(1) {
            ServoState::LockedStable
        } else {
            ServoState::Locked
        };
    }

    pub(crate) fn state(&self) -> ServoState {
        self.state
    }
}

impl PiServo {
    /// A servo starting from the clock's current frequency correction `frequency_ppb`.
    pub fn new(cfg: PiConfig, frequency_ppb: f64) -> Self {
        let (kp, ki) = cfg.gains();
        let f = clamp(frequency_ppb, cfg.max_frequency_ppb);
        PiServo {
            cfg,
            kp,
            ki,
            count: 0,
            first: (0, 0),
            drift: -f,
            first_done: false,
            judge: LockJudge::new(
                cfg.lock_threshold_ns,
                cfg.stable_samples,
                cfg.outlier_factor,
                cfg.max_outliers,
            ),
            last_frequency: f,
            counters: ServoCounters::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &PiConfig {
        &self.cfg
    }

    /// The state after the last sample.
    pub fn state(&self) -> ServoState {
        self.judge.state()
    }

    /// The frequency correction last asked for, ppb: what holdover keeps.
    pub fn frequency_ppb(&self) -> f64 {
        self.last_frequency
    }

    /// What the servo has done.
    pub fn counters(&self) -> ServoCounters {
        self.counters
    }

    /// Forgets the samples (keeps the frequency estimate): the next two estimate afresh.
    pub fn reset(&mut self) {
        self.count = 0;
        self.judge.reset();
        self.counters.resets += 1;
    }

    /// One measurement: the clock was `offset_ns` ahead of its reference at the clock's
    /// time `local_ns`. Returns what to do to the clock.
    pub fn sample(&mut self, offset_ns: i64, local_ns: u64) -> ServoOutput {
        self.counters.samples += 1;
        let max = self.cfg.max_frequency_ppb;
        match self.count {
            0 => {
                self.first = (offset_ns, local_ns);
                self.count = 1;
                self.judge.reset();
                self.output(None, None)
            }
            1 => {
                let (o0, t0) = self.first;
                if local_ns <= t0 {
                    // Out of time order (the clock was stepped under us): start again.
                    self.reset();
                    return self.sample(offset_ns, local_ns);
                }
                let dt = (local_ns - t0) as f64;
                if self.cfg.initial_frequency_estimate {
                    self.drift = clamp(self.drift + (offset_ns as f64 - o0 as f64) * 1e9 / dt, max);
                }
                self.count = 2;
                let threshold = if self.first_done {
                    self.cfg.step_threshold_ns
                } else {
                    self.cfg.first_step_threshold_ns
                };
                self.first_done = true;
                let step = (threshold > 0 && offset_ns.unsigned_abs() > threshold).then(|| {
                    self.counters.steps += 1;
                    offset_ns.saturating_neg()
                });
                if step.is_some() {
                    // Not judged until a sample shows where the step landed.
                    self.judge.locking();
                } else {
                    self.judge.accept(offset_ns);
                }
                let f = -self.drift;
                self.output(step, Some(f))
            }
            _ => {
                let th = self.cfg.step_threshold_ns;
                if th > 0 && offset_ns.unsigned_abs() > th {
                    // Too far to slew: step, and estimate the frequency again.
                    self.reset();
                    self.first = (0, local_ns);
                    self.count = 1;
                    self.counters.steps += 1;
                    return self.output(Some(offset_ns.saturating_neg()), None);
                }
                if self.judge.is_outlier(offset_ns) {
                    self.counters.outliers += 1;
                    return self.output(None, None);
                }
                let o = offset_ns as f64;
                let ki_term = self.ki * o;
                let ppb = self.kp * o + self.drift + ki_term;
                let ppb = if ppb.abs() > max {
                    // Saturated: the integral does not wind up.
                    clamp(ppb, max)
                } else {
                    self.drift += ki_term;
                    ppb
                };
                self.judge.accept(offset_ns);
                self.output(None, Some(-ppb))
            }
        }
    }

    fn output(&mut self, step_ns: Option<i64>, frequency_ppb: Option<f64>) -> ServoOutput {
        if let Some(f) = frequency_ppb {
            self.last_frequency = f;
        }
        ServoOutput {
            step_ns,
            frequency_ppb,
            state: self.judge.state(),
        }
    }
}

impl Servo for PiServo {
    fn sample(&mut self, offset_ns: i64, local_ns: u64) -> ServoOutput {
        PiServo::sample(self, offset_ns, local_ns)
    }

    fn state(&self) -> ServoState {
        PiServo::state(self)
    }

    fn frequency_ppb(&self) -> f64 {
        PiServo::frequency_ppb(self)
    }

    fn counters(&self) -> ServoCounters {
        PiServo::counters(self)
    }
}

fn clamp(v: f64, max: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-max, max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PiConfig {
        PiConfig::hardware(1.0)
    }

    #[test]
    fn gains_follow_linuxptp() {
        let (kp, ki) = PiConfig::hardware(1.0).gains();
        assert!((kp - 0.7).abs() < 1e-12 && (ki - 0.3).abs() < 1e-12);
        // 8 samples a second: kp = 0.7·0.125^-0.3 ≈ 1.306, ki = 0.3·0.125^0.4 ≈ 0.131.
        let (kp, ki) = PiConfig::hardware(0.125).gains();
        assert!((kp - 1.3063).abs() < 1e-3, "{kp}");
        assert!((ki - 0.1306).abs() < 1e-3, "{ki}");
        // Slow sampling is capped at scale / interval.
        let (kp, ki) = PiConfig::hardware(16.0).gains();
        assert!((kp - 0.7 / 16.0).abs() < 1e-12, "{kp}");
        assert!((ki - 0.3 / 16.0).abs() < 1e-12, "{ki}");
    }

    /// The first two samples measure the frequency error; a large first offset is stepped
    /// away once; after that the servo only slews.
    #[test]
    fn first_two_samples_estimate_drift_and_step_once() {
        let mut s = PiServo::new(cfg(), 0.0);
        let o = s.sample(1_000_000, 1_000_000_000);
        assert_eq!(o.state, ServoState::Unlocked);
        assert_eq!((o.step_ns, o.frequency_ppb), (None, None));
        // 10 µs more ahead a second later: the clock runs 10 ppm fast.
        let o = s.sample(1_010_000, 2_000_000_000);
        assert_eq!(o.step_ns, Some(-1_010_000));
        let f = o.frequency_ppb.unwrap();
        assert!((f + 10_000.0).abs() < 1e-6, "{f}");
        assert_eq!(o.state, ServoState::Locking);
        // Later large offsets are slewed (step threshold 0), at most at the limit.
        let o = s.sample(5_000_000, 3_000_000_000);
        assert_eq!(o.step_ns, None);
        assert_eq!(o.frequency_ppb, Some(-500_000.0));
        assert_eq!(s.counters().steps, 1);
    }

    #[test]
    fn step_threshold_restarts_the_estimate() {
        let mut c = cfg();
        c.step_threshold_ns = 1_000_000;
        let mut s = PiServo::new(c, 0.0);
        s.sample(0, 1_000_000_000);
        s.sample(0, 2_000_000_000);
        let o = s.sample(2_000_000, 3_000_000_000);
        assert_eq!(o.step_ns, Some(-2_000_000));
        assert_eq!(o.state, ServoState::Unlocked);
        let o = s.sample(100, 4_000_000_000);
        assert_eq!(o.step_ns, None);
        assert!(o.frequency_ppb.is_some());
    }

    /// Locked after one sample within the threshold, locked-stable after `stable_samples`; an
    /// outlier is skipped while locked, and believed after `max_outliers` in a row.
    #[test]
    fn lock_states_and_outliers() {
        let mut c = cfg();
        c.stable_samples = 4;
        let mut s = PiServo::new(c, 0.0);
        let mut t = 1_000_000_000u64;
        let mut next = |s: &mut PiServo, o: i64| {
            t += 1_000_000_000;
            s.sample(o, t)
        };
        next(&mut s, 500);
        assert_eq!(next(&mut s, 500).state, ServoState::Locking);
        assert_eq!(next(&mut s, 50).state, ServoState::Locked);
        for _ in 0..2 {
            assert_eq!(next(&mut s, -20).state, ServoState::Locked);
        }
        assert_eq!(next(&mut s, 10).state, ServoState::LockedStable);
        let f = s.frequency_ppb();
        let o = next(&mut s, 50_000);
        assert_eq!((o.frequency_ppb, o.state), (None, ServoState::LockedStable));
        assert_eq!(
            s.frequency_ppb(),
            f,
            "an outlier leaves the frequency alone"
        );
        next(&mut s, 50_000);
        next(&mut s, 50_000);
        let o = next(&mut s, 50_000);
        assert!(o.frequency_ppb.is_some(), "believed after three in a row");
        assert_eq!(o.state, ServoState::Locking);
        assert_eq!(s.counters().outliers, 3);
    }

    #[test]
    fn samples_out_of_time_order_restart() {
        let mut s = PiServo::new(cfg(), 100.0);
        s.sample(10, 5_000_000_000);
        let o = s.sample(10, 4_000_000_000);
        assert_eq!(o.state, ServoState::Unlocked);
        assert_eq!(s.counters().resets, 1);
        assert_eq!(s.frequency_ppb(), 100.0);
    }
}
