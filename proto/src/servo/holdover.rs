//! What a grandmaster may honestly announce about its clock: from the reference's health and
//! the servo's state, the clock state (free-running, locked, holdover), the holdover error
//! bound, and the clockClass, clockAccuracy, offsetScaledLogVariance and traceability flags
//! that go with them. Sans-IO: the caller reports each sample with its time.
//!
//! The rules (IEEE 1588-2019 7.6.2.5 and the profiles' class tables):
//! * never locked-stable since start: **free-running**, class 248, accuracy unknown, not
//!   traceable;
//! * reference healthy and the servo locked-stable: **locked**, class 6, accuracy from the
//!   reference's own error plus the servo's recent rms offset, traceable;
//! * reference lost (or the servo out of lock) after having been locked: **holdover**,
//!   keeping the last good frequency. The error bound grows as
//!   `bound(t) = e₀ + σf·t + ½·a·t²` (e₀ the error when the reference went, σf the frequency
//!   uncertainty — the measured wander of the servo's frequency, at least the configured
//!   floor — and `a` the configured aging). Class 7 while the bound is within the holdover
//!   spec; then the profile's degraded class (default profiles 52 or 187; G.8275: 140, 150 or
//!   160) until the holdover budget is spent; then 248. Traceable only while in spec.
//! * Back from holdover, class 6 returns only once the servo is locked-stable again.

use crate::wire::{ClockAccuracy, ClockQuality};

use super::ServoState;

/// Frequencies kept to measure the servo's wander while locked.
const WANDER_WINDOW: usize = 64;

/// What the clock is doing (numbered as OpenShift's ptp-operator dashboards do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisciplineState {
    /// No usable reference since start, or holdover spent.
    FreeRunning,
    /// Following a healthy reference, locked-stable.
    Locked,
    /// The reference went after a lock; the last good frequency is kept.
    Holdover,
}

impl DisciplineState {
    /// `free-running`, `locked`, `holdover`.
    pub fn name(self) -> &'static str {
        match self {
            DisciplineState::FreeRunning => "free-running",
            DisciplineState::Locked => "locked",
            DisciplineState::Holdover => "holdover",
        }
    }
}

/// Holdover settings and the profile's classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoverConfig {
    /// Class 7 while the error bound is within this, ns.
    pub spec_ns: u64,
    /// Seconds of holdover (in spec and degraded together) before free-running.
    pub budget_s: u64,
    /// The least frequency uncertainty assumed when holdover starts, ppb (the oscillator's
    /// short-term stability: ~1 for an OCXO, ~10–50 for a TCXO or a NIC's crystal).
    pub frequency_floor_ppb: f64,
    /// Frequency drift during holdover, ppb per second (aging and temperature).
    pub aging_ppb_per_s: f64,
    /// Class when locked (6).
    pub locked_class: u8,
    /// Class in holdover within spec (7).
    pub holdover_class: u8,
    /// Class in holdover beyond spec: 52 or 187 (default profiles, alternatives A and B), or
    /// 140 / 150 / 160 (G.8275 by holdover category).
    pub degraded_class: u8,
    /// Class free-running (248).
    pub free_class: u8,
}

impl HoldoverConfig {
    /// The default profiles' classes (6, 7, 52, 248), 1 µs spec, one hour's budget, a
    /// 10 ppb frequency floor and no aging.
    pub fn default_profile() -> Self {
        HoldoverConfig {
            spec_ns: 1_000,
            budget_s: 3_600,
            frequency_floor_ppb: 10.0,
            aging_ppb_per_s: 0.0,
            locked_class: 6,
            holdover_class: 7,
            degraded_class: 52,
            free_class: 248,
        }
    }

    /// G.8275.1/.2's classes (6, 7, 140, 248), otherwise as [`Self::default_profile`].
    pub fn telecom() -> Self {
        HoldoverConfig {
            degraded_class: 140,
            ..Self::default_profile()
        }
    }
}

/// What to announce, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Announced {
    /// The state behind it.
    pub state: DisciplineState,
    /// clockClass, clockAccuracy, offsetScaledLogVariance.
    pub quality: ClockQuality,
    /// timeTraceable.
    pub time_traceable: bool,
    /// frequencyTraceable.
    pub frequency_traceable: bool,
    /// Seconds in holdover (0 otherwise).
    pub holdover_s: u64,
    /// The error bound now, ns (`None` when free-running: unknown).
    pub error_bound_ns: Option<u64>,
}

/// The discipline's memory: follows the reference and the servo, answers what to announce.
#[derive(Debug, Clone)]
pub struct Discipline {
    cfg: HoldoverConfig,
    state: DisciplineState,
    /// Ever locked-stable since start.
    ever_locked: bool,
    /// Holdover: when it started (ns), the error then, the frequency uncertainty.
    holdover: Option<(u64, f64, f64)>,
    /// Locked: the reference's error and the servo's rms offset, ns.
    locked_error_ns: f64,
    offsets: [f64; WANDER_WINDOW],
    freqs: [f64; WANDER_WINDOW],
    len: usize,
    at: usize,
}

impl Discipline {
    /// Free-running, never locked.
    pub fn new(cfg: HoldoverConfig) -> Self {
        Discipline {
            cfg,
            state: DisciplineState::FreeRunning,
            ever_locked: false,
            holdover: None,
            locked_error_ns: 0.0,
            offsets: [0.0; WANDER_WINDOW],
            freqs: [0.0; WANDER_WINDOW],
            len: 0,
            at: 0,
        }
    }

    /// The state after the last update.
    pub fn state(&self) -> DisciplineState {
        self.state
    }

    /// One update at `now_ns`: whether the reference is healthy, its own error bound (ns),
    /// and the servo's state, last offset and frequency.
    pub fn update(
        &mut self,
        now_ns: u64,
        reference_ok: bool,
        reference_error_ns: u64,
        servo: ServoState,
        offset_ns: i64,
        frequency_ppb: f64,
    ) {
        if reference_ok && servo == ServoState::LockedStable {
            self.offsets[self.at] = offset_ns as f64;
            self.freqs[self.at] = frequency_ppb;
            self.at = (self.at + 1) % WANDER_WINDOW;
            self.len = (self.len + 1).min(WANDER_WINDOW);
            self.locked_error_ns = reference_error_ns as f64 + self.rms_offset();
            self.ever_locked = true;
            self.holdover = None;
            self.state = DisciplineState::Locked;
            return;
        }
        if !self.ever_locked {
            self.state = DisciplineState::FreeRunning;
            return;
        }
        // Otherwise: holdover, which goes on (and counts) through a relock until the servo is
        // locked-stable again.
        match self.holdover {
            None if self.state == DisciplineState::Locked => {
                let sigma = self.wander_ppb().max(self.cfg.frequency_floor_ppb);
                self.holdover = Some((now_ns, self.locked_error_ns, sigma));
                self.len = 0;
                self.state = DisciplineState::Holdover;
            }
            Some((since, ..))
                if self.state == DisciplineState::Holdover
                    && now_ns.saturating_sub(since)
                        > self.cfg.budget_s.saturating_mul(1_000_000_000) =>
            {
                self.state = DisciplineState::FreeRunning;
            }
            _ => {}
        }
    }

    /// What to announce at `now_ns`.
    pub fn announced(&self, now_ns: u64) -> Announced {
        let free = Announced {
            state: DisciplineState::FreeRunning,
            quality: ClockQuality {
                clock_class: self.cfg.free_class,
                clock_accuracy: ClockAccuracy::UNKNOWN,
                offset_scaled_log_variance: 0xffff,
            },
            time_traceable: false,
            frequency_traceable: false,
            holdover_s: 0,
            error_bound_ns: None,
        };
        match self.state {
            DisciplineState::FreeRunning => Announced {
                holdover_s: self.holdover_s(now_ns),
                ..free
            },
            DisciplineState::Locked => {
                let e = self.locked_error_ns.max(0.0) as u64;
                Announced {
                    state: DisciplineState::Locked,
                    quality: ClockQuality {
                        clock_class: self.cfg.locked_class,
                        clock_accuracy: accuracy_for_ns(e),
                        offset_scaled_log_variance: log_variance(self.rms_offset()),
                    },
                    time_traceable: true,
                    frequency_traceable: true,
                    holdover_s: 0,
                    error_bound_ns: Some(e),
                }
            }
            DisciplineState::Holdover => {
                let b = self.bound_ns(now_ns);
                let in_spec = b <= self.cfg.spec_ns;
                Announced {
                    state: DisciplineState::Holdover,
                    quality: ClockQuality {
                        clock_class: if in_spec {
                            self.cfg.holdover_class
                        } else {
                            self.cfg.degraded_class
                        },
                        clock_accuracy: accuracy_for_ns(b),
                        offset_scaled_log_variance: 0xffff,
                    },
                    time_traceable: in_spec,
                    frequency_traceable: in_spec,
                    holdover_s: self.holdover_s(now_ns),
                    error_bound_ns: Some(b),
                }
            }
        }
    }

    /// Seconds since holdover began (0 if not in holdover).
    fn holdover_s(&self, now_ns: u64) -> u64 {
        self.holdover.map_or(0, |(since, ..)| {
            now_ns.saturating_sub(since) / 1_000_000_000
        })
    }

    /// The holdover error bound at `now_ns`, ns.
    fn bound_ns(&self, now_ns: u64) -> u64 {
        let Some((since, e0, sigma)) = self.holdover else {
            return 0;
        };
        let t = now_ns.saturating_sub(since) as f64 / 1e9;
        let b = e0 + sigma * t + 0.5 * self.cfg.aging_ppb_per_s * t * t;
        if b.is_finite() {
            b.max(0.0).min(u64::MAX as f64) as u64
        } else {
            u64::MAX
        }
    }

    fn rms_offset(&self) -> f64 {
        if self.len == 0 {
            return 0.0;
        }
        let s: f64 = self.offsets[..self.len].iter().map(|x| x * x).sum();
        (s / self.len as f64).sqrt()
    }

    /// The standard deviation of the servo's frequency while locked, ppb.
    fn wander_ppb(&self) -> f64 {
        if self.len < 2 {
            return 0.0;
        }
        let v = &self.freqs[..self.len];
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|f| (f - m) * (f - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    }
}

/// The clockAccuracy that covers an error of `ns` (IEEE 1588-2019 Table 5).
pub fn accuracy_for_ns(ns: u64) -> ClockAccuracy {
    const STEPS: [(u64, ClockAccuracy); 17] = [
        (25, ClockAccuracy::NS_25),
        (100, ClockAccuracy::NS_100),
        (250, ClockAccuracy::NS_250),
        (1_000, ClockAccuracy::US_1),
        (2_500, ClockAccuracy::US_2_5),
        (10_000, ClockAccuracy::US_10),
        (25_000, ClockAccuracy::US_25),
        (100_000, ClockAccuracy::US_100),
        (250_000, ClockAccuracy::US_250),
        (1_000_000, ClockAccuracy::MS_1),
        (2_500_000, ClockAccuracy::MS_2_5),
        (10_000_000, ClockAccuracy::MS_10),
        (25_000_000, ClockAccuracy::MS_25),
        (100_000_000, ClockAccuracy::MS_100),
        (250_000_000, ClockAccuracy::MS_250),
        (1_000_000_000, ClockAccuracy::S_1),
        (10_000_000_000, ClockAccuracy::S_10),
    ];
    STEPS
        .iter()
        .find(|(limit, _)| ns <= *limit)
        .map_or(ClockAccuracy::S_10_PLUS, |s| s.1)
}

/// offsetScaledLogVariance (7.6.3.3) of a clock whose offset has this rms, ns: the variance
/// in s², log₂, scaled by 2⁸, offset by 0x8000; 0xFFFF when unknown (0).
pub fn log_variance(rms_ns: f64) -> u16 {
    if !(rms_ns.is_finite() && rms_ns > 0.0) {
        return 0xffff;
    }
    let var = (rms_ns * 1e-9) * (rms_ns * 1e-9);
    let v = (var.log2() * 256.0).floor() + 32768.0;
    v.clamp(0.0, 65_534.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn locked(d: &mut Discipline, from_s: u64, to_s: u64, freq: f64) {
        for t in from_s..to_s {
            d.update(t * S, true, 50, ServoState::LockedStable, 5, freq);
        }
    }

    /// Free-running until locked-stable; class 6 while locked; 7 in holdover within spec,
    /// then degraded, then 248 after the budget; class 6 again only once locked-stable.
    #[test]
    fn classes_move_at_the_right_moments() {
        let mut cfg = HoldoverConfig::default_profile();
        cfg.budget_s = 600;
        let mut d = Discipline::new(cfg);
        assert_eq!(d.announced(0).quality.clock_class, 248);
        d.update(S, true, 50, ServoState::Locked, 30, 100.0);
        let a = d.announced(S);
        assert_eq!(
            (a.state, a.quality.clock_class),
            (DisciplineState::FreeRunning, 248)
        );
        assert!(!a.time_traceable);
        locked(&mut d, 2, 100, 100.0);
        let a = d.announced(100 * S);
        assert_eq!(
            (a.state, a.quality.clock_class),
            (DisciplineState::Locked, 6)
        );
        assert!(a.time_traceable && a.frequency_traceable);
        assert_eq!(
            a.quality.clock_accuracy,
            ClockAccuracy::NS_100,
            "50 ns + 5 ns rms"
        );
        assert_eq!(a.error_bound_ns, Some(55));
        // The reference goes at 100 s. Bound: 55 ns + 10 ppb·t, over 1 µs after ~94.5 s.
        d.update(100 * S, false, 0, ServoState::LockedStable, 0, 100.0);
        let a = d.announced(150 * S);
        assert_eq!(
            (a.state, a.quality.clock_class),
            (DisciplineState::Holdover, 7)
        );
        assert_eq!((a.holdover_s, a.error_bound_ns), (50, Some(555)));
        assert!(a.time_traceable);
        let a = d.announced(200 * S);
        assert_eq!(a.quality.clock_class, 52, "{a:?}");
        assert!(!a.time_traceable && !a.frequency_traceable);
        assert_eq!(a.quality.clock_accuracy, ClockAccuracy::US_2_5);
        // The reference is back at 300 s but the servo is still relocking: still holdover.
        d.update(300 * S, true, 50, ServoState::Locking, 400, 101.0);
        assert_eq!(d.announced(300 * S).state, DisciplineState::Holdover);
        d.update(301 * S, false, 0, ServoState::Locking, 0, 101.0);
        // The budget (600 s from 100 s) runs out at 700 s.
        d.update(700 * S, false, 0, ServoState::Locking, 0, 101.0);
        assert_eq!(d.announced(700 * S).quality.clock_class, 52);
        d.update(701 * S, false, 0, ServoState::Locking, 0, 101.0);
        let a = d.announced(701 * S);
        assert_eq!(
            (a.state, a.quality.clock_class),
            (DisciplineState::FreeRunning, 248)
        );
        // Locked-stable again: class 6.
        locked(&mut d, 800, 801, 100.0);
        assert_eq!(d.announced(800 * S).quality.clock_class, 6);
    }

    /// The frequency uncertainty at holdover is the servo's measured wander when that is
    /// above the floor.
    #[test]
    fn measured_wander_widens_the_bound() {
        let mut cfg = HoldoverConfig::telecom();
        cfg.frequency_floor_ppb = 1.0;
        let mut d = Discipline::new(cfg);
        for t in 0..64u64 {
            let f = if t % 2 == 0 { 90.0 } else { 110.0 };
            d.update(t * S, true, 0, ServoState::LockedStable, 0, f);
        }
        d.update(64 * S, false, 0, ServoState::Locked, 0, 100.0);
        // σ ≈ 10.08 ppb: after 100 s the bound is ~1 µs, beyond the spec.
        let a = d.announced(164 * S);
        let b = a.error_bound_ns.unwrap();
        assert!((1_000..1_020).contains(&b), "{b}");
        assert_eq!(a.quality.clock_class, 140);
    }

    #[test]
    fn variance_encoding() {
        assert_eq!(log_variance(0.0), 0xffff);
        // 10 ns rms: var 1e-16 s², log2 = -53.15, ×256 = -13607 (floor), + 0x8000.
        assert_eq!(log_variance(10.0), 32768 - 13607);
        assert!(log_variance(1.0) < log_variance(10.0));
        assert_eq!(accuracy_for_ns(0), ClockAccuracy::NS_25);
        assert_eq!(accuracy_for_ns(u64::MAX), ClockAccuracy::S_10_PLUS);
    }
}
