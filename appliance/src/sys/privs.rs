//! Dropping privileges once the ports are open: to an unprivileged user, keeping only the
//! capabilities still needed (`capset`), and never gaining any again (`no_new_privs`).

use std::ffi::CString;
use std::io;

use super::cvt;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `CAP_SYS_TIME`: adjusting a PHC (`clock_adjtime`).
pub const CAP_SYS_TIME: u32 = 25;

/// The user `name`'s uid and primary gid.
pub fn lookup_user(name: &str) -> io::Result<(u32, u32)> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: passwd is a plain C struct; zeroed is a valid (empty) value for getpwnam_r to
    // fill.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: `c` is a NUL-terminated string; `pw`, `buf` (with its length) and `out` are
    // live and exclusively borrowed for the call, which writes only within them.
    let r = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    if out.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no user \"{name}\""),
        ));
    }
    Ok((pw.pw_uid, pw.pw_gid))
}

/// Becomes `uid`/`gid` (no supplementary groups), keeping only the capabilities in `keep`
/// (numbers as `CAP_*`) in the calling thread, and sets `no_new_privs`. Other threads lose
/// every capability with the uid change (glibc changes the ids of all threads).
pub fn drop_privileges(uid: u32, gid: u32, keep: &[u32]) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })?;
    // SAFETY: an empty group list; no pointer is read.
    cvt(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::setresuid(uid, uid, uid) })?;
    let mut data = [CapData::default(); 2];
    for &c in keep {
        let (word, bit) = ((c / 32) as usize, c % 32);
        if word < 2 {
            data[word].effective |= 1 << bit;
            data[word].permitted |= 1 << bit;
        }
    }
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    // SAFETY: capset reads one header and two data structs, both live for the call.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) as libc::c_int
    })?;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 0, 0, 0, 0) })?;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_looked_up() {
        assert_eq!(lookup_user("root").unwrap(), (0, 0));
        let e = lookup_user("no-such-user-here").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
    }
}
