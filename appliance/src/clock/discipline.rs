//! Disciplining the clock Meridian stamps with to a reference: the [`Disciplinable`] clock,
//! the [`Reference`] it is compared with, and the [`DisciplineLoop`] that runs a servo
//! (`meridian_proto::servo`) between them and says what may be announced.
//!
//! Implementations: a PHC ([`Phc`], `clock_adjtime`); the tests use a simulated clock and
//! reference built on `meridian_proto::servo::sim`. The system clock is never a
//! [`Disciplinable`]: Meridian does not step or slew it.

use meridian_proto::servo::holdover::{Announced, Discipline, HoldoverConfig};
#[cfg(test)]
use meridian_proto::servo::sim::SimClock;
use meridian_proto::servo::{Servo, ServoCounters, ServoState};

use super::phc::{Phc, PhcError};

/// A clock failure: the clock and what failed.
#[derive(Debug, thiserror::Error)]
#[error("{clock}: {op}: {error}")]
pub struct ClockError {
    /// The clock.
    pub clock: String,
    /// What was being done.
    pub op: &'static str,
    /// The OS error.
    pub error: std::io::Error,
}

impl From<PhcError> for ClockError {
    fn from(e: PhcError) -> Self {
        ClockError {
            clock: format!("/dev/ptp{}", e.index),
            op: e.op,
            error: e.error,
        }
    }
}

/// A clock Meridian may read, step and slew.
pub trait Disciplinable {
    /// Its name, for logs and status.
    fn name(&self) -> String;
    /// Now, ns on its own timescale.
    fn now_ns(&mut self) -> Result<i128, ClockError>;
    /// Adds `ns` to it.
    fn step(&mut self, ns: i64) -> Result<(), ClockError>;
    /// Sets its frequency correction, ppb (positive: faster), within
    /// [`Self::max_frequency_ppb`].
    fn set_frequency(&mut self, ppb: f64) -> Result<(), ClockError>;
    /// The largest frequency correction it takes, ppb.
    fn max_frequency_ppb(&self) -> f64;
    /// Its resolution, ns.
    fn resolution_ns(&self) -> u64;
    /// What it read (or will read) at the CLOCK_REALTIME instant `real_ns`, for references
    /// stamped by the kernel (PPS, serial arrivals). By default from a bracketed read now,
    /// taking both clocks to run at the same rate since (an error of their rate difference
    /// times the age: ns for a disciplined PHC and a second-old edge).
    fn at_realtime(&mut self, real_ns: i128) -> Result<i128, ClockError> {
        let a = super::realtime_ns();
        let c = self.now_ns()?;
        let b = super::realtime_ns();
        Ok(c + real_ns - (a + (b - a) / 2))
    }
}

impl Disciplinable for Phc {
    fn name(&self) -> String {
        format!("/dev/ptp{}", self.index())
    }

    fn now_ns(&mut self) -> Result<i128, ClockError> {
        Ok(Phc::now_ns(self)?)
    }

    fn step(&mut self, ns: i64) -> Result<(), ClockError> {
        Ok(self.step_ns(ns)?)
    }

    fn set_frequency(&mut self, ppb: f64) -> Result<(), ClockError> {
        Ok(self.set_frequency_ppb(ppb.clamp(-self.max_adj_ppb(), self.max_adj_ppb()))?)
    }

    fn max_frequency_ppb(&self) -> f64 {
        self.max_adj_ppb()
    }

    fn resolution_ns(&self) -> u64 {
        1
    }
}

/// One comparison of the clock with its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefSample {
    /// Clock − reference, ns.
    pub offset_ns: i64,
    /// The clock's time of the comparison, ns.
    pub local_ns: u64,
    /// The reference's own error bound, ns.
    pub error_ns: u64,
}

/// What a comparison with the reference gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// A new measurement.
    Sample(RefSample),
    /// The reference is there but has nothing new yet (a GNSS second not yet labelled).
    Pending,
    /// The reference is not usable now (unsynchronised, no fix, no signal).
    Unavailable,
}

/// What the clock is disciplined to.
pub trait Reference {
    /// Its name, for logs and status.
    fn name(&self) -> String;
    /// How precise its comparisons are, ns: the servo counts offsets within this as locked.
    fn precision_ns(&self) -> u64;
    /// Compares `clock` (on the PTP timescale) with the reference; `tai_minus_utc` gives
    /// TAI − UTC at a Unix second, for references that count UTC.
    fn compare(
        &mut self,
        clock: &mut dyn Disciplinable,
        tai_minus_utc: &dyn Fn(i64) -> i16,
    ) -> Result<Comparison, ClockError>;
}

/// What the loop did last, for status and metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopStatus {
    /// The servo's state (`Unlocked` while the reference is missing).
    pub servo: ServoState,
    /// The last offset measured, ns (`None` without a reference).
    pub offset_ns: Option<i64>,
    /// The frequency correction in force, ppb.
    pub frequency_ppb: f64,
    /// What may be announced.
    pub announced: Announced,
    /// The servo's counters.
    pub counters: ServoCounters,
    /// Comparisons the reference could not make (unusable, or failed).
    pub reference_missing: u64,
    /// Adjustments the clock refused.
    pub clock_errors: u64,
}

/// Runs a servo between a clock and its reference, and the holdover discipline after it.
pub struct DisciplineLoop {
    servo: Box<dyn Servo + Send>,
    discipline: Discipline,
    had_reference: bool,
    status: LoopStatus,
}

impl std::fmt::Debug for DisciplineLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DisciplineLoop")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl DisciplineLoop {
    /// A loop running `servo`, announcing as `holdover` says.
    pub fn new(servo: Box<dyn Servo + Send>, holdover: HoldoverConfig) -> Self {
        let discipline = Discipline::new(holdover);
        let announced = discipline.announced(0);
        DisciplineLoop {
            servo,
            discipline,
            had_reference: false,
            status: LoopStatus {
                servo: ServoState::Unlocked,
                offset_ns: None,
                frequency_ppb: 0.0,
                announced,
                counters: ServoCounters::default(),
                reference_missing: 0,
                clock_errors: 0,
            },
        }
    }

    /// The last status.
    pub fn status(&self) -> &LoopStatus {
        &self.status
    }

    /// One round at `now_ns` (the loop's own time, for holdover): compare, correct, judge.
    /// Without a reference the clock keeps the frequency it has (holdover). When the
    /// reference returns, a fresh servo from `make_servo` takes over from the frequency held
    /// and estimates afresh.
    pub fn round(
        &mut self,
        now_ns: u64,
        clock: &mut dyn Disciplinable,
        reference: &mut dyn Reference,
        tai_minus_utc: &dyn Fn(i64) -> i16,
        make_servo: &dyn Fn(f64) -> Box<dyn Servo + Send>,
    ) -> &LoopStatus {
        let sample = match reference.compare(clock, tai_minus_utc) {
            Ok(Comparison::Sample(s)) => Some(s),
            Ok(Comparison::Pending) if self.had_reference => {
                // Nothing new: the servo waits, the state stands.
                self.status.announced = self.discipline.announced(now_ns);
                return &self.status;
            }
            Ok(Comparison::Pending | Comparison::Unavailable) => None,
            Err(e) => {
                tracing::debug!(error = %e, "reference comparison failed");
                None
            }
        };
        let (state, offset, error) = match sample {
            Some(s) => {
                if !self.had_reference {
                    // Back (or first): start the estimate afresh from the frequency held.
                    self.servo = make_servo(self.servo.frequency_ppb());
                }
                self.had_reference = true;
                let out = self.servo.sample(s.offset_ns, s.local_ns);
                if let Some(step) = out.step_ns {
                    if let Err(e) = clock.step(step) {
                        self.status.clock_errors += 1;
                        tracing::warn!(error = %e, "stepping the clock");
                    }
                }
                if let Some(f) = out.frequency_ppb {
                    if let Err(e) = clock.set_frequency(f) {
                        self.status.clock_errors += 1;
                        tracing::warn!(error = %e, "setting the clock's frequency");
                    }
                }
                (out.state, Some(s.offset_ns), s.error_ns)
            }
            None => {
                self.had_reference = false;
                self.status.reference_missing += 1;
                (ServoState::Unlocked, None, 0)
            }
        };
        self.discipline.update(
            now_ns,
            sample.is_some(),
            error,
            state,
            offset.unwrap_or(0),
            self.servo.frequency_ppb(),
        );
        self.status.servo = state;
        self.status.offset_ns = offset;
        self.status.frequency_ppb = self.servo.frequency_ppb();
        self.status.announced = self.discipline.announced(now_ns);
        self.status.counters = self.servo.counters();
        &self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::servo::holdover::DisciplineState;
    use meridian_proto::servo::sim::SimParams;
    use meridian_proto::servo::{PiConfig, PiServo};
    use std::sync::{Arc, Mutex};

    /// A simulated clock as a [`Disciplinable`].
    struct SimDisciplinable(Arc<Mutex<SimClock>>);

    impl Disciplinable for SimDisciplinable {
        fn name(&self) -> String {
            "simulated clock".into()
        }

        fn now_ns(&mut self) -> Result<i128, ClockError> {
            Ok(i128::from(self.0.lock().unwrap().local_ns()))
        }

        fn step(&mut self, ns: i64) -> Result<(), ClockError> {
            self.0.lock().unwrap().step(ns);
            Ok(())
        }

        fn set_frequency(&mut self, ppb: f64) -> Result<(), ClockError> {
            self.0.lock().unwrap().set_frequency(ppb);
            Ok(())
        }

        fn max_frequency_ppb(&self) -> f64 {
            500_000.0
        }

        fn resolution_ns(&self) -> u64 {
            1
        }
    }

    /// The simulated clock's offset from its perfect reference, while `available`.
    struct SimReference {
        available: bool,
        clock: Arc<Mutex<SimClock>>,
    }

    impl Reference for SimReference {
        fn name(&self) -> String {
            "simulated reference".into()
        }

        fn precision_ns(&self) -> u64 {
            100
        }

        fn compare(
            &mut self,
            clock: &mut dyn Disciplinable,
            _: &dyn Fn(i64) -> i16,
        ) -> Result<Comparison, ClockError> {
            if !self.available {
                return Ok(Comparison::Unavailable);
            }
            let local = clock.now_ns()?.max(0) as u64;
            Ok(Comparison::Sample(RefSample {
                offset_ns: self.clock.lock().unwrap().measure(),
                local_ns: local,
                error_ns: 40,
            }))
        }
    }

    /// Through the traits: the loop locks the clock, holds over when the reference goes
    /// (keeping the frequency: the clock stays within the bound it announces), and announces
    /// class 6 again only after relocking.
    #[test]
    fn the_loop_locks_holds_over_and_relocks() {
        let sim = Arc::new(Mutex::new(SimClock::new(SimParams::default())));
        let mut clock = SimDisciplinable(Arc::clone(&sim));
        let mut reference = SimReference {
            available: true,
            clock: Arc::clone(&sim),
        };
        let make = |f: f64| -> Box<dyn Servo + Send> {
            Box::new(PiServo::new(PiConfig::hardware(1.0), f))
        };
        let mut lp = DisciplineLoop::new(make(0.0), HoldoverConfig::default_profile());
        let mut classes = Vec::new();
        let mut worst_in_holdover = 0.0f64;
        for s in 0..400u64 {
            reference.available = !(150..250).contains(&s);
            let st = *lp.round(
                s * 1_000_000_000,
                &mut clock,
                &mut reference,
                &|_| 37,
                &make,
            );
            classes.push(st.announced.quality.clock_class);
            if st.announced.state == DisciplineState::Holdover {
                let bound = st.announced.error_bound_ns.unwrap() as f64;
                let off = sim.lock().unwrap().true_offset_ns().abs();
                worst_in_holdover = worst_in_holdover.max(off / bound);
            }
            sim.lock().unwrap().advance(1.0);
        }
        let mut order = classes.clone();
        order.dedup();
        assert_eq!(order, [248, 6, 7, 52, 6], "{classes:?}");
        assert_eq!(classes[149], 6);
        assert_eq!(classes[150], 7, "holdover at once");
        assert_eq!(lp.status().reference_missing, 100);
        assert!(
            worst_in_holdover < 1.0,
            "the clock left the bound it announced: {worst_in_holdover}"
        );
        assert_eq!(lp.status().servo, ServoState::LockedStable);
        assert!(lp.status().counters.resets == 0 && lp.status().clock_errors == 0);
    }
}
