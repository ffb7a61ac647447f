//! PTP hardware clocks (`/dev/ptpN`).

use std::io;
use std::os::fd::AsRawFd;

use crate::sys;

/// A PHC failure.
#[derive(Debug, thiserror::Error)]
#[error("/dev/ptp{index}: {op}: {error}")]
pub struct PhcError {
    /// PHC index.
    pub index: i32,
    /// What was being done.
    pub op: &'static str,
    /// The OS error.
    pub error: io::Error,
}

/// A PTP hardware clock, `/dev/ptpN`, opened for reading (or, with [`Phc::open_rw`], to
/// discipline).
#[derive(Debug)]
pub struct Phc {
    index: i32,
    file: std::fs::File,
    /// Its largest frequency adjustment, ppb (read when opened to discipline).
    max_adj_ppb: f64,
}

impl Phc {
    /// Opens `/dev/ptp{index}`.
    pub fn open(index: i32) -> Result<Self, PhcError> {
        let file = std::fs::File::open(format!("/dev/ptp{index}")).map_err(|error| PhcError {
            index,
            op: "open",
            error,
        })?;
        Ok(Phc {
            index,
            file,
            max_adj_ppb: 0.0,
        })
    }

    /// Opens `/dev/ptp{index}` to discipline it (read and write), with its frequency limit.
    pub fn open_rw(index: i32) -> Result<Self, PhcError> {
        let err = |op| move |error| PhcError { index, op, error };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/dev/ptp{index}"))
            .map_err(err("open"))?;
        let max = sys::phc_max_adj_ppb(file.as_raw_fd()).map_err(err("PTP_CLOCK_GETCAPS"))?;
        Ok(Phc {
            index,
            file,
            max_adj_ppb: f64::from(max.max(0)),
        })
    }

    fn clockid(&self) -> libc::clockid_t {
        sys::fd_to_clockid(self.file.as_raw_fd())
    }

    /// Steps the PHC by `ns`.
    pub fn step_ns(&self, ns: i64) -> Result<(), PhcError> {
        sys::clock_step(self.clockid(), ns).map_err(|error| PhcError {
            index: self.index,
            op: "clock_adjtime(ADJ_SETOFFSET)",
            error,
        })
    }

    /// Sets the PHC's frequency correction, ppb.
    pub fn set_frequency_ppb(&self, ppb: f64) -> Result<(), PhcError> {
        sys::clock_set_frequency(self.clockid(), ppb).map_err(|error| PhcError {
            index: self.index,
            op: "clock_adjtime(ADJ_FREQUENCY)",
            error,
        })
    }

    /// Its largest frequency adjustment, ppb (0 unless opened with [`Phc::open_rw`]).
    pub fn max_adj_ppb(&self) -> f64 {
        self.max_adj_ppb
    }

    /// The PHC's time in ns (its own timescale; PTP hardware clocks usually run on TAI).
    pub fn now_ns(&self) -> Result<i128, PhcError> {
        sys::clock_ns(self.clockid()).map_err(|error| PhcError {
            index: self.index,
            op: "clock_gettime",
            error,
        })
    }

    /// The PHC's index.
    pub fn index(&self) -> i32 {
        self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_phc_is_named() {
        let e = Phc::open(999).unwrap_err().to_string();
        assert!(e.starts_with("/dev/ptp999: open:"), "{e}");
        let e = Phc::open_rw(999).unwrap_err().to_string();
        assert!(e.starts_with("/dev/ptp999: open:"), "{e}");
    }
}
