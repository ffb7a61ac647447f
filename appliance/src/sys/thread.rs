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
        })
        .join()
        .unwrap();
    }
}
