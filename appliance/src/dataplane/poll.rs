//! Waiting on socket ports: `poll()` over their descriptors.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use super::DataplaneError;
use crate::sys::PollFds;

/// A reusable poll set: allocation-free waiting over a fixed list of descriptors.
#[derive(Debug, Default)]
pub struct PollSet {
    fds: PollFds,
}

impl PollSet {
    /// Watches `fds` for input and error-queue readiness.
    pub fn new(fds: &[RawFd]) -> Self {
        PollSet {
            fds: PollFds::new(fds),
        }
    }

    /// Waits up to `timeout_ns` (`None`: forever); returns how many descriptors are ready.
    /// A signal ends the wait early with 0.
    pub fn wait(&mut self, timeout_ns: Option<u64>) -> Result<usize, DataplaneError> {
        self.fds.wait(timeout_ns).map_err(DataplaneError::Poll)
    }

    /// Whether descriptor `i` (in the order given to [`Self::new`]) is readable (`POLLIN`)
    /// or has an error-queue entry (`POLLERR`) after the last [`Self::wait`].
    pub fn is_ready(&self, i: usize) -> bool {
        self.fds.ready(i)
    }

    /// Number of descriptors watched.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// Whether no descriptors are watched.
    pub fn is_empty(&self) -> bool {
        self.fds.len() == 0
    }
}

/// The rounds of one polling loop (a DPDK lcore: the engine loop, a pipeline stage thread),
/// by whether they found work. One writer (the loop), any number of readers.
#[derive(Debug, Default)]
pub struct PollCounters {
    busy: AtomicU64,
    idle: AtomicU64,
}

impl PollCounters {
    /// Counts one round (a relaxed load and store: no locked instruction).
    #[inline]
    pub fn count(&self, busy: bool) {
        let c = if busy { &self.busy } else { &self.idle };
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// (busy, idle) rounds so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.busy.load(Ordering::Relaxed),
            self.idle.load(Ordering::Relaxed),
        )
    }
}

/// Waits until one of `fds` is readable (`POLLIN`) or has an error-queue entry (`POLLERR`),
/// for at most `timeout_ns` (`None`: forever); returns, per descriptor, whether it is.
/// A signal ends the wait early with nothing ready. Allocates; see [`PollSet`] for a
/// reusable variant.
pub fn poll_readable(fds: &[RawFd], timeout_ns: Option<u64>) -> Result<Vec<bool>, DataplaneError> {
    let mut p = PollSet::new(fds);
    p.wait(timeout_ns)?;
    Ok((0..fds.len()).map(|i| p.is_ready(i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_helpers_work_on_empty_sets() {
        assert_eq!(poll_readable(&[], Some(0)).unwrap(), Vec::<bool>::new());
        let mut p = PollSet::new(&[]);
        assert!(p.is_empty());
        assert_eq!(p.wait(Some(1)).unwrap(), 0);
        assert!(!p.is_ready(3));
    }

    #[test]
    fn poll_counters_count_each_kind() {
        let c = PollCounters::default();
        for busy in [true, false, false, true, false] {
            c.count(busy);
        }
        assert_eq!(c.get(), (2, 3));
    }
}
