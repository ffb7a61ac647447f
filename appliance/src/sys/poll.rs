//! Waiting for readiness: [`PollFds`] over `ppoll`.

use std::io;
use std::os::fd::RawFd;

use super::cvt;

/// A reusable set of descriptors for [`PollFds::wait`].
#[derive(Debug, Default)]
pub struct PollFds {
    fds: Vec<libc::pollfd>,
}

impl PollFds {
    /// Watches `fds` for input (error-queue readiness shows as `POLLERR` regardless).
    pub fn new(fds: &[RawFd]) -> Self {
        PollFds {
            fds: fds
                .iter()
                .map(|&fd| libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect(),
        }
    }

    /// Waits up to `timeout_ns` (`None`: forever) for any descriptor to become readable;
    /// returns how many are. An interrupted wait (signal) returns 0.
    pub fn wait(&mut self, timeout_ns: Option<u64>) -> io::Result<usize> {
        for p in &mut self.fds {
            p.revents = 0;
        }
        let ts = timeout_ns.map(|ns| libc::timespec {
            tv_sec: (ns / 1_000_000_000).min(i32::MAX as u64) as libc::time_t,
            tv_nsec: (ns % 1_000_000_000) as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `self.fds` is a live array of fds.len() pollfds the kernel may write
        // `revents` into; `ts_ptr` is null or points at the local `ts`; no signal mask.
        let r = unsafe {
            libc::ppoll(
                self.fds.as_mut_ptr(),
                self.fds.len() as libc::nfds_t,
                ts_ptr,
                std::ptr::null(),
            )
        };
        match cvt(r) {
            Ok(n) => Ok(n as usize),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Whether descriptor `i` (in the order given to [`Self::new`]) is readable or has a
    /// pending error-queue entry (`POLLIN` or `POLLERR`).
    pub fn ready(&self, i: usize) -> bool {
        self.fds
            .get(i)
            .is_some_and(|p| p.revents & (libc::POLLIN | libc::POLLERR) != 0)
    }

    /// Number of descriptors.
    pub fn len(&self) -> usize {
        self.fds.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_works_without_root() {
        let mut p = PollFds::new(&[]);
        assert_eq!(p.wait(Some(1_000)).unwrap(), 0);
        assert!(!p.ready(0));
    }
}
