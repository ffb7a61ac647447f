//! The Linux socket backend: [`SocketPort`], a [`PtpPort`] over UDP/IPv4, UDP/IPv6 or
//! `AF_PACKET` sockets with `SO_TIMESTAMPING` stamps. Opening (sockets, groups, time
//! stamping) is in `open`; receiving, sending and TX stamps are here.

mod open;

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    self, EthernetRepr, FrameRepr, MacAddress, NetworkRepr, VlanTag,
};
use meridian_proto::wire::message::field::TIMESTAMP as ORIGIN_TIMESTAMP;
use meridian_proto::wire::Timestamp;

use super::classify::{self, DropCounters, PortFilter, Verdict};
use super::error::io_err;
use super::{
    DataplaneError, PtpPort, RawStamp, RxFrame, StampClock, StampSource, TimestampingMode,
    Transport, TxRequest, TxTiming,
};
use crate::sys::{self, CmsgBuf, NameBuf, SockAddr, Socket};

/// Room for one outgoing frame: a jumbo frame and its headers.
const SEND_BUF_LEN: usize = 9216;
/// Frames skipped (not PTP, truncated, other VLAN…) before `recv` gives up for this call;
/// the socket stays readable, so the next poll returns at once.
const MAX_SKIPS: usize = 256;
/// Error-queue entries read in one `drain_tx_timestamps` call.
const MAX_DRAIN: usize = 1024;

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
    /// UDP/IPv4: also join these PTPv1 subdomain groups (standard index 0 `_DFLT`, the
    /// primary group, … 3 `_ALT3`, 224.0.1.132).
    pub v1_groups: Vec<u8>,
    /// Also join the peer-delay group (224.0.0.107, FF02::6B, 01-80-C2-00-00-0E).
    pub pdelay: bool,
    /// Ask for TX stamps of replies (Delay_Resp, Pdelay_Resp) too, for residence times.
    pub reply_stamps: bool,
    /// UDP: bound the kernel's per-neighbour queue of datagrams awaiting address resolution
    /// on this interface to this many bytes (0: leave it).
    pub unresolved_queue_bytes: u32,
}

/// Marks the TX-stamp ids of the UDP general socket, which the kernel numbers apart from
/// the event socket's (those ids are reported with the bit clear).
const GENERAL_ID: u32 = 1 << 31;

/// What a port dropped or could not do; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SocketCounters {
    /// Messages returned by [`SocketPort::recv`].
    pub rx_packets: u64,
    /// Frames the classifier dropped (L2: not PTP, other VLAN, not for us, our own…; UDP:
    /// a sender address of the wrong family).
    #[serde(flatten)]
    pub drops: DropCounters,
    /// Datagrams longer than the caller's buffer, skipped.
    pub rx_truncated: u64,
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
    /// Times the port was reopened on an interface re-created under its name.
    pub reopened: u64,
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
/// unstamped (returned with `stamp: None`, counted in `rx_no_timestamp`).
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
    /// What the L2 socket accepts (the classifier's view of this port).
    filter: PortFilter,
    /// `SO_TIMESTAMPING` flags set on the stamping socket.
    socket_ts_flags: u32,
    /// `SO_TIMESTAMPING` flags set on the UDP general socket (0: it reports no TX stamps).
    general_ts_flags: u32,
    /// Replies ask for a TX stamp (their residence time).
    reply_stamps: bool,
    /// Per-send flag asking for a TX stamp (`TX_SOFTWARE` or `TX_HARDWARE`).
    tx_stamp_flag: u32,
    /// The id the kernel will give the next timestamped send.
    next_tx_id: u32,
    /// The same for the UDP general socket.
    next_general_id: u32,
    /// Which UDP socket `recv` reads first this time.
    event_first: bool,
    send_buf: Box<[u8]>,
    name: NameBuf,
    ctrl: CmsgBuf,
    counters: SocketCounters,
    /// What the port was opened with: to open it again on a re-created interface.
    config: SocketPortConfig,
    /// A re-created interface's index that could not be opened (logged once).
    failed_reopen: Option<i32>,
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

impl SocketPort {
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

    fn stamp_of(&self, c: &sys::Control) -> Option<RawStamp> {
        match self.stamp {
            StampSource::Hardware { .. } => c.hardware_ns,
            StampSource::Software => c.software_ns,
        }
        .map(RawStamp::Ns)
    }

    /// Non-blocking: one received PTP message into `buf` (the UDP payload, or for L2 the
    /// Ethernet payload after the (802.1Q) header), or `None` if nothing is waiting on any
    /// of the port's sockets. Frames the classifier drops (L2: not PTP, other VLAN, not for
    /// us, our own), datagrams too long for `buf` and our own transmissions are skipped and
    /// counted; after 256 of them in one call it returns `None` with the socket still
    /// readable (so the next poll returns at once). The UDP event and general sockets take
    /// turns being read first, so a flood on one cannot starve the other.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
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
            Ok(Some(f)) => {
                self.counters.rx_packets += 1;
                if f.event && f.stamp.is_none() {
                    self.counters.rx_no_timestamp += 1;
                }
            }
            Err(_) => self.counters.rx_errors += 1,
            Ok(None) => {}
        }
        r
    }

    /// One datagram from the event or general socket; the kernel has demultiplexed it, so
    /// the socket says whether it is an event message (port 319).
    fn recv_udp(&mut self, buf: &mut [u8], event: bool) -> Result<Option<RxFrame>, DataplaneError> {
        let Sockets::Udp {
            event: ev,
            general: gen,
        } = &self.sockets
        else {
            return Ok(None);
        };
        let sock = if event { ev } else { gen };
        for _ in 0..MAX_SKIPS {
            let Some(m) = recv_once(sock, buf, &mut self.name, &mut self.ctrl, &self.interface)?
            else {
                return Ok(None);
            };
            if m.truncated() {
                self.counters.rx_truncated += 1;
                continue;
            }
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            let (source, multicast) = match sys::parse_sockaddr(self.name.bytes(m.name_len)) {
                Some(SockAddr::V4 { addr, .. }) => (
                    PeerAddress::Ipv4(addr),
                    c.dst_v4.is_some_and(classify::is_ipv4_group),
                ),
                Some(SockAddr::V6 { addr, .. }) => (
                    PeerAddress::Ipv6(addr),
                    c.dst_v6.is_some_and(classify::is_ipv6_group),
                ),
                _ => {
                    self.counters.drops.count(classify::DropReason::NotPtp);
                    continue;
                }
            };
            return Ok(Some(RxFrame {
                len: m.len,
                source,
                multicast,
                event,
                stamp: if event { self.stamp_of(&c) } else { None },
                device_stamp: None,
            }));
        }
        Ok(None)
    }

    /// One frame from the packet socket, read whole and judged by the classifier (with the
    /// VLAN tag the kernel moved into `PACKET_AUXDATA`); the PTP payload is then moved to
    /// the start of `buf`.
    fn recv_l2(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
        let Sockets::L2 { sock } = &self.sockets else {
            return Ok(None);
        };
        for _ in 0..MAX_SKIPS {
            let Some(m) = recv_once(sock, buf, &mut self.name, &mut self.ctrl, &self.interface)?
            else {
                return Ok(None);
            };
            let addr = sys::parse_sockaddr(self.name.bytes(m.name_len));
            if let Some(SockAddr::Packet { pkttype, .. }) = addr {
                if pkttype == sys::PACKET_OUTGOING {
                    self.counters.drops.count(classify::DropReason::Own);
                    continue;
                }
            }
            if m.truncated() {
                self.counters.rx_truncated += 1;
                continue;
            }
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            let p = match classify::classify(&buf[..m.len], &self.filter, c.vlan_tci) {
                Verdict::Ptp(p) => p,
                Verdict::Drop(reason) => {
                    self.counters.drops.count(reason);
                    continue;
                }
                Verdict::Arp(_) | Verdict::Icmpv6(_) => {
                    self.counters.drops.count(classify::DropReason::NotPtp);
                    continue;
                }
            };
            buf.copy_within(p.offset..p.offset + p.len, 0);
            return Ok(Some(RxFrame {
                len: p.len,
                source: p.source,
                multicast: p.multicast,
                event: p.event,
                stamp: self.stamp_of(&c),
                device_stamp: None,
            }));
        }
        Ok(None)
    }

    /// Frames `payload` for `dest` in the send buffer: returns the socket address, where
    /// the PTP message starts in the buffer and the length to send.
    fn frame(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
    ) -> Result<(SockAddr, usize, usize), &'static str> {
        let port = if event {
            frame::PORT_EVENT
        } else {
            frame::PORT_GENERAL
        };
        match classify::resolve(self.transport, dest, self.ipv6_scope)? {
            PeerAddress::Mac(dst) => {
                let repr = FrameRepr {
                    ethernet: EthernetRepr {
                        dst: MacAddress(dst),
                        src: MacAddress(self.mac),
                        vlan: self.vlan,
                    },
                    network: NetworkRepr::L2,
                };
                let hl = repr.header_len();
                let total = hl + payload.len();
                let out = self.send_buf.get_mut(..total).ok_or("message too long")?;
                out[hl..].copy_from_slice(payload);
                repr.emit_headers(out, payload.len())
                    .map_err(|_| "message too long")?;
                let protocol = if self.vlan.is_some() {
                    frame::ETHERTYPE_VLAN
                } else {
                    frame::ETHERTYPE_PTP
                };
                let addr = SockAddr::Packet {
                    ifindex: self.ifindex,
                    protocol,
                    mac: dst,
                    pkttype: 0,
                };
                Ok((addr, hl, total))
            }
            PeerAddress::Ipv4(addr) => {
                let out = self
                    .send_buf
                    .get_mut(..payload.len())
                    .ok_or("message too long")?;
                out.copy_from_slice(payload);
                Ok((SockAddr::V4 { addr, port }, 0, payload.len()))
            }
            PeerAddress::Ipv6(addr) => {
                let total = payload.len() + frame::IPV6_TRAILER_LEN;
                let out = self.send_buf.get_mut(..total).ok_or("message too long")?;
                out[..payload.len()].copy_from_slice(payload);
                out[payload.len()..].fill(0);
                // The scope id matters only for link-local (and multicast) destinations; the
                // kernel ignores it for global ones.
                let scope_id = self.ifindex as u32;
                let addr = SockAddr::V6 {
                    addr,
                    port,
                    scope_id,
                };
                Ok((addr, 0, total))
            }
        }
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
    /// time it returns (ns on the PTP timescale) into the message's originTimestamp; UDP
    /// checksums are computed by the kernel afterwards.
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
        let invalid = |interface: &str, reason| DataplaneError::InvalidSend {
            interface: interface.to_owned(),
            reason,
        };
        // The UDP general socket has its own id counter; L2 has one socket for both.
        let general_udp = !event && matches!(self.sockets, Sockets::Udp { .. });
        if want_tx_timestamp && general_udp && self.general_ts_flags == 0 {
            return Err(invalid(
                &self.interface,
                "a TX timestamp was asked for a general message (reply-stamps is off)",
            ));
        }
        if one_step_now.is_some() && payload.len() < ORIGIN_TIMESTAMP + Timestamp::LEN {
            return Err(invalid(
                &self.interface,
                "one-step message too short for an originTimestamp",
            ));
        }
        let (addr, ptp_at, total) = self
            .frame(dest, event, payload)
            .map_err(|r| invalid(&self.interface, r))?;
        let flags = if want_tx_timestamp {
            self.tx_stamp_flag
        } else {
            0
        };
        if let Some(now) = one_step_now {
            let ts = u128::try_from(now())
                .ok()
                .and_then(Timestamp::from_nanos)
                .ok_or_else(|| invalid(&self.interface, "one-step launch time out of range"))?;
            ts.write(&mut self.send_buf, ptp_at + ORIGIN_TIMESTAMP);
        }
        let sock = match &self.sockets {
            Sockets::Udp { event: e, .. } if event => e,
            Sockets::Udp { general, .. } => general,
            Sockets::L2 { sock } => sock,
        };
        match sock.send_to(&self.send_buf[..total], addr, flags) {
            Ok(_) => {
                self.counters.tx_packets += 1;
                if !want_tx_timestamp {
                    Ok(None)
                } else if general_udp {
                    let id = self.next_general_id;
                    self.next_general_id = id.wrapping_add(1);
                    Ok(Some(id | GENERAL_ID))
                } else {
                    let id = self.next_tx_id;
                    self.next_tx_id = id.wrapping_add(1);
                    Ok(Some(self.event_id(id)))
                }
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.counters.tx_eagain += 1;
                } else {
                    self.counters.tx_errors += 1;
                }
                if want_tx_timestamp {
                    self.resync_tx_id(general_udp);
                }
                Err(io_err(&self.interface, "sendmsg")(e))
            }
        }
    }

    /// A kernel id of the event (or L2) socket as reported: on UDP, without the
    /// [`GENERAL_ID`] bit.
    fn event_id(&self, id: u32) -> u32 {
        match self.sockets {
            Sockets::Udp { .. } => id & !GENERAL_ID,
            Sockets::L2 { .. } => id,
        }
    }

    /// Restarts the kernel's `OPT_ID` count of the stamping socket (or the UDP general
    /// socket) — switch it off and on — and ours at 0.
    fn resync_tx_id(&mut self, general: bool) {
        let (sock, flags) = match &self.sockets {
            Sockets::Udp { general: g, .. } if general => (g, self.general_ts_flags),
            _ => (self.stamping_socket(), self.socket_ts_flags),
        };
        let off = flags & !libc::SOF_TIMESTAMPING_OPT_ID;
        let ok = sock.set_timestamping(off).is_ok() && sock.set_timestamping(flags).is_ok();
        if !ok {
            tracing::warn!(
                interface = %self.interface,
                "could not restart the TX timestamp id counter; ids may be off"
            );
        }
        if general {
            self.next_general_id = 0;
        } else {
            self.next_tx_id = 0;
        }
        self.counters.tx_id_resyncs += 1;
    }

    fn stamping_socket(&self) -> &Socket {
        match &self.sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        }
    }

    /// Reads the TX timestamps waiting in the error queues and calls `f(id, stamp)` for each
    /// (`id` as returned by [`Self::send`]; the stamp as the kernel took it, like
    /// [`RxFrame::stamp`]). Returns when the queues are empty.
    pub fn drain_tx_timestamps(
        &mut self,
        f: &mut dyn FnMut(u32, RawStamp),
    ) -> Result<(), DataplaneError> {
        let hardware = matches!(self.stamp, StampSource::Hardware { .. });
        let (first, general) = match &self.sockets {
            Sockets::Udp { event, general } => {
                (event, (self.general_ts_flags != 0).then_some(general))
            }
            Sockets::L2 { sock } => (sock, None),
        };
        let udp = matches!(self.sockets, Sockets::Udp { .. });
        let mut q = ErrQueue {
            name: &mut self.name,
            ctrl: &mut self.ctrl,
            counters: &mut self.counters,
            interface: &self.interface,
            hardware,
        };
        q.drain(first, |id| if udp { id & !GENERAL_ID } else { id }, f)?;
        if let Some(g) = general {
            q.drain(g, |id| id | GENERAL_ID, f)?;
        }
        Ok(())
    }
}

/// What reading an error queue needs of its port.
struct ErrQueue<'a> {
    name: &'a mut NameBuf,
    ctrl: &'a mut CmsgBuf,
    counters: &'a mut SocketCounters,
    interface: &'a str,
    hardware: bool,
}

impl ErrQueue<'_> {
    /// Every TX stamp waiting on `sock` (at most [`MAX_DRAIN`]), its kernel id mapped by `id`.
    fn drain(
        &mut self,
        sock: &Socket,
        id: impl Fn(u32) -> u32,
        f: &mut dyn FnMut(u32, RawStamp),
    ) -> Result<(), DataplaneError> {
        for _ in 0..MAX_DRAIN {
            let m = match sock.recv_msg(&mut [], &mut [], self.name, self.ctrl, true) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(self.interface, "recvmsg(MSG_ERRQUEUE)")(e)),
            };
            let c = sys::parse_control(self.ctrl.bytes(m.ctrl_len));
            match c.ext_err {
                Some(ee) if ee.is_tx_timestamp() => {
                    let ts = if self.hardware {
                        c.hardware_ns
                    } else {
                        c.software_ns
                    };
                    match ts {
                        Some(ts) => {
                            self.counters.tx_timestamps += 1;
                            f(id(ee.data), RawStamp::Ns(ts));
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

/// One `recvmsg` into `buf` (the sender's address into `name`, control messages into
/// `ctrl`); `None` when nothing waits. An interrupted call is retried.
fn recv_once(
    sock: &Socket,
    buf: &mut [u8],
    name: &mut NameBuf,
    ctrl: &mut CmsgBuf,
    interface: &str,
) -> Result<Option<sys::Received>, DataplaneError> {
    loop {
        return match sock.recv_msg(&mut [], buf, name, ctrl, false) {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(io_err(interface, "recvmsg")(e)),
        };
    }
}

impl PtpPort for SocketPort {
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
        SocketPort::recv(self, buf)
    }

    fn link_up(&self) -> Option<bool> {
        let sock = match &self.sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        };
        // A vanished interface (ENODEV) is a link down, and so is one re-created under the
        // same name (a new ifindex: these sockets are bound to the old one, until `maintain`
        // opens the port again); any other failure says nothing.
        if let Ok(index) = sock.if_index(&self.interface) {
            if index != self.ifindex {
                return Some(false);
            }
        }
        match sock.if_running(&self.interface) {
            Ok(up) => Some(up),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Some(false),
            Err(_) => None,
        }
    }

    fn send(
        &mut self,
        tx: &TxRequest<'_>,
        clock: &dyn StampClock,
    ) -> Result<Option<u32>, DataplaneError> {
        let two_step = tx.timing == TxTiming::TwoStep;
        if tx.timing == TxTiming::OneStep {
            let mut launch = || i128::from(clock.now().0);
            SocketPort::send(
                self,
                tx.destination,
                tx.event,
                tx.payload,
                false,
                Some(&mut launch),
            )
        } else {
            // A reply's TX stamp ends its residence time.
            let stamp = two_step || (self.reply_stamps && tx.request_rx.is_some());
            SocketPort::send(self, tx.destination, tx.event, tx.payload, stamp, None)
        }
    }

    fn drain_tx_timestamps(
        &mut self,
        f: &mut dyn FnMut(u32, RawStamp),
    ) -> Result<(), DataplaneError> {
        SocketPort::drain_tx_timestamps(self, f)
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn protocol_address(&self) -> Vec<u8> {
        self.protocol_address.clone()
    }

    fn wait_fds(&self) -> Vec<RawFd> {
        self.raw_fds()
    }

    /// An interface re-created under the port's name (a new ifindex; these sockets are
    /// bound to the old one) is opened again once it is running: new sockets, the same
    /// settings. The time base must not change (the same stamping source), or the port stays
    /// FAULTY with an error. Needs the privileges of the first open (ports 319/320,
    /// SO_BINDTODEVICE, packet sockets): after `[security] user` dropped them it fails,
    /// logged once, and the port stays FAULTY until a restart.
    fn maintain(&mut self) {
        let sock = match &self.sockets {
            Sockets::Udp { event, .. } => event,
            Sockets::L2 { sock } => sock,
        };
        let Ok(index) = sock.if_index(&self.interface) else {
            return;
        };
        if index == self.ifindex
            || self.failed_reopen == Some(index)
            || !sock.if_running(&self.interface).unwrap_or(false)
        {
            return;
        }
        match SocketPort::open(&self.config) {
            Ok(new) if new.stamp == self.stamp => {
                let mut counters = self.counters;
                counters.reopened += 1;
                let old = self.ifindex;
                *self = new;
                self.counters = counters;
                tracing::info!(
                    interface = %self.interface,
                    old_ifindex = old,
                    ifindex = self.ifindex,
                    "interface re-created: port reopened"
                );
            }
            Ok(new) => {
                self.failed_reopen = Some(index);
                tracing::error!(
                    interface = %self.interface,
                    was = ?self.stamp,
                    now = ?new.stamp,
                    "interface re-created with another time stamping source: port stays \
                     FAULTY (restart Meridian)"
                );
            }
            Err(e) => {
                self.failed_reopen = Some(index);
                tracing::error!(
                    interface = %self.interface,
                    error = %e,
                    "interface re-created but the port cannot be opened again: it stays \
                     FAULTY (restart Meridian)"
                );
            }
        }
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        super::add_counters(&mut out, "", &self.counters);
        out
    }

    fn timestamping(&self) -> String {
        match self.stamp {
            StampSource::Hardware { phc_index } => format!("hardware (PHC {phc_index})"),
            StampSource::Software => "software".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_flatten_the_drop_reasons() {
        let mut c = SocketCounters::default();
        c.drops.count(classify::DropReason::OtherVlan);
        c.rx_packets = 3;
        let mut out = BTreeMap::new();
        crate::dataplane::add_counters(&mut out, "", &c);
        assert_eq!(out.get("rx_other_vlan"), Some(&1));
        assert_eq!(out.get("rx_packets"), Some(&3));
        assert!(!out.contains_key("drops"));
    }
}
