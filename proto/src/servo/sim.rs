//! A simulated clock to judge servos by: an oscillator with an initial frequency error and
//! random-walk frequency noise, measured against a perfect reference with white phase noise
//! and a finite resolution. Deterministic for a seed.

use super::{Servo, ServoState};

/// How the simulated clock misbehaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimParams {
    /// Initial offset from the reference, ns.
    pub initial_offset_ns: f64,
    /// Initial frequency error, ppb (10 ppm = 10 000).
    pub frequency_error_ppb: f64,
    /// Random-walk frequency noise: the frequency wanders by this rms over one second, ppb.
    pub frequency_walk_ppb: f64,
    /// White noise on each offset measurement, rms ns.
    pub measurement_noise_ns: f64,
    /// Measurements are whole multiples of this, ns (1: a 1 ns clock).
    pub resolution_ns: f64,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for SimParams {
    /// The clock the clock-discipline issue asks about: 1 ns resolution, 10 ppm off, 1 ms
    /// away, 5 ns rms measurement noise, 0.1 ppb/√s frequency walk.
    fn default() -> Self {
        SimParams {
            initial_offset_ns: 1_000_000.0,
            frequency_error_ppb: 10_000.0,
            frequency_walk_ppb: 0.1,
            measurement_noise_ns: 5.0,
            resolution_ns: 1.0,
            seed: 1,
        }
    }
}

/// A deterministic generator (splitmix64) with Gaussian samples (Box–Muller).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A uniform `u64`.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal.
    pub fn gaussian(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The simulated clock.
#[derive(Debug, Clone)]
pub struct SimClock {
    p: SimParams,
    rng: Rng,
    /// True offset from the reference, ns.
    phase_ns: f64,
    /// The oscillator's own frequency error, ppb.
    frequency_ppb: f64,
    /// The correction set by the servo, ppb.
    correction_ppb: f64,
    /// The clock's time, ns (for the servo's `local_ns`).
    local_ns: f64,
}

impl SimClock {
    /// A clock misbehaving as `p` says, at local time 1 s.
    pub fn new(p: SimParams) -> Self {
        SimClock {
            p,
            rng: Rng::new(p.seed),
            phase_ns: p.initial_offset_ns,
            frequency_ppb: p.frequency_error_ppb,
            correction_ppb: 0.0,
            local_ns: 1e9,
        }
    }

    /// Lets `dt_s` seconds pass.
    pub fn advance(&mut self, dt_s: f64) {
        self.frequency_ppb += self.p.frequency_walk_ppb * dt_s.sqrt() * self.rng.gaussian();
        let rate = self.frequency_ppb + self.correction_ppb;
        self.phase_ns += rate * dt_s;
        self.local_ns += dt_s * 1e9 * (1.0 + rate * 1e-9);
    }

    /// One offset measurement (clock − reference), with noise and resolution.
    pub fn measure(&mut self) -> i64 {
        let v = self.phase_ns + self.p.measurement_noise_ns * self.rng.gaussian();
        let r = self.p.resolution_ns.max(1.0);
        ((v / r).round() * r) as i64
    }

    /// The true offset now, ns.
    pub fn true_offset_ns(&self) -> f64 {
        self.phase_ns
    }

    /// The clock's time, ns.
    pub fn local_ns(&self) -> u64 {
        self.local_ns.max(0.0) as u64
    }

    /// Steps the clock by `ns`.
    pub fn step(&mut self, ns: i64) {
        self.phase_ns += ns as f64;
        self.local_ns += ns as f64;
    }

    /// Sets the frequency correction, ppb.
    pub fn set_frequency(&mut self, ppb: f64) {
        self.correction_ppb = ppb;
    }
}

/// How a servo did on a simulated clock.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    /// Seconds until the servo first reported locked-stable, if it did.
    pub stable_after_s: Option<f64>,
    /// True offsets (not the noisy measurements) after locked-stable: rms, ns.
    pub rms_ns: f64,
    /// … and the largest magnitude, ns.
    pub max_abs_ns: f64,
    /// Samples that went into the rms.
    pub samples: usize,
}

/// Runs `servo` on `clock` for `seconds`, one sample every `interval_s`: measure, apply the
/// servo's step and frequency, let the interval pass.
pub fn run(
    servo: &mut impl Servo,
    clock: &mut SimClock,
    interval_s: f64,
    seconds: f64,
) -> SimResult {
    let steps = (seconds / interval_s) as usize;
    let mut stable_after = None;
    let (mut sum2, mut max, mut n) = (0.0f64, 0.0f64, 0usize);
    for k in 0..steps {
        if stable_after.is_some() {
            let o = clock.true_offset_ns();
            sum2 += o * o;
            max = max.max(o.abs());
            n += 1;
        }
        let out = servo.sample(clock.measure(), clock.local_ns());
        if let Some(s) = out.step_ns {
            clock.step(s);
        }
        if let Some(f) = out.frequency_ppb {
            clock.set_frequency(f);
        }
        if stable_after.is_none() && out.state == ServoState::LockedStable {
            stable_after = Some(k as f64 * interval_s);
        }
        clock.advance(interval_s);
    }
    SimResult {
        stable_after_s: stable_after,
        rms_ns: if n > 0 { (sum2 / n as f64).sqrt() } else { 0.0 },
        max_abs_ns: max,
        samples: n,
    }
}
