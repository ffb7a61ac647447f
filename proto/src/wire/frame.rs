//! Framing: PTP over IEEE 802.3 / Ethernet (annex E of 1588-2019, with an optional 802.1Q tag),
//! over UDP/IPv4 (annex C) and over UDP/IPv6 (annex D).
//!
//! [`ParsedFrame::parse`] takes a whole Ethernet frame, verifies IPv4 header and UDP
//! checksums, and hands back the PTP payload together with a [`FrameRepr`] describing the
//! encapsulation and a [`FrameLayout`] of offsets. [`FrameRepr::emit_headers`] writes the
//! encapsulation around a payload already in place, computing lengths and checksums.
//! [`patch_in_place`] rewrites bytes of the PTP message inside a built frame (one-step
//! timestamps, correctionField) and keeps the UDP checksum right: by incremental update
//! (RFC 1624), or, for UDP/IPv6 frames that carry the two trailing octets of annex D.3,
//! by adjusting those octets so the checksum field itself need not change.

use core::fmt;

use super::{be, ErrorKind, Result, WireError};

/// An IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// 01-1B-19-00-00-00: all PTP messages except peer delay (annex E).
    pub const PTP_PRIMARY: MacAddress = MacAddress([0x01, 0x1b, 0x19, 0, 0, 0]);
    /// 01-80-C2-00-00-0E: peer delay messages (annex E).
    pub const PTP_PDELAY: MacAddress = MacAddress([0x01, 0x80, 0xc2, 0, 0, 0x0e]);

    /// Whether this is a group (multicast/broadcast) address.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddress({self})")
    }
}

/// EtherType of PTP over Ethernet.
pub const ETHERTYPE_PTP: u16 = 0x88f7;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// UDP port of event messages.
pub const PORT_EVENT: u16 = 319;
/// UDP port of general messages.
pub const PORT_GENERAL: u16 = 320;
/// 224.0.1.129: all PTP messages except peer delay (annex C).
pub const IPV4_PRIMARY: [u8; 4] = [224, 0, 1, 129];
/// 224.0.0.107: peer delay messages (annex C).
pub const IPV4_PDELAY: [u8; 4] = [224, 0, 0, 107];
/// FF0X::181 with scope `x` (2 link-local, 5 site-local, E global): primary group (annex D).
pub const fn ipv6_primary(scope: u8) -> [u8; 16] {
    [
        0xff,
        scope & 0x0f,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0x01,
        0x81,
    ]
}
/// FF02::6B: peer delay messages (annex D).
pub const IPV6_PDELAY: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6b];
/// Octets appended after the PTP message in UDP/IPv6 so that a one-step stamper can keep
/// the UDP checksum valid (annex D.3).
pub const IPV6_TRAILER_LEN: usize = 2;

const ETH_LEN: usize = 14;
const VLAN_LEN: usize = 4;
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const UDP_LEN: usize = 8;
const IPPROTO_UDP: u8 = 17;

/// An 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// Priority code point, 3 bits.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier, 12 bits.
    pub vid: u16,
}

impl VlanTag {
    const fn tci(&self) -> u16 {
        ((self.pcp as u16 & 7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }
    const fn from_tci(tci: u16) -> Self {
        VlanTag {
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }
}

/// The Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: MacAddress,
    /// Source address.
    pub src: MacAddress,
    /// Optional 802.1Q tag.
    pub vlan: Option<VlanTag>,
}

impl EthernetRepr {
    /// Octets of the header: 14, or 18 with an 802.1Q tag.
    pub const fn header_len(&self) -> usize {
        if self.vlan.is_some() {
            ETH_LEN + VLAN_LEN
        } else {
            ETH_LEN
        }
    }

    /// Writes the header, with `ethertype` naming the payload (after the tag, if any), into
    /// the first [`Self::header_len`] octets of `buf`; returns where the payload starts.
    pub fn emit_into(&self, buf: &mut [u8], ethertype: u16) -> Result<usize> {
        let hl = self.header_len();
        if buf.len() < hl {
            return Err(WireError::new("ethernet", 0, ErrorKind::BufferSize));
        }
        buf[0..6].copy_from_slice(&self.dst.0);
        buf[6..12].copy_from_slice(&self.src.0);
        if let Some(tag) = self.vlan {
            be::put_u16(buf, 12, ETHERTYPE_VLAN);
            be::put_u16(buf, 14, tag.tci());
        }
        be::put_u16(buf, hl - 2, ethertype);
        Ok(hl)
    }
}

/// IPv4 header fields that are not derived (no options are emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// DSCP (upper 6 bits) and ECN.
    pub dscp_ecn: u8,
    /// Identification.
    pub identification: u16,
    /// Flags (DF = 0x4000) and fragment offset; must not describe a fragment.
    pub flags_fragment: u16,
    /// Time to live.
    pub ttl: u8,
}

/// IPv6 header fields that are not derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow label, 20 bits.
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
}

/// UDP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UdpPorts {
    /// Source port.
    pub src: u16,
    /// Destination port.
    pub dst: u16,
}

/// The transport below PTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkRepr {
    /// PTP directly over Ethernet (EtherType 0x88F7).
    L2,
    /// UDP over IPv4.
    Udp4(Ipv4Repr, UdpPorts),
    /// UDP over IPv6.
    Udp6(Ipv6Repr, UdpPorts),
}

/// The whole encapsulation of a PTP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRepr {
    /// Ethernet header.
    pub ethernet: EthernetRepr,
    /// Network and transport.
    pub network: NetworkRepr,
}

/// Offsets within a frame, for in-place patching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameLayout {
    /// Where the PTP message starts.
    pub ptp_offset: usize,
    /// Octets of payload after `ptp_offset` (PTP message plus any trailer).
    pub payload_len: usize,
    /// Offset of the UDP header, if any.
    pub udp_offset: Option<usize>,
    /// Whether the UDP checksum must be kept valid (IPv6 always; IPv4 unless it is zero).
    pub udp_checksum_in_use: bool,
    /// Offset of the two annex-D trailer octets to adjust instead of the checksum, if any.
    pub ipv6_trailer_offset: Option<usize>,
}

/// A parsed frame: its encapsulation, layout and PTP payload.
#[derive(Debug, Clone, Copy)]
pub struct ParsedFrame<'a> {
    /// The encapsulation.
    pub repr: FrameRepr,
    /// Offsets.
    pub layout: FrameLayout,
    /// The PTP payload (UDP payload or Ethernet payload), which may extend past the PTP
    /// message's `messageLength` (Ethernet padding, the UDP/IPv6 trailer).
    pub payload: &'a [u8],
}

/// Ones'-complement sum of `data` as 16-bit big-endian words, folded into `acc`.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u32) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum16(0, data))
}

fn udp_checksum(src: &[u8], dst: &[u8], udp: &[u8]) -> u16 {
    let mut acc = sum16(0, src);
    acc = sum16(acc, dst);
    acc += IPPROTO_UDP as u32 + udp.len() as u32;
    acc = sum16(acc, udp);
    let c = !fold(acc);
    // A computed zero is sent as all ones (RFC 768).
    if c == 0 {
        0xffff
    } else {
        c
    }
}

impl<'a> ParsedFrame<'a> {
    /// Parses an Ethernet frame carrying PTP (L2, UDP/IPv4 or UDP/IPv6 on ports 319/320).
    /// Errors name the field and its offset in the frame; a frame that is not PTP at all is
    /// an `Unsupported` error on the EtherType, protocol or port.
    pub fn parse(frame: &'a [u8]) -> Result<Self> {
        if frame.len() < ETH_LEN {
            return Err(WireError::new("ethernet", 0, ErrorKind::Truncated));
        }
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        src.copy_from_slice(&frame[6..12]);
        let mut at = 12;
        let mut ethertype = be::u16(frame, at);
        let mut vlan = None;
        if ethertype == ETHERTYPE_VLAN {
            if frame.len() < ETH_LEN + VLAN_LEN {
                return Err(WireError::new("vlan_tag", at, ErrorKind::Truncated));
            }
            vlan = Some(VlanTag::from_tci(be::u16(frame, at + 2)));
            at += VLAN_LEN;
            ethertype = be::u16(frame, at);
        }
        let ethernet = EthernetRepr {
            dst: MacAddress(dst),
            src: MacAddress(src),
            vlan,
        };
        let l3 = at + 2;
        match ethertype {
            ETHERTYPE_PTP => Ok(ParsedFrame {
                repr: FrameRepr {
                    ethernet,
                    network: NetworkRepr::L2,
                },
                layout: FrameLayout {
                    ptp_offset: l3,
                    payload_len: frame.len() - l3,
                    udp_offset: None,
                    udp_checksum_in_use: false,
                    ipv6_trailer_offset: None,
                },
                payload: &frame[l3..],
            }),
            ETHERTYPE_IPV4 => Self::parse_ipv4(frame, l3, ethernet),
            ETHERTYPE_IPV6 => Self::parse_ipv6(frame, l3, ethernet),
            _ => Err(WireError::new("ethertype", at, ErrorKind::Unsupported)),
        }
    }

    fn parse_ipv4(frame: &'a [u8], ip: usize, ethernet: EthernetRepr) -> Result<Self> {
        if frame.len() < ip + IPV4_LEN {
            return Err(WireError::new("ipv4_header", ip, ErrorKind::Truncated));
        }
        let h = &frame[ip..];
        if h[0] >> 4 != 4 {
            return Err(WireError::new("ipv4_version", ip, ErrorKind::BadValue));
        }
        let ihl = (h[0] & 0x0f) as usize * 4;
        let total = be::u16(h, 2) as usize;
        if ihl < IPV4_LEN || frame.len() < ip + ihl {
            return Err(WireError::new("ipv4_ihl", ip, ErrorKind::BadLength));
        }
        if total < ihl + UDP_LEN || frame.len() < ip + total {
            return Err(WireError::new(
                "ipv4_total_length",
                ip + 2,
                ErrorKind::BadLength,
            ));
        }
        if internet_checksum(&h[..ihl]) != 0 {
            return Err(WireError::new(
                "ipv4_checksum",
                ip + 10,
                ErrorKind::BadChecksum,
            ));
        }
        let flags_fragment = be::u16(h, 6);
        if flags_fragment & 0x3fff != 0 {
            return Err(WireError::new(
                "ipv4_fragment",
                ip + 6,
                ErrorKind::Unsupported,
            ));
        }
        if h[9] != IPPROTO_UDP {
            return Err(WireError::new(
                "ipv4_protocol",
                ip + 9,
                ErrorKind::Unsupported,
            ));
        }
        let mut src = [0u8; 4];
        let mut dst = [0u8; 4];
        src.copy_from_slice(&h[12..16]);
        dst.copy_from_slice(&h[16..20]);
        let ipr = Ipv4Repr {
            src,
            dst,
            dscp_ecn: h[1],
            identification: be::u16(h, 4),
            flags_fragment,
            ttl: h[8],
        };
        let udp_at = ip + ihl;
        let udp = &frame[udp_at..ip + total];
        let (ports, payload_len, csum) = Self::parse_udp(udp, udp_at)?;
        if csum != 0 && !Self::sum_ok(&src, &dst, udp) {
            return Err(WireError::new(
                "udp_checksum",
                udp_at + 6,
                ErrorKind::BadChecksum,
            ));
        }
        let ptp = udp_at + UDP_LEN;
        Ok(ParsedFrame {
            repr: FrameRepr {
                ethernet,
                network: NetworkRepr::Udp4(ipr, ports),
            },
            layout: FrameLayout {
                ptp_offset: ptp,
                payload_len,
                udp_offset: Some(udp_at),
                udp_checksum_in_use: csum != 0,
                ipv6_trailer_offset: None,
            },
            payload: &frame[ptp..ptp + payload_len],
        })
    }

    fn parse_ipv6(frame: &'a [u8], ip: usize, ethernet: EthernetRepr) -> Result<Self> {
        if frame.len() < ip + IPV6_LEN {
            return Err(WireError::new("ipv6_header", ip, ErrorKind::Truncated));
        }
        let h = &frame[ip..];
        if h[0] >> 4 != 6 {
            return Err(WireError::new("ipv6_version", ip, ErrorKind::BadValue));
        }
        if h[6] != IPPROTO_UDP {
            return Err(WireError::new(
                "ipv6_next_header",
                ip + 6,
                ErrorKind::Unsupported,
            ));
        }
        let plen = be::u16(h, 4) as usize;
        if plen < UDP_LEN || frame.len() < ip + IPV6_LEN + plen {
            return Err(WireError::new(
                "ipv6_payload_length",
                ip + 4,
                ErrorKind::BadLength,
            ));
        }
        let vtf = be::u32(h, 0);
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        src.copy_from_slice(&h[8..24]);
        dst.copy_from_slice(&h[24..40]);
        let ipr = Ipv6Repr {
            src,
            dst,
            traffic_class: (vtf >> 20) as u8,
            flow_label: vtf & 0x000f_ffff,
            hop_limit: h[7],
        };
        let udp_at = ip + IPV6_LEN;
        let udp = &frame[udp_at..udp_at + plen];
        let (ports, payload_len, csum) = Self::parse_udp(udp, udp_at)?;
        if csum == 0 || !Self::sum_ok(&src, &dst, udp) {
            return Err(WireError::new(
                "udp_checksum",
                udp_at + 6,
                ErrorKind::BadChecksum,
            ));
        }
        let ptp = udp_at + UDP_LEN;
        let payload = &frame[ptp..ptp + payload_len];
        // The trailer is whatever follows messageLength, if it is exactly two octets.
        let msg_len = if payload.len() >= 4 {
            be::u16(payload, 2) as usize
        } else {
            payload.len()
        };
        let ipv6_trailer_offset =
            (payload_len == msg_len + IPV6_TRAILER_LEN).then_some(ptp + msg_len);
        Ok(ParsedFrame {
            repr: FrameRepr {
                ethernet,
                network: NetworkRepr::Udp6(ipr, ports),
            },
            layout: FrameLayout {
                ptp_offset: ptp,
                payload_len,
                udp_offset: Some(udp_at),
                udp_checksum_in_use: true,
                ipv6_trailer_offset,
            },
            payload,
        })
    }

    /// Verifies the UDP checksum by summing with the checksum field included.
    fn sum_ok(src: &[u8], dst: &[u8], udp: &[u8]) -> bool {
        let mut acc = sum16(0, src);
        acc = sum16(acc, dst);
        acc += IPPROTO_UDP as u32 + udp.len() as u32;
        fold(sum16(acc, udp)) == 0xffff
    }

    /// Returns ports, payload length and the checksum field.
    fn parse_udp(udp: &[u8], at: usize) -> Result<(UdpPorts, usize, u16)> {
        if udp.len() < UDP_LEN {
            return Err(WireError::new("udp_header", at, ErrorKind::Truncated));
        }
        let ulen = be::u16(udp, 4) as usize;
        if ulen < UDP_LEN || ulen > udp.len() {
            return Err(WireError::new("udp_length", at + 4, ErrorKind::BadLength));
        }
        let ports = UdpPorts {
            src: be::u16(udp, 0),
            dst: be::u16(udp, 2),
        };
        if ports.dst != PORT_EVENT && ports.dst != PORT_GENERAL {
            return Err(WireError::new(
                "udp_destination_port",
                at + 2,
                ErrorKind::Unsupported,
            ));
        }
        Ok((ports, ulen - UDP_LEN, be::u16(udp, 6)))
    }
}

impl FrameRepr {
    /// Octets of encapsulation before the PTP message.
    pub const fn header_len(&self) -> usize {
        let eth = ETH_LEN
            + if self.ethernet.vlan.is_some() {
                VLAN_LEN
            } else {
                0
            };
        eth + match self.network {
            NetworkRepr::L2 => 0,
            NetworkRepr::Udp4(..) => IPV4_LEN + UDP_LEN,
            NetworkRepr::Udp6(..) => IPV6_LEN + UDP_LEN,
        }
    }

    /// Octets of trailer after the PTP message that [`Self::emit_headers`] expects for this
    /// encapsulation when `ipv6_trailer` is wanted: two for UDP/IPv6, otherwise none.
    pub const fn trailer_len(&self, ipv6_trailer: bool) -> usize {
        match self.network {
            NetworkRepr::Udp6(..) if ipv6_trailer => IPV6_TRAILER_LEN,
            _ => 0,
        }
    }

    /// Writes the encapsulation into `frame[..header_len()]` around a payload of
    /// `payload_len` octets already at `frame[header_len()..]`, computing every length and
    /// checksum. `frame` must be exactly `header_len() + payload_len` octets.
    pub fn emit_headers(&self, frame: &mut [u8], payload_len: usize) -> Result<FrameLayout> {
        let hl = self.header_len();
        super::check_out(frame, "frame", hl + payload_len)?;
        frame[0..6].copy_from_slice(&self.ethernet.dst.0);
        frame[6..12].copy_from_slice(&self.ethernet.src.0);
        let mut at = 12;
        if let Some(tag) = self.ethernet.vlan {
            be::put_u16(frame, at, ETHERTYPE_VLAN);
            be::put_u16(frame, at + 2, tag.tci());
            at += VLAN_LEN;
        }
        let ethertype = match self.network {
            NetworkRepr::L2 => ETHERTYPE_PTP,
            NetworkRepr::Udp4(..) => ETHERTYPE_IPV4,
            NetworkRepr::Udp6(..) => ETHERTYPE_IPV6,
        };
        be::put_u16(frame, at, ethertype);
        let ip = at + 2;
        let udp_len = UDP_LEN + payload_len;
        match self.network {
            NetworkRepr::L2 => Ok(FrameLayout {
                ptp_offset: ip,
                payload_len,
                udp_offset: None,
                udp_checksum_in_use: false,
                ipv6_trailer_offset: None,
            }),
            NetworkRepr::Udp4(r, ports) => {
                let total = IPV4_LEN + udp_len;
                if total > u16::MAX as usize {
                    return Err(WireError::new(
                        "ipv4_total_length",
                        ip + 2,
                        ErrorKind::BadLength,
                    ));
                }
                let h = &mut frame[ip..ip + IPV4_LEN];
                h[0] = 0x45;
                h[1] = r.dscp_ecn;
                be::put_u16(h, 2, total as u16);
                be::put_u16(h, 4, r.identification);
                be::put_u16(h, 6, r.flags_fragment);
                h[8] = r.ttl;
                h[9] = IPPROTO_UDP;
                be::put_u16(h, 10, 0);
                h[12..16].copy_from_slice(&r.src);
                h[16..20].copy_from_slice(&r.dst);
                let c = internet_checksum(h);
                be::put_u16(h, 10, c);
                let u = ip + IPV4_LEN;
                Self::emit_udp(&mut frame[u..], ports, udp_len, &r.src, &r.dst);
                Ok(FrameLayout {
                    ptp_offset: u + UDP_LEN,
                    payload_len,
                    udp_offset: Some(u),
                    udp_checksum_in_use: true,
                    ipv6_trailer_offset: None,
                })
            }
            NetworkRepr::Udp6(r, ports) => {
                if udp_len > u16::MAX as usize {
                    return Err(WireError::new(
                        "ipv6_payload_length",
                        ip + 4,
                        ErrorKind::BadLength,
                    ));
                }
                let h = &mut frame[ip..ip + IPV6_LEN];
                let vtf =
                    (6u32 << 28) | ((r.traffic_class as u32) << 20) | (r.flow_label & 0xfffff);
                be::put_u32(h, 0, vtf);
                be::put_u16(h, 4, udp_len as u16);
                h[6] = IPPROTO_UDP;
                h[7] = r.hop_limit;
                h[8..24].copy_from_slice(&r.src);
                h[24..40].copy_from_slice(&r.dst);
                let u = ip + IPV6_LEN;
                Self::emit_udp(&mut frame[u..], ports, udp_len, &r.src, &r.dst);
                let ptp = u + UDP_LEN;
                let msg_len = if payload_len >= 4 {
                    be::u16(frame, ptp + 2) as usize
                } else {
                    payload_len
                };
                Ok(FrameLayout {
                    ptp_offset: ptp,
                    payload_len,
                    udp_offset: Some(u),
                    udp_checksum_in_use: true,
                    ipv6_trailer_offset: (payload_len == msg_len + IPV6_TRAILER_LEN)
                        .then_some(ptp + msg_len),
                })
            }
        }
    }

    fn emit_udp(udp: &mut [u8], ports: UdpPorts, udp_len: usize, src: &[u8], dst: &[u8]) {
        be::put_u16(udp, 0, ports.src);
        be::put_u16(udp, 2, ports.dst);
        be::put_u16(udp, 4, udp_len as u16);
        be::put_u16(udp, 6, 0);
        let c = udp_checksum(src, dst, &udp[..udp_len]);
        be::put_u16(udp, 6, c);
    }
}

/// Rewrites `new.len()` octets at `ptp_at` within the PTP message of a built frame and keeps
/// the UDP checksum valid, in O(len) without touching the rest of the frame.
///
/// With an annex-D trailer (UDP/IPv6) the trailer absorbs the change and the checksum field
/// stays as it is (what a hardware one-step stamper relies on); otherwise the checksum is
/// updated incrementally (RFC 1624). `ptp_at` must be even, as every PTP field patched
/// on the fly is (correctionField at 8, timestamps at 34).
pub fn patch_in_place(
    frame: &mut [u8],
    layout: &FrameLayout,
    ptp_at: usize,
    new: &[u8],
) -> Result<()> {
    let start = layout.ptp_offset + ptp_at;
    let end = start + new.len();
    if ptp_at % 2 != 0 || end > layout.ptp_offset + layout.payload_len || end > frame.len() {
        return Err(WireError::new("patch", ptp_at, ErrorKind::BufferSize));
    }
    // Sum of (new - old) in ones' complement: add new, add !old.
    let old_sum = fold(sum16(0, &frame[start..end]));
    let new_sum = fold(sum16(0, new));
    frame[start..end].copy_from_slice(new);
    let Some(udp) = layout.udp_offset else {
        return Ok(());
    };
    if !layout.udp_checksum_in_use {
        return Ok(());
    }
    if let Some(tr) = layout.ipv6_trailer_offset {
        // Keep the total sum constant: trailer' = trailer + old - new.
        let t = be::u16(frame, tr);
        let t2 = fold(t as u32 + old_sum as u32 + (!new_sum) as u32);
        be::put_u16(frame, tr, t2);
    } else {
        // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
        let hc = be::u16(frame, udp + 6);
        let mut c = !fold((!hc) as u32 + (!old_sum) as u32 + new_sum as u32);
        if c == 0 {
            c = 0xffff;
        }
        be::put_u16(frame, udp + 6, c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> FrameRepr {
        FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress([0x01, 0x00, 0x5e, 0, 1, 0x81]),
                src: MacAddress([2, 0, 0, 0, 0, 1]),
                vlan: None,
            },
            network: NetworkRepr::Udp4(
                Ipv4Repr {
                    src: [10, 0, 0, 1],
                    dst: IPV4_PRIMARY,
                    dscp_ecn: 0xb8,
                    identification: 0x1234,
                    flags_fragment: 0x4000,
                    ttl: 1,
                },
                UdpPorts {
                    src: PORT_EVENT,
                    dst: PORT_EVENT,
                },
            ),
        }
    }

    fn v6(trailer: bool) -> (FrameRepr, Vec<u8>) {
        let r = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress([0x33, 0x33, 0, 0, 1, 0x81]),
                src: MacAddress([2, 0, 0, 0, 0, 1]),
                vlan: Some(VlanTag {
                    pcp: 7,
                    dei: false,
                    vid: 100,
                }),
            },
            network: NetworkRepr::Udp6(
                Ipv6Repr {
                    src: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                    dst: ipv6_primary(2),
                    traffic_class: 0xb8,
                    flow_label: 0x12345,
                    hop_limit: 1,
                },
                UdpPorts {
                    src: PORT_EVENT,
                    dst: PORT_EVENT,
                },
            ),
        };
        let mut payload = vec![0u8; 44];
        payload[3] = 44;
        payload[1] = 2;
        if trailer {
            payload.extend_from_slice(&[0, 0]);
        }
        (r, payload)
    }

    fn build(r: &FrameRepr, payload: &[u8]) -> (Vec<u8>, FrameLayout) {
        let mut f = vec![0xa5u8; r.header_len() + payload.len()];
        f[r.header_len()..].copy_from_slice(payload);
        let l = r.emit_headers(&mut f, payload.len()).unwrap();
        (f, l)
    }

    #[test]
    fn ipv4_roundtrip_and_checksums() {
        let r = v4();
        let payload = [7u8; 44];
        let (f, l) = build(&r, &payload);
        assert_eq!(internet_checksum(&f[14..34]), 0);
        let p = ParsedFrame::parse(&f).unwrap();
        assert_eq!(p.repr, r);
        assert_eq!(p.layout, l);
        assert_eq!(p.payload, &payload);
        let mut bad = f.clone();
        bad[50] ^= 1;
        let e = ParsedFrame::parse(&bad).unwrap_err();
        assert_eq!((e.field, e.offset), ("udp_checksum", 40));
        let mut bad = f.clone();
        bad[22] ^= 1;
        assert_eq!(ParsedFrame::parse(&bad).unwrap_err().field, "ipv4_checksum");
    }

    #[test]
    fn ipv6_vlan_roundtrip_with_trailer() {
        let (r, payload) = v6(true);
        let (f, l) = build(&r, &payload);
        assert_eq!(&f[12..16], &[0x81, 0x00, 0xe0, 100]);
        let p = ParsedFrame::parse(&f).unwrap();
        assert_eq!(p.repr, r);
        assert_eq!(p.layout.ipv6_trailer_offset, Some(l.ptp_offset + 44));
        assert_eq!(p.layout, l);
    }

    #[test]
    fn patch_keeps_checksums_valid() {
        let ts = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x0d, 0xef, 0x01, 0x23];
        for (r, payload) in [
            (v4(), vec![0x5au8; 44]),
            (v6(true).0, v6(true).1),
            (v6(false).0, v6(false).1),
        ] {
            let (mut f, l) = build(&r, &payload);
            let csum_before = be::u16(&f, l.udp_offset.unwrap() + 6);
            patch_in_place(&mut f, &l, 34, &ts).unwrap();
            let p = ParsedFrame::parse(&f).unwrap();
            assert_eq!(&p.payload[34..44], &ts);
            if l.ipv6_trailer_offset.is_some() {
                assert_eq!(be::u16(&f, l.udp_offset.unwrap() + 6), csum_before);
            }
        }
    }

    #[test]
    fn l2_and_rejections() {
        let mut f = vec![0u8; 14 + 44];
        f[..6].copy_from_slice(&MacAddress::PTP_PRIMARY.0);
        be::put_u16(&mut f, 12, ETHERTYPE_PTP);
        let p = ParsedFrame::parse(&f).unwrap();
        assert_eq!(p.repr.network, NetworkRepr::L2);
        assert_eq!(p.layout.ptp_offset, 14);
        be::put_u16(&mut f, 12, 0x0806);
        let e = ParsedFrame::parse(&f).unwrap_err();
        assert_eq!((e.field, e.offset), ("ethertype", 12));
        assert_eq!(ParsedFrame::parse(&f[..10]).unwrap_err().field, "ethernet");
        let (mut f, _) = build(&v4(), &[0u8; 44]);
        be::put_u16(&mut f, 36, 53);
        assert_eq!(
            ParsedFrame::parse(&f).unwrap_err().field,
            "udp_destination_port"
        );
    }
}
