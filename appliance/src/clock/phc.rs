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

/// A PTP hardware clock, `/dev/ptpN`, opened for reading.
#[derive(Debug)]
pub struct Phc {
    index: i32,
    file: std::fs::File,
}

impl Phc {
    /// Opens `/dev/ptp{index}`.
    pub fn open(index: i32) -> Result<Self, PhcError> {
        let file = std::fs::File::open(format!("/dev/ptp{index}")).map_err(|error| PhcError {
            index,
            op: "open",
            error,
        })?;
        Ok(Phc { index, file })
    }

    /// The PHC's time in ns (its own timescale; PTP hardware clocks usually run on TAI).
    pub fn now_ns(&self) -> Result<i128, PhcError> {
        sys::clock_ns(sys::fd_to_clockid(self.file.as_raw_fd())).map_err(|error| PhcError {
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
    }
}
