//! The time base: the clock the data plane stamps with, on the PTP timescale.
//!
//! * [`Base::System`] — CLOCK_REALTIME + TAI − UTC (kernel software stamps);
//! * [`Base::Phc`] — one PTP hardware clock that stamps every port (kernel hardware
//!   stamps), assumed on TAI until the servo disciplines it;
//! * `Base::Tsc` (DPDK) — the TSC, calibrated against and tracking CLOCK_REALTIME + TAI −
//!   UTC, published through a sequence lock ([`SharedTscClock`]) for the other cores.
//!
//! [`TimeBase`] implements the data plane's [`StampClock`]: every raw stamp becomes a
//! [`Time`] here and nowhere else.
//!
//! How it is disciplined ([`Discipliner`]): following the kernel's synchronisation (the system
//! clock is the reference and the time base reads it), free-running, or by a servo to a
//! [`Reference`] (a GNSS receiver, another PHC; the system clock for a PHC). The servo steers
//! the PHC itself (`clock_adjtime`), or, for the system and TSC time bases, a correction
//! [`Steer`] that Meridian applies on top of CLOCK_REALTIME — CLOCK_REALTIME itself is never
//! touched.

#[cfg(feature = "dpdk")]
use std::sync::Arc;

use meridian_proto::engine::{ClockStatus, Time};
use meridian_proto::servo::holdover::{Announced, Discipline, HoldoverConfig};
use meridian_proto::servo::{LinregConfig, LinregServo, PiConfig, PiServo, Servo};
use meridian_proto::wire::TimeSource;

use super::discipline::{ClockError, Disciplinable, DisciplineLoop, LoopStatus, Reference};
use super::phc::{Phc, PhcError};
#[cfg(feature = "dpdk")]
use super::tsc::{narrowest_read, SharedTscClock, TscClock, TscError};
use super::SystemClock;
use crate::dataplane::{RawStamp, StampClock};

/// Which clock stamps packets.
#[derive(Debug)]
pub enum Base {
    /// CLOCK_REALTIME + TAI − UTC (software timestamps).
    System,
    /// One PHC that stamps every port (hardware timestamps), assumed on TAI.
    Phc(Phc),
    /// The TSC, calibrated against and tracking CLOCK_REALTIME + TAI − UTC (DPDK ports).
    #[cfg(feature = "dpdk")]
    Tsc(TscClock),
}

/// Which time base the ports need, before the reference exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseKind {
    /// See [`Base::System`].
    System,
    /// See [`Base::Phc`]: `/dev/ptp{0}`.
    Phc(i32),
    /// See `Base::Tsc`.
    Tsc,
}

/// A time base could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TimeBaseError {
    /// The PHC could not be opened.
    #[error(transparent)]
    Phc(#[from] PhcError),
    /// The TSC could not be calibrated.
    #[cfg(feature = "dpdk")]
    #[error("calibrating the TSC: {0}")]
    Tsc(#[from] TscError),
    /// The PHC would be disciplined to itself.
    #[error("/dev/ptp{0} is both the time base and its reference")]
    SelfReference(i32),
    /// This build has no TSC time base.
    #[error("this build has no DPDK data plane (TSC time base): rebuild with `--features dpdk`")]
    NoTsc,
}

/// The inserted leap second on CLOCK_REALTIME: Linux lives 23:59:59 twice (TIME_OOP the
/// second time), so a reading in that second maps to two TAI instants a second apart. The
/// second pass is told from the first by the readings: inside the repeated second, a
/// `now()` reading more than half a second before the latest one means the kernel went back.
/// A kernel stamp (never from the future) later than every reading of the second pass is
/// from the first.
#[derive(Debug, Default)]
pub struct LeapRepeat {
    /// The insertion instant, CLOCK_REALTIME ns.
    at: Option<i128>,
    /// The latest reading inside the repeated second.
    latest: std::cell::Cell<Option<i128>>,
    /// The latest reading of the second pass, once it began.
    second_pass: std::cell::Cell<Option<i128>>,
}

impl LeapRepeat {
    const SECOND: i128 = 1_000_000_000;

    /// An insertion at CLOCK_REALTIME `at` ns (the end of a UTC day), or none.
    pub fn arm(&mut self, at: Option<i128>) {
        if self.at != at {
            self.at = at;
            self.latest.set(None);
            self.second_pass.set(None);
        }
    }

    fn in_window(&self, real: i128) -> Option<i128> {
        self.at
            .filter(|at| (at - Self::SECOND..*at).contains(&real))
    }

    /// What to add to a `now()` reading, ns: a second in the second pass.
    pub fn now_extra(&self, real: i128) -> i128 {
        if self.in_window(real).is_none() {
            return 0;
        }
        let latest = self.latest.get();
        if self.second_pass.get().is_some() || latest.is_some_and(|l| real < l - Self::SECOND / 2) {
            let pass = self.second_pass.get().map_or(real, |p| p.max(real));
            self.second_pass.set(Some(pass));
            return Self::SECOND;
        }
        self.latest.set(Some(latest.map_or(real, |l| l.max(real))));
        0
    }

    /// What to add to a kernel stamp, ns.
    pub fn stamp_extra(&self, real: i128) -> i128 {
        match (self.in_window(real), self.second_pass.get()) {
            (Some(_), Some(pass)) if real <= pass + 10_000_000 => Self::SECOND,
            _ => 0,
        }
    }
}

/// A correction Meridian steers on top of CLOCK_REALTIME (which it never adjusts):
/// `c0 + (real − anchor) · ppb · 10⁻⁹` ns at CLOCK_REALTIME `real`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Steer {
    c0_ns: f64,
    anchor_ns: i128,
    ppb: f64,
}

impl Steer {
    /// The correction at CLOCK_REALTIME `real_ns`, ns.
    pub fn at(&self, real_ns: i128) -> i128 {
        self.at_f(real_ns).round() as i128
    }

    fn at_f(&self, real_ns: i128) -> f64 {
        self.c0_ns + (real_ns - self.anchor_ns) as f64 * self.ppb * 1e-9
    }

    /// Adds `ns` from now on.
    pub fn step(&mut self, ns: i64) {
        self.c0_ns += ns as f64;
    }

    /// Runs `ppb` faster than CLOCK_REALTIME from `real_ns` on (continuous there).
    pub fn set_frequency(&mut self, real_ns: i128, ppb: f64) {
        self.c0_ns = self.at_f(real_ns);
        self.anchor_ns = real_ns;
        self.ppb = ppb;
    }

    /// The frequency correction in force, ppb.
    pub fn frequency_ppb(&self) -> f64 {
        self.ppb
    }
}

/// The steered system time as a [`Disciplinable`]: CLOCK_REALTIME + TAI − UTC + the steer.
struct SteeredClock<'a> {
    steer: &'a mut Steer,
    system: &'a SystemClock,
}

/// The largest correction the steer takes, ppb (as the kernel's own `adjtimex` limit).
const STEER_MAX_PPB: f64 = 500_000.0;

impl Disciplinable for SteeredClock<'_> {
    fn name(&self) -> String {
        "system time (steered by Meridian)".into()
    }

    fn now_ns(&mut self) -> Result<i128, ClockError> {
        let r = super::realtime_ns();
        Ok(self.system.realtime_to_tai(r) + self.steer.at(r))
    }

    fn at_realtime(&mut self, real_ns: i128) -> Result<i128, ClockError> {
        Ok(self.system.realtime_to_tai(real_ns) + self.steer.at(real_ns))
    }

    fn step(&mut self, ns: i64) -> Result<(), ClockError> {
        self.steer.step(ns);
        Ok(())
    }

    fn set_frequency(&mut self, ppb: f64) -> Result<(), ClockError> {
        self.steer.set_frequency(
            super::realtime_ns(),
            ppb.clamp(-STEER_MAX_PPB, STEER_MAX_PPB),
        );
        Ok(())
    }

    fn max_frequency_ppb(&self) -> f64 {
        STEER_MAX_PPB
    }

    fn resolution_ns(&self) -> u64 {
        1
    }
}

/// Which servo runs a [`ServoLoop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServoKind {
    /// `meridian_proto::servo::PiServo`.
    Pi,
    /// `meridian_proto::servo::LinregServo`.
    Linreg,
}

impl ServoKind {
    /// A servo of this kind for a reference as precise as `precision_ns` and a clock that
    /// takes up to `max_ppb`, starting from `frequency_ppb`, locked within the reference's
    /// precision. See [`ServoKind::for_precision`] for noisy references.
    pub fn make(
        self,
        precision_ns: u64,
        max_ppb: f64,
        frequency_ppb: f64,
    ) -> Box<dyn Servo + Send> {
        let lock = precision_ns.max(100);
        match self {
            ServoKind::Pi => {
                let mut c = PiConfig::hardware(1.0);
                if precision_ns > NOISY_REFERENCE_NS {
                    // A narrow loop: kp · noise is the frequency wander slaves would see
                    // (0.005 × 300 µs of NMEA arrival jitter = 1.5 ppm), ki ≈ kp²/4 (about
                    // critically damped, a time constant of ~200 s).
                    c.kp_scale = 0.005;
                    c.ki_scale = 0.000_006;
                    c.initial_frequency_estimate = false;
                }
                c.lock_threshold_ns = lock;
                c.max_frequency_ppb = max_ppb;
                Box::new(PiServo::new(c, frequency_ppb))
            }
            ServoKind::Linreg => {
                let mut c = LinregConfig::hardware();
                c.lock_threshold_ns = lock;
                c.max_frequency_ppb = max_ppb;
                Box::new(LinregServo::new(c, frequency_ppb))
            }
        }
    }

    /// The servo that runs for a reference as precise as `precision_ns`: the one configured,
    /// except that a noisy reference (NMEA alone, the system clock: above 10 µs) always gets
    /// the narrow PI. Linear regression removes the whole predicted offset every second,
    /// which turns hundreds of µs of arrival jitter into hundreds of ppm of frequency swing
    /// (measured: ±400 ppm on NMEA through a pty).
    pub fn for_precision(self, precision_ns: u64) -> ServoKind {
        if precision_ns > NOISY_REFERENCE_NS {
            ServoKind::Pi
        } else {
            self
        }
    }

    /// Its name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            ServoKind::Pi => "pi",
            ServoKind::Linreg => "linreg",
        }
    }
}

/// References less precise than this (ns) are noisy: see [`ServoKind::for_precision`].
const NOISY_REFERENCE_NS: u64 = 10_000;

/// A servo between the time base and a reference.
pub struct ServoLoop {
    reference: Box<dyn Reference + Send>,
    kind: ServoKind,
    /// What the reference is, when traceable (GNSS, NTP …).
    source: TimeSource,
    lp: DisciplineLoop,
}

impl std::fmt::Debug for ServoLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServoLoop")
            .field("reference", &self.reference.name())
            .field("kind", &self.kind)
            .field("lp", &self.lp)
            .finish()
    }
}

impl ServoLoop {
    /// `kind` between the time base and `reference` (a `source`), announcing through
    /// `holdover`'s classes.
    pub fn new(
        reference: Box<dyn Reference + Send>,
        kind: ServoKind,
        source: TimeSource,
        holdover: HoldoverConfig,
    ) -> Self {
        let kind = kind.for_precision(reference.precision_ns());
        let first = kind.make(reference.precision_ns(), STEER_MAX_PPB, 0.0);
        ServoLoop {
            reference,
            kind,
            source,
            lp: DisciplineLoop::new(first, holdover),
        }
    }
}

/// How the time base is disciplined.
#[derive(Debug)]
pub enum Discipliner {
    /// The time base reads the system clock, and its quality is the kernel's
    /// synchronisation (chrony/NTP), held over when that stops.
    Kernel,
    /// Nothing: announced free-running.
    FreeRunning,
    /// A servo to a reference.
    Servo(Box<ServoLoop>),
}

/// What the discipline reports, for status and metrics.
#[derive(Debug, Clone)]
pub struct DisciplineReport {
    /// The reference's name (`system`, `none`, `gnss:/dev/ttyS0`, …).
    pub reference: String,
    /// The servo (`pi`, `linreg`), if one runs.
    pub servo: Option<&'static str>,
    /// The servo loop's last status, if one runs.
    pub status: Option<LoopStatus>,
    /// The steer's frequency correction, ppb (system and TSC time bases).
    pub steer_ppb: f64,
}

/// The time base and the reference it follows.
#[derive(Debug)]
pub struct TimeBase {
    system: SystemClock,
    base: Base,
    /// The correction on top of CLOCK_REALTIME (system and TSC time bases).
    steer: Steer,
    /// The repeated second of a leap-second insertion (system time base).
    repeat: LeapRepeat,
    discipliner: Discipliner,
    /// The reference's discipline and holdover (the kernel's synchronisation, for now).
    discipline: Discipline,
    /// When the time base started (for the discipline's clock).
    started: std::time::Instant,
    /// The TSC model published for the DPDK ports and pipeline stages.
    #[cfg(feature = "dpdk")]
    shared: Option<Arc<SharedTscClock>>,
}

fn tai(ns: i128) -> Time {
    Time(ns.clamp(0, u64::MAX as i128) as u64)
}

impl TimeBase {
    /// Sets up `kind` against `system` (the TSC is calibrated over ~100 ms), disciplined as
    /// `discipliner` says (a PHC is opened to be adjusted if a servo steers it).
    pub fn new(
        system: SystemClock,
        kind: BaseKind,
        discipliner: Discipliner,
    ) -> Result<TimeBase, TimeBaseError> {
        let base = match kind {
            BaseKind::System => Base::System,
            BaseKind::Phc(i) if matches!(discipliner, Discipliner::Servo(_)) => {
                Base::Phc(Phc::open_rw(i)?)
            }
            BaseKind::Phc(i) => Base::Phc(Phc::open(i)?),
            #[cfg(feature = "dpdk")]
            BaseKind::Tsc => {
                if !super::tsc::invariant_tsc() {
                    tracing::warn!(
                        "the CPU does not report an invariant TSC (constant_tsc nonstop_tsc): \
                         TSC timestamps may drift with power states"
                    );
                }
                let sleep = || std::thread::sleep(std::time::Duration::from_millis(2));
                let c = TscClock::calibrate(
                    crate::dataplane::dpdk::rdtsc,
                    || system.realtime_to_tai(super::realtime_ns()),
                    50,
                    sleep,
                )?;
                tracing::info!(
                    hz = c.frequency_hz(),
                    "TSC calibrated against the system clock"
                );
                Base::Tsc(c)
            }
            #[cfg(not(feature = "dpdk"))]
            BaseKind::Tsc => return Err(TimeBaseError::NoTsc),
        };
        let holdover = system.holdover();
        if let (Base::Phc(p), Discipliner::Servo(l)) = (&base, &discipliner) {
            if l.reference.name() == format!("phc:/dev/ptp{}", p.index()) {
                return Err(TimeBaseError::SelfReference(p.index()));
            }
        }
        Ok(TimeBase {
            system,
            base,
            steer: Steer::default(),
            repeat: LeapRepeat::default(),
            discipliner,
            discipline: Discipline::new(holdover),
            started: std::time::Instant::now(),
            #[cfg(feature = "dpdk")]
            shared: None,
        })
    }

    /// The reference: the system clock and its UTC offset source.
    pub fn system(&self) -> &SystemClock {
        &self.system
    }

    /// The reference, to change (a reloaded leap-second file).
    pub fn system_mut(&mut self) -> &mut SystemClock {
        &mut self.system
    }

    /// CLOCK_REALTIME on the PTP timescale, steered.
    pub fn system_tai(&self) -> Time {
        let r = super::realtime_ns();
        tai(self.steered_tai(r) + self.repeat.now_extra(r))
    }

    /// A CLOCK_REALTIME reading on the PTP timescale, with the steer's correction.
    fn steered_tai(&self, real_ns: i128) -> i128 {
        self.system.realtime_to_tai(real_ns) + self.steer.at(real_ns)
    }

    /// The clock status the engine announces, now (call about once a second): the
    /// discipline runs one round — the kernel's synchronisation state through the holdover
    /// discipline, or the servo against its reference.
    pub fn status(&mut self) -> ClockStatus {
        let unix = (super::realtime_ns() / 1_000_000_000) as i64;
        let now = self.started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.repeat.arm(
            self.system
                .insertion_at(unix)
                .map(|s| i128::from(s) * 1_000_000_000),
        );
        match &mut self.discipliner {
            Discipliner::Kernel => {
                let k = crate::sys::kernel_clock_state();
                self.system.note_kernel(unix, &k);
                SystemClock::follow(&mut self.discipline, now, k);
                let a = self.discipline.announced(now);
                self.system.status_held(unix, &a)
            }
            Discipliner::FreeRunning => {
                let a = self.discipline.announced(now);
                self.system.status_held(unix, &a)
            }
            Discipliner::Servo(l) => {
                let system = &self.system;
                let tai_minus_utc = |u: i64| system.utc_offset(u).0;
                let l = &mut **l;
                let kind = l.kind;
                let precision = l.reference.precision_ns();
                let status = match &mut self.base {
                    Base::Phc(p) => {
                        let max = p.max_adj_ppb();
                        let make = move |f: f64| kind.make(precision, max, f);
                        *l.lp
                            .round(now, p, l.reference.as_mut(), &tai_minus_utc, &make)
                    }
                    _ => {
                        let mut clock = SteeredClock {
                            steer: &mut self.steer,
                            system,
                        };
                        let make = move |f: f64| kind.make(precision, STEER_MAX_PPB, f);
                        *l.lp
                            .round(now, &mut clock, l.reference.as_mut(), &tai_minus_utc, &make)
                    }
                };
                self.system
                    .status_disciplined(unix, &status.announced, l.source)
            }
        }
    }

    /// What the discipline said at the last [`Self::status`].
    pub fn announced(&self) -> Announced {
        if let Discipliner::Servo(l) = &self.discipliner {
            return l.lp.status().announced;
        }
        let now = self.started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.discipline.announced(now)
    }

    /// Whether a servo steers a PHC (which needs CAP_SYS_TIME for `clock_adjtime`).
    pub fn steers_phc(&self) -> bool {
        matches!(
            (&self.base, &self.discipliner),
            (Base::Phc(_), Discipliner::Servo(_))
        )
    }

    /// The discipline, for status and metrics.
    pub fn discipline_report(&self) -> DisciplineReport {
        let (reference, servo, status) = match &self.discipliner {
            Discipliner::Kernel => ("system".to_string(), None, None),
            Discipliner::FreeRunning => ("none".to_string(), None, None),
            Discipliner::Servo(l) => (
                l.reference.name(),
                Some(l.kind.name()),
                Some(*l.lp.status()),
            ),
        };
        DisciplineReport {
            reference,
            servo,
            status,
            steer_ppb: self.steer.frequency_ppb(),
        }
    }

    /// The published TSC model (created on first call; DPDK time base only).
    #[cfg(feature = "dpdk")]
    pub fn shared_tsc(&mut self) -> Option<Arc<SharedTscClock>> {
        let Base::Tsc(c) = &self.base else {
            return None;
        };
        Some(Arc::clone(
            self.shared
                .get_or_insert_with(|| Arc::new(SharedTscClock::new(c))),
        ))
    }

    /// Keeps the TSC on the reference (call once a second; nothing to do for the others).
    ///
    /// The reference is read between two TSC reads, a few times, and the narrowest pair
    /// counts (its TSC midpoint against the reference): a pair the thread was preempted in
    /// (an interrupt, the hypervisor: hundreds of µs on a busy VM) would otherwise be taken
    /// as a clock error of that size and the tracking loop would steer the TSC clock off by
    /// as much over the next second. If even the narrowest pair is wider than
    /// `TRACK_MAX_WINDOW_NS`, this update is skipped (the next comes in a second).
    pub fn track(&mut self) {
        #[cfg(feature = "dpdk")]
        if let Base::Tsc(c) = &mut self.base {
            let Some((width, tsc, real)) = narrowest_read(
                TRACK_TRIES,
                crate::dataplane::dpdk::rdtsc,
                super::realtime_ns,
            ) else {
                return;
            };
            let width_ns = c.ns_at(tsc.wrapping_add(width)) - c.ns_at(tsc);
            if width_ns > TRACK_MAX_WINDOW_NS {
                tracing::debug!(
                    width_ns = width_ns as i64,
                    "TSC tracking skipped: no narrow read"
                );
                return;
            }
            // Around an inserted leap second CLOCK_REALTIME repeats a second: the TSC runs
            // on by itself rather than follow it there.
            let secs = (real / 1_000_000_000) as i64;
            for s in [secs, secs - 2] {
                if let Some(at) = self.system.insertion_at(s) {
                    let at = i128::from(at) * 1_000_000_000;
                    if (at - 2_000_000_000..at + 1_000_000_000).contains(&real) {
                        return;
                    }
                }
            }
            let reference = self.system.realtime_to_tai(real) + self.steer.at(real);
            let err = c.track(tsc, reference, 1.0);
            if let Some(s) = &self.shared {
                s.publish(c);
            }
            tracing::debug!(
                error_ns = err as i64,
                ppb = c.frequency_adjustment_ppb(),
                "TSC tracking"
            );
        }
    }
}

/// Reads of the reference per tracking update (the narrowest counts).
#[cfg(feature = "dpdk")]
const TRACK_TRIES: usize = 5;
/// A tracking update whose narrowest reference read took longer than this is skipped (ns).
#[cfg(feature = "dpdk")]
const TRACK_MAX_WINDOW_NS: i128 = 10_000;

impl StampClock for TimeBase {
    fn now(&self) -> Time {
        match &self.base {
            Base::System => self.system_tai(),
            Base::Phc(p) => p.now_ns().map_or_else(|_| self.system_tai(), tai),
            #[cfg(feature = "dpdk")]
            Base::Tsc(c) => tai(c.ns_at(crate::dataplane::dpdk::rdtsc())),
        }
    }

    fn time_of(&self, stamp: RawStamp) -> Time {
        match (&self.base, stamp) {
            (Base::System, RawStamp::Ns(ns)) => {
                tai(self.steered_tai(ns) + self.repeat.stamp_extra(ns))
            }
            (Base::Phc(_), RawStamp::Ns(ns)) => tai(ns),
            #[cfg(feature = "dpdk")]
            (Base::Tsc(c), RawStamp::Tsc(t)) => tai(c.ns_at(t)),
            // A stamp from another clock than the base cannot be placed: take now (the
            // daemon never mixes them; see the checks when ports open).
            _ => self.now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UtcSource;

    #[test]
    fn system_stamps_go_to_tai() {
        let tb = TimeBase::new(
            SystemClock::new(UtcSource::Fixed(37), None),
            BaseKind::System,
            Discipliner::Kernel,
        )
        .unwrap();
        let t = tb.time_of(RawStamp::Ns(1_700_000_000_000_000_000));
        assert_eq!(t, Time(1_700_000_037_000_000_000));
        let now = tb.now().0 as i128;
        let real = crate::clock::realtime_ns() + 37_000_000_000;
        assert!((now - real).abs() < 1_000_000_000, "{now} vs {real}");
        assert!(matches!(
            TimeBase::new(
                SystemClock::new(UtcSource::Fixed(37), None),
                BaseKind::Phc(999),
                Discipliner::Kernel,
            ),
            Err(TimeBaseError::Phc(_))
        ));
    }

    #[test]
    fn the_steer_is_continuous_and_linear() {
        let mut st = Steer::default();
        assert_eq!(st.at(5_000_000_000), 0);
        st.step(1_000);
        st.set_frequency(1_000_000_000, 100.0);
        assert_eq!(st.at(1_000_000_000), 1_000, "continuous at the change");
        assert_eq!(st.at(11_000_000_000), 2_000, "100 ppb over 10 s");
        st.set_frequency(11_000_000_000, -100.0);
        assert_eq!(st.at(21_000_000_000), 1_000);
    }

    /// The true time, 3 ms ahead of CLOCK_REALTIME + 37 s, reported by a reference.
    struct Ahead;

    impl Reference for Ahead {
        fn name(&self) -> String {
            "ahead".into()
        }
        fn precision_ns(&self) -> u64 {
            1_000
        }
        fn compare(
            &mut self,
            clock: &mut dyn Disciplinable,
            tai_minus_utc: &dyn Fn(i64) -> i16,
        ) -> Result<super::super::discipline::Comparison, ClockError> {
            let r = super::super::realtime_ns();
            let c = clock.at_realtime(r)?;
            let truth = r + i128::from(tai_minus_utc(0)) * 1_000_000_000 + 3_000_000;
            Ok(super::super::discipline::Comparison::Sample(
                super::super::discipline::RefSample {
                    offset_ns: (c - truth) as i64,
                    local_ns: c as u64,
                    error_ns: 1_000,
                },
            ))
        }
    }

    /// A servo steers the system time base (not CLOCK_REALTIME): its first sample, 3 ms
    /// off, steps the steer, and the stamps follow; the report names reference and servo;
    /// not yet locked-stable, so free-running class 248 is announced.
    #[test]
    fn a_servo_steers_the_system_time_base() {
        let l = ServoLoop::new(
            Box::new(Ahead),
            ServoKind::Linreg,
            TimeSource::GNSS,
            HoldoverConfig::default_profile(),
        );
        let mut tb = TimeBase::new(
            SystemClock::new(UtcSource::Fixed(37), None),
            BaseKind::System,
            Discipliner::Servo(Box::new(l)),
        )
        .unwrap();
        let stamp = RawStamp::Ns(1_700_000_000_000_000_000);
        assert_eq!(tb.time_of(stamp), Time(1_700_000_037_000_000_000));
        let st = tb.status();
        assert_eq!(st.clock_quality.clock_class, 248);
        assert!(!st.time_properties.time_traceable);
        let shifted = tb.time_of(stamp).0 as i128 - 1_700_000_037_000_000_000;
        assert!((shifted - 3_000_000).abs() < 100_000, "{shifted}");
        let d = tb.discipline_report();
        assert_eq!((d.reference.as_str(), d.servo), ("ahead", Some("linreg")));
        let lp = d.status.unwrap();
        assert!(lp.offset_ns.unwrap().abs() > 2_900_000, "{lp:?}");
        assert_eq!(lp.counters.steps, 1);
        let now = tb.now().0 as i128;
        let real = crate::clock::realtime_ns() + 37_000_000_000;
        assert!(
            (now - real - 3_000_000).abs() < 1_000_000,
            "{now} vs {real}"
        );
    }

    /// The repeated second of an insertion: first-pass readings map as they are, the kernel
    /// going back marks the second pass (a second later in TAI), stamps are placed by whether
    /// they could be from it, and the day after is plain again.
    #[test]
    fn the_repeated_second_is_told_apart() {
        let at: i128 = 1_483_228_800 * 1_000_000_000; // 2017-01-01T00:00:00Z
        let ms = |m: i128| at - 1_000_000_000 + m * 1_000_000;
        let mut r = LeapRepeat::default();
        r.arm(Some(at));
        for m in [200, 600, 990] {
            assert_eq!(r.now_extra(ms(m)), 0, "first pass {m}");
        }
        assert_eq!(r.stamp_extra(ms(985)), 0, "a first-pass stamp");
        assert_eq!(r.now_extra(ms(10)), 1_000_000_000, "the kernel went back");
        assert_eq!(r.now_extra(ms(700)), 1_000_000_000, "still the second pass");
        assert_eq!(r.stamp_extra(ms(650)), 1_000_000_000, "a second-pass stamp");
        assert_eq!(
            r.stamp_extra(ms(980)),
            0,
            "later than any second-pass reading"
        );
        assert_eq!(r.now_extra(at), 0, "midnight");
        assert_eq!(r.now_extra(ms(-500)), 0, "before the window");
        r.arm(None);
        assert_eq!(r.now_extra(ms(10)), 0);
    }
}
