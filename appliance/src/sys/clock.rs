//! Clocks: `clock_gettime` (CLOCK_REALTIME and dynamic PHC clocks through
//! [`fd_to_clockid`]) and the kernel's view of CLOCK_REALTIME synchronisation (`adjtimex`,
//! read-only).

use std::io;
use std::mem;
use std::os::fd::RawFd;

use crate::clock::KernelClockState;

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
        };
    }
    KernelClockState {
        synchronized: state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0,
        esterror_us: tx.esterror as i64,
        maxerror_us: tx.maxerror as i64,
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
}
