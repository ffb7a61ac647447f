//! A linear-regression servo, after linuxptp's `linreg.c`: the oscillator's own phase (the
//! measured offsets with the servo's past corrections taken out) is fitted by least squares
//! over the last 4, 8, 16, 32 or 64 samples; the window whose past predictions of the next
//! sample erred least is trusted; the clock is set to the fitted frequency, plus what
//! removes the predicted offset over one interval.
//!
//! It assumes the clock does what the servo says: the corrections it subtracts are the ones
//! it commanded (steps and frequencies), integrated between samples.

use super::{LockJudge, Servo, ServoCounters, ServoOutput, ServoState};

/// Window sizes tried, samples.
const SIZES: [usize; 5] = [4, 8, 16, 32, 64];
/// Samples kept (the largest window).
const MAX_POINTS: usize = 64;

/// A linear-regression servo's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinregConfig {
    /// Steps the clock when an offset is larger than this, ns, before the first frequency
    /// estimate (0: never).
    pub first_step_threshold_ns: u64,
    /// … and afterwards (0: never).
    pub step_threshold_ns: u64,
    /// The largest frequency correction, ppb.
    pub max_frequency_ppb: f64,
    /// An offset within this counts as locked, ns.
    pub lock_threshold_ns: u64,
    /// Consecutive locked samples before locked-stable.
    pub stable_samples: u32,
    /// Outlier filter, as [`super::PiConfig::outlier_factor`].
    pub outlier_factor: f64,
    /// Outliers believed after this many in a row.
    pub max_outliers: u32,
}

impl LinregConfig {
    /// The same thresholds as [`super::PiConfig::hardware`].
    pub fn hardware() -> Self {
        LinregConfig {
            first_step_threshold_ns: 20_000,
            step_threshold_ns: 0,
            max_frequency_ppb: 500_000.0,
            lock_threshold_ns: 100,
            stable_samples: 16,
            outlier_factor: 6.0,
            max_outliers: 3,
        }
    }
}

/// The linear-regression servo (see the module documentation).
#[derive(Debug, Clone)]
pub struct LinregServo {
    cfg: LinregConfig,
    /// (local time s since the first sample, raw phase ns), oldest first, at most
    /// `MAX_POINTS`.
    points: [(f64, f64); MAX_POINTS],
    len: usize,
    head: usize,
    /// Local time of the first sample, ns.
    t0: Option<u64>,
    /// The corrections applied so far, integrated: the offset they account for, ns.
    applied_ns: f64,
    /// The frequency commanded since the last sample, ppb, and when, s.
    frequency: f64,
    last_t: f64,
    /// Per window: smoothed squared error of its predictions, and its last prediction of
    /// the next raw phase.
    err: [f64; SIZES.len()],
    prediction: [Option<f64>; SIZES.len()],
    stepped: bool,
    judge: LockJudge,
    counters: ServoCounters,
}

impl LinregServo {
    /// A servo starting from the clock's frequency correction `frequency_ppb`.
    pub fn new(cfg: LinregConfig, frequency_ppb: f64) -> Self {
        LinregServo {
            cfg,
            points: [(0.0, 0.0); MAX_POINTS],
            len: 0,
            head: 0,
            t0: None,
            applied_ns: 0.0,
            frequency: frequency_ppb.clamp(-cfg.max_frequency_ppb, cfg.max_frequency_ppb),
            last_t: 0.0,
            err: [0.0; SIZES.len()],
            prediction: [None; SIZES.len()],
            stepped: false,
            judge: LockJudge::new(
                cfg.lock_threshold_ns,
                cfg.stable_samples,
                cfg.outlier_factor,
                cfg.max_outliers,
            ),
            counters: ServoCounters::default(),
        }
    }

    /// The state after the last sample.
    pub fn state(&self) -> ServoState {
        self.judge.state()
    }

    /// The frequency correction last asked for, ppb.
    pub fn frequency_ppb(&self) -> f64 {
        self.frequency
    }

    /// What the servo has done.
    pub fn counters(&self) -> ServoCounters {
        self.counters
    }

    /// Forgets the samples (keeps the frequency).
    pub fn reset(&mut self) {
        self.len = 0;
        self.head = 0;
        self.t0 = None;
        self.last_t = 0.0;
        self.applied_ns = 0.0;
        self.err = [0.0; SIZES.len()];
        self.prediction = [None; SIZES.len()];
        self.judge.reset();
        self.counters.resets += 1;
    }

    /// One measurement, as [`super::PiServo::sample`].
    pub fn sample(&mut self, offset_ns: i64, local_ns: u64) -> ServoOutput {
        self.counters.samples += 1;
        let t0 = *self.t0.get_or_insert(local_ns);
        if local_ns < t0 || (self.len > 0 && (local_ns - t0) as f64 / 1e9 <= self.last_t) {
            self.reset();
            return self.sample(offset_ns, local_ns);
        }
        let t = (local_ns - t0) as f64 / 1e9;
        // What the commanded frequency did since the last sample.
        if self.len > 0 {
            self.applied_ns += self.frequency * (t - self.last_t);
        }
        self.last_t = t;
        let threshold = if self.stepped {
            self.cfg.step_threshold_ns
        } else {
            self.cfg.first_step_threshold_ns
        };
        if threshold > 0 && offset_ns.unsigned_abs() > threshold {
            // Step, and start the fit afresh (the frequency estimate stays).
            self.stepped = true;
            self.counters.steps += 1;
            let f = self.frequency;
            self.reset();
            self.counters.resets -= 1;
            self.t0 = Some(local_ns);
            self.judge.locking();
            // The oscillator's phase at the step: the offset (nothing applied yet).
            self.push(0.0, offset_ns as f64);
            return self.output(Some(offset_ns.saturating_neg()), Some(f));
        }
        self.stepped = true;
        if self.judge.is_outlier(offset_ns) {
            self.counters.outliers += 1;
            return self.output(None, None);
        }
        // The oscillator's own phase: the offset without the corrections applied.
        let raw = offset_ns as f64 - self.applied_ns;
        for (i, p) in self.prediction.iter().enumerate() {
            if let Some(p) = p {
                let e = (raw - p) * (raw - p);
                self.err[i] = if self.err[i] == 0.0 {
                    e
                } else {
                    0.9 * self.err[i] + 0.1 * e
                };
            }
        }
        self.push(t, raw);
        if self.len < SIZES[0] {
            self.judge.accept(offset_ns);
            return self.output(None, None);
        }
        // Fit every window that has its points; predict the next sample with each; use the
        // one whose predictions erred least (ties: the larger).
        let mut best: Option<(f64, usize, f64, f64)> = None;
        let dt = self.interval();
        for (i, &n) in SIZES.iter().enumerate() {
            if self.len < n {
                self.prediction[i] = None;
                continue;
            }
            let (a, b) = self.fit(n);
            self.prediction[i] = Some(a + b * (t + dt));
            let score = if self.prediction[i].is_some() && self.err[i] > 0.0 {
                self.err[i]
            } else {
                f64::INFINITY
            };
            match best {
                Some((s, ..)) if score > s => {}
                _ => best = Some((score, i, a, b)),
            }
        }
        let Some((_, _, a, b)) = best else {
            return self.output(None, None);
        };
        // The raw phase now and its slope; the clock's offset is that plus what was applied.
        let predicted_offset = a + b * t + self.applied_ns;
        let max = self.cfg.max_frequency_ppb;
        let f = (-b - predicted_offset / dt).clamp(-max, max);
        self.judge.accept(offset_ns);
        self.output(None, Some(f))
    }

    /// Mean seconds between the kept samples (1 s until there are two).
    fn interval(&self) -> f64 {
        if self.len < 2 {
            return 1.0;
        }
        let first = self.points[self.index(0)].0;
        let last = self.points[self.index(self.len - 1)].0;
        ((last - first) / (self.len - 1) as f64).max(1e-6)
    }

    fn index(&self, k: usize) -> usize {
        (self.head + MAX_POINTS - self.len + k) % MAX_POINTS
    }

    fn push(&mut self, t: f64, raw: f64) {
        self.points[self.head] = (t, raw);
        self.head = (self.head + 1) % MAX_POINTS;
        self.len = (self.len + 1).min(MAX_POINTS);
    }

    /// Least squares over the newest `n` points: (intercept ns at t = 0, slope ns/s = ppb).
    fn fit(&self, n: usize) -> (f64, f64) {
        let start = self.len - n;
        let pts = (start..self.len).map(|k| self.points[self.index(k)]);
        let (mut sx, mut sy) = (0.0, 0.0);
        for (x, y) in pts.clone() {
            sx += x;
            sy += y;
        }
        let (mx, my) = (sx / n as f64, sy / n as f64);
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (x, y) in pts {
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
        }
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        (my - b * mx, b)
    }

    fn output(&mut self, step_ns: Option<i64>, frequency_ppb: Option<f64>) -> ServoOutput {
        if let Some(s) = step_ns {
            self.applied_ns += s as f64;
        }
        if let Some(f) = frequency_ppb {
            self.frequency = f;
        }
        ServoOutput {
            step_ns,
            frequency_ppb,
            state: self.judge.state(),
        }
    }
}

impl Servo for LinregServo {
    fn sample(&mut self, offset_ns: i64, local_ns: u64) -> ServoOutput {
        LinregServo::sample(self, offset_ns, local_ns)
    }

    fn state(&self) -> ServoState {
        LinregServo::state(self)
    }

    fn frequency_ppb(&self) -> f64 {
        LinregServo::frequency_ppb(self)
    }

    fn counters(&self) -> ServoCounters {
        LinregServo::counters(self)
    }
}
