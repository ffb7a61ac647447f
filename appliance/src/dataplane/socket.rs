//! The Linux socket backend: [`SocketPort`] and its helpers.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    self, EthernetRepr, FrameRepr, MacAddress, NetworkRepr, VlanTag, ETHERTYPE_PTP, ETHERTYPE_VLAN,
};
use meridian_proto::wire::Timestamp;

use crate::sys::{self, CmsgBuf, NameBuf, PollFds, SockAddr, Socket};

/// Offset of the originTimestamp / preciseOriginTimestamp in a PTP message.
const ORIGIN_TIMESTAMP: usize = 34;
/// Room for one outgoing frame: a jumbo frame and its headers.
const SEND_BUF_LEN: usize = 9216;
/// Frames skipped (not PTP, truncated, other VLAN…) before `recv` gives up for this call;
/// the socket stays readable, so the next poll returns at once.
const MAX_SKIPS: usize = 256;
/// Error-queue entries read in one `drain_tx_timestamps` call.
const MAX_DRAIN: usize = 1024;
/// Length of an untagged Ethernet header.
const ETH_HDR: usize = 14;

/// What a PTP port runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP over IPv4 (annex C).
    UdpIpv4,
    /// UDP over IPv6 (annex D).
    UdpIpv6,
    /// IEEE 802.3 / Ethernet, EtherType 0x88F7 (annex E).
    L2,
}

/// Which time stamping to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampingMode {
    /// Hardware where the interface has it, otherwise software.
    Auto,
    /// Hardware or fail.
    Hardware,
    /// Kernel software stamps (CLOCK_REALTIME).
    Software,
}

/// The time stamping actually enabled on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StampSource {
    /// The NIC stamps with its PTP hardware clock `/dev/ptp{phc_index}`.
    Hardware {
        /// Index of the PHC.
        phc_index: i32,
    },
    /// The kernel stamps with CLOCK_REALTIME.
    Software,
}

/// How to open one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketPortConfig {
    /// Network interface name, e.g. `eth0`.
    pub interface: String,
    /// Transport.
    pub transport: Transport,
    /// Time stamping wanted.
    pub timestamping: TimestampingMode,
    /// DSCP of sent datagrams (0–63; UDP only).
    pub dscp: u8,
    /// 802.1Q tag `(vid, pcp)` to send with and to accept (L2 only; for UDP use a VLAN
    /// interface). `None`: untagged (priority-tagged VID 0 frames are accepted too).
    pub vlan: Option<(u16, u8)>,
    /// Scope nibble X of the primary IPv6 group FF0X::181 (2 link-local, 5 site-local,
    /// E global). UDP/IPv6 only.
    pub ipv6_scope: u8,
    /// Join the primary multicast group.
    pub multicast: bool,
    /// Also join the peer-delay group (224.0.0.107, FF02::6B, 01-80-C2-00-00-0E).
    pub pdelay: bool,
}

/// A data-plane failure, naming the interface (or clock) and the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    /// A system call failed.
    #[error("{interface}: {op}: {error}")]
    Io {
        /// The interface.
        interface: String,
        /// What was being done (usually the call or socket option).
        op: &'static str,
        /// The OS error.
        error: io::Error,
    },
    /// The interface cannot do what the configuration asks.
    #[error("{interface}: {op}: {reason}")]
    Unsupported {
        /// The interface.
        interface: String,
        /// What was being set up.
        op: &'static str,
        /// Why it cannot be done.
        reason: String,
    },
    /// The configuration is not usable.
    #[error("{interface}: {reason}")]
    InvalidConfig {
        /// The interface.
        interface: String,
        /// What is wrong.
        reason: String,
    },
    /// A send request this port cannot carry (wrong address family, message too long…).
    #[error("{interface}: send: {reason}")]
    InvalidSend {
        /// The interface.
        interface: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A PTP hardware clock failed.
    #[error("/dev/ptp{index}: {op}: {error}")]
    Phc {
        /// PHC index.
        index: i32,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        error: io::Error,
    },
    /// `poll` failed.
    #[error("poll: {0}")]
    Poll(io::Error),
}

impl DataplaneError {
    /// Whether this is a full socket buffer (`EAGAIN`): the message was dropped, nothing is
    /// broken.
    pub fn is_would_block(&self) -> bool {
        matches!(self, DataplaneError::Io { error, .. } if error.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxInfo {
    /// Octets of PTP payload at the start of the caller's buffer (UDP payload, or Ethernet
    /// payload after the (802.1Q) header; may include padding or the IPv6 trailer).
    pub len: usize,
    /// The sender.
    pub source: PeerAddress,
    /// Sent to a multicast group (otherwise unicast to us).
    pub multicast: bool,
    /// An event message: arrived on port 319, or (L2) has messageType below 4.
    pub event: bool,
    /// Receive timestamp as stamped: CLOCK_REALTIME ns (software) or PHC ns (hardware).
    /// `None` for general messages over UDP and when the kernel gave none.
    pub timestamp_ns: Option<i128>,
}

/// What a port dropped or could not do; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SocketCounters {
    /// Messages returned by [`SocketPort::recv`].
    pub rx_packets: u64,
    /// Frames skipped because they are not PTP (EtherType, runt).
    pub rx_non_ptp: u64,
    /// Datagrams longer than the caller's buffer, skipped.
    pub rx_truncated: u64,
    /// L2 frames of another VLAN (or tagged when the port is untagged), skipped.
    pub rx_other_vlan: u64,
    /// Our own transmitted frames seen by the L2 socket, skipped.
    pub rx_own: u64,
    /// Event messages returned without a receive timestamp.
    pub rx_no_timestamp: u64,
    /// Receive calls that failed (other than "nothing waiting").
    pub rx_errors: u64,
    /// Messages sent.
    pub tx_packets: u64,
    /// Sends that failed (other than a full buffer).
    pub tx_errors: u64,
    /// Sends dropped because the socket buffer was full (`EAGAIN`).
    pub tx_eagain: u64,
    /// TX timestamps delivered by [`SocketPort::drain_tx_timestamps`].
    pub tx_timestamps: u64,
    /// Error-queue timestamp reports without a usable time (wrong clock, zero), dropped.
    pub tx_timestamp_unusable: u64,
    /// Other error-queue entries (not a send timestamp), dropped.
    pub tx_errqueue_other: u64,
    /// Times the TX timestamp id counter was restarted after a failed send.
    pub tx_id_resyncs: u64,
}

enum Sockets {
    Udp { event: Socket, general: Socket },
    L2 { sock: Socket },
}

/// One PTP port over Linux sockets.
///
/// * **UDP/IPv4, UDP/IPv6** — an event socket bound to `*:319` and a general socket bound to
///   `*:320`, both `SO_REUSEADDR` and `SO_BINDTODEVICE` (so several ports, and other PTP
///   programs on other interfaces, can coexist), joined to the PTP groups on the interface,
///   multicast loop off, multicast TTL/hops 1, DSCP set, `IP_PKTINFO` / `IPV6_RECVPKTINFO`
///   to tell multicast from unicast. Only the event socket is timestamped. UDP/IPv6 messages
///   carry the two zero trailer octets of annex D.3 (as ptp4l sends them).
/// * **L2** — one `AF_PACKET`/`SOCK_RAW` socket bound to the interface with `ETH_P_ALL` and a
///   classic BPF filter passing EtherType 0x88F7 (untagged, or behind an in-band 802.1Q tag).
///   `ETH_P_ALL` is needed for VLANs: the kernel moves a received tag into `PACKET_AUXDATA`
///   for all-protocol taps, but hands a socket bound to 0x88F7 the frame only after
///   dropping the tag (as `PACKET_OTHERHOST`), indistinguishable from an untagged one;
///   priority-tagged (VID 0) frames count as untagged. Frames of another
///   VLAN (or tagged frames on an untagged port) are skipped and counted; so are our own
///   (`PACKET_OUTGOING`, normally suppressed by `PACKET_IGNORE_OUTGOING`). Transmitted
///   frames are built here, with the configured 802.1Q tag.
///
/// **Time stamping** (`SO_TIMESTAMPING`): receive stamps on every event message; transmit
/// stamps only for the sends that ask (a per-message control message), reported in the
/// socket's error queue under the `SOF_TIMESTAMPING_OPT_ID` counter and without the payload
/// (`OPT_TSONLY`). Software stamps are CLOCK_REALTIME; hardware stamps are the NIC's PHC,
/// enabled with `SIOCSHWTSTAMP` after `ETHTOOL_GET_TS_INFO` said the driver has them.
/// When the first socket of the system asks for software receive stamps, the kernel
/// switches them on from a work queue: frames arriving in the next milliseconds come
/// unstamped (returned with `timestamp_ns: None`, counted in `rx_no_timestamp`).
///
/// **TX timestamp ids.** The kernel numbers the timestamped sends of a socket 0, 1, 2… from
/// the moment `OPT_ID` is switched on; [`SocketPort::send`] predicts the number. A failed
/// send may or may not have used a number (the kernel's bookkeeping differs between
/// protocols and failure points), so after one the port switches `OPT_ID` off and on again,
/// which restarts the kernel's count at 0, and counts a resync.
pub struct SocketPort {
    interface: String,
    transport: Transport,
    ifindex: i32,
    mac: [u8; 6],
    protocol_address: Vec<u8>,
    stamp: StampSource,
    sockets: Sockets,
    vlan: Option<VlanTag>,
    ipv6_scope: u8,
    /// `SO_TIMESTAMPING` flags set on the stamping socket.
    socket_ts_flags: u32,
    /// Per-send flag asking for a TX stamp (`TX_SOFTWARE` or `TX_HARDWARE`).
    tx_stamp_flag: u32,
    /// The id the kernel will give the next timestamped send.
    next_tx_id: u32,
    /// Which UDP socket `recv` reads first this time.
    event_first: bool,
    send_buf: Box<[u8]>,
    name: NameBuf,
    ctrl: CmsgBuf,
    counters: SocketCounters,
}

impl std::fmt::Debug for SocketPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketPort")
            .field("interface", &self.interface)
            .field("transport", &self.transport)
            .field("ifindex", &self.ifindex)
            .field("stamp", &self.stamp)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Classic BPF: accept EtherType 0x88F7, directly or behind one in-band 802.1Q tag (a tag
/// the kernel moved into auxdata is not in the data, so such frames match the first test).
const PTP_FILTER: [libc::sock_filter; 7] = {
    const LDH: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }
    [
        op(LDH, 0, 0, 12),                    // 0: A = EtherType
        op(JEQ, 3, 0, ETHERTYPE_PTP as u32),  // 1: PTP → accept
        op(JEQ, 0, 3, ETHERTYPE_VLAN as u32), // 2: not 802.1Q → drop
        op(LDH, 0, 0, 16),                    // 3: A = inner EtherType
        op(JEQ, 0, 1, ETHERTYPE_PTP as u32),  // 4: PTP → accept, else drop
        op(RET, 0, 0, 0x0004_0000),           // 5: accept (whole frame)
        op(RET, 0, 0, 0),                     // 6: drop
    ]
};

/// An error builder naming the interface and operation.
fn io_err<'a>(
    interface: &'a str,
    op: &'static str,
) -> impl FnOnce(io::Error) -> DataplaneError + 'a {
    move |error| DataplaneError::Io {
        interface: interface.to_owned(),
        op,
        error,
    }
}

fn check_config(cfg: &SocketPortConfig) -> Result<(), DataplaneError> {
    let bad = |reason: String| {
        Err(DataplaneError::InvalidConfig {
            interface: cfg.interface.clone(),
            reason,
        })
    };
    let n = cfg.interface.as_bytes();
    if n.is_empty() || n.len() >= libc::IFNAMSIZ || n.iter().any(|&b| b == 0 || b == b'/') {
        return bad(format!(
            "invalid interface name {:?} (1 to {} octets, no NUL or '/')",
            cfg.interface,
            libc::IFNAMSIZ - 1
        ));
    }
    if cfg.dscp > 63 {
        return bad(format!("dscp {} is out of range (0-63)", cfg.dscp));
    }
    if let Some((vid, pcp)) = cfg.vlan {
        if cfg.transport != Transport::L2 {
            return bad(
                "a VLAN tag is built for the l2 transport only; for UDP use a VLAN interface"
                    .into(),
            );
        }
        if !(1..=4094).contains(&vid) || pcp > 7 {
            return bad(format!(
                "VLAN {vid} priority {pcp} is out of range (VID 1-4094, PCP 0-7)"
            ));
        }
    }
    if cfg.transport == Transport::UdpIpv6 && !(1..=0xe).contains(&cfg.ipv6_scope) {
        return bad(format!(
            "IPv6 multicast scope {:#x} is out of range (1-E)",
            cfg.ipv6_scope
        ));
    }
    Ok(())
}

/// The interface's preferred IPv6 address (global over link-local), from the calling
/// thread's network namespace.
fn ipv6_address(ifindex: i32) -> Option<[u8; 16]> {
    // /proc/net follows the process's namespace, /proc/thread-self/net this thread's.
    let text = std::fs::read_to_string("/proc/thread-self/net/if_inet6")
        .or_else(|_| std::fs::read_to_string("/proc/net/if_inet6"))
        .ok()?;
    let mut link_local = None;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(idx), Some(_plen), Some(scope), Some(flags)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let (Ok(idx), Ok(scope), Ok(flags)) = (
            i32::from_str_radix(idx, 16),
            u32::from_str_radix(scope, 16),
            u32::from_str_radix(flags, 16),
        ) else {
            continue;
        };
        // IFA_F_DADFAILED
        if idx != ifindex || addr.len() != 32 || flags & 0x08 != 0 {
            continue;
        }
        let mut a = [0u8; 16];
        let mut ok = true;
        for (i, o) in a.iter_mut().enumerate() {
            match addr
                .get(2 * i..2 * i + 2)
                .map(|h| u8::from_str_radix(h, 16))
            {
                Some(Ok(v)) => *o = v,
                _ => ok = false,
            }
        }
        if !ok {
            continue;
        }
        match scope {
            0x00 => return Some(a),
            0x20 if link_local.is_none() => link_local = Some(a),
            _ => {}
        }
    }
    link_local
}

/// Enables time stamping on `sock`; returns (source, socket flags, per-send TX flag).
fn enable_timestamping(
    sock: &Socket,
    cfg: &SocketPortConfig,
) -> Result<(StampSource, u32, u32), DataplaneError> {
    let name = cfg.interface.as_str();
    match cfg.timestamping {
        TimestampingMode::Software => enable_software(sock, name),
        TimestampingMode::Hardware => enable_hardware(sock, name, cfg.transport),
        TimestampingMode::Auto => match enable_hardware(sock, name, cfg.transport) {
            Ok(r) => Ok(r),
            Err(e) => {
                tracing::info!(interface = name, reason = %e, "no hardware time stamping, using software");
                enable_software(sock, name)
            }
        },
    }
}

fn enable_software(sock: &Socket, name: &str) -> Result<(StampSource, u32, u32), DataplaneError> {
    // A driver that never calls skb_tx_timestamp() gives no TX software stamps; ethtool
    // says so. If the query itself fails (old kernel), try anyway.
    if let Ok(info) = sock.ts_info(name) {
        if info.so_timestamping & libc::SOF_TIMESTAMPING_TX_SOFTWARE == 0 {
            return Err(DataplaneError::Unsupported {
                interface: name.to_owned(),
                op: "software time stamping",
                reason: format!(
                    "the driver does not time-stamp transmitted frames (ETHTOOL_GET_TS_INFO capabilities {:#x})",
                    info.so_timestamping
                ),
            });
        }
    }
    let flags = libc::SOF_TIMESTAMPING_RX_SOFTWARE
        | libc::SOF_TIMESTAMPING_SOFTWARE
        | libc::SOF_TIMESTAMPING_OPT_ID
        | libc::SOF_TIMESTAMPING_OPT_TSONLY;
    sock.set_timestamping(flags)
        .map_err(io_err(name, "SO_TIMESTAMPING"))?;
    Ok((
        StampSource::Software,
        flags,
        libc::SOF_TIMESTAMPING_TX_SOFTWARE,
    ))
}

fn enable_hardware(
    sock: &Socket,
    name: &str,
    transport: Transport,
) -> Result<(StampSource, u32, u32), DataplaneError> {
    let info = sock
        .ts_info(name)
        .map_err(io_err(name, "ETHTOOL_GET_TS_INFO"))?;
    let need = libc::SOF_TIMESTAMPING_TX_HARDWARE
        | libc::SOF_TIMESTAMPING_RX_HARDWARE
        | libc::SOF_TIMESTAMPING_RAW_HARDWARE;
    if info.so_timestamping & need != need || info.phc_index < 0 {
        return Err(DataplaneError::Unsupported {
            interface: name.to_owned(),
            op: "hardware time stamping",
            reason: format!(
                "the driver offers none (ETHTOOL_GET_TS_INFO: capabilities {:#x}, PHC index {})",
                info.so_timestamping, info.phc_index
            ),
        });
    }
    if info.tx_types & (1 << libc::HWTSTAMP_TX_ON) == 0 {
        return Err(DataplaneError::Unsupported {
            interface: name.to_owned(),
            op: "hardware time stamping",
            reason: format!(
                "the driver cannot stamp transmitted frames (tx_types {:#x})",
                info.tx_types
            ),
        });
    }
    let specific = match transport {
        Transport::L2 => libc::HWTSTAMP_FILTER_PTP_V2_L2_EVENT,
        Transport::UdpIpv4 | Transport::UdpIpv6 => libc::HWTSTAMP_FILTER_PTP_V2_L4_EVENT,
    };
    let mut last = None;
    let mut set = None;
    for filter in [
        libc::HWTSTAMP_FILTER_PTP_V2_EVENT,
        specific,
        libc::HWTSTAMP_FILTER_ALL,
    ] {
        // Some drivers leave rx_filters empty; then just try.
        if info.rx_filters != 0 && info.rx_filters & (1 << filter) == 0 {
            continue;
        }
        match sock.set_hwtstamp(name, libc::HWTSTAMP_TX_ON as i32, filter as i32) {
            Ok((tx, rx)) if tx == libc::HWTSTAMP_TX_ON as i32 && rx != 0 => {
                set = Some(rx);
                break;
            }
            Ok(_) => {}
            Err(e) => last = Some(e),
        }
    }
    if set.is_none() {
        return Err(match last {
            Some(e) => io_err(name, "SIOCSHWTSTAMP")(e),
            None => DataplaneError::Unsupported {
                interface: name.to_owned(),
                op: "SIOCSHWTSTAMP",
                reason: format!(
                    "no receive filter for PTP v2 event messages (rx_filters {:#x})",
                    info.rx_filters
                ),
            },
        });
    }
    let flags = libc::SOF_TIMESTAMPING_RX_HARDWARE
        | libc::SOF_TIMESTAMPING_RAW_HARDWARE
        | libc::SOF_TIMESTAMPING_OPT_ID
        | libc::SOF_TIMESTAMPING_OPT_TSONLY;
    sock.set_timestamping(flags)
        .map_err(io_err(name, "SO_TIMESTAMPING"))?;
    Ok((
        StampSource::Hardware {
            phc_index: info.phc_index,
        },
        flags,
        libc::SOF_TIMESTAMPING_TX_HARDWARE,
    ))
}

/// The sockets of a port and what was learnt about its interface.
struct Opened {
    sockets: Sockets,
    ifindex: i32,
    mac: [u8; 6],
    protocol_address: Vec<u8>,
}

/// Receive buffer asked for every socket: a burst of requests (thousands of slaves' Delay_Req
/// at once) waits here for the engine's next batch instead of being dropped by the kernel,
/// which is where ptp4l loses requests under load (UDP RcvbufErrors).
const RECEIVE_BUFFER: i32 = 4 << 20;

/// Best effort: `SO_RCVBUFFORCE` (root / CAP_NET_ADMIN may exceed `net.core.rmem_max`), else
/// `SO_RCVBUF` (capped by the kernel). Never fatal: the default still works, only smaller.
fn enlarge_receive_buffer(s: &Socket, name: &str) {
    if s.set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RECEIVE_BUFFER)
        .is_err()
    {
        if let Err(e) = s.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, RECEIVE_BUFFER) {
            tracing::debug!(interface = name, error = %e, "could not enlarge the receive buffer");
        }
    }
}

/// One UDP socket bound to `port` on the interface, set up for PTP.
fn udp_socket(
    cfg: &SocketPortConfig,
    v6: bool,
    port: u16,
    ifindex: i32,
) -> Result<Socket, DataplaneError> {
    let name = cfg.interface.as_str();
    let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
    let s =
        Socket::new(domain, libc::SOCK_DGRAM, libc::IPPROTO_UDP).map_err(io_err(name, "socket"))?;
    s.set_int(libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
        .map_err(io_err(name, "SO_REUSEADDR"))?;
    enlarge_receive_buffer(&s, name);
    s.bind_to_device(name)
        .map_err(io_err(name, "SO_BINDTODEVICE"))?;
    let tos = (cfg.dscp as i32) << 2;
    if v6 {
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)
            .map_err(io_err(name, "IPV6_V6ONLY"))?;
        let bind_op = if port == frame::PORT_EVENT {
            "bind [::]:319"
        } else {
            "bind [::]:320"
        };
        s.bind(SockAddr::V6 {
            addr: [0; 16],
            port,
            scope_id: 0,
        })
        .map_err(io_err(name, bind_op))?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)
            .map_err(io_err(name, "IPV6_RECVPKTINFO"))?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_TCLASS, tos)
            .map_err(io_err(name, "IPV6_TCLASS"))?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)
            .map_err(io_err(name, "IPV6_MULTICAST_LOOP"))?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 1)
            .map_err(io_err(name, "IPV6_MULTICAST_HOPS"))?;
        s.set_int(libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, ifindex)
            .map_err(io_err(name, "IPV6_MULTICAST_IF"))?;
        if cfg.multicast {
            s.join_v6(frame::ipv6_primary(cfg.ipv6_scope), ifindex)
                .map_err(io_err(name, "IPV6_JOIN_GROUP FF0X::181"))?;
        }
        if cfg.pdelay {
            s.join_v6(frame::IPV6_PDELAY, ifindex)
                .map_err(io_err(name, "IPV6_JOIN_GROUP FF02::6B"))?;
        }
    } else {
        let bind_op = if port == frame::PORT_EVENT {
            "bind 0.0.0.0:319"
        } else {
            "bind 0.0.0.0:320"
        };
        s.bind(SockAddr::V4 { addr: [0; 4], port })
            .map_err(io_err(name, bind_op))?;
        s.set_int(libc::IPPROTO_IP, libc::IP_PKTINFO, 1)
            .map_err(io_err(name, "IP_PKTINFO"))?;
        s.set_int(libc::IPPROTO_IP, libc::IP_TOS, tos)
            .map_err(io_err(name, "IP_TOS"))?;
        s.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 0)
            .map_err(io_err(name, "IP_MULTICAST_LOOP"))?;
        s.set_int(libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 1)
            .map_err(io_err(name, "IP_MULTICAST_TTL"))?;
        s.multicast_if_v4(ifindex)
            .map_err(io_err(name, "IP_MULTICAST_IF"))?;
        if cfg.multicast {
            s.join_v4(frame::IPV4_PRIMARY, ifindex)
                .map_err(io_err(name, "IP_ADD_MEMBERSHIP 224.0.1.129"))?;
        }
        if cfg.pdelay {
            s.join_v4(frame::IPV4_PDELAY, ifindex)
                .map_err(io_err(name, "IP_ADD_MEMBERSHIP 224.0.0.107"))?;
        }
    }
    Ok(s)
}

fn open_udp(cfg: &SocketPortConfig, v6: bool) -> Result<Opened, DataplaneError> {
    let name = cfg.interface.as_str();
    // Any socket answers interface ioctls; a throwaway one keeps the order simple.
    let probe = Socket::new(libc::AF_INET, libc::SOCK_DGRAM, 0).map_err(io_err(name, "socket"))?;
    let ifindex = probe.if_index(name).map_err(io_err(name, "SIOCGIFINDEX"))?;
    let event = udp_socket(cfg, v6, frame::PORT_EVENT, ifindex)?;
    let general = udp_socket(cfg, v6, frame::PORT_GENERAL, ifindex)?;
    let mac = event
        .if_hwaddr(name)
        .map_err(io_err(name, "SIOCGIFHWADDR"))?;
    let addr = if v6 {
        ipv6_address(ifindex)
            .ok_or_else(|| DataplaneError::Unsupported {
                interface: name.to_owned(),
                op: "IPv6 address",
                reason: "the interface has no usable IPv6 address".into(),
            })?
            .to_vec()
    } else {
        match event.if_ipv4(name) {
            Ok(a) => a.to_vec(),
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
                return Err(DataplaneError::Unsupported {
                    interface: name.to_owned(),
                    op: "IPv4 address",
                    reason: "the interface has no IPv4 address".into(),
                })
            }
            Err(e) => return Err(io_err(name, "SIOCGIFADDR")(e)),
        }
    };
    Ok(Opened {
        sockets: Sockets::Udp { event, general },
        ifindex,
        mac,
        protocol_address: addr,
    })
}

fn open_l2(cfg: &SocketPortConfig) -> Result<Opened, DataplaneError> {
    let name = cfg.interface.as_str();
    // Protocol 0 receives nothing until bind(), so no foreign frame slips in before the
    // filter is attached.
    let s = Socket::new(libc::AF_PACKET, libc::SOCK_RAW, 0).map_err(io_err(name, "socket"))?;
    let ifindex = s.if_index(name).map_err(io_err(name, "SIOCGIFINDEX"))?;
    let mac = s.if_hwaddr(name).map_err(io_err(name, "SIOCGIFHWADDR"))?;
    s.attach_filter(&PTP_FILTER)
        .map_err(io_err(name, "SO_ATTACH_FILTER"))?;
    s.set_int(libc::SOL_PACKET, sys::PACKET_AUXDATA, 1)
        .map_err(io_err(name, "PACKET_AUXDATA"))?;
    // Linux >= 4.20; without it our own frames are skipped by their packet type.
    let _ = s.set_int(libc::SOL_PACKET, sys::PACKET_IGNORE_OUTGOING, 1);
    enlarge_receive_buffer(&s, name);
    s.bind(SockAddr::Packet {
        ifindex,
        protocol: libc::ETH_P_ALL as u16,
        mac: [0; 6],
        pkttype: 0,
    })
    .map_err(io_err(name, "bind"))?;
    if cfg.multicast {
        s.packet_join(MacAddress::PTP_PRIMARY.0, ifindex)
            .map_err(io_err(name, "PACKET_ADD_MEMBERSHIP 01-1B-19-00-00-00"))?;
    }
    if cfg.pdelay {
        s.packet_join(MacAddress::PTP_PDELAY.0, ifindex)
            .map_err(io_err(name, "PACKET_ADD_MEMBERSHIP 01-80-C2-00-00-0E"))?;
    }
    Ok(Opened {
        sockets: Sockets::L2 { sock: s },
        ifindex,
        mac,
        protocol_address: mac.to_vec(),
    })
}

impl SocketPort {
    /// Opens the port: sockets, group memberships, time stamping. Needs `CAP_NET_RAW`
    /// (L2, `SO_BINDTODEVICE`), `CAP_NET_BIND_SERVICE` (ports 319/320) and, for hardware
    /// stamping, `CAP_NET_ADMIN` (`SIOCSHWTSTAMP`). Must run in the network namespace of
    /// the interface (the sockets stay in it).
    pub fn open(cfg: &SocketPortConfig) -> Result<Self, DataplaneError> {
        check_config(cfg)?;
        let Opened {
            sockets,
            ifindex,
            mac,
            protocol_address,
        } = match cfg.transport {
            Transport::UdpIpv4 => open_udp(cfg, false)?,
            Transport::UdpIpv6 => open_udp(cfg, true)?,
            Transport::L2 => open_l2(cfg)?,
        };
        let stamping = match &sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        };
        let (stamp, socket_ts_flags, tx_stamp_flag) = enable_timestamping(stamping, cfg)?;
        Ok(SocketPort {
            interface: cfg.interface.clone(),
            transport: cfg.transport,
            ifindex,
            mac,
            protocol_address,
            stamp,
            sockets,
            vlan: cfg.vlan.map(|(vid, pcp)| VlanTag {
                pcp,
                dei: false,
                vid,
            }),
            ipv6_scope: cfg.ipv6_scope,
            socket_ts_flags,
            tx_stamp_flag,
            next_tx_id: 0,
            event_first: true,
            send_buf: vec![0u8; SEND_BUF_LEN].into_boxed_slice(),
            name: NameBuf::new(),
            ctrl: CmsgBuf::new(),
            counters: SocketCounters::default(),
        })
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The interface's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The port's protocol address: IPv4 (4 octets), IPv6 (16; a global address if the
    /// interface has one, else its link-local address) or MAC (6).
    pub fn protocol_address(&self) -> Vec<u8> {
        self.protocol_address.clone()
    }

    /// The time stamping enabled.
    pub fn stamp_source(&self) -> StampSource {
        self.stamp
    }

    /// Descriptors to poll for input; error-queue (TX timestamp) readiness shows as
    /// `POLLERR` on them.
    pub fn raw_fds(&self) -> Vec<RawFd> {
        match &self.sockets {
            Sockets::Udp { event, general } => vec![event.as_raw_fd(), general.as_raw_fd()],
            Sockets::L2 { sock } => vec![sock.as_raw_fd()],
        }
    }

    /// Counters of drops and failures.
    pub fn counters(&self) -> &SocketCounters {
        &self.counters
    }

    fn stamp_of(&self, c: &sys::Control) -> Option<i128> {
        match self.stamp {
            StampSource::Hardware { .. } => c.hardware_ns,
            StampSource::Software => c.software_ns,
        }
    }

    /// Non-blocking: one received PTP message into `buf` (the UDP payload, or for L2 the
    /// Ethernet payload after the (802.1Q) header), or `None` if nothing is waiting on any
    /// of the port's sockets. Frames that are not PTP, too long for `buf`, of another VLAN
    /// or our own are skipped and counted; after 256 of them in one call it returns `None`
    /// with the socket still readable (so the next poll returns at once). The UDP event and
    /// general sockets take turns being read first, so a flood on one cannot starve the
    /// other.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxInfo>, DataplaneError> {
        let r = match self.transport {
            Transport::L2 => self.recv_l2(buf),
            Transport::UdpIpv4 | Transport::UdpIpv6 => {
                let first = self.event_first;
                self.event_first = !first;
                match self.recv_udp(buf, first) {
                    Ok(None) => self.recv_udp(buf, !first),
                    r => r,
                }
            }
        };
        match &r {
            Ok(Some(_)) => self.counters.rx_packets += 1,
            Err(_) => self.counters.rx_errors += 1,
            Ok(None) => {}
        }
        r
    }

    fn recv_udp(&mut self, buf: &mut [u8], event: bool) -> Result<Option<RxInfo>, DataplaneError> {
        let Sockets::Udp {
            event: ev,
            general: gen,
        } = &self.sockets
        else {
            return Ok(None);
        };
        let sock = if event { ev } else { gen };
        for _ in 0..MAX_SKIPS {
            let m = match sock.recv_msg(&mut [], buf, &mut self.name, &mut self.ctrl, false) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(&self.interface, "recvmsg")(e)),
            };
            if m.truncated() {
                self.counters.rx_truncated += 1;
                continue;
            }
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            let (source, multicast) = match sys::parse_sockaddr(self.name.bytes(m.name_len)) {
                Some(SockAddr::V4 { addr, .. }) => (
                    PeerAddress::Ipv4(addr),
                    c.dst_v4.is_some_and(|d| (224..=239).contains(&d[0])),
                ),
                Some(SockAddr::V6 { addr, .. }) => (
                    PeerAddress::Ipv6(addr),
                    c.dst_v6.is_some_and(|d| d[0] == 0xff),
                ),
                _ => {
                    self.counters.rx_non_ptp += 1;
                    continue;
                }
            };
            let timestamp_ns = if event { self.stamp_of(&c) } else { None };
            if event && timestamp_ns.is_none() {
                self.counters.rx_no_timestamp += 1;
            }
            return Ok(Some(RxInfo {
                len: m.len,
                source,
                multicast,
                event,
                timestamp_ns,
            }));
        }
        Ok(None)
    }

    fn recv_l2(&mut self, buf: &mut [u8]) -> Result<Option<RxInfo>, DataplaneError> {
        let Sockets::L2 { sock } = &self.sockets else {
            return Ok(None);
        };
        let want_vid = self.vlan.map(|t| t.vid);
        for _ in 0..MAX_SKIPS {
            let mut head = [0u8; ETH_HDR];
            let m = match sock.recv_msg(&mut head, buf, &mut self.name, &mut self.ctrl, false) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(&self.interface, "recvmsg")(e)),
            };
            let addr = sys::parse_sockaddr(self.name.bytes(m.name_len));
            if let Some(SockAddr::Packet { pkttype, .. }) = addr {
                if pkttype == sys::PACKET_OUTGOING {
                    self.counters.rx_own += 1;
                    continue;
                }
            }
            if m.truncated() {
                self.counters.rx_truncated += 1;
                continue;
            }
            if m.len < ETH_HDR {
                self.counters.rx_non_ptp += 1;
                continue;
            }
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            let mut len = m.len - ETH_HDR;
            let mut ethertype = u16::from_be_bytes([head[12], head[13]]);
            // A tag the kernel stripped (the usual case on receive) …
            let mut vid = c.vlan_tci.map(|t| t & 0x0fff);
            let mut tags = usize::from(vid.is_some());
            let mut off = 0;
            // … or one still in the data.
            if ethertype == ETHERTYPE_VLAN && len >= 4 {
                vid = Some(u16::from_be_bytes([buf[0], buf[1]]) & 0x0fff);
                ethertype = u16::from_be_bytes([buf[2], buf[3]]);
                tags += 1;
                off = 4;
                len -= 4;
            }
            if ethertype != ETHERTYPE_PTP {
                self.counters.rx_non_ptp += 1;
                continue;
            }
            // VID 0 is a priority tag: the frame belongs to the untagged port.
            if tags > 1 || vid.filter(|&v| v != 0) != want_vid {
                self.counters.rx_other_vlan += 1;
                continue;
            }
            if off > 0 {
                buf.copy_within(off..off + len, 0);
            }
            let mut src = [0u8; 6];
            src.copy_from_slice(&head[6..12]);
            let event = len > 0 && buf[0] & 0x0f < 4;
            let timestamp_ns = self.stamp_of(&c);
            if event && timestamp_ns.is_none() {
                self.counters.rx_no_timestamp += 1;
            }
            return Ok(Some(RxInfo {
                len,
                source: PeerAddress::Mac(src),
                multicast: head[0] & 1 != 0,
                event,
                timestamp_ns,
            }));
        }
        Ok(None)
    }

    /// Sends one PTP message (`payload`, exactly the message) to `dest`: the port's
    /// multicast group, the peer-delay group, or one peer (UDP port 319 for `event`, 320
    /// otherwise). L2 frames get an Ethernet (and 802.1Q) header; UDP/IPv6 datagrams the
    /// two zero trailer octets of annex D.3.
    ///
    /// With `want_tx_timestamp` (event messages only) returns `Some(id)`: the id
    /// [`Self::drain_tx_timestamps`] will report the transmit time under.
    ///
    /// With `one_step_now`, calls it immediately before the send system call and writes the
    /// time it returns (ns on the PTP timescale) into the message's originTimestamp
    /// (offset 34); UDP checksums are computed by the kernel afterwards.
    ///
    /// A full socket buffer is an error with [`DataplaneError::is_would_block`]; the
    /// message is dropped and counted.
    pub fn send(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step_now: Option<&mut dyn FnMut() -> i128>,
    ) -> Result<Option<u32>, DataplaneError> {
        let invalid = |reason| DataplaneError::InvalidSend {
            interface: self.interface.clone(),
            reason,
        };
        if want_tx_timestamp && !event {
            return Err(invalid("a TX timestamp was asked for a general message"));
        }
        if one_step_now.is_some() && payload.len() < ORIGIN_TIMESTAMP + Timestamp::LEN {
            return Err(invalid("one-step message too short for an originTimestamp"));
        }
        // Frame the message in the send buffer: (header +) payload (+ trailer).
        let (addr, ptp_at, total) = match self.transport {
            Transport::L2 => {
                let dst = match dest {
                    Destination::Multicast => MacAddress::PTP_PRIMARY,
                    Destination::PdelayMulticast => MacAddress::PTP_PDELAY,
                    Destination::Unicast(PeerAddress::Mac(m)) => MacAddress(m),
                    Destination::Unicast(_) => {
                        return Err(invalid("an L2 port sends to MAC addresses only"))
                    }
                };
                let repr = FrameRepr {
                    ethernet: EthernetRepr {
                        dst,
                        src: MacAddress(self.mac),
                        vlan: self.vlan,
                    },
                    network: NetworkRepr::L2,
                };
                let hl = repr.header_len();
                let total = hl + payload.len();
                if total > self.send_buf.len() {
                    return Err(invalid("message too long"));
                }
                self.send_buf[hl..total].copy_from_slice(payload);
                repr.emit_headers(&mut self.send_buf[..total], payload.len())
                    .map_err(|_| invalid("message too long"))?;
                let protocol = if self.vlan.is_some() {
                    ETHERTYPE_VLAN
                } else {
                    ETHERTYPE_PTP
                };
                let addr = SockAddr::Packet {
                    ifindex: self.ifindex,
                    protocol,
                    mac: dst.0,
                    pkttype: 0,
                };
                (addr, hl, total)
            }
            Transport::UdpIpv4 => {
                let addr = match dest {
                    Destination::Multicast => frame::IPV4_PRIMARY,
                    Destination::PdelayMulticast => frame::IPV4_PDELAY,
                    Destination::Unicast(PeerAddress::Ipv4(a)) => a,
                    Destination::Unicast(_) => {
                        return Err(invalid("a UDP/IPv4 port sends to IPv4 addresses only"))
                    }
                };
                if payload.len() > self.send_buf.len() {
                    return Err(invalid("message too long"));
                }
                self.send_buf[..payload.len()].copy_from_slice(payload);
                let port = if event {
                    frame::PORT_EVENT
                } else {
                    frame::PORT_GENERAL
                };
                (SockAddr::V4 { addr, port }, 0, payload.len())
            }
            Transport::UdpIpv6 => {
                let addr = match dest {
                    Destination::Multicast => frame::ipv6_primary(self.ipv6_scope),
                    Destination::PdelayMulticast => frame::IPV6_PDELAY,
                    Destination::Unicast(PeerAddress::Ipv6(a)) => a,
                    Destination::Unicast(_) => {
                        return Err(invalid("a UDP/IPv6 port sends to IPv6 addresses only"))
                    }
                };
                let total = payload.len() + frame::IPV6_TRAILER_LEN;
                if total > self.send_buf.len() {
                    return Err(invalid("message too long"));
                }
                self.send_buf[..payload.len()].copy_from_slice(payload);
                self.send_buf[payload.len()..total].fill(0);
                let port = if event {
                    frame::PORT_EVENT
                } else {
                    frame::PORT_GENERAL
                };
                // The scope id matters only for link-local (and multicast) destinations; the
                // kernel ignores it for global ones.
                let scope_id = self.ifindex as u32;
                (
                    SockAddr::V6 {
                        addr,
                        port,
                        scope_id,
                    },
                    0,
                    total,
                )
            }
        };
        let sock = match &self.sockets {
            Sockets::Udp { event: e, .. } if event => e,
            Sockets::Udp { general, .. } => general,
            Sockets::L2 { sock } => sock,
        };
        let flags = if want_tx_timestamp {
            self.tx_stamp_flag
        } else {
            0
        };
        if let Some(now) = one_step_now {
            let ns = now();
            let ts = u128::try_from(ns)
                .ok()
                .and_then(Timestamp::from_nanos)
                .ok_or_else(|| invalid("one-step launch time out of range"))?;
            ts.write(&mut self.send_buf, ptp_at + ORIGIN_TIMESTAMP);
        }
        match sock.send_to(&self.send_buf[..total], addr, flags) {
            Ok(_) => {
                self.counters.tx_packets += 1;
                if want_tx_timestamp {
                    let id = self.next_tx_id;
                    self.next_tx_id = id.wrapping_add(1);
                    Ok(Some(id))
                } else {
                    Ok(None)
                }
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.counters.tx_eagain += 1;
                } else {
                    self.counters.tx_errors += 1;
                }
                if want_tx_timestamp {
                    self.resync_tx_id();
                }
                Err(io_err(&self.interface, "sendmsg")(e))
            }
        }
    }

    /// Restarts the kernel's `OPT_ID` count (switch it off and on) and ours at 0.
    fn resync_tx_id(&mut self) {
        let sock = self.stamping_socket();
        let off = self.socket_ts_flags & !libc::SOF_TIMESTAMPING_OPT_ID;
        let ok = sock.set_timestamping(off).is_ok()
            && sock.set_timestamping(self.socket_ts_flags).is_ok();
        if !ok {
            tracing::warn!(
                interface = %self.interface,
                "could not restart the TX timestamp id counter; ids may be off"
            );
        }
        self.next_tx_id = 0;
        self.counters.tx_id_resyncs += 1;
    }

    fn stamping_socket(&self) -> &Socket {
        match &self.sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        }
    }

    /// Reads the TX timestamps waiting in the error queue and calls `f(id, timestamp_ns)`
    /// for each (`id` as returned by [`Self::send`]; time as stamped, like
    /// [`RxInfo::timestamp_ns`]). Returns when the queue is empty.
    pub fn drain_tx_timestamps(
        &mut self,
        f: &mut dyn FnMut(u32, i128),
    ) -> Result<(), DataplaneError> {
        let sock = match &self.sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        };
        for _ in 0..MAX_DRAIN {
            let m = match sock.recv_msg(&mut [], &mut [], &mut self.name, &mut self.ctrl, true) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(&self.interface, "recvmsg(MSG_ERRQUEUE)")(e)),
            };
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            match c.ext_err {
                Some(ee) if ee.is_tx_timestamp() => {
                    let ts = match self.stamp {
                        StampSource::Hardware { .. } => c.hardware_ns,
                        StampSource::Software => c.software_ns,
                    };
                    match ts {
                        Some(ts) => {
                            self.counters.tx_timestamps += 1;
                            f(ee.data, ts);
                        }
                        None => self.counters.tx_timestamp_unusable += 1,
                    }
                }
                _ => self.counters.tx_errqueue_other += 1,
            }
        }
        Ok(())
    }
}

/// CLOCK_REALTIME now, in ns since 1970 (UTC).
pub fn realtime_ns() -> i128 {
    sys::realtime_ns()
}

/// A PTP hardware clock, `/dev/ptpN`, opened for reading.
#[derive(Debug)]
pub struct Phc {
    index: i32,
    file: std::fs::File,
}

impl Phc {
    /// Opens `/dev/ptp{index}`.
    pub fn open(index: i32) -> Result<Self, DataplaneError> {
        let file = std::fs::File::open(format!("/dev/ptp{index}")).map_err(|error| {
            DataplaneError::Phc {
                index,
                op: "open",
                error,
            }
        })?;
        Ok(Phc { index, file })
    }

    /// The PHC's time in ns (its own timescale; PTP hardware clocks usually run on TAI).
    pub fn now_ns(&self) -> Result<i128, DataplaneError> {
        sys::clock_ns(sys::fd_to_clockid(self.file.as_raw_fd())).map_err(|error| {
            DataplaneError::Phc {
                index: self.index,
                op: "clock_gettime",
                error,
            }
        })
    }

    /// The PHC's index.
    pub fn index(&self) -> i32 {
        self.index
    }
}

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

    fn cfg(t: Transport) -> SocketPortConfig {
        SocketPortConfig {
            interface: "eth0".into(),
            transport: t,
            timestamping: TimestampingMode::Software,
            dscp: 46,
            vlan: None,
            ipv6_scope: 2,
            multicast: true,
            pdelay: false,
        }
    }

    #[test]
    fn config_is_checked_with_the_interface_named() {
        assert!(check_config(&cfg(Transport::UdpIpv4)).is_ok());
        let mut c = cfg(Transport::UdpIpv4);
        c.dscp = 64;
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.starts_with("eth0: dscp 64"), "{e}");
        c.dscp = 0;
        c.vlan = Some((100, 3));
        assert!(check_config(&c)
            .unwrap_err()
            .to_string()
            .contains("l2 transport only"));
        let mut c = cfg(Transport::L2);
        c.vlan = Some((4095, 0));
        assert!(check_config(&c).is_err());
        c.vlan = Some((100, 8));
        assert!(check_config(&c).is_err());
        c.vlan = Some((100, 7));
        assert!(check_config(&c).is_ok());
        let mut c = cfg(Transport::UdpIpv6);
        c.ipv6_scope = 0;
        assert!(check_config(&c).is_err());
        c.ipv6_scope = 0xe;
        assert!(check_config(&c).is_ok());
        for bad in ["", "a/b", "0123456789abcdef", "a\0b"] {
            let mut c = cfg(Transport::L2);
            c.interface = bad.into();
            assert!(check_config(&c).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn error_messages_name_interface_and_operation() {
        let e = io_err("veth0", "SO_TIMESTAMPING")(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        assert!(e
            .to_string()
            .starts_with("veth0: SO_TIMESTAMPING: Operation not supported"));
        assert!(!e.is_would_block());
        let e = io_err("veth0", "sendmsg")(io::Error::from_raw_os_error(libc::EAGAIN));
        assert!(e.is_would_block());
    }

    #[test]
    fn filter_accepts_ptp_plain_and_tagged_only() {
        // A tiny interpreter for the opcodes used, run over sample frames.
        fn run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
            let mut a = 0u32;
            let mut pc = 0;
            while let Some(i) = prog.get(pc) {
                match i.code {
                    0x28 => {
                        let k = i.k as usize;
                        let Some(b) = pkt.get(k..k + 2) else { return 0 };
                        a = u16::from_be_bytes([b[0], b[1]]) as u32;
                        pc += 1;
                    }
                    0x15 => pc += 1 + if a == i.k { i.jt } else { i.jf } as usize,
                    0x06 => return i.k,
                    _ => return 0,
                }
            }
            0
        }
        let mut f = [0u8; 64];
        f[12..14].copy_from_slice(&ETHERTYPE_PTP.to_be_bytes());
        assert!(run(&PTP_FILTER, &f) > 0);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(run(&PTP_FILTER, &f), 0);
        f[12..14].copy_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        f[16..18].copy_from_slice(&ETHERTYPE_PTP.to_be_bytes());
        assert!(run(&PTP_FILTER, &f) > 0);
        f[16..18].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(run(&PTP_FILTER, &f), 0);
        assert_eq!(run(&PTP_FILTER, &f[..10]), 0);
    }

    #[test]
    fn poll_helpers_work_on_empty_sets() {
        assert_eq!(poll_readable(&[], Some(0)).unwrap(), Vec::<bool>::new());
        let mut p = PollSet::new(&[]);
        assert!(p.is_empty());
        assert_eq!(p.wait(Some(1)).unwrap(), 0);
        assert!(!p.is_ready(3));
        assert!(realtime_ns() > 0);
        let e = Phc::open(999).unwrap_err().to_string();
        assert!(e.starts_with("/dev/ptp999: open:"), "{e}");
    }
}
