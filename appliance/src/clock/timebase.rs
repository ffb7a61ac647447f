//! The time base: the clock the data plane stamps with, on the PTP timescale.
//!
//! * [`Base::System`] — CLOCK_REALTIME + TAI − UTC (kernel software stamps);
//! * [`Base::Phc`] — one PTP hardware clock that stamps every port (kernel hardware
//!   stamps), assumed on TAI until the servo disciplines it;
//! * `Base::Tsc` (DPDK) — the TSC, calibrated against and tracking CLOCK_REALTIME + TAI −
//!   UTC, published through a sequence lock ([`SharedTscClock`]) for the other cores.
//!
//! [`TimeBase`] implements the data plane's [`StampClock`]: every raw stamp becomes a
//! [`Time`] here and nowhere else. The servo (clock discipline) will steer what is here.

#[cfg(feature = "dpdk")]
use std::sync::Arc;

use meridian_proto::engine::{ClockStatus, Time};
use meridian_proto::servo::holdover::{Announced, Discipline};

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
    /// This build has no TSC time base.
    #[error("this build has no DPDK data plane (TSC time base): rebuild with `--features dpdk`")]
    NoTsc,
}

/// The time base and the reference it follows.
#[derive(Debug)]
pub struct TimeBase {
    system: SystemClock,
    base: Base,
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
    /// Sets up `kind` against `system` (the TSC is calibrated over ~100 ms).
    pub fn new(system: SystemClock, kind: BaseKind) -> Result<TimeBase, TimeBaseError> {
        let base = match kind {
            BaseKind::System => Base::System,
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
        Ok(TimeBase {
            system,
            base,
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

    /// CLOCK_REALTIME on the PTP timescale.
    pub fn system_tai(&self) -> Time {
        tai(self.system.realtime_to_tai(super::realtime_ns()))
    }

    /// The clock status the engine announces, now: the kernel's synchronisation state goes
    /// through the holdover discipline (call about once a second).
    pub fn status(&mut self) -> ClockStatus {
        let unix = (super::realtime_ns() / 1_000_000_000) as i64;
        let now = self.started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        SystemClock::follow(&mut self.discipline, now, crate::sys::kernel_clock_state());
        let a = self.discipline.announced(now);
        self.system.status_held(unix, &a)
    }

    /// What the discipline said at the last [`Self::status`].
    pub fn announced(&self) -> Announced {
        let now = self.started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.discipline.announced(now)
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
            let reference = self.system.realtime_to_tai(real);
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
            (Base::System, RawStamp::Ns(ns)) => tai(self.system.realtime_to_tai(ns)),
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
                BaseKind::Phc(999)
            ),
            Err(TimeBaseError::Phc(_))
        ));
    }
}
