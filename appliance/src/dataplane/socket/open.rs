//! Opening a socket port: configuration checks, sockets, group memberships, time stamping.

use meridian_proto::wire::frame::{self, MacAddress, VlanTag, ETHERTYPE_PTP, ETHERTYPE_VLAN};

use super::{SocketCounters, SocketPort, SocketPortConfig, Sockets, SEND_BUF_LEN};
use crate::dataplane::classify::PortFilter;
use crate::dataplane::error::io_err;
use crate::dataplane::{DataplaneError, StampSource, TimestampingMode, Transport};
use crate::sys::{self, CmsgBuf, NameBuf, SockAddr, Socket};

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
    if cfg.vlan.is_some() && cfg.transport != Transport::L2 {
        return bad(
            "a VLAN tag is built for the l2 transport only; for UDP use a VLAN interface".into(),
        );
    }
    if let Err(reason) =
        crate::dataplane::check_framing(cfg.transport, cfg.dscp, cfg.vlan, cfg.ipv6_scope)
    {
        return bad(reason);
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

/// Send buffer of the UDP sockets: room for a scheduled burst to thousands of slaves.
const SEND_BUFFER: i32 = 4 << 20;

/// Best effort, as [`enlarge_receive_buffer`].
fn enlarge_send_buffer(s: &Socket, name: &str) {
    if s.set_int(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, SEND_BUFFER)
        .is_err()
    {
        if let Err(e) = s.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, SEND_BUFFER) {
            tracing::debug!(interface = name, error = %e, "could not enlarge the send buffer");
        }
    }
}

/// Lowers the kernel's per-neighbour queue of datagrams awaiting address resolution on the
/// interface (`net.ipv4|ipv6.neigh.<iface>.unres_qlen_bytes`) to `bytes`, if it is larger.
///
/// Those datagrams are charged to the sending socket: at the kernel's default (212 992 B,
/// the default send buffer) a unicast grant to a forged or vanished address fills the send
/// buffer until ARP gives up (~3 s), and every other slave's messages fail with EAGAIN.
/// Best effort: logged, never fatal.
fn bound_unresolved_queue(name: &str, v6: bool, bytes: u32) {
    if bytes == 0 {
        return;
    }
    let family = if v6 { "ipv6" } else { "ipv4" };
    let path = format!("/proc/sys/net/{family}/neigh/{name}/unres_qlen_bytes");
    let current = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    match current {
        Some(c) if c <= u64::from(bytes) => {}
        _ => match std::fs::write(&path, bytes.to_string()) {
            Ok(()) => tracing::info!(
                interface = name,
                bytes,
                was = current.unwrap_or(0),
                "bounded the kernel's queue for unresolved neighbours ({path})"
            ),
            Err(e) => tracing::warn!(
                interface = name,
                error = %e,
                "could not bound the kernel's queue for unresolved neighbours ({path}): a grant \
                 to a forged address can stall every slave's messages for seconds"
            ),
        },
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
    enlarge_send_buffer(&s, name);
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
        for &k in &cfg.v1_groups {
            if k == 0 && cfg.multicast {
                continue;
            }
            let op = match k {
                0 => "IP_ADD_MEMBERSHIP 224.0.1.129 (PTPv1 _DFLT)",
                1 => "IP_ADD_MEMBERSHIP 224.0.1.130 (PTPv1 _ALT1)",
                2 => "IP_ADD_MEMBERSHIP 224.0.1.131 (PTPv1 _ALT2)",
                _ => "IP_ADD_MEMBERSHIP 224.0.1.132 (PTPv1 _ALT3)",
            };
            s.join_v4(meridian_proto::wire::v1::group_of_index(k), ifindex)
                .map_err(io_err(name, op))?;
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
    bound_unresolved_queue(name, v6, cfg.unresolved_queue_bytes);
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
        // Replies leave on the general socket (UDP): it reports TX stamps too, without
        // stamping what it receives.
        let general_ts_flags = match &sockets {
            Sockets::Udp { general, .. } if cfg.reply_stamps => {
                let flags = socket_ts_flags
                    & !(libc::SOF_TIMESTAMPING_RX_SOFTWARE | libc::SOF_TIMESTAMPING_RX_HARDWARE);
                general
                    .set_timestamping(flags)
                    .map_err(io_err(&cfg.interface, "SO_TIMESTAMPING (general socket)"))?;
                flags
            }
            _ => 0,
        };
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
            filter: PortFilter {
                transport: cfg.transport,
                mac,
                ipv4: None,
                ipv6: None,
                ipv6_scope: cfg.ipv6_scope,
                vlan: cfg.vlan.map(|(vid, _)| vid),
            },
            socket_ts_flags,
            general_ts_flags,
            reply_stamps: cfg.reply_stamps,
            tx_stamp_flag,
            next_tx_id: 0,
            next_general_id: 0,
            event_first: true,
            send_buf: vec![0u8; SEND_BUF_LEN].into_boxed_slice(),
            name: NameBuf::new(),
            ctrl: CmsgBuf::new(),
            counters: SocketCounters::default(),
            config: cfg.clone(),
            failed_reopen: None,
        })
    }
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
            v1_groups: Vec::new(),
            pdelay: false,
            reply_stamps: true,
            unresolved_queue_bytes: 2048,
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
}
