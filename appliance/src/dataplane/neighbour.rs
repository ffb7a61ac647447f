//! The DPDK port's neighbours: the IP → MAC table it learns from received frames, and its
//! answers to ARP requests and IPv6 neighbour solicitations.
//!
//! A DPDK port has no kernel network stack behind it. [`Neighbours`] remembers each peer's
//! MAC address (fixed size, set-associative) so unicast messages can be addressed;
//! [`arp`] and [`icmpv6`] look at a received ARP packet or ICMPv6-carrying IPv6 packet,
//! learn the sender, and build the reply frame (Ethernet, 802.1Q when the port is tagged,
//! zero-padded to 60 octets) into the caller's buffer with the `meridian_proto::wire` views.
//! What to count and whether to send is the returned [`NeighbourReply`]; the port counts and sends.

use meridian_proto::wire::arp::{ArpOperation, ArpPacket, ArpRepr, ETHERTYPE_ARP};
use meridian_proto::wire::frame::{EthernetRepr, MacAddress, VlanTag, ETHERTYPE_IPV6};
use meridian_proto::wire::ndp::{Ipv6Packet, NdFlags, NdpMessage, NdpRepr};

/// Neighbour table: sets × ways entries (16384, ~400 KiB per port). A unicast slave must
/// stay in it between its frames for Meridian to address its Sync and Announce, so it holds
/// thousands of peers: 5000 lose fewer than 0.5 % of their entries to set conflicts (test).
const NEIGH_SETS: usize = 2048;
const NEIGH_WAYS: usize = 8;

/// Octets of buffer a reply needs at most: a tagged neighbour advertisement is 18 + 72.
pub(crate) const REPLY_MAX: usize = 128;
/// Shortest Ethernet frame without FCS; replies are zero-padded to it.
const MIN_FRAME: usize = 60;

/// An IP address as the neighbour table keys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct IpKey {
    addr: [u8; 16],
    v6: bool,
}

impl IpKey {
    pub(crate) fn v4(a: [u8; 4]) -> Self {
        let mut addr = [0u8; 16];
        addr[..4].copy_from_slice(&a);
        IpKey { addr, v6: false }
    }
    pub(crate) fn v6(addr: [u8; 16]) -> Self {
        IpKey { addr, v6: true }
    }
    fn set(&self, key: u64) -> usize {
        // Keyed multiplicative hashing of the two halves: a few instructions per frame (FNV
        // over 17 octets was 8-23 % of the core at saturation), high bits well mixed, and
        // with a random key per port a sender cannot choose addresses that crowd one set.
        let (a, b) = self.addr.split_at(8);
        let a = u64::from_le_bytes(a.try_into().unwrap_or_default());
        let b = u64::from_le_bytes(b.try_into().unwrap_or_default());
        let h = ((a ^ key).wrapping_mul(0xbf58_476d_1ce4_e5b9)
            ^ b.rotate_left(29)
            ^ u64::from(self.v6))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 40) as usize % NEIGH_SETS
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Neighbour {
    ip: IpKey,
    mac: [u8; 6],
    valid: bool,
    /// Another MAC claimed this IP once, last time it was heard: it replaces `mac` only
    /// if it is claimed again before `mac` is heard (two claims in a row, not one forged
    /// frame).
    contender: Option<[u8; 6]>,
}

/// IP → MAC, learnt from received frames: set-associative, fixed size, round-robin
/// replacement within a set, keyed hash.
pub(crate) struct Neighbours {
    slots: Box<[Neighbour]>,
    victim: Box<[u8]>,
    key: u64,
}

impl Neighbours {
    /// A table whose set hash is keyed with `key` (random per port).
    pub(crate) fn new(key: u64) -> Self {
        Neighbours {
            slots: vec![Neighbour::default(); NEIGH_SETS * NEIGH_WAYS].into_boxed_slice(),
            victim: vec![0u8; NEIGH_SETS].into_boxed_slice(),
            key,
        }
    }

    fn ways(&mut self, ip: &IpKey) -> (usize, &mut [Neighbour]) {
        let s = ip.set(self.key);
        (s, &mut self.slots[s * NEIGH_WAYS..(s + 1) * NEIGH_WAYS])
    }

    pub(crate) fn learn(&mut self, ip: IpKey, mac: [u8; 6]) {
        let (s, ways) = self.ways(&ip);
        if let Some(n) = ways.iter_mut().find(|n| n.valid && n.ip == ip) {
            if n.mac == mac {
                n.contender = None;
            } else if n.contender == Some(mac) {
                n.mac = mac;
                n.contender = None;
            } else {
                n.contender = Some(mac);
            }
            return;
        }
        let new = Neighbour {
            ip,
            mac,
            valid: true,
            contender: None,
        };
        if let Some(n) = ways.iter_mut().find(|n| !n.valid) {
            *n = new;
            return;
        }
        let v = usize::from(self.victim[s]) % NEIGH_WAYS;
        self.slots[s * NEIGH_WAYS + v] = new;
        self.victim[s] = ((v + 1) % NEIGH_WAYS) as u8;
    }

    pub(crate) fn lookup(&self, ip: &IpKey) -> Option<[u8; 6]> {
        let s = ip.set(self.key);
        self.slots[s * NEIGH_WAYS..(s + 1) * NEIGH_WAYS]
            .iter()
            .find(|n| n.valid && n.ip == *ip)
            .map(|n| n.mac)
    }

    /// Learns that IPv4 `ip` is at `mac`, unless `ip` is unspecified, multicast or
    /// reserved, or `ours`, or `mac` is not a unicast address.
    pub(crate) fn learn_v4(&mut self, ip: [u8; 4], mac: [u8; 6], ours: Option<[u8; 4]>) {
        if ip != [0; 4] && ip[0] < 224 && Some(ip) != ours && is_unicast_mac(&mac) {
            self.learn(IpKey::v4(ip), mac);
        }
    }

    /// Learns that IPv6 `ip` is at `mac`, unless `ip` is unspecified or multicast, or
    /// `ours`, or `mac` is not a unicast address.
    pub(crate) fn learn_v6(&mut self, ip: [u8; 16], mac: [u8; 6], ours: Option<[u8; 16]>) {
        if ip != [0; 16] && ip[0] != 0xff && Some(ip) != ours && is_unicast_mac(&mac) {
            self.learn(IpKey::v6(ip), mac);
        }
    }
}

fn is_unicast_mac(m: &[u8; 6]) -> bool {
    m[0] & 1 == 0 && *m != [0; 6]
}

/// The port's own addresses, which the answers are about and come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortAddresses {
    /// The port's MAC.
    pub(crate) mac: [u8; 6],
    /// Its IPv4 address: ARP requests for it are answered.
    pub(crate) ipv4: Option<[u8; 4]>,
    /// Its IPv6 address: neighbour solicitations for it are answered.
    pub(crate) ipv6: Option<[u8; 16]>,
    /// The 802.1Q tag of its frames.
    pub(crate) vlan: Option<VlanTag>,
}

/// The receive counter a packet belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RxCount {
    /// `rx_arp_requests`: an ARP request for our IPv4 address.
    ArpRequest,
    /// `rx_arp_other`: any other ARP packet (replies, requests for others, malformed).
    ArpOther,
    /// `rx_nd_solicitations`: a valid neighbour solicitation for our IPv6 address.
    NdSolicitation,
    /// `rx_non_ptp`: any other ICMPv6 packet.
    NonPtp,
}

/// What to do about a received ARP or ICMPv6 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NeighbourReply {
    /// Count nothing, send nothing (ICMPv6 on a port without an IPv6 address).
    Nothing,
    /// Count the packet; send nothing.
    Count(RxCount),
    /// Count the packet and send the reply: the first `len` octets of the caller's buffer,
    /// a whole Ethernet frame.
    Send(RxCount, usize),
}

/// Builds a frame into `out`: the Ethernet (802.1Q) header for `ethertype`, then `len`
/// octets written by `emit`, zero padding up to [`MIN_FRAME`]. Its length, or `None` if
/// `out` is too short.
fn build_frame(
    out: &mut [u8],
    eth: &EthernetRepr,
    ethertype: u16,
    len: usize,
    emit: impl FnOnce(&mut [u8]) -> meridian_proto::wire::Result<()>,
) -> Option<usize> {
    let hl = eth.header_len();
    let n = (hl + len).max(MIN_FRAME);
    let frame = out.get_mut(..n)?;
    eth.emit_into(frame, ethertype).ok()?;
    let (body, pad) = frame[hl..].split_at_mut(len);
    emit(body).ok()?;
    pad.fill(0);
    Some(n)
}

/// ARP (`packet`: the payload after the Ethernet header): learns the sender; a request for
/// our IPv4 address from a unicast MAC is answered with a reply built into `out` (at least
/// [`REPLY_MAX`] octets).
pub(crate) fn arp(
    table: &mut Neighbours,
    port: &PortAddresses,
    packet: &[u8],
    out: &mut [u8],
) -> NeighbourReply {
    let Ok(p) = ArpPacket::new_checked(packet) else {
        return NeighbourReply::Count(RxCount::ArpOther);
    };
    let req = ArpRepr::parse(&p);
    let sha = req.sender_hardware_addr;
    // Only ARP addressed to us teaches us anything (a flood of gratuitous or third-party
    // ARP cannot fill or poison the table).
    if port.ipv4.is_some() && Some(req.target_protocol_addr) == port.ipv4 {
        table.learn_v4(req.sender_protocol_addr, sha.0, port.ipv4);
    }
    if req.operation != ArpOperation::Request
        || Some(req.target_protocol_addr) != port.ipv4
        || !is_unicast_mac(&sha.0)
    {
        return NeighbourReply::Count(RxCount::ArpOther);
    }
    let reply = req.reply_from(MacAddress(port.mac));
    let eth = EthernetRepr {
        dst: sha,
        src: MacAddress(port.mac),
        vlan: port.vlan,
    };
    match build_frame(out, &eth, ETHERTYPE_ARP, reply.buffer_len(), |b| {
        reply.emit(b)
    }) {
        Some(n) => NeighbourReply::Send(RxCount::ArpRequest, n),
        None => NeighbourReply::Count(RxCount::ArpRequest),
    }
}

/// ICMPv6 (`packet`: the IPv6 packet, from Ethernet source `src_mac`): a neighbour
/// solicitation for our IPv6 address (hop limit 255, valid checksum) is answered with a
/// solicited neighbour advertisement built into `out` (at least [`REPLY_MAX`] octets),
/// unless it comes from the unspecified address (duplicate address detection, not a
/// question to us) or a group MAC. Only the solicitor of such a solicitation is learnt, as
/// ARP teaches only when addressed to us: a flood of third-party ICMPv6 neither fills nor
/// poisons the table (PTP senders are learnt from their accepted frames anyway).
pub(crate) fn icmpv6(
    table: &mut Neighbours,
    port: &PortAddresses,
    packet: &[u8],
    src_mac: [u8; 6],
    out: &mut [u8],
) -> NeighbourReply {
    let ip = Ipv6Packet::new_checked(packet).ok();
    let Some(ours) = port.ipv6 else {
        return NeighbourReply::Nothing;
    };
    let solicitor = ip
        .and_then(|ip| NdpRepr::parse(&ip).ok())
        .and_then(|nd| match nd.message {
            NdpMessage::NeighbourSolicitation { target_addr, .. } if target_addr == ours => {
                Some(nd.src_addr)
            }
            _ => None,
        });
    let Some(solicitor) = solicitor else {
        return NeighbourReply::Count(RxCount::NonPtp);
    };
    if solicitor == [0; 16] || !is_unicast_mac(&src_mac) {
        return NeighbourReply::Count(RxCount::NdSolicitation);
    }
    table.learn_v6(solicitor, src_mac, port.ipv6);
    let advert = NdpRepr {
        src_addr: ours,
        dst_addr: solicitor,
        message: NdpMessage::NeighbourAdvertisement {
            flags: NdFlags {
                router: false,
                solicited: true,
                override_: true,
            },
            target_addr: ours,
            target_link_layer_addr: Some(MacAddress(port.mac)),
        },
    };
    let eth = EthernetRepr {
        dst: MacAddress(src_mac),
        src: MacAddress(port.mac),
        vlan: port.vlan,
    };
    match build_frame(out, &eth, ETHERTYPE_IPV6, advert.buffer_len(), |b| {
        advert.emit(b)
    }) {
        Some(n) => NeighbourReply::Send(RxCount::NdSolicitation, n),
        None => NeighbourReply::Count(RxCount::NdSolicitation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::wire::ndp::NdpPacket;

    const OUR_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const PEER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
    const OUR_IP: [u8; 4] = [10, 0, 0, 1];
    const PEER_IP: [u8; 4] = [10, 0, 0, 2];
    const OUR_IP6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const PEER_IP6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn port(vlan: Option<VlanTag>) -> PortAddresses {
        PortAddresses {
            mac: OUR_MAC,
            ipv4: Some(OUR_IP),
            ipv6: Some(OUR_IP6),
            vlan,
        }
    }

    fn arp_packet(op: ArpOperation, sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
        let r = ArpRepr {
            operation: op,
            sender_hardware_addr: MacAddress(sha),
            sender_protocol_addr: spa,
            target_hardware_addr: MacAddress([0; 6]),
            target_protocol_addr: tpa,
        };
        // As received: Ethernet padding after the 28 octets.
        let mut b = vec![0u8; 46];
        r.emit(&mut b[..28]).unwrap();
        b
    }

    fn solicitation(src: [u8; 16], target: [u8; 16]) -> Vec<u8> {
        let r = NdpRepr {
            src_addr: src,
            dst_addr: [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1],
            message: NdpMessage::NeighbourSolicitation {
                target_addr: target,
                source_link_layer_addr: (src != [0; 16]).then_some(MacAddress(PEER_MAC)),
            },
        };
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut b).unwrap();
        b
    }

    #[test]
    fn neighbour_table_learns_updates_and_evicts_within_a_set() {
        let mut n = Neighbours::new(0x5eed);
        let a = IpKey::v4([10, 0, 0, 2]);
        assert_eq!(n.lookup(&a), None);
        n.learn(a, [2, 0, 0, 0, 0, 2]);
        assert_eq!(n.lookup(&a), Some([2, 0, 0, 0, 0, 2]));
        // A new MAC for a known IP takes two claims in a row (one forged frame does not
        // redirect a slave's traffic); the old MAC heard in between keeps it.
        n.learn(a, [2, 0, 0, 0, 0, 3]);
        assert_eq!(n.lookup(&a), Some([2, 0, 0, 0, 0, 2]), "one claim");
        n.learn(a, [2, 0, 0, 0, 0, 2]);
        n.learn(a, [2, 0, 0, 0, 0, 3]);
        assert_eq!(n.lookup(&a), Some([2, 0, 0, 0, 0, 2]), "interrupted");
        n.learn(a, [2, 0, 0, 0, 0, 3]);
        assert_eq!(n.lookup(&a), Some([2, 0, 0, 0, 0, 3]), "two in a row");
        // v4 and v6 keys with the same leading octets are different.
        assert_eq!(n.lookup(&IpKey::v6(a.addr)), None);
        // Thousands of peers: no growth, no panic, recent ones found.
        for i in 0..5000u32 {
            let b = i.to_be_bytes();
            n.learn(
                IpKey::v4([10, b[1], b[2], b[3]]),
                [2, 0, b[0], b[1], b[2], b[3]],
            );
        }
        assert_eq!(n.slots.len(), NEIGH_SETS * NEIGH_WAYS);
        let last = 4999u32.to_be_bytes();
        assert_eq!(
            n.lookup(&IpKey::v4([10, last[1], last[2], last[3]])),
            Some([2, 0, last[0], last[1], last[2], last[3]])
        );
        // Thousands of unicast slaves stay addressable: set conflicts evict < 0.5 %.
        let found = (0..5000u32)
            .filter(|i| {
                let b = i.to_be_bytes();
                n.lookup(&IpKey::v4([10, b[1], b[2], b[3]])) == Some([2, 0, b[0], b[1], b[2], b[3]])
            })
            .count();
        assert!(found >= 4975, "{found} of 5000 peers still known");
        // IPv6 peers of one /64 too.
        let mut n = Neighbours::new(0x5eed);
        let v6 = |i: u32| {
            let mut a = [0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            a[12..].copy_from_slice(&i.to_be_bytes());
            IpKey::v6(a)
        };
        for i in 0..5000u32 {
            n.learn(v6(i), [2, 0, 0, 0, 0, 1]);
        }
        let found = (0..5000u32).filter(|&i| n.lookup(&v6(i)).is_some()).count();
        assert!(found >= 4975, "{found} of 5000 IPv6 peers still known");
    }

    #[test]
    fn learning_skips_unspecified_group_and_own_addresses_and_group_macs() {
        let mut n = Neighbours::new(0x5eed);
        for (ip, mac) in [
            ([0, 0, 0, 0], PEER_MAC),
            ([224, 0, 1, 129], PEER_MAC),
            ([255, 255, 255, 255], PEER_MAC),
            (OUR_IP, PEER_MAC),
            (PEER_IP, [1, 0, 0x5e, 0, 1, 0x81]),
            (PEER_IP, [0; 6]),
        ] {
            n.learn_v4(ip, mac, Some(OUR_IP));
            assert_eq!(n.lookup(&IpKey::v4(ip)), None, "{ip:?} {mac:?}");
        }
        n.learn_v4(PEER_IP, PEER_MAC, Some(OUR_IP));
        assert_eq!(n.lookup(&IpKey::v4(PEER_IP)), Some(PEER_MAC));
        let group = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x81];
        for (ip, mac) in [
            ([0; 16], PEER_MAC),
            (group, PEER_MAC),
            (OUR_IP6, PEER_MAC),
            (PEER_IP6, [0x33, 0x33, 0, 0, 1, 0x81]),
        ] {
            n.learn_v6(ip, mac, Some(OUR_IP6));
            assert_eq!(n.lookup(&IpKey::v6(ip)), None, "{ip:?} {mac:?}");
        }
        n.learn_v6(PEER_IP6, PEER_MAC, Some(OUR_IP6));
        assert_eq!(n.lookup(&IpKey::v6(PEER_IP6)), Some(PEER_MAC));
    }

    #[test]
    fn arp_request_for_us_is_answered_with_a_padded_reply() {
        let mut n = Neighbours::new(0x5eed);
        let mut out = [0xaau8; REPLY_MAX];
        let req = arp_packet(ArpOperation::Request, PEER_MAC, PEER_IP, OUR_IP);
        let r = arp(&mut n, &port(None), &req, &mut out);
        assert_eq!(r, NeighbourReply::Send(RxCount::ArpRequest, 60));
        assert_eq!(
            n.lookup(&IpKey::v4(PEER_IP)),
            Some(PEER_MAC),
            "sender learnt"
        );
        assert_eq!(&out[0..6], &PEER_MAC);
        assert_eq!(&out[6..12], &OUR_MAC);
        assert_eq!(&out[12..14], &[8, 6]);
        assert_eq!(&out[14..22], &[0, 1, 8, 0, 6, 4, 0, 2]);
        assert_eq!(&out[22..28], &OUR_MAC);
        assert_eq!(&out[28..32], &OUR_IP);
        assert_eq!(&out[32..38], &PEER_MAC);
        assert_eq!(&out[38..42], &PEER_IP);
        assert!(out[42..60].iter().all(|&b| b == 0), "zero padding");
        assert!(
            out[60..].iter().all(|&b| b == 0xaa),
            "nothing written past it"
        );
        // Tagged.
        let tag = VlanTag {
            pcp: 5,
            dei: false,
            vid: 7,
        };
        let r = arp(&mut n, &port(Some(tag)), &req, &mut out);
        assert_eq!(r, NeighbourReply::Send(RxCount::ArpRequest, 60));
        assert_eq!(&out[12..18], &[0x81, 0x00, 0xa0, 7, 8, 6]);
        assert_eq!(&out[18 + 24..18 + 28], &PEER_IP);
        // A buffer too short for the reply: counted, nothing to send.
        let r = arp(&mut n, &port(None), &req, &mut out[..59]);
        assert_eq!(r, NeighbourReply::Count(RxCount::ArpRequest));
    }

    #[test]
    fn other_arp_is_counted_and_teaches_only_when_addressed_to_us() {
        let mut out = [0u8; REPLY_MAX];
        let other = NeighbourReply::Count(RxCount::ArpOther);
        let cases = [
            // A request for another address: not for us, not learnt (third-party ARP
            // cannot fill or poison the table).
            (
                arp_packet(ArpOperation::Request, PEER_MAC, PEER_IP, [10, 0, 0, 99]),
                false,
            ),
            // A reply.
            (
                arp_packet(ArpOperation::Reply, PEER_MAC, PEER_IP, OUR_IP),
                true,
            ),
            // From a group MAC: not answered, not learnt.
            (
                arp_packet(ArpOperation::Request, [3, 0, 0, 0, 0, 2], PEER_IP, OUR_IP),
                false,
            ),
            // Truncated, or not Ethernet/IPv4: not learnt.
            (
                arp_packet(ArpOperation::Request, PEER_MAC, PEER_IP, OUR_IP)[..27].to_vec(),
                false,
            ),
            (
                {
                    let mut b = arp_packet(ArpOperation::Request, PEER_MAC, PEER_IP, OUR_IP);
                    b[1] = 6;
                    b
                },
                false,
            ),
        ];
        for (i, (pkt, learnt)) in cases.iter().enumerate() {
            let mut n = Neighbours::new(0x5eed);
            assert_eq!(arp(&mut n, &port(None), pkt, &mut out), other, "case {i}");
            assert_eq!(n.lookup(&IpKey::v4(PEER_IP)).is_some(), *learnt, "case {i}");
        }
        // A port without IPv4 answers nobody.
        let mut n = Neighbours::new(0x5eed);
        let p = PortAddresses {
            ipv4: None,
            ..port(None)
        };
        let req = arp_packet(ArpOperation::Request, PEER_MAC, PEER_IP, OUR_IP);
        assert_eq!(arp(&mut n, &p, &req, &mut out), other);
    }

    #[test]
    fn solicitation_for_us_is_answered_with_a_solicited_advertisement() {
        let tag = VlanTag {
            pcp: 5,
            dei: false,
            vid: 7,
        };
        let mut out = [0xaau8; REPLY_MAX];
        let ns = solicitation(PEER_IP6, OUR_IP6);
        let r = icmpv6(
            &mut Neighbours::new(0x5eed),
            &port(Some(tag)),
            &ns,
            PEER_MAC,
            &mut out,
        );
        let n = 18 + 40 + 32;
        assert_eq!(r, NeighbourReply::Send(RxCount::NdSolicitation, n));
        assert_eq!(&out[0..6], &PEER_MAC);
        assert_eq!(&out[6..12], &OUR_MAC);
        assert_eq!(&out[12..18], &[0x81, 0x00, 0xa0, 7, 0x86, 0xdd]);
        let ip = &out[18..n];
        assert_eq!((ip[6], ip[7]), (58, 255));
        assert_eq!(
            NdpRepr::parse_bytes(ip),
            Ok(NdpRepr {
                src_addr: OUR_IP6,
                dst_addr: PEER_IP6,
                message: NdpMessage::NeighbourAdvertisement {
                    flags: NdFlags {
                        router: false,
                        solicited: true,
                        override_: true,
                    },
                    target_addr: OUR_IP6,
                    target_link_layer_addr: Some(MacAddress(OUR_MAC)),
                },
            }),
            "checksum verifies"
        );
        assert_eq!(ip[44], 0x60, "Solicited | Override");
        // Untagged: 14 + 72 octets, longer than the minimum.
        let r = icmpv6(
            &mut Neighbours::new(0x5eed),
            &port(None),
            &ns,
            PEER_MAC,
            &mut out,
        );
        assert_eq!(r, NeighbourReply::Send(RxCount::NdSolicitation, 86));
        let r = icmpv6(
            &mut Neighbours::new(0x5eed),
            &port(None),
            &ns,
            PEER_MAC,
            &mut out[..85],
        );
        assert_eq!(r, NeighbourReply::Count(RxCount::NdSolicitation));
    }

    #[test]
    fn other_icmpv6_is_counted_and_dad_is_not_answered() {
        let mut out = [0u8; REPLY_MAX];
        let p = port(None);
        let non_ptp = NeighbourReply::Count(RxCount::NonPtp);
        let ns = solicitation(PEER_IP6, OUR_IP6);
        // Duplicate address detection, and a solicitation from a group MAC: counted only.
        let dad = solicitation([0; 16], OUR_IP6);
        let counted = NeighbourReply::Count(RxCount::NdSolicitation);
        assert_eq!(
            icmpv6(&mut Neighbours::new(0x5eed), &p, &dad, PEER_MAC, &mut out),
            counted
        );
        assert_eq!(
            icmpv6(
                &mut Neighbours::new(0x5eed),
                &p,
                &ns,
                [0x33, 0x33, 0, 0, 0, 1],
                &mut out
            ),
            counted
        );
        // For another address.
        let other = solicitation(PEER_IP6, PEER_IP6);
        assert_eq!(
            icmpv6(&mut Neighbours::new(0x5eed), &p, &other, PEER_MAC, &mut out),
            non_ptp
        );
        // Hop limit, checksum, type.
        let mut b = ns.clone();
        b[7] = 64;
        assert_eq!(
            icmpv6(&mut Neighbours::new(0x5eed), &p, &b, PEER_MAC, &mut out),
            non_ptp
        );
        let mut b = ns.clone();
        b[60] ^= 1;
        assert_eq!(
            icmpv6(&mut Neighbours::new(0x5eed), &p, &b, PEER_MAC, &mut out),
            non_ptp
        );
        // A valid advertisement: counted, and (unlike a solicitation for us) teaches nothing.
        let mut b = ns.clone();
        b[40] = 136;
        let dst: [u8; 16] = b[24..40].try_into().unwrap();
        NdpPacket::new_unchecked(&mut b[40..]).fill_checksum(&PEER_IP6, &dst);
        assert!(NdpRepr::parse_bytes(&b).is_ok());
        let mut t = Neighbours::new(0x5eed);
        assert_eq!(icmpv6(&mut t, &p, &b, PEER_MAC, &mut out), non_ptp);
        assert_eq!(
            t.lookup(&IpKey::v6(PEER_IP6)),
            None,
            "an advertisement taught"
        );
        // Nor does a solicitation for another address, or a bad one.
        let mut t = Neighbours::new(0x5eed);
        icmpv6(&mut t, &p, &other, PEER_MAC, &mut out);
        let mut bad = ns.clone();
        bad[60] ^= 1;
        icmpv6(&mut t, &p, &bad, PEER_MAC, &mut out);
        assert_eq!(
            t.lookup(&IpKey::v6(PEER_IP6)),
            None,
            "third-party ICMPv6 taught"
        );
        // The solicitation for us does.
        icmpv6(&mut t, &p, &ns, PEER_MAC, &mut out);
        assert_eq!(t.lookup(&IpKey::v6(PEER_IP6)), Some(PEER_MAC));
        // Truncated at every length.
        for n in 7..ns.len() {
            assert_eq!(
                icmpv6(
                    &mut Neighbours::new(0x5eed),
                    &p,
                    &ns[..n],
                    PEER_MAC,
                    &mut out
                ),
                non_ptp,
                "{n}"
            );
        }
        // The sender of a well-formed IPv6 packet is learnt, of a truncated one not.
        let mut table = Neighbours::new(0x5eed);
        assert_eq!(
            icmpv6(&mut table, &p, &ns, PEER_MAC, &mut out),
            NeighbourReply::Send(RxCount::NdSolicitation, 86)
        );
        assert_eq!(table.lookup(&IpKey::v6(PEER_IP6)), Some(PEER_MAC));
        let mut table = Neighbours::new(0x5eed);
        let _ = icmpv6(&mut table, &p, &ns[..39], PEER_MAC, &mut out);
        assert_eq!(table.lookup(&IpKey::v6(PEER_IP6)), None);
        // A port without IPv6 counts nothing.
        let p = PortAddresses { ipv6: None, ..p };
        assert_eq!(
            icmpv6(&mut Neighbours::new(0x5eed), &p, &ns, PEER_MAC, &mut out),
            NeighbourReply::Nothing
        );
    }
}
