//! Time as the engine sees it: nanoseconds on the PTP timescale (TAI since 1970-01-01).
//!
//! The engine reads no clock. Every event carries `now`, read by the caller from the clock
//! that stamps packets (the PHC, or the calibrated TSC/system clock), so timer deadlines and
//! packet timestamps are on one timescale. `now` must not go backwards between events; the
//! engine clamps it if it does, and counts that.

use core::fmt;
use core::ops::{Add, Sub};

use crate::wire::Timestamp;

/// A point on the PTP timescale, in nanoseconds since the PTP epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub u64);

/// A signed span of time in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub i64);

impl Time {
    /// The PTP epoch.
    pub const ZERO: Time = Time(0);
    /// Far future: "no deadline".
    pub const NEVER: Time = Time(u64::MAX);

    /// From a wire timestamp (saturating past year 2554).
    pub fn from_timestamp(t: Timestamp) -> Time {
        Time(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
    }

    /// To a wire timestamp.
    pub fn to_timestamp(self) -> Timestamp {
        Timestamp {
            seconds: self.0 / 1_000_000_000,
            nanoseconds: (self.0 % 1_000_000_000) as u32,
        }
    }

    /// Moved by `delta` ns (a clock step), saturating; [`Time::NEVER`] stays never.
    pub fn shifted(self, delta: i64) -> Time {
        if self == Time::NEVER {
            return self;
        }
        Time((i128::from(self.0) + i128::from(delta)).clamp(0, i128::from(u64::MAX - 1)) as u64)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self - earlier`, saturating at zero.
    pub const fn saturating_since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// `self - other`, signed (saturating at the ends of `i64`).
    pub const fn signed_since(self, other: Time) -> i64 {
        let d = self.0 as i128 - other.0 as i128;
        if d > i64::MAX as i128 {
            i64::MAX
        } else if d < i64::MIN as i128 {
            i64::MIN
        } else {
            d as i64
        }
    }

    /// `self + ns`, saturating.
    pub const fn plus_nanos(self, ns: u64) -> Time {
        Time(self.0.saturating_add(ns))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add_signed(d.0))
    }
}

impl Sub for Time {
    type Output = Duration;
    fn sub(self, o: Time) -> Duration {
        Duration((self.0 as i128 - o.0 as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_timestamp())
    }
}

impl Duration {
    /// Zero.
    pub const ZERO: Duration = Duration(0);

    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Duration {
        Duration(s.saturating_mul(1_000_000_000))
    }

    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Duration {
        Duration(ms.saturating_mul(1_000_000))
    }

    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
}

/// Length of a PTP log interval (2^log seconds) in nanoseconds. `log` is clamped to
/// [-15, 15]: 30 µs to 9 hours, wider than any profile allows.
pub const fn log_interval_nanos(log: i8) -> u64 {
    let l = if log < -15 {
        -15
    } else if log > 15 {
        15
    } else {
        log
    };
    if l >= 0 {
        1_000_000_000u64 << l
    } else {
        1_000_000_000u64 >> (-l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_intervals() {
        assert_eq!(log_interval_nanos(0), 1_000_000_000);
        assert_eq!(log_interval_nanos(1), 2_000_000_000);
        assert_eq!(log_interval_nanos(-3), 125_000_000);
        assert_eq!(log_interval_nanos(-7), 7_812_500);
        assert_eq!(log_interval_nanos(-100), log_interval_nanos(-15));
    }

    #[test]
    fn timestamp_roundtrip() {
        let t = Time(1_700_000_037_123_456_789);
        assert_eq!(Time::from_timestamp(t.to_timestamp()), t);
        assert_eq!(t - Time(1_700_000_037_000_000_000), Duration(123_456_789));
    }
}
