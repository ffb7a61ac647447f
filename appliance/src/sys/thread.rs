//! Thread placement: CPU affinity of the calling thread.

use std::io;
use std::mem;

use super::cvt;

/// Restricts the calling thread to `cpus` (`sched_setaffinity`). CPUs beyond what a
/// `cpu_set_t` holds are ignored; an empty or unusable set is an error.
pub fn set_thread_affinity(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: cpu_set_t is a plain bit array; all zeroes is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    let max = 8 * mem::size_of::<libc::cpu_set_t>();
    let mut any = false;
    for &c in cpus.iter().filter(|&&c| c < max) {
        // SAFETY: `set` is a live cpu_set_t and `c` is below its capacity in bits.
        unsafe { libc::CPU_SET(c, &mut set) };
        any = true;
    }
    if !any {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: pid 0 is the calling thread; `set` is live for the call and its size is given.
    cvt(unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) })?;
    Ok(())
}

/// CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

/// Moves the calling thread (a housekeeping thread: metrics, control) off `avoid`, the data
/// plane's cores: a thread inherits the affinity of the one that spawned it, which may be
/// pinned to one of them. Logs, and stays put, when no other CPU exists or it cannot move.
pub fn keep_off_cpus(avoid: &[usize], who: &str) {
    if avoid.is_empty() {
        return;
    }
    // Not `available_parallelism`: that counts the CPUs this thread may use now, which is
    // only the data-plane core when it was spawned by the pinned engine thread.
    let n = online_cpus();
    let allowed: Vec<usize> = (0..n).filter(|c| !avoid.contains(c)).collect();
    if allowed.is_empty() {
        tracing::warn!(?avoid, "{who}: no CPU left outside the data plane's");
        return;
    }
    if let Err(e) = set_thread_affinity(&allowed) {
        tracing::warn!(error = %e, ?allowed, "{who}: could not set its CPUs");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity_of_a_thread() {
        std::thread::spawn(|| {
            assert!(set_thread_affinity(&[]).is_err());
            assert!(set_thread_affinity(&[usize::MAX]).is_err());
            // CPU 0 exists everywhere.
            set_thread_affinity(&[0]).unwrap();
            if online_cpus() > 1 {
                // Pinned to CPU 0, a thread keeping off it still finds the others.
                keep_off_cpus(&[0], "test");
                let allowed = std::fs::read_to_string("/proc/thread-self/status").unwrap();
                let line = allowed
                    .lines()
                    .find(|l| l.starts_with("Cpus_allowed_list"))
                    .unwrap()
                    .to_string();
                assert!(!line.ends_with(":\t0"), "{line}");
                assert!(!line.contains("\t0-") && !line.contains("\t0,"), "{line}");
            }
        })
        .join()
        .unwrap();
    }
}
