//! Sockets: [`Socket`] (creation, options, `bind`, `sendmsg`/`recvmsg`, interface
//! `ioctl`s: index, MAC and IPv4 address, `ETHTOOL_GET_TS_INFO`, `SIOCSHWTSTAMP`), socket
//! addresses ([`SockAddr`], [`parse_sockaddr`]) and the receive-side buffers ([`NameBuf`],
//! [`Received`]).

use std::io;
use std::mem::{self, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libc::c_int;

use super::cmsg::{build_cmsg_u32, CmsgBuf};
use super::{cvt, cvt_size};

/// `ETHTOOL_GET_TS_INFO` (linux/ethtool.h).
const ETHTOOL_GET_TS_INFO: u32 = 0x41;
/// `PACKET_IGNORE_OUTGOING` (linux/if_packet.h, Linux 4.20).
pub const PACKET_IGNORE_OUTGOING: c_int = 23;
/// `PACKET_OUTGOING` in `sockaddr_ll.sll_pkttype`: a frame this host sent.
pub const PACKET_OUTGOING: u8 = 4;

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

    /// `SIOCGIFFLAGS`: whether the interface is up and running (IFF_UP and IFF_RUNNING: its
    /// link has carrier). An interface that no longer exists is an error (ENODEV).
    pub fn if_running(&self, ifname: &str) -> io::Result<bool> {
        let mut r = Self::ifreq(ifname)?;
        self.ioctl_ifreq(libc::SIOCGIFFLAGS, &mut r)?;
        // SAFETY: SIOCGIFFLAGS succeeded, so the kernel stored the flags in this member; any
        // bit pattern is a valid c_short.
        let flags = i32::from(unsafe { r.ifr_ifru.ifru_flags });
        Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethtool_ts_info_matches_kernel_layout() {
        assert_eq!(size_of::<EthtoolTsInfo>(), 44);
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
}
