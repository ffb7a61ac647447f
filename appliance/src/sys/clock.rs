//! Clocks: `clock_gettime` (CLOCK_REALTIME and dynamic PHC clocks through
//! [`fd_to_clockid`]), the kernel's view of CLOCK_REALTIME synchronisation (`adjtimex`,
//! read-only), and stepping and slewing a PHC (`clock_adjtime`, `PTP_CLOCK_GETCAPS`) — never
//! CLOCK_REALTIME, which Meridian leaves to chrony/NTP.

use std::io;
use std::mem;
use std::os::fd::RawFd;

use crate::clock::{KernelClockState, KernelLeap};

use super::cvt;

/// CLOCK_REALTIME in ns since 1970 (UTC, with the kernel's leap-second handling).
pub fn realtime_ns() -> i128 {
    clock_ns(libc::CLOCK_REALTIME).unwrap_or(0)
}

/// `clock_gettime(id)` in ns.
pub fn clock_ns(id: libc::clockid_t) -> io::Result<i128> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, exclusively borrowed timespec the call writes into.
    cvt(unsafe { libc::clock_gettime(id, &mut ts) })?;
    Ok(ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128)
}

/// `FD_TO_CLOCKID`: the dynamic clock id of an open `/dev/ptpN`.
pub fn fd_to_clockid(fd: RawFd) -> libc::clockid_t {
    ((!fd) << 3) | 3
}

/// Steps dynamic clock `id` (a PHC) by `ns` (`ADJ_SETOFFSET | ADJ_NANO`).
pub fn clock_step(id: libc::clockid_t, ns: i64) -> io::Result<()> {
    if id == libc::CLOCK_REALTIME {
        return Err(io::Error::from(io::ErrorKind::PermissionDenied));
    }
    // SAFETY: timex is a plain C struct of integers; all-zero bytes are a valid value.
    let mut tx: libc::timex = unsafe { mem::zeroed() };
    tx.modes = libc::ADJ_SETOFFSET | libc::ADJ_NANO;
    // With ADJ_NANO, `time.tv_usec` holds nanoseconds, 0 ≤ it < 10⁹.
    tx.time.tv_sec = ns.div_euclid(1_000_000_000) as libc::time_t;
    tx.time.tv_usec = ns.rem_euclid(1_000_000_000) as libc::suseconds_t;
    // SAFETY: `tx` is a live, exclusively borrowed timex; `id` names a clock.
    cvt(unsafe { libc::clock_adjtime(id, &mut tx) }).map(|_| ())
}

/// Sets dynamic clock `id`'s (a PHC's) frequency correction to `ppb` (`ADJ_FREQUENCY`,
/// scaled ppm: ppb × 65.536).
pub fn clock_set_frequency(id: libc::clockid_t, ppb: f64) -> io::Result<()> {
    if id == libc::CLOCK_REALTIME {
        return Err(io::Error::from(io::ErrorKind::PermissionDenied));
    }
    // SAFETY: as in clock_step.
    let mut tx: libc::timex = unsafe { mem::zeroed() };
    tx.modes = libc::ADJ_FREQUENCY;
    tx.freq = (ppb * 65.536).round() as libc::c_long;
    // SAFETY: as in clock_step.
    cvt(unsafe { libc::clock_adjtime(id, &mut tx) }).map(|_| ())
}

/// A PHC's largest frequency adjustment, ppb (`PTP_CLOCK_GETCAPS`).
pub fn phc_max_adj_ppb(fd: RawFd) -> io::Result<i32> {
    // SAFETY: ptp_clock_caps is a plain C struct of integers.
    let mut caps: libc::ptp_clock_caps = unsafe { mem::zeroed() };
    // SAFETY: `fd` is an open /dev/ptpN; the ioctl fills `caps`.
    cvt(unsafe { libc::ioctl(fd, libc::PTP_CLOCK_GETCAPS, &mut caps) })?;
    Ok(caps.max_adj)
}

/// What `adjtimex` says about CLOCK_REALTIME. Read-only: `modes` is 0, nothing changes.
pub fn kernel_clock_state() -> KernelClockState {
    // SAFETY: timex is a plain C struct of integers; all-zero bytes are a valid value
    // and `modes == 0` makes adjtimex a pure query.
    let mut tx: libc::timex = unsafe { mem::zeroed() };
    // SAFETY: `tx` is a live, exclusively borrowed timex the call fills in.
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return KernelClockState {
            synchronized: false,
            esterror_us: i64::MAX,
            maxerror_us: i64::MAX,
            leap: KernelLeap::None,
        };
    }
    KernelClockState {
        synchronized: state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0,
        esterror_us: tx.esterror as i64,
        maxerror_us: tx.maxerror as i64,
        leap: KernelLeap::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_work_without_root() {
        let a = realtime_ns();
        assert!(a > 1_600_000_000_000_000_000);
        assert!(clock_ns(libc::CLOCK_MONOTONIC).is_ok());
        assert_eq!(fd_to_clockid(3), ((!3) << 3) | 3);
        let s = kernel_clock_state();
        assert!(s.maxerror_us >= 0);
    }

    /// The system clock is never adjusted through these, whatever the caller asks.
    #[test]
    fn realtime_is_never_adjusted() {
        assert!(clock_step(libc::CLOCK_REALTIME, 1).is_err());
        assert!(clock_set_frequency(libc::CLOCK_REALTIME, 1.0).is_err());
        // Not a PHC: the kernel refuses, nothing happens.
        let null = std::fs::File::open("/dev/null").unwrap();
        let id = fd_to_clockid(std::os::fd::AsRawFd::as_raw_fd(&null));
        assert!(clock_step(id, 1).is_err());
        assert!(clock_set_frequency(id, 1.0).is_err());
    }
}
