//! ARP and neighbour discovery: property tests (every Repr emitted and parsed back equals
//! itself; arbitrary and mutated bytes never make the parsers panic) and a third-party
//! decoder check: an ARP request and reply and a neighbour solicitation and advertisement,
//! framed as a DPDK port sends them, must decode in Wireshark's `tshark` to the values we
//! wrote, with good checksums, no malformed packet and no expert warning.
//!
//! `tshark` is required for the last test (`apt-get install tshark`); set
//! `MERIDIAN_SKIP_TSHARK=1` to skip it on a machine without it — it then says so.

mod common;

use meridian_proto::wire::arp::{self, ArpOperation, ArpPacket, ArpRepr};
use meridian_proto::wire::frame::{EthernetRepr, MacAddress, VlanTag, ETHERTYPE_IPV6};
use meridian_proto::wire::ndp::{Ipv6Packet, NdFlags, NdpMessage, NdpPacket, NdpRepr};
use proptest::prelude::*;

fn mac() -> impl Strategy<Value = MacAddress> {
    any::<[u8; 6]>().prop_map(MacAddress)
}

fn arp_repr() -> impl Strategy<Value = ArpRepr> {
    (
        any::<u16>().prop_map(ArpOperation::from_u16),
        mac(),
        any::<[u8; 4]>(),
        mac(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(operation, sha, spa, tha, tpa)| ArpRepr {
            operation,
            sender_hardware_addr: sha,
            sender_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        })
}

fn ndp_repr() -> impl Strategy<Value = NdpRepr> {
    let message = prop_oneof![
        (any::<[u8; 16]>(), proptest::option::of(mac())).prop_map(|(t, ll)| {
            NdpMessage::NeighbourSolicitation {
                target_addr: t,
                source_link_layer_addr: ll,
            }
        }),
        (
            (any::<bool>(), any::<bool>(), any::<bool>()),
            any::<[u8; 16]>(),
            proptest::option::of(mac())
        )
            .prop_map(|((router, solicited, override_), t, ll)| {
                NdpMessage::NeighbourAdvertisement {
                    flags: NdFlags {
                        router,
                        solicited,
                        override_,
                    },
                    target_addr: t,
                    target_link_layer_addr: ll,
                }
            }),
    ];
    (any::<[u8; 16]>(), any::<[u8; 16]>(), message).prop_map(|(src, dst, message)| NdpRepr {
        src_addr: src,
        dst_addr: dst,
        message,
    })
}

/// Runs every parser and accessor over `data`; must never panic.
fn walk(data: &[u8]) {
    if let Ok(p) = ArpPacket::new_checked(data) {
        let r = ArpRepr::parse(&p);
        let mut out = [0u8; 28];
        r.emit(&mut out).unwrap();
        assert_eq!(ArpRepr::parse_bytes(&out), Ok(r));
    }
    if let Ok(ip) = Ipv6Packet::new_checked(data) {
        let _ = (ip.traffic_class(), ip.flow_label(), ip.payload());
        if let Ok(r) = NdpRepr::parse(&ip) {
            let mut out = vec![0u8; r.buffer_len()];
            r.emit(&mut out).unwrap();
            assert_eq!(NdpRepr::parse_bytes(&out), Ok(r));
        }
    }
    if let Ok(p) = NdpPacket::new_checked(data) {
        let _ = (p.flags(), p.target_addr(), p.options());
        let _ = (p.link_layer_addr(1), p.link_layer_addr(2));
        let _ = p.verify_checksum(&[0; 16], &[0; 16]);
    }
    // Unchecked views only promise not to panic in option walking.
    let _ = NdpPacket::new_unchecked(data).link_layer_addr(2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arp_emit_parse_equal(r in arp_repr(), pad in 0usize..20) {
        let mut buf = vec![0xa5u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ArpRepr::parse(&p), r);
        buf.resize(buf.len() + pad, 0);
        prop_assert_eq!(ArpRepr::parse_bytes(&buf), Ok(r));
        for n in 0..28 {
            prop_assert!(ArpPacket::new_checked(&buf[..n]).is_err());
        }
    }

    #[test]
    fn ndp_emit_parse_equal(r in ndp_repr(), pad in 0usize..20) {
        let mut buf = vec![0xa5u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let ip = Ipv6Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(usize::from(ip.payload_len()), r.icmp_len());
        let nd = NdpPacket::new_checked(ip.payload()).unwrap();
        prop_assert!(nd.verify_checksum(&r.src_addr, &r.dst_addr));
        prop_assert_eq!(NdpRepr::parse(&ip), Ok(r));
        buf.resize(buf.len() + pad, 0);
        prop_assert_eq!(NdpRepr::parse_bytes(&buf), Ok(r));
        for n in 0..r.buffer_len() {
            prop_assert!(NdpRepr::parse_bytes(&buf[..n]).is_err());
        }
    }

    #[test]
    fn ndp_any_change_is_caught(r in ndp_repr(), at in 0usize..72, bit in 0u8..8) {
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        let at = at % buf.len();
        buf[at] ^= 1 << bit;
        // Traffic class and flow label are outside the checksum and the Repr; every other
        // change is refused or (payload length, hop limit, ...) refused for another reason.
        let parsed = NdpRepr::parse_bytes(&buf);
        if at < 4 && !(at == 0 && bit >= 4) {
            prop_assert_eq!(parsed, Ok(r));
        } else {
            prop_assert!(parsed.is_err(), "octet {} bit {}: {:?}", at, bit, parsed);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..120)) {
        walk(&data);
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        a in arp_repr(),
        n in ndp_repr(),
        flips in proptest::collection::vec((0usize..80, any::<u8>()), 1..6),
        cut in 0usize..80,
    ) {
        let mut abuf = vec![0u8; a.buffer_len()];
        a.emit(&mut abuf).unwrap();
        let mut nbuf = vec![0u8; n.buffer_len()];
        n.emit(&mut nbuf).unwrap();
        for buf in [&mut abuf, &mut nbuf] {
            for &(at, v) in &flips {
                let len = buf.len();
                buf[at % len] = v;
            }
            walk(buf);
            walk(&buf[..cut.min(buf.len())]);
            if buf.len() > 40 {
                walk(&buf[40..]);
            }
        }
    }
}

const OUR_MAC: MacAddress = MacAddress([0x00, 0x1b, 0x19, 0x12, 0x34, 0x56]);
const PEER_MAC: MacAddress = MacAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const OUR_IP: [u8; 4] = [10, 99, 0, 1];
const PEER_IP: [u8; 4] = [10, 99, 0, 2];
const OUR_IP6: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x1b, 0x19, 0xff, 0xfe, 0x12, 0x34, 0x56,
];
const PEER_IP6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// ff02::1:ff12:3456, the solicited-node group of OUR_IP6.
const SOLICITED_NODE: [u8; 16] = [
    0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x12, 0x34, 0x56,
];

/// An Ethernet frame around `payload_len` octets written by `body`, zero-padded to 60.
fn framed(
    eth: EthernetRepr,
    ethertype: u16,
    payload_len: usize,
    body: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let hl = eth.header_len();
    let mut f = vec![0xa5u8; (hl + payload_len).max(60)];
    f[hl + payload_len..].fill(0);
    assert_eq!(eth.emit_into(&mut f, ethertype), Ok(hl));
    body(&mut f[hl..hl + payload_len]);
    f
}

fn arp_frame(vlan: Option<VlanTag>, r: &ArpRepr, dst: MacAddress) -> Vec<u8> {
    let eth = EthernetRepr {
        dst,
        src: r.sender_hardware_addr,
        vlan,
    };
    framed(eth, arp::ETHERTYPE_ARP, r.buffer_len(), |b| {
        r.emit(b).unwrap()
    })
}

fn ndp_frame(vlan: Option<VlanTag>, r: &NdpRepr, src: MacAddress, dst: MacAddress) -> Vec<u8> {
    let eth = EthernetRepr { dst, src, vlan };
    framed(eth, ETHERTYPE_IPV6, r.buffer_len(), |b| r.emit(b).unwrap())
}

#[test]
fn ethernet_header_is_written_whole() {
    let tag = VlanTag {
        pcp: 5,
        dei: true,
        vid: 0x123,
    };
    let eth = EthernetRepr {
        dst: PEER_MAC,
        src: OUR_MAC,
        vlan: Some(tag),
    };
    let mut buf = [0xa5u8; 18];
    assert_eq!(eth.emit_into(&mut buf, arp::ETHERTYPE_ARP), Ok(18));
    assert_eq!(
        buf,
        [2, 0, 0, 0, 0, 2, 0, 0x1b, 0x19, 0x12, 0x34, 0x56, 0x81, 0, 0xb1, 0x23, 8, 6]
    );
    assert!(eth.emit_into(&mut buf[..17], 0).is_err());
    let untagged = EthernetRepr { vlan: None, ..eth };
    assert_eq!(untagged.header_len(), 14);
    assert_eq!(untagged.emit_into(&mut buf, 0x86dd), Ok(14));
    assert_eq!(&buf[12..14], &[0x86, 0xdd]);
}

/// What one frame is expected to decode to: tshark field name → values in order.
struct Case {
    frame: Vec<u8>,
    expect: Vec<(&'static str, String)>,
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn cases() -> Vec<Case> {
    let tag = VlanTag {
        pcp: 7,
        dei: false,
        vid: 42,
    };
    let request = ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: PEER_MAC,
        sender_protocol_addr: PEER_IP,
        target_hardware_addr: MacAddress([0; 6]),
        target_protocol_addr: OUR_IP,
    };
    let reply = request.reply_from(OUR_MAC);
    let arp_fields = |op: u16, sha: MacAddress, spa: [u8; 4], tha: MacAddress, tpa: [u8; 4]| {
        let ip = |a: [u8; 4]| format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
        vec![
            ("arp.hw.type", s(1)),
            ("arp.proto.type", s("0x0800")),
            ("arp.hw.size", s(6)),
            ("arp.proto.size", s(4)),
            ("arp.opcode", s(op)),
            ("arp.src.hw_mac", s(sha)),
            ("arp.src.proto_ipv4", ip(spa)),
            ("arp.dst.hw_mac", s(tha)),
            ("arp.dst.proto_ipv4", ip(tpa)),
        ]
    };
    let solicitation = NdpRepr {
        src_addr: PEER_IP6,
        dst_addr: SOLICITED_NODE,
        message: NdpMessage::NeighbourSolicitation {
            target_addr: OUR_IP6,
            source_link_layer_addr: Some(PEER_MAC),
        },
    };
    let advert = NdpRepr {
        src_addr: OUR_IP6,
        dst_addr: PEER_IP6,
        message: NdpMessage::NeighbourAdvertisement {
            flags: NdFlags {
                router: false,
                solicited: true,
                override_: true,
            },
            target_addr: OUR_IP6,
            target_link_layer_addr: Some(OUR_MAC),
        },
    };
    let ip6 = |plen: usize, src: &str, dst: &str| {
        vec![
            ("ipv6.version", s(6)),
            ("ipv6.plen", s(plen)),
            ("ipv6.nxt", s(58)),
            ("ipv6.hlim", s(255)),
            ("ipv6.src", s(src)),
            ("ipv6.dst", s(dst)),
            ("icmpv6.code", s(0)),
            ("icmpv6.checksum.status", s(1)),
        ]
    };
    let mut ns_expect = ip6(32, "fe80::2", "ff02::1:ff12:3456");
    ns_expect.extend([
        ("icmpv6.type", s(135)),
        ("icmpv6.nd.ns.target_address", s("fe80::21b:19ff:fe12:3456")),
        ("icmpv6.opt.type", s(1)),
        ("icmpv6.opt.length", s(1)),
        ("icmpv6.opt.linkaddr", s(PEER_MAC)),
    ]);
    let mut na_expect = ip6(32, "fe80::21b:19ff:fe12:3456", "fe80::2");
    na_expect.extend([
        ("icmpv6.type", s(136)),
        ("icmpv6.nd.na.flag.r", s(0)),
        ("icmpv6.nd.na.flag.s", s(1)),
        ("icmpv6.nd.na.flag.o", s(1)),
        ("icmpv6.nd.na.target_address", s("fe80::21b:19ff:fe12:3456")),
        ("icmpv6.opt.type", s(2)),
        ("icmpv6.opt.length", s(1)),
        ("icmpv6.opt.linkaddr", s(OUR_MAC)),
    ]);
    let mut vlan_expect = na_expect.clone();
    vlan_expect.extend([("vlan.id", s(42)), ("vlan.priority", s(7))]);
    let broadcast = MacAddress([0xff; 6]);
    vec![
        Case {
            frame: arp_frame(None, &request, broadcast),
            expect: arp_fields(1, PEER_MAC, PEER_IP, MacAddress([0; 6]), OUR_IP),
        },
        Case {
            frame: arp_frame(None, &reply, PEER_MAC),
            expect: arp_fields(2, OUR_MAC, OUR_IP, PEER_MAC, PEER_IP),
        },
        Case {
            frame: arp_frame(Some(tag), &reply, PEER_MAC),
            expect: {
                let mut e = arp_fields(2, OUR_MAC, OUR_IP, PEER_MAC, PEER_IP);
                e.push(("vlan.id", s(42)));
                e
            },
        },
        Case {
            frame: ndp_frame(
                None,
                &solicitation,
                PEER_MAC,
                MacAddress([0x33, 0x33, 0xff, 0x12, 0x34, 0x56]),
            ),
            expect: ns_expect,
        },
        Case {
            frame: ndp_frame(None, &advert, OUR_MAC, PEER_MAC),
            expect: na_expect,
        },
        Case {
            frame: ndp_frame(Some(tag), &advert, OUR_MAC, PEER_MAC),
            expect: vlan_expect,
        },
    ]
}

#[test]
fn tshark_decodes_arp_and_neighbour_discovery() {
    let cases = cases();
    let frames: Vec<Vec<u8>> = cases.iter().map(|c| c.frame.clone()).collect();
    let expect: Vec<_> = cases.iter().map(|c| c.expect.clone()).collect();
    common::tshark::check_decodes("tshark-nd", &frames, &expect);
}
