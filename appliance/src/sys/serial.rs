//! Serial lines (a GNSS receiver's NMEA port): opened raw and non-blocking, at a set speed.

use std::fs::{File, OpenOptions};
use std::io;
use std::mem;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::cvt;

/// The termios speed constant of `baud`, if it is one of the usual receiver speeds.
fn speed(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        4_800 => libc::B4800,
        9_600 => libc::B9600,
        19_200 => libc::B19200,
        38_400 => libc::B38400,
        57_600 => libc::B57600,
        115_200 => libc::B115200,
        230_400 => libc::B230400,
        460_800 => libc::B460800,
        921_600 => libc::B921600,
        _ => return None,
    })
}

/// Whether `baud` is a speed [`open_raw`] takes.
pub fn baud_supported(baud: u32) -> bool {
    speed(baud).is_some()
}

/// Opens `path` for reading and writing, non-blocking, without making it the controlling
/// terminal, in raw mode (no echo, no line editing, 8N1) at `baud`.
pub fn open_raw(path: &Path, baud: u32) -> io::Result<File> {
    let s = speed(baud).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unsupported speed {baud} baud"),
        )
    })?;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(path)?;
    let fd = f.as_raw_fd();
    // SAFETY: termios is a plain C struct; tcgetattr fills it for the open descriptor.
    let mut t: libc::termios = unsafe { mem::zeroed() };
    // SAFETY: `fd` is open; `t` is exclusively borrowed.
    cvt(unsafe { libc::tcgetattr(fd, &mut t) })?;
    // SAFETY: `t` is a valid termios.
    unsafe { libc::cfmakeraw(&mut t) };
    t.c_cflag |= libc::CLOCAL | libc::CREAD;
    // SAFETY: `t` is a valid termios; `s` a speed constant.
    cvt(unsafe { libc::cfsetispeed(&mut t, s) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::cfsetospeed(&mut t, s) })?;
    // SAFETY: `fd` is open; `t` is valid.
    cvt(unsafe { libc::tcsetattr(fd, libc::TCSANOW, &t) })?;
    Ok(f)
}

/// A pseudo-terminal pair for tests: the master (the "receiver" side) and the slave's path.
#[cfg(test)]
pub fn pty_pair() -> io::Result<(File, std::path::PathBuf)> {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes the two descriptors; the other arguments may be NULL.
    cvt(unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    })?;
    // SAFETY: openpty returned two open descriptors we now own.
    let (master, slave) = unsafe { (File::from_raw_fd(master), File::from_raw_fd(slave)) };
    let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))?;
    // The slave stays open through the path the caller opens; this descriptor can go.
    drop(slave);
    Ok((master, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_and_errors() {
        assert!(speed(9_600).is_some() && speed(1_234).is_none());
        let e = open_raw(Path::new("/dev/null"), 1_234).unwrap_err();
        assert!(e.to_string().contains("1234"), "{e}");
        // Not a terminal: tcgetattr refuses.
        assert!(open_raw(Path::new("/dev/null"), 9_600).is_err());
        assert!(open_raw(Path::new("/nonexistent/ttyX"), 9_600).is_err());
    }
}
