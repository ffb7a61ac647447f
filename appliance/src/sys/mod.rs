//! The appliance's only `unsafe` code: thin wrappers over the Linux calls of the socket data
//! plane and the clock (sockets, `setsockopt`, `sendmsg`/`recvmsg`, interface `ioctl`s,
//! `clock_gettime`, `ppoll`, `adjtimex` in read-only mode), and, with the `dpdk` feature, over
//! DPDK ([`dpdk`]: EAL, mempools, mbufs, ethdev ports, the TSC).
//!
//! Every wrapper is safe to call: it owns or borrows what the kernel reads and writes, and
//! reports failure as [`io::Error`]. Parsing what the kernel hands back (socket addresses,
//! control messages) is plain safe code over byte slices, so it is tested without root and
//! cannot read out of bounds whatever the kernel (or a test) puts in the buffer.
#![warn(clippy::undocumented_unsafe_blocks)]

use std::io;
use std::mem::{self, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libc::c_int;

use crate::clock::KernelClockState;

#[cfg(feature = "dpdk")]
pub mod dpdk;

// ---------------------------------------------------------------------------------------
// Constants libc does not carry (or carries only for some targets).

/// `SCM_TSTAMP_SND`: the timestamp was taken when the frame left (`ee_info`).
pub const SCM_TSTAMP_SND: u32 = 0;
/// `ETHTOOL_GET_TS_INFO` (linux/ethtool.h).
const ETHTOOL_GET_TS_INFO: u32 = 0x41;
/// `PACKET_IGNORE_OUTGOING` (linux/if_packet.h, Linux 4.20).
pub const PACKET_IGNORE_OUTGOING: c_int = 23;
/// `PACKET_AUXDATA` (linux/if_packet.h).
pub const PACKET_AUXDATA: c_int = 8;
/// `PACKET_TX_TIMESTAMP`: level/type of TX timestamps in a packet socket's error queue.
const PACKET_TX_TIMESTAMP: c_int = 16;
/// `TP_STATUS_VLAN_VALID` in `tpacket_auxdata.tp_status`.
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
/// `PACKET_OUTGOING` in `sockaddr_ll.sll_pkttype`: a frame this host sent.
pub const PACKET_OUTGOING: u8 = 4;

// ---------------------------------------------------------------------------------------
// Sockets.

/// A socket address in the forms the data plane uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockAddr {
    /// IPv4 address and port.
    V4 {
        /// Address.
        addr: [u8; 4],
        /// Port.
        port: u16,
    },
    /// IPv6 address, port and scope (interface index for link-local addresses).
    V6 {
        /// Address.
        addr: [u8; 16],
        /// Port.
        port: u16,
        /// `sin6_scope_id`.
        scope_id: u32,
    },
    /// A link-layer address (`sockaddr_ll`).
    Packet {
        /// Interface index.
        ifindex: i32,
        /// EtherType (host order).
        protocol: u16,
        /// MAC address (peer's, or destination when sending).
        mac: [u8; 6],
        /// `sll_pkttype` (received only; 0 when sending).
        pkttype: u8,
    },
}

/// A `sockaddr` of any family the kernel may hand us, for passing to it.
#[repr(C)]
union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
    ll: libc::sockaddr_ll,
}

impl SockAddr {
    fn to_raw(self) -> (RawAddr, libc::socklen_t) {
        match self {
            SockAddr::V4 { addr, port } => (
                RawAddr {
                    v4: libc::sockaddr_in {
                        sin_family: libc::AF_INET as libc::sa_family_t,
                        sin_port: port.to_be(),
                        sin_addr: libc::in_addr {
                            s_addr: u32::from_ne_bytes(addr),
                        },
                        sin_zero: [0; 8],
                    },
                },
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            SockAddr::V6 {
                addr,
                port,
                scope_id,
            } => (
                RawAddr {
                    v6: libc::sockaddr_in6 {
                        sin6_family: libc::AF_INET6 as libc::sa_family_t,
                        sin6_port: port.to_be(),
                        sin6_flowinfo: 0,
                        sin6_addr: libc::in6_addr { s6_addr: addr },
                        sin6_scope_id: scope_id,
                    },
                },
                size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            ),
            SockAddr::Packet {
                ifindex,
                protocol,
                mac,
                pkttype,
            } => {
                let mut sll_addr = [0u8; 8];
                sll_addr[..6].copy_from_slice(&mac);
                (
                    RawAddr {
                        ll: libc::sockaddr_ll {
                            sll_family: libc::AF_PACKET as u16,
                            sll_protocol: protocol.to_be(),
                            sll_ifindex: ifindex,
                            sll_hatype: 0,
                            sll_pkttype: pkttype,
                            sll_halen: 6,
                            sll_addr,
                        },
                    },
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            }
        }
    }
}

/// Reads a socket address the kernel wrote (`msg_name`), or `None` for an unknown family or
/// a short buffer. Layouts are the kernel's: `sockaddr_in`, `sockaddr_in6`, `sockaddr_ll`.
pub fn parse_sockaddr(b: &[u8]) -> Option<SockAddr> {
    let family = u16::from_ne_bytes(b.get(0..2)?.try_into().ok()?) as c_int;
    match family {
        libc::AF_INET if b.len() >= 8 => Some(SockAddr::V4 {
            port: u16::from_be_bytes([b[2], b[3]]),
            addr: b[4..8].try_into().ok()?,
        }),
        libc::AF_INET6 if b.len() >= 28 => Some(SockAddr::V6 {
            port: u16::from_be_bytes([b[2], b[3]]),
            addr: b[8..24].try_into().ok()?,
            scope_id: u32::from_ne_bytes(b[24..28].try_into().ok()?),
        }),
        libc::AF_PACKET if b.len() >= 18 => Some(SockAddr::Packet {
            protocol: u16::from_be_bytes([b[2], b[3]]),
            ifindex: i32::from_ne_bytes(b[4..8].try_into().ok()?),
            pkttype: b[10],
            mac: b[12..18].try_into().ok()?,
        }),
        _ => None,
    }
}

/// Room for the address of a received datagram (`sockaddr_storage`).
#[repr(C, align(8))]
pub struct NameBuf([u8; 128]);

impl NameBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        NameBuf([0; 128])
    }
    /// The first `len` octets (clamped to the buffer).
    pub fn bytes(&self, len: usize) -> &[u8] {
        &self.0[..len.min(self.0.len())]
    }
}

/// Room for the control messages of one received datagram; aligned like `cmsghdr`.
#[repr(C, align(8))]
pub struct CmsgBuf([u8; 512]);

impl CmsgBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        CmsgBuf([0; 512])
    }
    /// The first `len` octets (clamped to the buffer).
    pub fn bytes(&self, len: usize) -> &[u8] {
        &self.0[..len.min(self.0.len())]
    }
}

/// What `recvmsg` reported.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Octets copied into the buffers.
    pub len: usize,
    /// `msg_flags` (`MSG_TRUNC`, `MSG_CTRUNC`…).
    pub flags: c_int,
    /// Octets of address written into the [`NameBuf`].
    pub name_len: usize,
    /// Octets of control messages written into the [`CmsgBuf`].
    pub ctrl_len: usize,
}

impl Received {
    /// The datagram was longer than the buffers.
    pub fn truncated(&self) -> bool {
        self.flags & libc::MSG_TRUNC != 0
    }
}

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

/// A non-blocking, close-on-exec socket.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Socket {
    /// `socket(domain, ty | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol)`.
    pub fn new(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<Socket> {
        // SAFETY: socket() takes no pointers; on success it returns a new descriptor that
        // nothing else owns, so OwnedFd may take it over.
        let fd = cvt(unsafe {
            libc::socket(
                domain,
                ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                protocol,
            )
        })?;
        // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Socket { fd })
    }

    /// setsockopt with the bytes of `val` (a plain C struct or integer).
    fn setsockopt<T: Copy>(&self, level: c_int, name: c_int, val: &T) -> io::Result<()> {
        // SAFETY: `val` is a live reference to size_of::<T>() readable bytes; the kernel
        // copies at most optlen octets from it and keeps no pointer.
        cvt(unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                level,
                name,
                (val as *const T).cast(),
                size_of::<T>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// setsockopt with an `int` value.
    pub fn set_int(&self, level: c_int, name: c_int, val: c_int) -> io::Result<()> {
        self.setsockopt(level, name, &val)
    }

    /// `SO_BINDTODEVICE`.
    pub fn bind_to_device(&self, ifname: &str) -> io::Result<()> {
        let b = ifname.as_bytes();
        // SAFETY: `b` is a live slice of b.len() readable bytes; the kernel copies them
        // (the name need not be NUL-terminated when optlen is its length).
        cvt(unsafe {
            libc::setsockopt(
                self.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                b.as_ptr().cast(),
                b.len() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// `IP_ADD_MEMBERSHIP` of `group` on interface `ifindex`.
    pub fn join_v4(&self, group: [u8; 4], ifindex: i32) -> io::Result<()> {
        let m = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from_ne_bytes(group),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex,
        };
        self.setsockopt(libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &m)
    }

    /// `IP_MULTICAST_IF`: send multicast out of interface `ifindex`.
    pub fn multicast_if_v4(&self, ifindex: i32) -> io::Result<()> {
        let m = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr { s_addr: 0 },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: ifindex,
        };
        self.setsockopt(libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &m)
    }

    /// `IPV6_JOIN_GROUP` (`IPV6_ADD_MEMBERSHIP`) of `group` on interface `ifindex`.
    pub fn join_v6(&self, group: [u8; 16], ifindex: i32) -> io::Result<()> {
        let m = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr { s6_addr: group },
            ipv6mr_interface: ifindex as _,
        };
        self.setsockopt(libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &m)
    }

    /// `PACKET_ADD_MEMBERSHIP` of multicast MAC `mac` on interface `ifindex`.
    pub fn packet_join(&self, mac: [u8; 6], ifindex: i32) -> io::Result<()> {
        let mut mr_address = [0u8; 8];
        mr_address[..6].copy_from_slice(&mac);
        let m = libc::packet_mreq {
            mr_ifindex: ifindex,
            mr_type: libc::PACKET_MR_MULTICAST as u16,
            mr_alen: 6,
            mr_address,
        };
        self.setsockopt(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &m)
    }

    /// `SO_ATTACH_FILTER` with a classic BPF program.
    pub fn attach_filter(&self, prog: &[libc::sock_filter]) -> io::Result<()> {
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr().cast_mut(),
        };
        // `fprog` points into `prog`, which outlives the call; the kernel copies the program.
        self.setsockopt(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
    }

    /// `SO_TIMESTAMPING` with `flags` (`SOF_TIMESTAMPING_*`).
    pub fn set_timestamping(&self, flags: u32) -> io::Result<()> {
        self.set_int(libc::SOL_SOCKET, libc::SO_TIMESTAMPING, flags as c_int)
    }

    /// `bind()`.
    pub fn bind(&self, addr: SockAddr) -> io::Result<()> {
        let (raw, len) = addr.to_raw();
        // SAFETY: `raw` holds a valid sockaddr of the family tagged in its first field, with
        // `len` initialised bytes; the kernel only reads it.
        cvt(unsafe { libc::bind(self.as_raw_fd(), (&raw as *const RawAddr).cast(), len) }).map(drop)
    }

    /// `sendmsg()` of `data` to `dest`. With `tx_stamp_flags` non-zero, a `SO_TIMESTAMPING`
    /// control message asks for a TX timestamp of this datagram only.
    pub fn send_to(&self, data: &[u8], dest: SockAddr, tx_stamp_flags: u32) -> io::Result<usize> {
        let (mut raw, name_len) = dest.to_raw();
        let mut iov = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        let mut ctrl = CmsgBuf::new();
        let ctrl_len = if tx_stamp_flags != 0 {
            build_cmsg_u32(
                &mut ctrl.0,
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPING,
                tx_stamp_flags,
            )
        } else {
            0
        };
        // SAFETY: an all-zero msghdr is valid (null pointers, zero lengths); the fields that
        // matter are set below.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = (&mut raw as *mut RawAddr).cast();
        msg.msg_namelen = name_len;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if ctrl_len > 0 {
            msg.msg_control = ctrl.0.as_mut_ptr().cast();
            msg.msg_controllen = ctrl_len as _;
        }
        // SAFETY: every pointer in `msg` refers to a local or to `data`, all alive for the
        // call, with the lengths given; sendmsg only reads them (the iovec's `*mut` is the
        // C type, the kernel does not write through it).
        cvt_size(unsafe { libc::sendmsg(self.as_raw_fd(), &msg, 0) })
    }

    /// `recvmsg()` into `head` then `body` (scatter), with the sender's address into `name`
    /// and control messages into `ctrl`. `errqueue` reads the error queue (`MSG_ERRQUEUE`).
    pub fn recv_msg(
        &self,
        head: &mut [u8],
        body: &mut [u8],
        name: &mut NameBuf,
        ctrl: &mut CmsgBuf,
        errqueue: bool,
    ) -> io::Result<Received> {
        let mut iov = [
            libc::iovec {
                iov_base: head.as_mut_ptr().cast(),
                iov_len: head.len(),
            },
            libc::iovec {
                iov_base: body.as_mut_ptr().cast(),
                iov_len: body.len(),
            },
        ];
        // SAFETY: an all-zero msghdr is valid; the fields that matter are set below.
        let mut msg: libc::msghdr = unsafe { mem::zeroed() };
        msg.msg_name = name.0.as_mut_ptr().cast();
        msg.msg_namelen = name.0.len() as libc::socklen_t;
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = iov.len() as _;
        msg.msg_control = ctrl.0.as_mut_ptr().cast();
        msg.msg_controllen = ctrl.0.len() as _;
        let flags = if errqueue { libc::MSG_ERRQUEUE } else { 0 };
        // SAFETY: `msg` points at `name`, `ctrl` and the two iovecs, which point at `head`
        // and `body`; all are exclusively borrowed and alive for the call, and the kernel
        // writes no more than each stated length.
        let n = cvt_size(unsafe { libc::recvmsg(self.as_raw_fd(), &mut msg, flags) })?;
        Ok(Received {
            len: n,
            flags: msg.msg_flags,
            name_len: msg.msg_namelen as usize,
            ctrl_len: msg.msg_controllen as usize,
        })
    }

    /// An `ifreq` for `ifname`, or `InvalidInput` if the name does not fit.
    fn ifreq(ifname: &str) -> io::Result<libc::ifreq> {
        let b = ifname.as_bytes();
        if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad interface name",
            ));
        }
        // SAFETY: ifreq is a plain C struct (name array and a union of plain data and a
        // raw pointer); all-zero bytes are a valid value of it.
        let mut r: libc::ifreq = unsafe { mem::zeroed() };
        for (d, s) in r.ifr_name.iter_mut().zip(b) {
            *d = *s as libc::c_char;
        }
        Ok(r)
    }

    /// ioctl(request, &mut ifreq).
    fn ioctl_ifreq(&self, request: libc::c_ulong, r: &mut libc::ifreq) -> io::Result<()> {
        // SAFETY: `r` is a live, exclusively borrowed ifreq; the interface ioctls used here
        // read and write only within it, or through `ifr_data` pointers the callers set to
        // live buffers of the size the request expects.
        cvt(unsafe { libc::ioctl(self.as_raw_fd(), request as _, r as *mut libc::ifreq) }).map(drop)
    }

    /// `SIOCGIFINDEX`.
    pub fn if_index(&self, ifname: &str) -> io::Result<i32> {
        let mut r = Self::ifreq(ifname)?;
        self.ioctl_ifreq(libc::SIOCGIFINDEX, &mut r)?;
        // SAFETY: SIOCGIFINDEX succeeded, so the kernel stored the index in this member;
        // any bit pattern is a valid c_int anyway.
        Ok(unsafe { r.ifr_ifru.ifru_ifindex })
    }

    /// `SIOCGIFHWADDR`: the interface's MAC address.
    pub fn if_hwaddr(&self, ifname: &str) -> io::Result<[u8; 6]> {
        let mut r = Self::ifreq(ifname)?;
        self.ioctl_ifreq(libc::SIOCGIFHWADDR, &mut r)?;
        // SAFETY: SIOCGIFHWADDR stores a sockaddr in this member; any bit pattern is a valid
        // sockaddr (integers and a c_char array).
        let sa = unsafe { r.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
            *d = *s as u8;
        }
        Ok(mac)
    }

    /// `SIOCGIFADDR`: the interface's (first) IPv4 address.
    pub fn if_ipv4(&self, ifname: &str) -> io::Result<[u8; 4]> {
        let mut r = Self::ifreq(ifname)?;
        self.ioctl_ifreq(libc::SIOCGIFADDR, &mut r)?;
        // SAFETY: SIOCGIFADDR stores a sockaddr_in in this sockaddr-sized member; any bit
        // pattern is a valid sockaddr.
        let sa = unsafe { r.ifr_ifru.ifru_addr };
        // sockaddr_in: family (2), port (2), address (4) — in sa_data[2..6].
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(sa.sa_data[2..6].iter()) {
            *d = *s as u8;
        }
        Ok(a)
    }

    /// `SIOCETHTOOL` / `ETHTOOL_GET_TS_INFO`: the interface's time stamping capabilities.
    pub fn ts_info(&self, ifname: &str) -> io::Result<TsInfo> {
        let mut info = EthtoolTsInfo {
            cmd: ETHTOOL_GET_TS_INFO,
            so_timestamping: 0,
            phc_index: -1,
            tx_types: 0,
            tx_reserved: [0; 3],
            rx_filters: 0,
            rx_reserved: [0; 3],
        };
        let mut r = Self::ifreq(ifname)?;
        r.ifr_ifru.ifru_data = (&mut info as *mut EthtoolTsInfo).cast();
        self.ioctl_ifreq(libc::SIOCETHTOOL, &mut r)?;
        Ok(TsInfo {
            so_timestamping: info.so_timestamping,
            phc_index: info.phc_index,
            tx_types: info.tx_types,
            rx_filters: info.rx_filters,
        })
    }

    /// `SIOCSHWTSTAMP`: configures the NIC's time stamping; returns what the driver set
    /// (`tx_type`, `rx_filter`), which may be broader than asked.
    pub fn set_hwtstamp(
        &self,
        ifname: &str,
        tx_type: c_int,
        rx_filter: c_int,
    ) -> io::Result<(c_int, c_int)> {
        let mut cfg = libc::hwtstamp_config {
            flags: 0,
            tx_type,
            rx_filter,
        };
        let mut r = Self::ifreq(ifname)?;
        r.ifr_ifru.ifru_data = (&mut cfg as *mut libc::hwtstamp_config).cast();
        self.ioctl_ifreq(libc::SIOCSHWTSTAMP, &mut r)?;
        Ok((cfg.tx_type, cfg.rx_filter))
    }
}

/// `struct ethtool_ts_info` (linux/ethtool.h).
#[repr(C)]
struct EthtoolTsInfo {
    cmd: u32,
    so_timestamping: u32,
    phc_index: i32,
    tx_types: u32,
    tx_reserved: [u32; 3],
    rx_filters: u32,
    rx_reserved: [u32; 3],
}

/// Time stamping capabilities of an interface (`ETHTOOL_GET_TS_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsInfo {
    /// `SOF_TIMESTAMPING_*` the driver supports.
    pub so_timestamping: u32,
    /// Index of its PTP hardware clock (`/dev/ptpN`), -1 if none.
    pub phc_index: i32,
    /// Bit `1 << HWTSTAMP_TX_*` for each supported TX mode.
    pub tx_types: u32,
    /// Bit `1 << HWTSTAMP_FILTER_*` for each supported RX filter.
    pub rx_filters: u32,
}

// ---------------------------------------------------------------------------------------
// Control messages (safe parsing over bytes; the kernel's layouts).

/// Octets of a `cmsghdr`: `size_t cmsg_len; int cmsg_level; int cmsg_type;`.
const CMSG_HDR: usize = size_of::<usize>() + 2 * size_of::<c_int>();

/// `CMSG_ALIGN`: control messages are aligned to `sizeof(long)`.
const fn cmsg_align(n: usize) -> usize {
    let a = size_of::<libc::c_long>();
    (n + a - 1) & !(a - 1)
}

/// Writes one control message carrying a `u32` at the start of `buf`; returns its
/// `CMSG_SPACE` (the `msg_controllen` to pass), or 0 if `buf` is too small.
pub fn build_cmsg_u32(buf: &mut [u8], level: c_int, ty: c_int, val: u32) -> usize {
    let len = cmsg_align(CMSG_HDR) + 4;
    let space = cmsg_align(len);
    if buf.len() < space {
        return 0;
    }
    buf[..space].fill(0);
    let w = size_of::<usize>();
    buf[..w].copy_from_slice(&len.to_ne_bytes());
    buf[w..w + 4].copy_from_slice(&level.to_ne_bytes());
    buf[w + 4..w + 8].copy_from_slice(&ty.to_ne_bytes());
    let d = cmsg_align(CMSG_HDR);
    buf[d..d + 4].copy_from_slice(&val.to_ne_bytes());
    space
}

/// The fields of a `sock_extended_err` that matter for TX timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedErr {
    /// `ee_errno` (`ENOMSG` for timestamps).
    pub errno: u32,
    /// `ee_origin` (`SO_EE_ORIGIN_TIMESTAMPING`).
    pub origin: u8,
    /// `ee_info` (`SCM_TSTAMP_SND`, `_SCHED`, `_ACK`).
    pub info: u32,
    /// `ee_data`: the `SOF_TIMESTAMPING_OPT_ID` counter of the datagram.
    pub data: u32,
}

impl ExtendedErr {
    /// Whether this reports a timestamp of the moment the datagram was sent.
    pub fn is_tx_timestamp(&self) -> bool {
        self.errno == libc::ENOMSG as u32
            && self.origin == libc::SO_EE_ORIGIN_TIMESTAMPING
            && self.info == SCM_TSTAMP_SND
    }
}

/// What the control messages of one datagram said. Zero timestamps count as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Control {
    /// Software timestamp (`SCM_TIMESTAMPING` ts\[0\]), ns since the epoch of CLOCK_REALTIME.
    pub software_ns: Option<i128>,
    /// Raw hardware timestamp (`SCM_TIMESTAMPING` ts\[2\]), ns of the PHC.
    pub hardware_ns: Option<i128>,
    /// Destination address of an IPv4 datagram (`IP_PKTINFO` `ipi_addr`).
    pub dst_v4: Option<[u8; 4]>,
    /// Destination address of an IPv6 datagram (`IPV6_PKTINFO` `ipi6_addr`).
    pub dst_v6: Option<[u8; 16]>,
    /// 802.1Q TCI the kernel took out of the frame (`PACKET_AUXDATA`).
    pub vlan_tci: Option<u16>,
    /// An error-queue report (`IP_RECVERR`, `IPV6_RECVERR`, `PACKET_TX_TIMESTAMP`).
    pub ext_err: Option<ExtendedErr>,
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// A signed native-endian integer of 4 or 8 octets at `at`.
fn ne_int(b: &[u8], at: usize, size: usize) -> Option<i64> {
    match size {
        4 => Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?) as i64),
        8 => Some(i64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?)),
        _ => None,
    }
}

/// The `i`-th `struct timespec` of `b` in ns; `None` if absent, zero or out of range.
fn timespec_ns(b: &[u8], i: usize) -> Option<i128> {
    let size = size_of::<libc::timespec>();
    let at = i * size;
    let sec = ne_int(b, at, size_of::<libc::time_t>())?;
    let nsec = ne_int(
        b,
        at + mem::offset_of!(libc::timespec, tv_nsec),
        size_of::<libc::c_long>(),
    )?;
    if (sec == 0 && nsec == 0) || !(0..1_000_000_000).contains(&nsec) {
        return None;
    }
    Some(sec as i128 * 1_000_000_000 + nsec as i128)
}

/// Walks the control messages in `buf` (as `recvmsg` left them) and collects the ones the
/// data plane uses. Malformed or truncated entries end the walk; unknown ones are skipped.
pub fn parse_control(buf: &[u8]) -> Control {
    let mut c = Control::default();
    let w = size_of::<usize>();
    let mut at = 0;
    while at + CMSG_HDR <= buf.len() {
        let Some(len) = buf
            .get(at..at + w)
            .and_then(|s| s.try_into().ok())
            .map(usize::from_ne_bytes)
        else {
            break;
        };
        if len < CMSG_HDR || len > buf.len() - at {
            break;
        }
        let level = ne_u32(buf, at + w).unwrap_or(0) as c_int;
        let ty = ne_u32(buf, at + w + 4).unwrap_or(0) as c_int;
        let data_at = at + cmsg_align(CMSG_HDR);
        let data = buf.get(data_at..at + len).unwrap_or(&[]);
        match (level, ty) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPING) => {
                c.software_ns = timespec_ns(data, 0);
                c.hardware_ns = timespec_ns(data, 2);
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }
                c.dst_v4 = data.get(8..12).and_then(|s| s.try_into().ok());
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex; }
                c.dst_v6 = data.get(0..16).and_then(|s| s.try_into().ok());
            }
            (libc::SOL_PACKET, PACKET_AUXDATA) => {
                // struct tpacket_auxdata { u32 tp_status, tp_len, tp_snaplen;
                //   u16 tp_mac, tp_net, tp_vlan_tci, tp_vlan_tpid; }
                if let (Some(status), Some(tci)) = (ne_u32(data, 0), ne_u16(data, 16)) {
                    if status & TP_STATUS_VLAN_VALID != 0 {
                        c.vlan_tci = Some(tci);
                    }
                }
            }
            (libc::IPPROTO_IP, libc::IP_RECVERR)
            | (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
            | (libc::SOL_PACKET, PACKET_TX_TIMESTAMP) => {
                // struct sock_extended_err { u32 ee_errno; u8 ee_origin, ee_type, ee_code,
                //   ee_pad; u32 ee_info; u32 ee_data; }
                if let (Some(errno), Some(&origin), Some(info), Some(d)) = (
                    ne_u32(data, 0),
                    data.get(4),
                    ne_u32(data, 8),
                    ne_u32(data, 12),
                ) {
                    c.ext_err = Some(ExtendedErr {
                        errno,
                        origin,
                        info,
                        data: d,
                    });
                }
            }
            _ => {}
        }
        at += cmsg_align(len);
    }
    c
}

// ---------------------------------------------------------------------------------------
// Clocks.

/// CLOCK_REALTIME in ns since 1970 (UTC, with the kernel's leap-second handling).
pub fn realtime_ns() -> i128 {
    clock_ns(libc::CLOCK_REALTIME).unwrap_or(0)
}

/// `clock_gettime(id)` in ns.
pub fn clock_ns(id: libc::clockid_t) -> io::Result<i128> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a live, exclusively borrowed timespec the call writes into.
    cvt(unsafe { libc::clock_gettime(id, &mut ts) })?;
    Ok(ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128)
}

/// `FD_TO_CLOCKID`: the dynamic clock id of an open `/dev/ptpN`.
pub fn fd_to_clockid(fd: RawFd) -> libc::clockid_t {
    ((!fd) << 3) | 3
}

/// What `adjtimex` says about CLOCK_REALTIME. Read-only: `modes` is 0, nothing changes.
pub fn kernel_clock_state() -> KernelClockState {
    // SAFETY: timex is a plain C struct of integers; all-zero bytes are a valid value
    // and `modes == 0` makes adjtimex a pure query.
    let mut tx: libc::timex = unsafe { mem::zeroed() };
    // SAFETY: `tx` is a live, exclusively borrowed timex the call fills in.
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return KernelClockState {
            synchronized: false,
            esterror_us: i64::MAX,
            maxerror_us: i64::MAX,
        };
    }
    KernelClockState {
        synchronized: state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0,
        esterror_us: tx.esterror as i64,
        maxerror_us: tx.maxerror as i64,
    }
}

// ---------------------------------------------------------------------------------------
// poll.

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

    /// Appends one control message the way the kernel lays it out.
    fn push_cmsg(buf: &mut Vec<u8>, level: c_int, ty: c_int, data: &[u8]) {
        let len = cmsg_align(CMSG_HDR) + data.len();
        let start = buf.len();
        buf.extend_from_slice(&len.to_ne_bytes());
        buf.extend_from_slice(&level.to_ne_bytes());
        buf.extend_from_slice(&ty.to_ne_bytes());
        buf.resize(start + cmsg_align(CMSG_HDR), 0);
        buf.extend_from_slice(data);
        buf.resize(start + cmsg_align(len), 0);
    }

    fn timespecs(ts: &[(i64, i64)]) -> Vec<u8> {
        let mut v = Vec::new();
        for &(s, ns) in ts {
            let t = libc::timespec {
                tv_sec: s as libc::time_t,
                tv_nsec: ns as libc::c_long,
            };
            let mut b = vec![0u8; size_of::<libc::timespec>()];
            let so = mem::offset_of!(libc::timespec, tv_sec);
            let no = mem::offset_of!(libc::timespec, tv_nsec);
            b[so..so + size_of::<libc::time_t>()].copy_from_slice(&t.tv_sec.to_ne_bytes());
            b[no..no + size_of::<libc::c_long>()].copy_from_slice(&t.tv_nsec.to_ne_bytes());
            v.extend_from_slice(&b);
        }
        v
    }

    #[test]
    fn layout_matches_libc_macros() {
        // SAFETY: CMSG_LEN/CMSG_SPACE are pure arithmetic.
        let (l, s) = unsafe { (libc::CMSG_LEN(4) as usize, libc::CMSG_SPACE(4) as usize) };
        assert_eq!(cmsg_align(CMSG_HDR) + 4, l);
        let mut buf = [0xa5u8; 64];
        assert_eq!(build_cmsg_u32(&mut buf, 1, 37, 0x1234), s);
        assert_eq!(size_of::<EthtoolTsInfo>(), 44);
        assert_eq!(size_of::<libc::tpacket_auxdata>(), 20);
        assert_eq!(size_of::<libc::sock_extended_err>(), 16);
        assert_eq!(size_of::<libc::in_pktinfo>(), 12);
    }

    #[test]
    fn built_cmsg_parses_back() {
        let mut buf = [0xa5u8; 64];
        let n = build_cmsg_u32(&mut buf, libc::SOL_SOCKET, libc::SO_TIMESTAMPING, 7);
        let w = size_of::<usize>();
        assert_eq!(
            usize::from_ne_bytes(buf[..w].try_into().unwrap()),
            cmsg_align(CMSG_HDR) + 4
        );
        assert_eq!(ne_u32(&buf, cmsg_align(CMSG_HDR)), Some(7));
        assert!(buf[cmsg_align(CMSG_HDR) + 4..n].iter().all(|&b| b == 0));
        assert_eq!(build_cmsg_u32(&mut buf[..8], 1, 2, 3), 0);
    }

    #[test]
    fn parses_timestamping_and_pktinfo() {
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(1_700_000_000, 123_456_789), (0, 0), (5, 6)]),
        );
        let mut pi = vec![0u8; 12];
        pi[0..4].copy_from_slice(&3i32.to_ne_bytes());
        pi[4..8].copy_from_slice(&[10, 0, 0, 2]);
        pi[8..12].copy_from_slice(&[224, 0, 1, 129]);
        push_cmsg(&mut b, libc::IPPROTO_IP, libc::IP_PKTINFO, &pi);
        let c = parse_control(&b);
        assert_eq!(c.software_ns, Some(1_700_000_000_123_456_789));
        assert_eq!(c.hardware_ns, Some(5_000_000_006));
        assert_eq!(c.dst_v4, Some([224, 0, 1, 129]));
        assert_eq!(c.dst_v6, None);
        assert_eq!(c.ext_err, None);
    }

    #[test]
    fn zero_and_bad_timestamps_are_absent() {
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(0, 0), (0, 0), (1, 1_000_000_000)]),
        );
        let c = parse_control(&b);
        assert_eq!((c.software_ns, c.hardware_ns), (None, None));
    }

    #[test]
    fn parses_ipv6_pktinfo_auxdata_and_errqueue() {
        let mut b = Vec::new();
        let mut pi6 = vec![0u8; 20];
        pi6[0] = 0xff;
        pi6[1] = 0x02;
        pi6[14] = 0x01;
        pi6[15] = 0x81;
        push_cmsg(&mut b, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pi6);
        let mut aux = vec![0u8; 20];
        aux[0..4].copy_from_slice(&(TP_STATUS_VLAN_VALID | 1).to_ne_bytes());
        aux[16..18].copy_from_slice(&0xa064u16.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_AUXDATA, &aux);
        let mut ee = vec![0u8; 16];
        ee[0..4].copy_from_slice(&(libc::ENOMSG as u32).to_ne_bytes());
        ee[4] = libc::SO_EE_ORIGIN_TIMESTAMPING;
        ee[8..12].copy_from_slice(&SCM_TSTAMP_SND.to_ne_bytes());
        ee[12..16].copy_from_slice(&41u32.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_TX_TIMESTAMP, &ee);
        let c = parse_control(&b);
        let mut want6 = [0u8; 16];
        want6[..16].copy_from_slice(&pi6[..16]);
        assert_eq!(c.dst_v6, Some(want6));
        assert_eq!(c.vlan_tci, Some(0xa064));
        let e = c.ext_err.unwrap();
        assert!(e.is_tx_timestamp());
        assert_eq!(e.data, 41);

        // Auxdata without the VLAN-valid bit carries no tag.
        let mut b = Vec::new();
        aux[0..4].copy_from_slice(&1u32.to_ne_bytes());
        push_cmsg(&mut b, libc::SOL_PACKET, PACKET_AUXDATA, &aux);
        assert_eq!(parse_control(&b).vlan_tci, None);
    }

    #[test]
    fn malformed_control_never_panics() {
        // Every prefix and some garbage: no panic, and a cmsg_len past the end stops the walk.
        let mut b = Vec::new();
        push_cmsg(
            &mut b,
            libc::SOL_SOCKET,
            libc::SCM_TIMESTAMPING,
            &timespecs(&[(1, 2), (0, 0), (0, 0)]),
        );
        push_cmsg(&mut b, libc::IPPROTO_IP, libc::IP_PKTINFO, &[1; 12]);
        for n in 0..=b.len() {
            let _ = parse_control(&b[..n]);
        }
        let mut bad = b.clone();
        bad[..size_of::<usize>()].copy_from_slice(&usize::MAX.to_ne_bytes());
        assert_eq!(parse_control(&bad), Control::default());
        bad[..size_of::<usize>()].copy_from_slice(&3usize.to_ne_bytes());
        assert_eq!(parse_control(&bad), Control::default());
        // Short payloads of known types are ignored, not read past.
        let mut s = Vec::new();
        push_cmsg(&mut s, libc::SOL_SOCKET, libc::SCM_TIMESTAMPING, &[1, 2, 3]);
        push_cmsg(&mut s, libc::IPPROTO_IP, libc::IP_PKTINFO, &[1, 2]);
        push_cmsg(&mut s, libc::IPPROTO_IP, libc::IP_RECVERR, &[1, 2]);
        assert_eq!(parse_control(&s), Control::default());
        let mut x = 0x9e37_79b9_u32;
        for _ in 0..2000 {
            let g: Vec<u8> = (0..64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_control(&g);
            let _ = parse_sockaddr(&g);
        }
    }

    #[test]
    fn sockaddrs_round_trip_through_raw() {
        for a in [
            SockAddr::V4 {
                addr: [10, 77, 0, 1],
                port: 319,
            },
            SockAddr::V6 {
                addr: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                port: 320,
                scope_id: 7,
            },
            SockAddr::Packet {
                ifindex: 3,
                protocol: 0x88f7,
                mac: [1, 0x1b, 0x19, 0, 0, 0],
                pkttype: 2,
            },
        ] {
            let (raw, len) = a.to_raw();
            let len = len as usize;
            // SAFETY: `raw` is at least `len` bytes, all initialised by to_raw (the
            // variant written is `len` bytes long and has no padding).
            let bytes =
                unsafe { std::slice::from_raw_parts((&raw as *const RawAddr).cast::<u8>(), len) };
            assert_eq!(parse_sockaddr(bytes), Some(a));
        }
        assert_eq!(parse_sockaddr(&[]), None);
        assert_eq!(parse_sockaddr(&(libc::AF_INET as u16).to_ne_bytes()), None);
    }

    #[test]
    fn clocks_and_poll_work_without_root() {
        let a = realtime_ns();
        assert!(a > 1_600_000_000_000_000_000);
        assert!(clock_ns(libc::CLOCK_MONOTONIC).is_ok());
        assert_eq!(fd_to_clockid(3), ((!3) << 3) | 3);
        let s = kernel_clock_state();
        assert!(s.maxerror_us >= 0);
        let mut p = PollFds::new(&[]);
        assert_eq!(p.wait(Some(1_000)).unwrap(), 0);
        assert!(!p.ready(0));
    }
}
