//! The clock layer: what time it is on the PTP timescale, and what the clock may honestly say
//! about itself.
//!
//! * [`LeapTable`] reads the IERS leap-second list (`leap-seconds.list`, Debian `tzdata`) for
//!   TAI − UTC and upcoming leap seconds; an expired list is reported, not trusted blindly.
//! * [`SystemClock`] is the reference for the socket data plane with software timestamps:
//!   CLOCK_REALTIME (UTC) + TAI − UTC. Its quality comes from the kernel's own view
//!   (`adjtimex`): synchronised or not, estimated error.
//! * [`ClockStatus`] for the engine is derived here: class, accuracy, variance, time source,
//!   traceability, UTC offset and leap flags.
//! * [`timebase::TimeBase`] is the clock the data plane stamps with (system, PHC or TSC)
//!   and turns raw stamps into PTP time; [`phc::Phc`] reads a PTP hardware clock (and steps
//!   and slews it when opened to discipline).
//! * [`gnss::NmeaSerial`] reads a GNSS receiver's NMEA sentences from its serial line.
//! * [`discipline`] runs a servo between a [`discipline::Disciplinable`] clock and a
//!   [`discipline::Reference`], and the holdover discipline after it: what may be announced.

pub mod discipline;
pub mod gnss;
pub mod phc;
pub mod reference;
pub mod timebase;
pub mod tsc;

use std::path::Path;

use meridian_proto::engine::{ClockStatus, TimeProperties};
use meridian_proto::servo::holdover::{Announced, Discipline, DisciplineState, HoldoverConfig};
use meridian_proto::servo::ServoState;
use meridian_proto::wire::{ClockAccuracy, ClockQuality, TimeSource};

/// CLOCK_REALTIME now, in ns since 1970 (UTC).
pub fn realtime_ns() -> i128 {
    crate::sys::realtime_ns()
}

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// A leap-second table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeapTable {
    /// (Unix time from which the offset applies, TAI − UTC), ascending.
    entries: Vec<(i64, i16)>,
    /// Unix time after which the file must not be trusted.
    pub expires: Option<i64>,
}

/// A problem with the leap-second file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeapError {
    /// It could not be read.
    #[error("{path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        error: String,
    },
    /// A line does not parse.
    #[error("{path}: line {line}: {problem}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: &'static str,
    },
    /// No entries.
    #[error("{0}: no leap-second entries")]
    Empty(String),
}

impl LeapTable {
    /// Parses the IERS format: `NTP-seconds offset # comment` lines and a `#@ expiry` line.
    pub fn parse(text: &str, path: &str) -> Result<LeapTable, LeapError> {
        let mut entries = Vec::new();
        let mut expires = None;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("#@") {
                let ntp: i64 = rest.trim().parse().map_err(|_| LeapError::Parse {
                    path: path.into(),
                    line: n + 1,
                    problem: "bad expiry",
                })?;
                expires = Some(ntp - NTP_UNIX_OFFSET);
                continue;
            }
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let mut it = t.split_whitespace();
            let (Some(a), Some(b)) = (it.next(), it.next()) else {
                return Err(LeapError::Parse {
                    path: path.into(),
                    line: n + 1,
                    problem: "expected `seconds offset`",
                });
            };
            let ntp: i64 = a.parse().map_err(|_| LeapError::Parse {
                path: path.into(),
                line: n + 1,
                problem: "bad NTP seconds",
            })?;
            let off: i16 = b.parse().map_err(|_| LeapError::Parse {
                path: path.into(),
                line: n + 1,
                problem: "bad offset",
            })?;
            entries.push((ntp - NTP_UNIX_OFFSET, off));
        }
        if entries.is_empty() {
            return Err(LeapError::Empty(path.into()));
        }
        entries.sort();
        Ok(LeapTable { entries, expires })
    }

    /// Reads a file.
    pub fn load(path: &Path) -> Result<LeapTable, LeapError> {
        let text = std::fs::read_to_string(path).map_err(|e| LeapError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        LeapTable::parse(&text, &path.display().to_string())
    }

    /// TAI − UTC at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i16 {
        self.entries
            .iter()
            .take_while(|(from, _)| *from <= t)
            .last()
            .map_or(10, |e| e.1)
    }

    /// The change in TAI − UTC at the end of the UTC day containing `t`: +1 (leap61),
    /// −1 (leap59) or 0.
    pub fn leap_at_end_of_day(&self, t: i64) -> i8 {
        let day_end = (t.div_euclid(86_400) + 1) * 86_400;
        let before = self.offset_at(day_end - 1);
        let after = self.offset_at(day_end);
        (after - before).clamp(-1, 1) as i8
    }

    /// Whether the table has expired at `t`.
    pub fn expired(&self, t: i64) -> bool {
        self.expires.is_some_and(|e| t >= e)
    }
}

/// The leap-second file, reloaded when it changes (its modification time or size) or when
/// asked (SIGHUP). A file that no longer parses is reported and the table in use kept.
#[derive(Debug, Clone)]
pub struct LeapWatch {
    path: std::path::PathBuf,
    /// (modification time, size) of the version loaded.
    seen: Option<(std::time::SystemTime, u64)>,
}

impl LeapWatch {
    /// Watches `path`, whose current version was just loaded.
    pub fn new(path: &Path) -> Self {
        LeapWatch {
            path: path.to_path_buf(),
            seen: Self::stamp(path),
        }
    }

    fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
        let m = std::fs::metadata(path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new table if the file changed since the last load (or `force`), `None` if not; an
    /// error if it changed but cannot be used (the caller keeps its table; the same version
    /// is not retried until it changes again or `force`).
    pub fn poll(&mut self, force: bool) -> Result<Option<LeapTable>, LeapError> {
        let now = Self::stamp(&self.path);
        if !force && now == self.seen {
            return Ok(None);
        }
        self.seen = now;
        LeapTable::load(&self.path).map(Some)
    }
}

/// Seconds before expiry from which a leap-second file is reported as expiring.
pub const LEAP_EXPIRY_WARNING_S: i64 = 30 * 86_400;

/// What the kernel says about CLOCK_REALTIME (`adjtimex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelClockState {
    /// Not STA_UNSYNC: something (NTP, phc2sys, PTP) disciplines it.
    pub synchronized: bool,
    /// Estimated error, µs.
    pub esterror_us: i64,
    /// Maximum error, µs.
    pub maxerror_us: i64,
    /// The leap second the kernel has armed (chrony, ntpd or ptp4l arm it from their
    /// sources), or is in.
    pub leap: KernelLeap,
}

/// The kernel's leap-second state (`adjtimex`: STA_INS / STA_DEL, TIME_OOP).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KernelLeap {
    /// None armed.
    #[default]
    None,
    /// A second is inserted at the end of this UTC day (23:59:59 is repeated).
    Insert,
    /// 23:59:59 of this UTC day is skipped.
    Delete,
    /// In the inserted second now (TIME_OOP).
    InProgress,
}

/// clockAccuracy for an error bound in nanoseconds (Table 5).
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

/// Where TAI − UTC comes from.
#[derive(Debug, Clone)]
pub enum UtcSource {
    /// A fixed, configured value (trusted as valid).
    Fixed(i16),
    /// The leap-second table.
    Table(LeapTable),
}

/// The system clock as a PTP reference.
#[derive(Debug, Clone)]
pub struct SystemClock {
    utc: UtcSource,
    /// How it is held over when its own discipline stops.
    holdover: HoldoverConfig,
    /// An explicit quality from the configuration: (quality, source, time/freq traceable).
    explicit: Option<(ClockQuality, TimeSource, bool, bool)>,
    /// A leap second the kernel armed that the leap-second table does not list: (the Unix
    /// second it takes effect, +1 or −1).
    kernel_leap: Option<(i64, i8)>,
}

impl SystemClock {
    /// A system clock reference.
    pub fn new(utc: UtcSource, explicit: Option<(ClockQuality, TimeSource, bool, bool)>) -> Self {
        SystemClock {
            utc,
            holdover: Self::HOLDOVER,
            explicit,
            kernel_leap: None,
        }
    }

    /// Holds over as `h` says (`[clock] holdover-*`) instead of [`Self::HOLDOVER`].
    pub fn with_holdover(mut self, h: HoldoverConfig) -> Self {
        self.holdover = h;
        self
    }

    /// How it is held over.
    pub fn holdover(&self) -> HoldoverConfig {
        self.holdover
    }

    /// TAI − UTC (s) at Unix time `unix_s`, and whether it is known to be right.
    pub fn utc_offset(&self, unix_s: i64) -> (i16, bool) {
        match &self.utc {
            UtcSource::Fixed(o) => (*o, true),
            UtcSource::Table(t) => {
                let mut off = t.offset_at(unix_s);
                if let Some((at, d)) = self.kernel_leap {
                    // Until the table lists it (a reloaded file), the kernel's leap counts.
                    if unix_s >= at && t.offset_at(at) == t.offset_at(at - 1) {
                        off = off.saturating_add(i16::from(d));
                    }
                }
                (off, !t.expired(unix_s))
            }
        }
    }

    /// Takes note of the kernel's leap-second state at Unix time `unix_s` (the system clock
    /// as reference: chrony/ntpd arm the kernel from their sources, which may know of a leap
    /// second before the file here does). A leap the table lacks is announced (leap59/61 on
    /// its day) and applied to TAI − UTC from its instant on; disarmed before its instant, it
    /// is forgotten. A configured offset ignores the kernel (the configuration wins).
    pub fn note_kernel(&mut self, unix_s: i64, kernel: &KernelClockState) {
        let UtcSource::Table(t) = &self.utc else {
            return;
        };
        let day_end = (unix_s.div_euclid(86_400) + 1) * 86_400;
        let armed = match kernel.leap {
            KernelLeap::Insert | KernelLeap::InProgress => 1,
            KernelLeap::Delete => -1,
            KernelLeap::None => 0,
        };
        if armed != 0 {
            if t.leap_at_end_of_day(unix_s) != armed && self.kernel_leap.is_none() {
                tracing::warn!(
                    at = day_end,
                    change = armed,
                    "the kernel has a leap second armed that the leap-second file does not \
                     list: announcing and applying it (update tzdata)"
                );
                self.kernel_leap = Some((day_end, armed));
            }
        } else if let Some((at, _)) = self.kernel_leap {
            if unix_s < at - 1 {
                tracing::warn!(at, "the kernel's leap second was disarmed before its time");
                self.kernel_leap = None;
            }
        }
    }

    /// The instant (Unix seconds) of a leap-second insertion at the end of the UTC day
    /// containing `unix_s`, from the table or the kernel.
    pub fn insertion_at(&self, unix_s: i64) -> Option<i64> {
        let day_end = (unix_s.div_euclid(86_400) + 1) * 86_400;
        let from_table =
            matches!(&self.utc, UtcSource::Table(t) if t.leap_at_end_of_day(unix_s) > 0);
        let from_kernel = self.kernel_leap == Some((day_end, 1));
        (from_table || from_kernel).then_some(day_end)
    }

    /// Uses `table` from now on (a reloaded leap-second file); `false` if the offset is fixed
    /// by the configuration, which wins.
    pub fn replace_table(&mut self, table: LeapTable) -> bool {
        match &mut self.utc {
            UtcSource::Table(t) => {
                *t = table;
                true
            }
            UtcSource::Fixed(_) => false,
        }
    }

    /// When the leap-second file stops being valid (Unix seconds), if one is used.
    pub fn leap_file_expires(&self) -> Option<i64> {
        match &self.utc {
            UtcSource::Table(t) => t.expires,
            UtcSource::Fixed(_) => None,
        }
    }

    /// Converts a CLOCK_REALTIME reading (ns) to the PTP timescale (TAI ns).
    pub fn realtime_to_tai(&self, realtime_ns: i128) -> i128 {
        let (off, _) = self.utc_offset((realtime_ns / 1_000_000_000) as i64);
        realtime_ns + off as i128 * 1_000_000_000
    }

    /// How the system clock is held over by default when its own discipline (chrony/NTP)
    /// stops (`[clock] holdover-*` change it): a 1 ppm frequency uncertainty (a server's crystal, temperature), in spec while within
    /// 1 ms (an NTP-class reference), one hour's budget; every class 248, since the system
    /// clock is not a primary reference of ours — the state, the accuracy and the
    /// traceability carry what holdover means.
    pub const HOLDOVER: HoldoverConfig = HoldoverConfig {
        spec_ns: 1_000_000,
        budget_s: 3_600,
        frequency_floor_ppb: 1_000.0,
        aging_ppb_per_s: 0.0,
        locked_class: 248,
        holdover_class: 248,
        degraded_class: 248,
        free_class: 248,
    };

    /// Feeds the kernel's state at `now_ns` (any monotonic ns) to `discipline`: synchronised
    /// is the reference present and the kernel's discipline locked; its estimated error is
    /// the reference's error.
    pub fn follow(discipline: &mut Discipline, now_ns: u64, kernel: KernelClockState) {
        let servo = if kernel.synchronized {
            ServoState::LockedStable
        } else {
            ServoState::Unlocked
        };
        let error_ns = (kernel.esterror_us.max(0) as u64).saturating_mul(1000);
        discipline.update(now_ns, kernel.synchronized, error_ns, servo, 0, 0.0);
    }

    /// The engine's clock status at Unix time `unix_s` from what `discipline` says may be
    /// announced (an explicit quality in the configuration overrides it).
    pub fn status_held(&self, unix_s: i64, a: &Announced) -> ClockStatus {
        let mut st = self.status(
            unix_s,
            KernelClockState {
                synchronized: a.state == DisciplineState::Locked,
                esterror_us: a.error_bound_ns.map_or(i64::MAX, |e| (e / 1000) as i64),
                maxerror_us: i64::MAX,
                leap: KernelLeap::None,
            },
        );
        if self.explicit.is_none() && a.state == DisciplineState::Holdover {
            let tp = &mut st.time_properties;
            tp.time_traceable = a.time_traceable;
            tp.frequency_traceable = a.frequency_traceable;
            tp.time_source = if a.time_traceable {
                TimeSource::NTP
            } else {
                TimeSource::INTERNAL_OSCILLATOR
            };
            st.clock_quality = ClockQuality {
                clock_class: a.quality.clock_class,
                clock_accuracy: a.quality.clock_accuracy,
                offset_scaled_log_variance: 0xffff,
            };
        }
        st
    }

    /// The engine's clock status at Unix time `unix_s` when a servo disciplines the time base
    /// to a reference (a `source`): the quality and traceability `a` says may be announced
    /// (an explicit quality in the configuration overrides it); the UTC offset and leap
    /// flags as always.
    pub fn status_disciplined(
        &self,
        unix_s: i64,
        a: &Announced,
        source: TimeSource,
    ) -> ClockStatus {
        let mut st = self.status(
            unix_s,
            KernelClockState {
                synchronized: false,
                esterror_us: 0,
                maxerror_us: i64::MAX,
                leap: KernelLeap::None,
            },
        );
        if self.explicit.is_none() {
            let tp = &mut st.time_properties;
            tp.time_traceable = a.time_traceable;
            tp.frequency_traceable = a.frequency_traceable;
            tp.time_source = if a.time_traceable {
                source
            } else {
                TimeSource::INTERNAL_OSCILLATOR
            };
            st.clock_quality = a.quality;
        }
        st
    }

    /// The engine's clock status at Unix time `unix_s`, given the kernel's state.
    pub fn status(&self, unix_s: i64, kernel: KernelClockState) -> ClockStatus {
        let (offset, valid) = self.utc_offset(unix_s);
        let day_end = (unix_s.div_euclid(86_400) + 1) * 86_400;
        let leap = match (&self.utc, self.kernel_leap) {
            (UtcSource::Table(_), Some((at, d))) if at == day_end => d,
            (UtcSource::Table(t), _) => t.leap_at_end_of_day(unix_s),
            (UtcSource::Fixed(_), _) => 0,
        };
        let (quality, source, ttra, ftra) = self.explicit.unwrap_or_else(|| {
            if kernel.synchronized {
                (
                    ClockQuality {
                        // Default class: not locked to a primary reference of our own.
                        clock_class: 248,
                        clock_accuracy: accuracy_for_ns(
                            (kernel.esterror_us.max(0) as u64).saturating_mul(1000),
                        ),
                        offset_scaled_log_variance: 0xffff,
                    },
                    TimeSource::NTP,
                    true,
                    true,
                )
            } else {
                (
                    ClockQuality {
                        clock_class: 248,
                        clock_accuracy: ClockAccuracy::UNKNOWN,
                        offset_scaled_log_variance: 0xffff,
                    },
                    TimeSource::INTERNAL_OSCILLATOR,
                    false,
                    false,
                )
            }
        });
        ClockStatus {
            clock_quality: quality,
            time_properties: TimeProperties {
                current_utc_offset: offset,
                current_utc_offset_valid: valid,
                leap59: leap < 0,
                leap61: leap > 0,
                time_traceable: ttra,
                frequency_traceable: ftra,
                ptp_timescale: true,
                time_source: source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str =
        "# comment\n#@\t3960057600\n2272060800\t10\t# 1 Jan 1972\n3692217600\t37\t# 1 Jan 2017\n";

    /// chrony synchronised → lost for a while → back: locked, then holdover (traceable and
    /// with a growing error bound while within 1 ms, then not), then locked again; every
    /// class 248 with the system clock.
    #[test]
    fn system_clock_holdover_follows_the_kernel() {
        let sys = SystemClock::new(UtcSource::Fixed(37), None);
        let mut d = Discipline::new(SystemClock::HOLDOVER);
        let synced = KernelClockState {
            synchronized: true,
            esterror_us: 200,
            maxerror_us: 300,
            leap: KernelLeap::None,
        };
        let lost = KernelClockState {
            synchronized: false,
            esterror_us: 16_000_000,
            maxerror_us: 16_000_000,
            leap: KernelLeap::None,
        };
        let s = 1_000_000_000u64;
        let at = |d: &mut Discipline, t: u64, k| {
            SystemClock::follow(d, t * s, k);
            let a = d.announced(t * s);
            (a.state, sys.status_held(1_700_000_000, &a))
        };
        let (state, st) = at(&mut d, 0, lost);
        assert_eq!(state, DisciplineState::FreeRunning);
        assert!(!st.time_properties.time_traceable);
        let (state, st) = at(&mut d, 1, synced);
        assert_eq!(state, DisciplineState::Locked);
        assert!(st.time_properties.time_traceable);
        assert_eq!(st.clock_quality.clock_accuracy, ClockAccuracy::US_250);
        // Lost at 10 s: 200 µs + 1 ppm · t is within 1 ms for 800 s.
        at(&mut d, 10, lost);
        let (state, st) = at(&mut d, 110, lost);
        assert_eq!(state, DisciplineState::Holdover);
        assert!(st.time_properties.time_traceable, "in spec");
        assert_eq!(st.time_properties.time_source, TimeSource::NTP);
        assert_eq!(
            st.clock_quality.clock_accuracy,
            ClockAccuracy::MS_1,
            "300 µs"
        );
        assert_eq!(st.clock_quality.clock_class, 248);
        let (state, st) = at(&mut d, 900, lost);
        assert_eq!(state, DisciplineState::Holdover);
        assert!(!st.time_properties.time_traceable, "beyond 1 ms");
        assert_eq!(
            st.time_properties.time_source,
            TimeSource::INTERNAL_OSCILLATOR
        );
        assert_eq!(st.clock_quality.clock_accuracy, ClockAccuracy::MS_2_5);
        let (state, st) = at(&mut d, 901, synced);
        assert_eq!(state, DisciplineState::Locked);
        assert!(st.time_properties.time_traceable);
    }

    /// Reloaded when the file changes or when forced; a broken new version is an error and
    /// is not retried until it changes again.
    #[test]
    fn leap_watch_reloads_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leap-seconds.list");
        std::fs::write(&path, LIST).unwrap();
        let mut w = LeapWatch::new(&path);
        assert_eq!(w.poll(false), Ok(None));
        let more = format!("{LIST}3723753600\t38\t# a future leap\n");
        std::fs::write(&path, &more).unwrap();
        let t = w.poll(false).unwrap().expect("changed");
        assert_eq!(t.offset_at(3_723_753_600 - NTP_UNIX_OFFSET), 38);
        assert_eq!(w.poll(false), Ok(None));
        assert!(w.poll(true).unwrap().is_some(), "forced (SIGHUP)");
        std::fs::write(&path, "12 nonsense\n").unwrap();
        assert!(matches!(
            w.poll(false),
            Err(LeapError::Parse { line: 1, .. })
        ));
        assert_eq!(
            w.poll(false),
            Ok(None),
            "the same broken version is not retried"
        );
        let mut sys =
            SystemClock::new(UtcSource::Table(LeapTable::parse(LIST, "x").unwrap()), None);
        assert!(sys.replace_table(t));
        assert_eq!(sys.utc_offset(3_723_753_600 - NTP_UNIX_OFFSET).0, 38);
        let mut fixed = SystemClock::new(UtcSource::Fixed(37), None);
        assert!(!fixed.replace_table(LeapTable::parse(LIST, "x").unwrap()));
    }

    /// A leap second inserted at the end of 2016-12-31, in simulated time: leap61 announced
    /// through that UTC day only, the UTC offset 36 until the leap and 37 from its end, and
    /// TAI two seconds on from 23:59:59 to 00:00:00 (the inserted second between them).
    /// (The repeated 23:59:59 itself: `timebase::LeapRepeat`, `the_repeated_second_is_told_apart`.)
    #[test]
    fn an_inserted_leap_second() {
        let list = "#@\t3960057600\n3644697600\t36\t# 1 Jul 2015\n3692217600\t37\t# 1 Jan 2017\n";
        let sys = SystemClock::new(UtcSource::Table(LeapTable::parse(list, "x").unwrap()), None);
        let kernel = KernelClockState {
            synchronized: true,
            esterror_us: 10,
            maxerror_us: 10,
            leap: KernelLeap::None,
        };
        let midnight = 3_692_217_600 - NTP_UNIX_OFFSET; // 2017-01-01T00:00:00Z
        let at = |t: i64| sys.status(t, kernel).time_properties;
        let before_day = at(midnight - 86_400 - 1);
        assert!(!before_day.leap61 && before_day.current_utc_offset == 36);
        for t in [midnight - 86_400, midnight - 3_600, midnight - 1] {
            let tp = at(t);
            assert!(tp.leap61 && !tp.leap59, "at {t}");
            assert_eq!(tp.current_utc_offset, 36, "at {t}");
        }
        let after = at(midnight);
        assert!(!after.leap61 && after.current_utc_offset == 37);
        let ns = |t: i64| i128::from(t) * 1_000_000_000;
        let last = sys.realtime_to_tai(ns(midnight - 1));
        let next = sys.realtime_to_tai(ns(midnight));
        assert_eq!(
            next - last,
            ns(2),
            "the inserted second lies between them in TAI"
        );
    }

    #[test]
    fn leap_table_offsets_and_expiry() {
        let t = LeapTable::parse(LIST, "x").unwrap();
        let jan_2017 = 3_692_217_600 - NTP_UNIX_OFFSET;
        assert_eq!(t.offset_at(jan_2017 - 1), 10);
        assert_eq!(t.offset_at(jan_2017), 37);
        assert_eq!(t.leap_at_end_of_day(jan_2017 - 3600), 1);
        assert_eq!(t.leap_at_end_of_day(jan_2017 + 3600), 0);
        assert!(!t.expired(jan_2017));
        assert!(t.expired(3_960_057_600 - NTP_UNIX_OFFSET));
        assert!(matches!(
            LeapTable::parse("12 x\n", "f"),
            Err(LeapError::Parse { line: 1, .. })
        ));
    }

    #[test]
    fn system_leap_file_parses_if_present() {
        let p = Path::new("/usr/share/zoneinfo/leap-seconds.list");
        if p.exists() {
            let t = LeapTable::load(p).unwrap();
            assert_eq!(t.offset_at(1_700_000_000), 37);
        }
    }

    #[test]
    fn status_is_honest() {
        let c = SystemClock::new(UtcSource::Table(LeapTable::parse(LIST, "x").unwrap()), None);
        let unsync = KernelClockState {
            synchronized: false,
            esterror_us: 0,
            maxerror_us: 16_000_000,
            leap: KernelLeap::None,
        };
        let s = c.status(1_700_000_000, unsync);
        assert_eq!(s.clock_quality.clock_class, 248);
        assert_eq!(s.clock_quality.clock_accuracy, ClockAccuracy::UNKNOWN);
        assert!(!s.time_properties.time_traceable);
        assert_eq!(s.time_properties.current_utc_offset, 37);
        assert!(s.time_properties.current_utc_offset_valid);
        assert!(s.time_properties.ptp_timescale);
        let synced = KernelClockState {
            synchronized: true,
            esterror_us: 800,
            maxerror_us: 5000,
            leap: KernelLeap::None,
        };
        let s = c.status(1_700_000_000, synced);
        assert_eq!(s.clock_quality.clock_accuracy, ClockAccuracy::MS_1);
        assert_eq!(s.time_properties.time_source, TimeSource::NTP);
        // Past expiry the offset is no longer claimed valid.
        let s = c.status(3_960_057_600 - NTP_UNIX_OFFSET + 1, unsync);
        assert!(!s.time_properties.current_utc_offset_valid);
        assert_eq!(accuracy_for_ns(24), ClockAccuracy::NS_25);
        assert_eq!(accuracy_for_ns(20_000_000_000), ClockAccuracy::S_10_PLUS);
    }

    /// The kernel's leap state, with the system clock as reference: a leap second the kernel
    /// armed (chrony heard of it) but the file lacks is announced on its day and applied from
    /// its instant, also after the kernel forgets it, and not twice once the file lists it;
    /// one the file lists is not doubled; one disarmed early is forgotten; a configured
    /// offset ignores the kernel.
    #[test]
    fn the_kernels_leap_second_is_honoured() {
        let old = "#@\t3960057600\n3644697600\t36\t# 1 Jul 2015\n";
        let new = "#@\t3960057600\n3644697600\t36\t# 1 Jul 2015\n3692217600\t37\t# 1 Jan 2017\n";
        let midnight = 3_692_217_600 - NTP_UNIX_OFFSET;
        let k = |leap| KernelClockState {
            synchronized: true,
            esterror_us: 10,
            maxerror_us: 10,
            leap,
        };
        let mut sys = SystemClock::new(UtcSource::Table(LeapTable::parse(old, "x").unwrap()), None);
        let noon = midnight - 43_200;
        assert!(!sys.status(noon, k(KernelLeap::None)).time_properties.leap61);
        sys.note_kernel(noon, &k(KernelLeap::Insert));
        let tp = sys.status(noon, k(KernelLeap::Insert)).time_properties;
        assert!(tp.leap61 && tp.current_utc_offset == 36);
        assert_eq!(sys.insertion_at(noon), Some(midnight));
        assert_eq!(sys.utc_offset(midnight - 1).0, 36);
        assert_eq!(sys.utc_offset(midnight).0, 37);
        sys.note_kernel(midnight + 5, &k(KernelLeap::None));
        let tp = sys
            .status(midnight + 5, k(KernelLeap::None))
            .time_properties;
        assert!(!tp.leap61 && tp.current_utc_offset == 37, "{tp:?}");
        assert!(sys.replace_table(LeapTable::parse(new, "x").unwrap()));
        assert_eq!(sys.utc_offset(midnight + 5).0, 37, "not twice");
        // The file knows; the kernel agrees: nothing extra.
        let mut sys = SystemClock::new(UtcSource::Table(LeapTable::parse(new, "x").unwrap()), None);
        sys.note_kernel(noon, &k(KernelLeap::Insert));
        assert_eq!(sys.utc_offset(midnight).0, 37);
        // Disarmed before its time.
        let mut sys = SystemClock::new(UtcSource::Table(LeapTable::parse(old, "x").unwrap()), None);
        sys.note_kernel(noon, &k(KernelLeap::Insert));
        sys.note_kernel(noon + 60, &k(KernelLeap::None));
        assert_eq!(sys.utc_offset(midnight).0, 36);
        assert_eq!(sys.insertion_at(noon), None);
        // A deletion.
        sys.note_kernel(noon, &k(KernelLeap::Delete));
        assert!(
            sys.status(noon, k(KernelLeap::Delete))
                .time_properties
                .leap59
        );
        assert_eq!(sys.utc_offset(midnight).0, 35);
        // Configured offset: the configuration wins.
        let mut fixed = SystemClock::new(UtcSource::Fixed(36), None);
        fixed.note_kernel(noon, &k(KernelLeap::Insert));
        assert_eq!(fixed.utc_offset(midnight).0, 36);
        assert!(
            !fixed
                .status(noon, k(KernelLeap::Insert))
                .time_properties
                .leap61
        );
    }
}
