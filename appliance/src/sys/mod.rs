//! The appliance's only `unsafe` code: thin wrappers over the Linux calls of the socket data
//! plane and the clock (sockets, `setsockopt`, `sendmsg`/`recvmsg`, interface `ioctl`s,
//! `clock_gettime`, `ppoll`, `adjtimex` in read-only mode), and, with the `dpdk` feature, over
//! DPDK ([`dpdk`]: EAL, mempools, mbufs, ethdev ports, the TSC).
//!
//! Every wrapper is safe to call: it owns or borrows what the kernel reads and writes, and
//! reports failure as [`io::Error`]. Parsing what the kernel hands back (socket addresses,
//! control messages) is plain safe code over byte slices, so it is tested without root and
//! cannot read out of bounds whatever the kernel (or a test) puts in the buffer.
//!
//! The code is split by concern:
//!
//! * `socket` — [`Socket`] and its options, `bind`, `sendmsg`/`recvmsg`, interface `ioctl`s
//!   (index, MAC, IPv4 address, time stamping capabilities and configuration), socket
//!   addresses ([`SockAddr`], [`parse_sockaddr`]) and [`NameBuf`]/[`Received`];
//! * `cmsg` — control messages: [`CmsgBuf`], [`parse_control`] into [`Control`] (timestamps,
//!   packet info, VLAN tags, error-queue reports such as TX timestamps);
//! * `clock` — [`realtime_ns`], [`clock_ns`], [`fd_to_clockid`], [`kernel_clock_state`];
//! * `poll` — [`PollFds`];
//! * `pps` — [`pps_capture_assert`], [`pps_fetch_assert`]: the Linux PPS API;
//! * `privs` — [`privs::drop_privileges`]: to a user, keeping listed capabilities;
//! * `serial` — [`serial::open_raw`]: a receiver's serial line, raw and non-blocking;
//! * `thread` — [`keep_off_cpus`] (through `set_thread_affinity`);
//! * [`dpdk`] (feature `dpdk`) — the DPDK wrappers.
//!
//! Everything public is re-exported here, so callers name it `crate::sys::X` whatever file
//! it lives in.
//!
//! # SAFETY conventions
//!
//! `unsafe` appears only in this module and its children (the crate denies `unsafe_code`
//! elsewhere). Every `unsafe` block carries a `// SAFETY:` comment saying why the call is
//! sound: which pointers it is given, that they are live and exclusively borrowed for the
//! call and how many bytes the kernel may read or write through them, and, for
//! `mem::zeroed` or reads of C unions, why that bit pattern is a valid value. Ownership of
//! descriptors is taken with `OwnedFd` as soon as the kernel returns them. A call that
//! returns -1 and sets `errno` goes through `cvt`/`cvt_size` (here, shared by the files).
#![warn(clippy::undocumented_unsafe_blocks)]

use std::io;

use libc::c_int;

mod clock;
mod cmsg;
mod poll;
mod pps;
pub mod privs;
pub mod serial;
mod socket;
mod thread;

#[cfg(feature = "dpdk")]
pub mod dpdk;

pub use clock::{
    clock_ns, clock_set_frequency, clock_step, fd_to_clockid, kernel_clock_state, phc_max_adj_ppb,
    realtime_ns,
};
pub use cmsg::{parse_control, CmsgBuf, Control, PACKET_AUXDATA};
pub use poll::PollFds;
pub use pps::{pps_capture_assert, pps_fetch_assert};
pub use socket::{
    parse_sockaddr, NameBuf, Received, SockAddr, Socket, PACKET_IGNORE_OUTGOING, PACKET_OUTGOING,
};
pub use thread::keep_off_cpus;

/// Result of a libc call that returns -1 and sets `errno` on failure.
fn cvt(r: c_int) -> io::Result<c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}
