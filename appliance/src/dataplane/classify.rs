//! The frame classifier: one pure function from the bytes of a received Ethernet frame to
//! what it is for a port ([`classify`] → [`Verdict`]), used by every backend that sees whole
//! frames (the DPDK port, the DPDK pipeline's RX stage, the L2 socket), and the addressing
//! rules for the other direction ([`resolve`]: which address a [`Destination`] is on a
//! transport). Both are the only copies of these rules in the appliance.
//!
//! The rules:
//! * **Ethernet / 802.1Q**: one tag at most; VID 0 is a priority tag and belongs to the
//!   untagged port; a frame of another VLAN (or stacked tags) is [`DropReason::OtherVlan`].
//!   A kernel that moved the tag out of the frame reports it as `stripped_vid`.
//! * **Ours**: unicast to our MAC, or any group address; our own source MAC is
//!   [`DropReason::Own`]; for UDP the destination IP must be ours or a PTP group.
//! * **PTP**: EtherType 0x88F7 on an L2 port; UDP to port 319 (event) or 320 (general) on a
//!   UDP port of the same IP version, with lengths and checksums verified
//!   ([`ParsedFrame::parse`]).
//! * **Event messages** are messageType 0x0–0x3 (IEEE 1588-2019 Table 36,
//!   [`MessageType::is_event`]); over UDP the port (319) decides, as the kernel does.
//! * **ARP** and **ICMPv6** go to the neighbour responder (DPDK only; sockets have a kernel).

use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    self, NetworkRepr, ParsedFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_PTP, ETHERTYPE_VLAN,
};
use meridian_proto::wire::{ErrorKind, MessageType};
use serde::Serialize;

use super::Transport;

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// IPv6 next header of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// Length of an untagged Ethernet header.
const ETH_HDR: usize = 14;
/// Length of an 802.1Q tag.
const VLAN_TAG: usize = 4;

/// What a port accepts: its transport and addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortFilter {
    /// The port's transport.
    pub transport: Transport,
    /// The port's MAC address.
    pub mac: [u8; 6],
    /// The port's IPv4 address (UDP/IPv4; `None`: accept any unicast IPv4 destination).
    pub ipv4: Option<[u8; 4]>,
    /// The port's IPv6 address (UDP/IPv6; `None`: accept any unicast IPv6 destination).
    pub ipv6: Option<[u8; 16]>,
    /// Scope nibble of the primary IPv6 group FF0X::181.
    pub ipv6_scope: u8,
    /// The VLAN the port is on (`None`: untagged).
    pub vlan: Option<u16>,
}

/// Why a frame was not for the port; each reason has its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not PTP for this port's transport (EtherType, protocol, UDP port), or a runt.
    NotPtp,
    /// PTP-looking, but a length or checksum is wrong.
    Malformed,
    /// Of another VLAN, tagged on an untagged port, or stacked tags.
    OtherVlan,
    /// To another unicast MAC or IP address.
    NotForUs,
    /// Sent by this port (our own source MAC).
    Own,
}

/// Frames dropped by the classifier, by [`DropReason`]; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DropCounters {
    /// [`DropReason::NotPtp`].
    pub rx_non_ptp: u64,
    /// [`DropReason::Malformed`].
    pub rx_malformed: u64,
    /// [`DropReason::OtherVlan`].
    pub rx_other_vlan: u64,
    /// [`DropReason::NotForUs`].
    pub rx_not_for_us: u64,
    /// [`DropReason::Own`].
    pub rx_own: u64,
}

impl DropCounters {
    /// Counts one drop.
    pub fn count(&mut self, reason: DropReason) {
        let c = match reason {
            DropReason::NotPtp => &mut self.rx_non_ptp,
            DropReason::Malformed => &mut self.rx_malformed,
            DropReason::OtherVlan => &mut self.rx_other_vlan,
            DropReason::NotForUs => &mut self.rx_not_for_us,
            DropReason::Own => &mut self.rx_own,
        };
        *c += 1;
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &DropCounters) {
        self.rx_non_ptp += other.rx_non_ptp;
        self.rx_malformed += other.rx_malformed;
        self.rx_other_vlan += other.rx_other_vlan;
        self.rx_not_for_us += other.rx_not_for_us;
        self.rx_own += other.rx_own;
    }
}

/// A PTP message found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtpFrame {
    /// Where the PTP payload starts in the frame.
    pub offset: usize,
    /// Octets of PTP payload (to the end of the frame or UDP payload: may include Ethernet
    /// padding or the UDP/IPv6 trailer).
    pub len: usize,
    /// The sender: its IP address (UDP) or MAC (L2).
    pub source: PeerAddress,
    /// The sender's MAC address.
    pub source_mac: [u8; 6],
    /// Sent to a group (otherwise unicast to us).
    pub multicast: bool,
    /// An event message (see the module docs).
    pub event: bool,
}

/// A frame for the neighbour responder (ARP, ICMPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourFrame {
    /// Where the ARP packet or the IPv6 header starts in the frame.
    pub l3: usize,
    /// The sender's MAC address.
    pub source_mac: [u8; 6],
}

/// What a received frame is for a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A PTP message for the engine.
    Ptp(PtpFrame),
    /// An ARP packet for us or broadcast.
    Arp(NeighbourFrame),
    /// An ICMPv6 packet (neighbour discovery) for us or a group.
    Icmpv6(NeighbourFrame),
    /// Not for this port.
    Drop(DropReason),
}

impl Verdict {
    /// Whether the frame is a PTP event message.
    pub fn is_event(&self) -> bool {
        matches!(self, Verdict::Ptp(p) if p.event)
    }
}

/// Whether a PTP message whose first octet is `first_octet` is an event message.
pub fn is_event_message(first_octet: u8) -> bool {
    MessageType::from_nibble(first_octet).is_event()
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn mac_at(b: &[u8], at: usize) -> Option<[u8; 6]> {
    b.get(at..at + 6)?.try_into().ok()
}

/// Classifies one received Ethernet frame for `port`. `stripped_vid` is the VLAN tag's
/// TCI the receiving kernel moved out of the frame (`PACKET_AUXDATA`), if any. Pure: no
/// state, no side effects, never panics on any input.
pub fn classify(frame: &[u8], port: &PortFilter, stripped_vid: Option<u16>) -> Verdict {
    let (Some(dst), Some(src), Some(mut ethertype)) =
        (mac_at(frame, 0), mac_at(frame, 6), be16(frame, 12))
    else {
        return Verdict::Drop(DropReason::NotPtp);
    };
    if src == port.mac {
        return Verdict::Drop(DropReason::Own);
    }
    let mut l3 = ETH_HDR;
    let mut vid = stripped_vid.map(|t| t & 0x0fff);
    let mut tags = usize::from(vid.is_some());
    if ethertype == ETHERTYPE_VLAN {
        let (Some(tci), Some(inner)) = (be16(frame, 14), be16(frame, 16)) else {
            return Verdict::Drop(DropReason::NotPtp);
        };
        vid = Some(tci & 0x0fff);
        ethertype = inner;
        tags += 1;
        l3 += VLAN_TAG;
    }
    // VID 0 is a priority tag: the frame belongs to the untagged port. Stacked tags belong
    // to no port of ours.
    if tags > 1 || ethertype == ETHERTYPE_VLAN || vid.filter(|&v| v != 0) != port.vlan {
        return Verdict::Drop(DropReason::OtherVlan);
    }
    let multicast = dst[0] & 1 != 0;
    if !multicast && dst != port.mac {
        return Verdict::Drop(DropReason::NotForUs);
    }
    let neighbour = NeighbourFrame {
        l3,
        source_mac: src,
    };
    match (port.transport, ethertype) {
        (_, ETHERTYPE_ARP) => Verdict::Arp(neighbour),
        (_, ETHERTYPE_IPV6) if frame.get(l3 + 6) == Some(&IPPROTO_ICMPV6) => {
            Verdict::Icmpv6(neighbour)
        }
        (Transport::L2, ETHERTYPE_PTP) => {
            let len = frame.len() - l3;
            if len == 0 {
                return Verdict::Drop(DropReason::Malformed);
            }
            Verdict::Ptp(PtpFrame {
                offset: l3,
                len,
                source: PeerAddress::Mac(src),
                source_mac: src,
                multicast,
                event: is_event_message(frame[l3]),
            })
        }
        (Transport::UdpIpv4, ETHERTYPE_IPV4) | (Transport::UdpIpv6, ETHERTYPE_IPV6) => {
            classify_udp(frame, port, stripped_vid.is_some())
        }
        _ => Verdict::Drop(DropReason::NotPtp),
    }
}

/// The UDP part: full parse with lengths and checksums verified.
fn classify_udp(frame: &[u8], port: &PortFilter, stripped: bool) -> Verdict {
    if stripped {
        // A kernel-stripped tag never happens with UDP frames here (DPDK keeps tags in the
        // frame); the parser needs the frame as it was on the wire.
        return Verdict::Drop(DropReason::NotPtp);
    }
    let p = match ParsedFrame::parse(frame) {
        Ok(p) => p,
        Err(e) if e.kind == ErrorKind::Unsupported => return Verdict::Drop(DropReason::NotPtp),
        Err(_) => return Verdict::Drop(DropReason::Malformed),
    };
    let (source, for_us, multicast, ports) = match p.repr.network {
        NetworkRepr::Udp4(ip, ports) => (
            PeerAddress::Ipv4(ip.src),
            port.ipv4.map_or(true, |a| a == ip.dst)
                || ip.dst == frame::IPV4_PRIMARY
                || ip.dst == frame::IPV4_PDELAY
                || is_v1_group(ip.dst),
            is_ipv4_group(ip.dst),
            ports,
        ),
        NetworkRepr::Udp6(ip, ports) => (
            PeerAddress::Ipv6(ip.src),
            port.ipv6.map_or(true, |a| a == ip.dst)
                || ip.dst == frame::ipv6_primary(port.ipv6_scope)
                || ip.dst == frame::IPV6_PDELAY,
            is_ipv6_group(ip.dst),
            ports,
        ),
        NetworkRepr::L2 => return Verdict::Drop(DropReason::NotPtp),
    };
    if !for_us {
        return Verdict::Drop(DropReason::NotForUs);
    }
    Verdict::Ptp(PtpFrame {
        offset: p.layout.ptp_offset,
        len: p.payload.len(),
        source,
        source_mac: p.repr.ethernet.src.0,
        multicast,
        event: ports.dst == frame::PORT_EVENT,
    })
}

/// Whether an IPv4 address is a group (224.0.0.0/4).
pub fn is_ipv4_group(a: [u8; 4]) -> bool {
    (224..=239).contains(&a[0])
}

/// Whether an IPv4 address is one of the PTPv1 subdomain groups 224.0.1.129–132 (the
/// first is also v2's primary group).
pub fn is_v1_group(a: [u8; 4]) -> bool {
    matches!(a, [224, 0, 1, 129..=132])
}

/// Whether an IPv6 address is a group (FF00::/8).
pub fn is_ipv6_group(a: [u8; 16]) -> bool {
    a[0] == 0xff
}

/// The address a message to `dest` goes to on `transport`: the PTP group of the transport
/// (primary or peer delay; IPv6 primary with `ipv6_scope`), or the unicast peer, which must
/// be of the transport's kind.
pub fn resolve(
    transport: Transport,
    dest: Destination,
    ipv6_scope: u8,
) -> Result<PeerAddress, &'static str> {
    use meridian_proto::wire::MacAddress;
    Ok(match (transport, dest) {
        (Transport::L2, Destination::Multicast) => PeerAddress::Mac(MacAddress::PTP_PRIMARY.0),
        (Transport::L2, Destination::PdelayMulticast) => PeerAddress::Mac(MacAddress::PTP_PDELAY.0),
        (Transport::L2, Destination::Unicast(a @ PeerAddress::Mac(_))) => a,
        (Transport::L2, Destination::Unicast(_)) => {
            return Err("an L2 port sends to MAC addresses only")
        }
        (Transport::UdpIpv4, Destination::Multicast) => PeerAddress::Ipv4(frame::IPV4_PRIMARY),
        (Transport::UdpIpv4, Destination::PdelayMulticast) => PeerAddress::Ipv4(frame::IPV4_PDELAY),
        (Transport::UdpIpv4, Destination::V1Group(k)) => {
            PeerAddress::Ipv4(meridian_proto::wire::v1::group_of_index(k))
        }
        (_, Destination::V1Group(_)) => return Err("PTPv1 runs over UDP/IPv4 only"),
        (Transport::UdpIpv4, Destination::Unicast(a @ PeerAddress::Ipv4(_))) => a,
        (Transport::UdpIpv4, Destination::Unicast(_)) => {
            return Err("a UDP/IPv4 port sends to IPv4 addresses only")
        }
        (Transport::UdpIpv6, Destination::Multicast) => {
            PeerAddress::Ipv6(frame::ipv6_primary(ipv6_scope))
        }
        (Transport::UdpIpv6, Destination::PdelayMulticast) => PeerAddress::Ipv6(frame::IPV6_PDELAY),
        (Transport::UdpIpv6, Destination::Unicast(a @ PeerAddress::Ipv6(_))) => a,
        (Transport::UdpIpv6, Destination::Unicast(_)) => {
            return Err("a UDP/IPv6 port sends to IPv6 addresses only")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::wire::frame::{
        EthernetRepr, FrameRepr, Ipv4Repr, Ipv6Repr, UdpPorts, VlanTag,
    };
    use meridian_proto::wire::MacAddress;
    use proptest::prelude::*;

    const OURS: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const PEER: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn filter(transport: Transport) -> PortFilter {
        PortFilter {
            transport,
            mac: OURS,
            ipv4: Some([10, 0, 0, 1]),
            ipv6: Some([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            ipv6_scope: 0xe,
            vlan: None,
        }
    }

    /// A frame carrying a 44-octet PTP message whose first octet is `first`.
    fn build(dst: [u8; 6], vlan: Option<u16>, network: NetworkRepr, first: u8) -> Vec<u8> {
        let repr = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress(dst),
                src: MacAddress(PEER),
                vlan: vlan.map(|vid| VlanTag {
                    pcp: 0,
                    dei: false,
                    vid,
                }),
            },
            network,
        };
        let plen = 44 + repr.trailer_len(true);
        let hl = repr.header_len();
        let mut f = vec![0u8; hl + plen];
        f[hl] = first;
        f[hl + 1] = 2;
        repr.emit_headers(&mut f, plen).unwrap();
        f
    }

    fn udp4(dst_ip: [u8; 4], port: u16, first: u8) -> Vec<u8> {
        let dst = if is_ipv4_group(dst_ip) {
            [1, 0, 0x5e, 0, 1, 0x81]
        } else {
            OURS
        };
        let ip = Ipv4Repr {
            src: [10, 0, 0, 2],
            dst: dst_ip,
            dscp_ecn: 0,
            identification: 1,
            flags_fragment: 0x4000,
            ttl: 1,
        };
        let ports = UdpPorts {
            src: port,
            dst: port,
        };
        build(dst, None, NetworkRepr::Udp4(ip, ports), first)
    }

    #[test]
    fn event_messages_are_table_36_types_0_to_3_only() {
        for n in 0..16u8 {
            assert_eq!(is_event_message(0x10 | n), n <= 3, "messageType {n:#x}");
            let l2 = build(MacAddress::PTP_PRIMARY.0, None, NetworkRepr::L2, n);
            let v = classify(&l2, &filter(Transport::L2), None);
            assert_eq!(v.is_event(), n <= 3, "L2 messageType {n:#x}: {v:?}");
        }
        // Over UDP the port decides, whatever the payload says.
        let f = udp4(frame::IPV4_PRIMARY, frame::PORT_EVENT, 0x9);
        assert!(classify(&f, &filter(Transport::UdpIpv4), None).is_event());
        let f = udp4(frame::IPV4_PRIMARY, frame::PORT_GENERAL, 0x0);
        assert!(!classify(&f, &filter(Transport::UdpIpv4), None).is_event());
    }

    #[test]
    fn udp_frames_for_us_and_groups_only() {
        let port = filter(Transport::UdpIpv4);
        let Verdict::Ptp(p) = classify(&udp4([10, 0, 0, 1], 319, 1), &port, None) else {
            panic!("unicast to us");
        };
        assert_eq!(p.source, PeerAddress::Ipv4([10, 0, 0, 2]));
        assert_eq!(p.source_mac, PEER);
        assert!(!p.multicast && p.event);
        assert_eq!((p.offset, p.len), (42, 44));
        let v = classify(&udp4(frame::IPV4_PDELAY, 320, 0xb), &port, None);
        assert!(matches!(v, Verdict::Ptp(p) if p.multicast && !p.event));
        // PTPv1 subdomain groups (_ALT3 here) are ours too; the next group is not.
        let v = classify(&udp4([224, 0, 1, 132], 319, 0), &port, None);
        assert!(matches!(v, Verdict::Ptp(p) if p.multicast && p.event));
        assert_eq!(
            classify(&udp4([224, 0, 1, 133], 319, 0), &port, None),
            Verdict::Drop(DropReason::NotForUs)
        );
        assert_eq!(
            classify(&udp4([10, 0, 0, 9], 319, 1), &port, None),
            Verdict::Drop(DropReason::NotForUs)
        );
        assert_eq!(
            classify(&udp4([10, 0, 0, 1], 53, 1), &port, None),
            Verdict::Drop(DropReason::NotPtp)
        );
        // A corrupted UDP checksum is malformed, not "not PTP".
        let mut f = udp4([10, 0, 0, 1], 319, 1);
        let n = f.len();
        f[n - 1] ^= 0xff;
        assert_eq!(
            classify(&f, &port, None),
            Verdict::Drop(DropReason::Malformed)
        );
        // The wrong IP version or transport is not PTP for this port.
        assert_eq!(
            classify(
                &udp4([10, 0, 0, 1], 319, 1),
                &filter(Transport::UdpIpv6),
                None
            ),
            Verdict::Drop(DropReason::NotPtp)
        );
        let ip6 = Ipv6Repr {
            src: [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            dst: frame::ipv6_primary(0xe),
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 1,
        };
        let ports = UdpPorts { src: 319, dst: 319 };
        let f = build(
            [0x33, 0x33, 0, 0, 1, 0x81],
            None,
            NetworkRepr::Udp6(ip6, ports),
            0,
        );
        let v = classify(&f, &filter(Transport::UdpIpv6), None);
        assert!(matches!(v, Verdict::Ptp(p) if p.multicast && p.event && p.len == 46));
    }

    #[test]
    fn vlans_own_frames_and_neighbour_frames() {
        let mut port = filter(Transport::L2);
        let group = MacAddress::PTP_PRIMARY.0;
        let untagged = build(group, None, NetworkRepr::L2, 1);
        let tagged = build(group, Some(7), NetworkRepr::L2, 1);
        let priority = build(group, Some(0), NetworkRepr::L2, 1);
        assert!(matches!(classify(&untagged, &port, None), Verdict::Ptp(_)));
        assert!(matches!(classify(&priority, &port, None), Verdict::Ptp(p) if p.offset == 18));
        assert_eq!(
            classify(&tagged, &port, None),
            Verdict::Drop(DropReason::OtherVlan)
        );
        // A tag the kernel stripped counts like one in the frame.
        assert_eq!(
            classify(&untagged, &port, Some(7)),
            Verdict::Drop(DropReason::OtherVlan)
        );
        port.vlan = Some(7);
        assert!(matches!(classify(&tagged, &port, None), Verdict::Ptp(_)));
        assert!(matches!(
            classify(&untagged, &port, Some(0x2007)),
            Verdict::Ptp(_)
        ));
        assert_eq!(
            classify(&tagged, &port, Some(7)),
            Verdict::Drop(DropReason::OtherVlan),
            "two tags"
        );
        assert_eq!(
            classify(&untagged, &port, None),
            Verdict::Drop(DropReason::OtherVlan)
        );
        port.vlan = None;
        let mut own = untagged.clone();
        own[6..12].copy_from_slice(&OURS);
        assert_eq!(classify(&own, &port, None), Verdict::Drop(DropReason::Own));
        let mut other = untagged.clone();
        other[0..6].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
        assert_eq!(
            classify(&other, &port, None),
            Verdict::Drop(DropReason::NotForUs)
        );
        let mut arp = untagged.clone();
        arp[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        assert_eq!(
            classify(&arp, &port, None),
            Verdict::Arp(NeighbourFrame {
                l3: 14,
                source_mac: PEER
            })
        );
        let mut icmp = untagged;
        icmp[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        icmp[14 + 6] = IPPROTO_ICMPV6;
        assert!(matches!(classify(&icmp, &port, None), Verdict::Icmpv6(_)));
    }

    #[test]
    fn destinations_resolve_per_transport() {
        let mac = PeerAddress::Mac(PEER);
        let v4 = PeerAddress::Ipv4([10, 0, 0, 2]);
        assert_eq!(
            resolve(Transport::L2, Destination::Multicast, 2),
            Ok(PeerAddress::Mac(MacAddress::PTP_PRIMARY.0))
        );
        assert_eq!(
            resolve(Transport::L2, Destination::Unicast(mac), 2),
            Ok(mac)
        );
        assert!(resolve(Transport::L2, Destination::Unicast(v4), 2).is_err());
        assert_eq!(
            resolve(Transport::UdpIpv4, Destination::PdelayMulticast, 2),
            Ok(PeerAddress::Ipv4(frame::IPV4_PDELAY))
        );
        assert!(resolve(Transport::UdpIpv4, Destination::Unicast(mac), 2).is_err());
        assert_eq!(
            resolve(Transport::UdpIpv4, Destination::V1Group(2), 2),
            Ok(PeerAddress::Ipv4([224, 0, 1, 131]))
        );
        assert!(resolve(Transport::UdpIpv6, Destination::V1Group(0), 2).is_err());
        assert!(is_v1_group([224, 0, 1, 132]) && !is_v1_group([224, 0, 1, 133]));
        assert_eq!(
            resolve(Transport::UdpIpv6, Destination::Multicast, 5),
            Ok(PeerAddress::Ipv6(frame::ipv6_primary(5)))
        );
        assert!(resolve(Transport::UdpIpv6, Destination::Unicast(v4), 2).is_err());
    }

    proptest! {
        /// No input panics, and whatever is called PTP lies inside the frame.
        #[test]
        fn never_panics_and_ranges_are_in_bounds(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            transport in prop_oneof![
                Just(Transport::L2), Just(Transport::UdpIpv4), Just(Transport::UdpIpv6)
            ],
            vid in proptest::option::of(0u16..4096),
            stripped in proptest::option::of(any::<u16>()),
        ) {
            let mut port = filter(transport);
            port.vlan = vid.filter(|&v| v != 0);
            match classify(&bytes, &port, stripped) {
                Verdict::Ptp(p) => {
                    prop_assert!(p.len > 0 && p.offset + p.len <= bytes.len());
                }
                Verdict::Arp(n) | Verdict::Icmpv6(n) => prop_assert!(n.l3 <= bytes.len()),
                Verdict::Drop(_) => {}
            }
        }

        /// Valid UDP/IPv4 frames with any payload type keep their port-based event class.
        #[test]
        fn udp_event_class_follows_the_port(first in any::<u8>(), event in any::<bool>()) {
            let port = if event { frame::PORT_EVENT } else { frame::PORT_GENERAL };
            let f = udp4([10, 0, 0, 1], port, first);
            let v = classify(&f, &filter(Transport::UdpIpv4), None);
            prop_assert!(matches!(v, Verdict::Ptp(p) if p.event == event));
        }
    }
}
