//! The Linux PPS API (`/dev/ppsN`, `linux/pps.h`): capture assert edges and fetch the last
//! one without waiting. The structures are laid out by hand (the `libc` crate has none of
//! them); their sizes are checked against the header's in the tests.

use std::io;
use std::os::fd::RawFd;

use super::cvt;

/// `PPS_GETPARAMS` = `_IOR('p', 0xa1, struct pps_kparams *)`.
const PPS_GETPARAMS: libc::c_ulong = 0x8008_70a1;
/// `PPS_SETPARAMS` = `_IOW('p', 0xa2, struct pps_kparams *)`.
const PPS_SETPARAMS: libc::c_ulong = 0x4008_70a2;
/// `PPS_FETCH` = `_IOWR('p', 0xa4, struct pps_fdata *)`.
const PPS_FETCH: libc::c_ulong = 0xc008_70a4;
/// Capture assert events.
const PPS_CAPTUREASSERT: i32 = 0x01;
/// Timestamps as timespecs.
const PPS_TSFMT_TSPEC: i32 = 0x1000;

/// `struct pps_ktime`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PpsKtime {
    sec: i64,
    nsec: i32,
    flags: u32,
}

/// `struct pps_kinfo`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PpsKinfo {
    assert_sequence: u32,
    clear_sequence: u32,
    assert_tu: PpsKtime,
    clear_tu: PpsKtime,
    current_mode: i32,
}

/// `struct pps_fdata`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PpsFdata {
    info: PpsKinfo,
    timeout: PpsKtime,
}

/// `struct pps_kparams`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PpsKparams {
    api_version: i32,
    mode: i32,
    assert_off_tu: PpsKtime,
    clear_off_tu: PpsKtime,
}

/// Asks the PPS source open as `fd` to capture assert (rising) edges, as timespecs.
pub fn pps_capture_assert(fd: RawFd) -> io::Result<()> {
    let mut p = PpsKparams::default();
    // SAFETY: `p` is a live, exclusively borrowed `struct pps_kparams`; the kernel writes
    // that many bytes.
    cvt(unsafe { libc::ioctl(fd, PPS_GETPARAMS, &mut p as *mut PpsKparams) })?;
    p.mode |= PPS_CAPTUREASSERT | PPS_TSFMT_TSPEC;
    // SAFETY: as above; the kernel only reads it.
    cvt(unsafe { libc::ioctl(fd, PPS_SETPARAMS, &p as *const PpsKparams) }).map(|_| ())
}

/// The last assert edge of the PPS source open as `fd`, without waiting: (its sequence
/// number, CLOCK_REALTIME ns). Sequence 0 means no edge yet.
pub fn pps_fetch_assert(fd: RawFd) -> io::Result<(u32, i128)> {
    // A zero timeout (flags without PPS_TIME_INVALID) returns at once.
    let mut d = PpsFdata::default();
    // SAFETY: `d` is a live, exclusively borrowed `struct pps_fdata`; the kernel reads the
    // timeout and writes the info, within its size.
    cvt(unsafe { libc::ioctl(fd, PPS_FETCH, &mut d as *mut PpsFdata) })?;
    let t = d.info.assert_tu;
    Ok((
        d.info.assert_sequence,
        i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// The sizes `linux/pps.h` gives (checked with a C compiler: 16, 48, 64, 40).
    #[test]
    fn layouts_match_the_header() {
        assert_eq!(std::mem::size_of::<PpsKtime>(), 16);
        assert_eq!(std::mem::size_of::<PpsKinfo>(), 48);
        assert_eq!(std::mem::size_of::<PpsFdata>(), 64);
        assert_eq!(std::mem::size_of::<PpsKparams>(), 40);
    }

    /// Not a PPS device: the kernel says so (ENOTTY), nothing is read from it.
    #[test]
    fn a_file_is_not_a_pps_source() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let e = pps_fetch_assert(f.as_raw_fd()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTTY), "{e}");
        assert!(pps_capture_assert(f.as_raw_fd()).is_err());
    }
}
