//! IPv6 neighbour discovery (RFC 4861): the neighbour solicitation and advertisement a PTP
//! port over UDP/IPv6 has to answer and send, with the IPv6 header (RFC 8200) around them.
//!
//! * [`Ipv6Packet`] views an IPv6 header and its payload (`payloadLength` octets; Ethernet
//!   padding after them is ignored).
//! * [`NdpPacket`] views the ICMPv6 message of a solicitation (type 135) or an
//!   advertisement (type 136): type, code, checksum, flags, target address and the options,
//!   of which the source / target link-layer address options (Ethernet: one 8-octet unit)
//!   can be read and written.
//! * [`NdpRepr`] is the whole IPv6 packet as a value. Its `parse` enforces what RFC 4861
//!   section 7.1 asks of a receiver: next header 58, hop limit 255, code 0, a valid ICMPv6
//!   checksum over the pseudo-header, no option of length zero. Its `emit` writes the IPv6
//!   header and the message with the checksum filled in.

use super::frame::MacAddress;
use super::{be, check_out, need, ErrorKind, Result, WireError};

/// IPv6 next-header value of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// The hop limit of every neighbour discovery packet (the receiver checks it is unrouted).
pub const ND_HOP_LIMIT: u8 = 255;
/// ICMPv6 type of a neighbour solicitation.
pub const TYPE_NEIGHBOUR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a neighbour advertisement.
pub const TYPE_NEIGHBOUR_ADVERTISEMENT: u8 = 136;
/// Option type of the source link-layer address.
pub const OPTION_SOURCE_LINK_LAYER_ADDR: u8 = 1;
/// Option type of the target link-layer address.
pub const OPTION_TARGET_LINK_LAYER_ADDR: u8 = 2;
/// Octets of a link-layer address option carrying a MAC address (length field 1).
pub const LINK_LAYER_OPTION_LEN: usize = 8;

/// Field offsets within the IPv6 header (RFC 8200 section 3).
pub mod ipv6_field {
    /// Version (4 bits), traffic class (8 bits), flow label (20 bits): four octets.
    pub const VERSION_CLASS_FLOW: usize = 0;
    /// Payload length, u16.
    pub const PAYLOAD_LENGTH: usize = 4;
    /// Next header.
    pub const NEXT_HEADER: usize = 6;
    /// Hop limit.
    pub const HOP_LIMIT: usize = 7;
    /// Source address, sixteen octets.
    pub const SOURCE_ADDRESS: usize = 8;
    /// Destination address, sixteen octets.
    pub const DESTINATION_ADDRESS: usize = 24;
    /// End of the header; the payload follows.
    pub const PAYLOAD: usize = 40;
}

/// Field offsets within the ICMPv6 message of a solicitation or advertisement (RFC 4861
/// sections 4.3 and 4.4).
pub mod field {
    /// Type (135 or 136).
    pub const TYPE: usize = 0;
    /// Code (0).
    pub const CODE: usize = 1;
    /// Checksum, u16, over the IPv6 pseudo-header and the message.
    pub const CHECKSUM: usize = 2;
    /// Advertisement: R, S, O flags in the top bits, then reserved; solicitation: reserved.
    /// Four octets.
    pub const FLAGS: usize = 4;
    /// Target address, sixteen octets.
    pub const TARGET_ADDRESS: usize = 8;
    /// First option.
    pub const OPTIONS: usize = 24;
}

/// Flags of a neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NdFlags {
    /// R: the sender is a router.
    pub router: bool,
    /// S: sent in response to a solicitation.
    pub solicited: bool,
    /// O: the advertisement should override a cached link-layer address.
    pub override_: bool,
}

impl NdFlags {
    const ROUTER: u8 = 0x80;
    const SOLICITED: u8 = 0x40;
    const OVERRIDE: u8 = 0x20;

    /// From the first flag octet (the other bits are reserved).
    pub const fn from_octet(b: u8) -> Self {
        NdFlags {
            router: b & Self::ROUTER != 0,
            solicited: b & Self::SOLICITED != 0,
            override_: b & Self::OVERRIDE != 0,
        }
    }

    /// The first flag octet.
    pub const fn octet(self) -> u8 {
        (if self.router { Self::ROUTER } else { 0 })
            | (if self.solicited { Self::SOLICITED } else { 0 })
            | (if self.override_ { Self::OVERRIDE } else { 0 })
    }
}

fn addr_at(b: &[u8], at: usize) -> [u8; 16] {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    a
}

/// The ICMPv6 checksum of `icmp` (with its checksum field as it is) under the pseudo-header
/// of `src`, `dst`: the folded ones'-complement sum, not yet complemented. A message whose
/// checksum is right sums to 0xffff.
fn icmpv6_sum(src: &[u8; 16], dst: &[u8; 16], icmp: &[u8]) -> u16 {
    fn words(mut acc: u64, data: &[u8]) -> u64 {
        let mut c = data.chunks_exact(2);
        for w in &mut c {
            acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
        }
        if let [last] = c.remainder() {
            acc += u64::from(*last) << 8;
        }
        acc
    }
    let len = icmp.len() as u64;
    let mut acc = words(0, src);
    acc = words(acc, dst);
    acc += (len >> 16) + (len & 0xffff) + u64::from(IPPROTO_ICMPV6);
    acc = words(acc, icmp);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// A zero-copy view of an IPv6 header and its payload at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Length of the header in octets.
    pub const HEADER_LEN: usize = ipv6_field::PAYLOAD;

    /// Wraps a buffer without checks. Accessors panic if it is shorter than the header plus
    /// the payload length; use [`Self::new_checked`] on untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer after checking it holds an IPv6 header and the whole payload.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Ipv6Packet { buffer };
        p.check()?;
        Ok(p)
    }

    /// Checks the version and that the header and `payloadLength` octets are in the buffer.
    pub fn check(&self) -> Result<()> {
        use ipv6_field as f;
        let b = self.buffer.as_ref();
        need(b, "ipv6_version", f::VERSION_CLASS_FLOW, f::PAYLOAD_LENGTH)?;
        if self.version() != 6 {
            return Err(WireError::new(
                "ipv6_version",
                f::VERSION_CLASS_FLOW,
                ErrorKind::BadValue,
            ));
        }
        need(b, "ipv6_payload_length", f::PAYLOAD_LENGTH, f::NEXT_HEADER)?;
        need(b, "ipv6_next_header", f::NEXT_HEADER, f::HOP_LIMIT)?;
        need(b, "ipv6_hop_limit", f::HOP_LIMIT, f::SOURCE_ADDRESS)?;
        need(
            b,
            "ipv6_source_address",
            f::SOURCE_ADDRESS,
            f::DESTINATION_ADDRESS,
        )?;
        need(
            b,
            "ipv6_destination_address",
            f::DESTINATION_ADDRESS,
            f::PAYLOAD,
        )?;
        if b.len() - f::PAYLOAD < usize::from(self.payload_len()) {
            return Err(WireError::new(
                "ipv6_payload_length",
                f::PAYLOAD_LENGTH,
                ErrorKind::BadLength,
            ));
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Version, 4 bits (6).
    pub fn version(&self) -> u8 {
        self.b()[ipv6_field::VERSION_CLASS_FLOW] >> 4
    }
    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        (be::u16(self.b(), ipv6_field::VERSION_CLASS_FLOW) >> 4) as u8
    }
    /// Flow label, 20 bits.
    pub fn flow_label(&self) -> u32 {
        be::u32(self.b(), ipv6_field::VERSION_CLASS_FLOW) & 0x000f_ffff
    }
    /// Payload length: octets after the header.
    pub fn payload_len(&self) -> u16 {
        be::u16(self.b(), ipv6_field::PAYLOAD_LENGTH)
    }
    /// Next header (58 for ICMPv6).
    pub fn next_header(&self) -> u8 {
        self.b()[ipv6_field::NEXT_HEADER]
    }
    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.b()[ipv6_field::HOP_LIMIT]
    }
    /// Source address.
    pub fn src_addr(&self) -> [u8; 16] {
        addr_at(self.b(), ipv6_field::SOURCE_ADDRESS)
    }
    /// Destination address.
    pub fn dst_addr(&self) -> [u8; 16] {
        addr_at(self.b(), ipv6_field::DESTINATION_ADDRESS)
    }
    /// The payload: `payloadLength` octets after the header.
    pub fn payload(&self) -> &[u8] {
        let at = ipv6_field::PAYLOAD;
        &self.b()[at..at + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version, traffic class and flow label (20 bits) together: the four first octets.
    pub fn set_version_class_flow(&mut self, version: u8, traffic_class: u8, flow_label: u32) {
        let v = (u32::from(version & 0x0f) << 28)
            | (u32::from(traffic_class) << 20)
            | (flow_label & 0x000f_ffff);
        be::put_u32(self.m(), ipv6_field::VERSION_CLASS_FLOW, v);
    }
    /// Sets the payload length.
    pub fn set_payload_len(&mut self, v: u16) {
        be::put_u16(self.m(), ipv6_field::PAYLOAD_LENGTH, v);
    }
    /// Sets the next header.
    pub fn set_next_header(&mut self, v: u8) {
        self.m()[ipv6_field::NEXT_HEADER] = v;
    }
    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, v: u8) {
        self.m()[ipv6_field::HOP_LIMIT] = v;
    }
    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: [u8; 16]) {
        let at = ipv6_field::SOURCE_ADDRESS;
        self.m()[at..at + 16].copy_from_slice(&a);
    }
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: [u8; 16]) {
        let at = ipv6_field::DESTINATION_ADDRESS;
        self.m()[at..at + 16].copy_from_slice(&a);
    }
    /// The payload, mutable: `payloadLength` octets after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = ipv6_field::PAYLOAD;
        let len = usize::from(self.payload_len());
        &mut self.m()[at..at + len]
    }
}

/// Walks the options from `at`: `Some((type, offset, length in octets))` of the next one,
/// `None` at the end or at a malformed option (never a panic, checked or not).
fn next_option(b: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let kind = *b.get(at)?;
    let len = usize::from(*b.get(at + 1)?) * 8;
    (len != 0 && b.len() >= at + len).then_some((kind, at, len))
}

/// A zero-copy view of the ICMPv6 message of a neighbour solicitation or advertisement: the
/// whole IPv6 payload, options included.
#[derive(Debug, Clone, Copy)]
pub struct NdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> NdpPacket<T> {
    /// Length of the fixed part, before the options.
    pub const LEN: usize = field::OPTIONS;

    /// Wraps a buffer without checks. Accessors panic if it is shorter than [`Self::LEN`];
    /// use [`Self::new_checked`] on untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        NdpPacket { buffer }
    }

    /// Wraps a buffer (exactly the ICMPv6 message) after checking type, code and lengths.
    /// The checksum needs the IPv6 addresses: see [`Self::verify_checksum`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = NdpPacket { buffer };
        p.check()?;
        Ok(p)
    }

    /// Checks the type (135 or 136), the code (0), the fixed part and that every option
    /// has a non-zero length and ends within the buffer.
    pub fn check(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        need(b, "icmpv6_type", field::TYPE, field::CODE)?;
        let t = self.msg_type();
        if t != TYPE_NEIGHBOUR_SOLICITATION && t != TYPE_NEIGHBOUR_ADVERTISEMENT {
            return Err(WireError::new(
                "icmpv6_type",
                field::TYPE,
                ErrorKind::Unsupported,
            ));
        }
        need(b, "icmpv6_code", field::CODE, field::CHECKSUM)?;
        if self.code() != 0 {
            return Err(WireError::new(
                "icmpv6_code",
                field::CODE,
                ErrorKind::BadValue,
            ));
        }
        need(b, "icmpv6_checksum", field::CHECKSUM, field::FLAGS)?;
        need(b, "nd_flags", field::FLAGS, field::TARGET_ADDRESS)?;
        need(
            b,
            "nd_target_address",
            field::TARGET_ADDRESS,
            field::OPTIONS,
        )?;
        let mut at = field::OPTIONS;
        while at < b.len() {
            need(b, "nd_option_length", at + 1, at + 2)?;
            let len = usize::from(b[at + 1]) * 8;
            if len == 0 {
                return Err(WireError::new(
                    "nd_option_length",
                    at + 1,
                    ErrorKind::BadLength,
                ));
            }
            need(b, "nd_option", at, at + len)?;
            at += len;
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Type: 135 (solicitation) or 136 (advertisement).
    pub fn msg_type(&self) -> u8 {
        self.b()[field::TYPE]
    }
    /// Code (0).
    pub fn code(&self) -> u8 {
        self.b()[field::CODE]
    }
    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be::u16(self.b(), field::CHECKSUM)
    }
    /// The advertisement flags (meaningless in a solicitation, where the octet is reserved).
    pub fn flags(&self) -> NdFlags {
        NdFlags::from_octet(self.b()[field::FLAGS])
    }
    /// Target address.
    pub fn target_addr(&self) -> [u8; 16] {
        addr_at(self.b(), field::TARGET_ADDRESS)
    }
    /// The options, undecoded.
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..]
    }
    /// The MAC address in the first link-layer address option of type `kind`
    /// ([`OPTION_SOURCE_LINK_LAYER_ADDR`] or [`OPTION_TARGET_LINK_LAYER_ADDR`]) that is one
    /// 8-octet unit long (Ethernet); `None` if there is none.
    pub fn link_layer_addr(&self, kind: u8) -> Option<MacAddress> {
        let b = self.b();
        let mut at = field::OPTIONS;
        while let Some((k, o, len)) = next_option(b, at) {
            if k == kind && len == LINK_LAYER_OPTION_LEN {
                let mut m = [0u8; 6];
                m.copy_from_slice(&b[o + 2..o + 8]);
                return Some(MacAddress(m));
            }
            at = o + len;
        }
        None
    }
    /// Whether the checksum verifies under the pseudo-header of `src` and `dst` (the
    /// enclosing IPv6 addresses; the upper-layer length is the buffer's).
    pub fn verify_checksum(&self, src: &[u8; 16], dst: &[u8; 16]) -> bool {
        icmpv6_sum(src, dst, self.b()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> NdpPacket<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the type.
    pub fn set_msg_type(&mut self, v: u8) {
        self.m()[field::TYPE] = v;
    }
    /// Sets the code.
    pub fn set_code(&mut self, v: u8) {
        self.m()[field::CODE] = v;
    }
    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        be::put_u16(self.m(), field::CHECKSUM, v);
    }
    /// Sets the flags; the reserved bits (and the other three octets) become zero.
    pub fn set_flags(&mut self, f: NdFlags) {
        be::put_u32(self.m(), field::FLAGS, u32::from(f.octet()) << 24);
    }
    /// Sets the target address.
    pub fn set_target_addr(&mut self, a: [u8; 16]) {
        let at = field::TARGET_ADDRESS;
        self.m()[at..at + 16].copy_from_slice(&a);
    }
    /// The options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.m()[field::OPTIONS..]
    }
    /// Computes the checksum under the pseudo-header of `src` and `dst` and writes it.
    pub fn fill_checksum(&mut self, src: &[u8; 16], dst: &[u8; 16]) {
        self.set_checksum(0);
        let c = !icmpv6_sum(src, dst, self.b());
        self.set_checksum(c);
    }
}

/// A neighbour discovery message as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpMessage {
    /// Type 135: "who has `target_addr`?"
    NeighbourSolicitation {
        /// The address asked about.
        target_addr: [u8; 16],
        /// The solicitor's MAC (source link-layer address option), if included.
        source_link_layer_addr: Option<MacAddress>,
    },
    /// Type 136: "`target_addr` is at `target_link_layer_addr`".
    NeighbourAdvertisement {
        /// R, S, O.
        flags: NdFlags,
        /// The address advertised.
        target_addr: [u8; 16],
        /// Its MAC (target link-layer address option), if included.
        target_link_layer_addr: Option<MacAddress>,
    },
}

/// A neighbour discovery packet as a value: the IPv6 addresses and the message. The other
/// IPv6 fields are fixed (traffic class and flow label zero on emission, hop limit 255, next
/// header 58) or derived (payload length, checksum); options other than the link-layer
/// address of the message's own kind are skipped on parsing and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdpRepr {
    /// IPv6 source address (unspecified, ::, for duplicate address detection).
    pub src_addr: [u8; 16],
    /// IPv6 destination address.
    pub dst_addr: [u8; 16],
    /// The message.
    pub message: NdpMessage,
}

impl NdpRepr {
    /// Checks and reads a neighbour solicitation or advertisement in a checked IPv6 packet:
    /// next header 58, hop limit 255, a well-formed message with a valid checksum. Offsets in
    /// errors are from the start of the IPv6 header.
    pub fn parse<T: AsRef<[u8]>>(ip: &Ipv6Packet<T>) -> Result<Self> {
        if ip.next_header() != IPPROTO_ICMPV6 {
            return Err(WireError::new(
                "ipv6_next_header",
                ipv6_field::NEXT_HEADER,
                ErrorKind::Unsupported,
            ));
        }
        if ip.hop_limit() != ND_HOP_LIMIT {
            return Err(WireError::new(
                "ipv6_hop_limit",
                ipv6_field::HOP_LIMIT,
                ErrorKind::BadValue,
            ));
        }
        let base = ipv6_field::PAYLOAD;
        let nd = NdpPacket::new_checked(ip.payload()).map_err(|e| e.shifted(base))?;
        let (src_addr, dst_addr) = (ip.src_addr(), ip.dst_addr());
        if !nd.verify_checksum(&src_addr, &dst_addr) {
            return Err(WireError::new(
                "icmpv6_checksum",
                base + field::CHECKSUM,
                ErrorKind::BadChecksum,
            ));
        }
        let message = if nd.msg_type() == TYPE_NEIGHBOUR_SOLICITATION {
            NdpMessage::NeighbourSolicitation {
                target_addr: nd.target_addr(),
                source_link_layer_addr: nd.link_layer_addr(OPTION_SOURCE_LINK_LAYER_ADDR),
            }
        } else {
            NdpMessage::NeighbourAdvertisement {
                flags: nd.flags(),
                target_addr: nd.target_addr(),
                target_link_layer_addr: nd.link_layer_addr(OPTION_TARGET_LINK_LAYER_ADDR),
            }
        };
        Ok(NdpRepr {
            src_addr,
            dst_addr,
            message,
        })
    }

    /// Checks and parses the IPv6 packet at the start of `buf`.
    pub fn parse_bytes(buf: &[u8]) -> Result<Self> {
        Self::parse(&Ipv6Packet::new_checked(buf)?)
    }

    /// Octets of the ICMPv6 message: 24, plus 8 with a link-layer address option.
    pub const fn icmp_len(&self) -> usize {
        let ll = match self.message {
            NdpMessage::NeighbourSolicitation {
                source_link_layer_addr: l,
                ..
            }
            | NdpMessage::NeighbourAdvertisement {
                target_link_layer_addr: l,
                ..
            } => l,
        };
        NdpPacket::<&[u8]>::LEN
            + if ll.is_some() {
                LINK_LAYER_OPTION_LEN
            } else {
                0
            }
    }

    /// Octets needed to emit the IPv6 packet: the 40-octet header and the message.
    pub const fn buffer_len(&self) -> usize {
        Ipv6Packet::<&[u8]>::HEADER_LEN + self.icmp_len()
    }

    /// Writes the IPv6 packet into a buffer of exactly [`Self::buffer_len`] octets,
    /// checksum included.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        check_out(buf, "ipv6_packet", self.buffer_len())?;
        let mut ip = Ipv6Packet::new_unchecked(buf);
        ip.set_version_class_flow(6, 0, 0);
        ip.set_payload_len(self.icmp_len() as u16);
        ip.set_next_header(IPPROTO_ICMPV6);
        ip.set_hop_limit(ND_HOP_LIMIT);
        ip.set_src_addr(self.src_addr);
        ip.set_dst_addr(self.dst_addr);
        let mut nd = NdpPacket::new_unchecked(ip.payload_mut());
        let (kind, target, flags, option, ll) = match self.message {
            NdpMessage::NeighbourSolicitation {
                target_addr,
                source_link_layer_addr,
            } => (
                TYPE_NEIGHBOUR_SOLICITATION,
                target_addr,
                NdFlags::default(),
                OPTION_SOURCE_LINK_LAYER_ADDR,
                source_link_layer_addr,
            ),
            NdpMessage::NeighbourAdvertisement {
                flags,
                target_addr,
                target_link_layer_addr,
            } => (
                TYPE_NEIGHBOUR_ADVERTISEMENT,
                target_addr,
                flags,
                OPTION_TARGET_LINK_LAYER_ADDR,
                target_link_layer_addr,
            ),
        };
        nd.set_msg_type(kind);
        nd.set_code(0);
        nd.set_flags(flags);
        nd.set_target_addr(target);
        if let Some(mac) = ll {
            let o = nd.options_mut();
            o[0] = option;
            o[1] = (LINK_LAYER_OPTION_LEN / 8) as u8;
            o[2..LINK_LAYER_OPTION_LEN].copy_from_slice(&mac.0);
        }
        nd.fill_checksum(&self.src_addr, &self.dst_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const PEER: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    fn advert() -> NdpRepr {
        NdpRepr {
            src_addr: OURS,
            dst_addr: PEER,
            message: NdpMessage::NeighbourAdvertisement {
                flags: NdFlags {
                    router: false,
                    solicited: true,
                    override_: true,
                },
                target_addr: OURS,
                target_link_layer_addr: Some(MacAddress([2, 0, 0, 0, 0, 1])),
            },
        }
    }

    /// A solicitation from PEER for OURS to its solicited-node group, as a host sends it.
    fn solicitation() -> NdpRepr {
        NdpRepr {
            src_addr: PEER,
            dst_addr: [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1],
            message: NdpMessage::NeighbourSolicitation {
                target_addr: OURS,
                source_link_layer_addr: Some(MacAddress([2, 0, 0, 0, 0, 2])),
            },
        }
    }

    fn emitted(r: &NdpRepr) -> Vec<u8> {
        let mut buf = vec![0xa5u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        buf
    }

    #[test]
    fn advert_writes_every_byte_and_parses_back() {
        let r = advert();
        let buf = emitted(&r);
        assert_eq!(buf.len(), 72);
        let mut want = vec![0x60, 0, 0, 0, 0, 32, 58, 255];
        want.extend_from_slice(&OURS);
        want.extend_from_slice(&PEER);
        want.extend_from_slice(&[136, 0, 0, 0, 0x60, 0, 0, 0]);
        want.extend_from_slice(&OURS);
        want.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, 1]);
        // The checksum, computed by hand: pseudo-header and message as 16-bit words.
        let mut sum: u32 = 0xfe80 * 2 + 1 + 2 + 32 + 58;
        sum += (136 << 8) + 0x6000 + 0xfe80 + 1 + 0x0201 + 0x0200 + 1;
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let c = !(sum as u16);
        want[42..44].copy_from_slice(&c.to_be_bytes());
        assert_eq!(buf, want);
        let ip = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (ip.version(), ip.payload_len(), ip.hop_limit()),
            (6, 32, 255)
        );
        let nd = NdpPacket::new_checked(ip.payload()).unwrap();
        assert!(nd.verify_checksum(&OURS, &PEER));
        assert_eq!(nd.checksum(), c);
        assert_eq!(NdpRepr::parse(&ip), Ok(r));
        // Ethernet padding after the payload is ignored.
        let mut padded = buf.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(NdpRepr::parse_bytes(&padded), Ok(r));
    }

    #[test]
    fn solicitations_round_trip_with_and_without_option() {
        let r = solicitation();
        let buf = emitted(&r);
        assert_eq!(&buf[40..48], &[135, 0, buf[42], buf[43], 0, 0, 0, 0]);
        assert_eq!(&buf[64..72], &[1, 1, 2, 0, 0, 0, 0, 2]);
        assert_eq!(NdpRepr::parse_bytes(&buf), Ok(r));
        // Duplicate address detection: from ::, no option.
        let dad = NdpRepr {
            src_addr: [0; 16],
            message: NdpMessage::NeighbourSolicitation {
                target_addr: OURS,
                source_link_layer_addr: None,
            },
            ..r
        };
        let buf = emitted(&dad);
        assert_eq!(buf.len(), 64);
        assert_eq!(NdpRepr::parse_bytes(&buf), Ok(dad));
    }

    #[test]
    fn unknown_options_are_skipped_and_zero_length_ones_refused() {
        let r = solicitation();
        let base = emitted(&r);
        // A nonce option (14, one unit) before the link-layer address.
        let mut buf = base[..64].to_vec();
        buf.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        buf.extend_from_slice(&base[64..]);
        buf[5] = 40;
        let mut nd = NdpPacket::new_unchecked(&mut buf[40..]);
        nd.fill_checksum(&PEER, &r.dst_addr);
        assert_eq!(NdpRepr::parse_bytes(&buf), Ok(r));
        // Length zero.
        buf[65] = 0;
        let e = NdpRepr::parse_bytes(&buf).unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("nd_option_length", 65, ErrorKind::BadLength)
        );
        // Running past the end.
        buf[65] = 3;
        let e = NdpRepr::parse_bytes(&buf).unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("nd_option", 64, ErrorKind::Truncated)
        );
    }

    #[test]
    fn truncation_at_every_length_never_panics() {
        for r in [advert(), solicitation()] {
            let buf = emitted(&r);
            for n in 0..buf.len() {
                let e = NdpRepr::parse_bytes(&buf[..n]).unwrap_err();
                let want = if n < 40 {
                    ErrorKind::Truncated
                } else {
                    ErrorKind::BadLength
                };
                assert_eq!(e.kind, want, "{n}");
                // With the payload length cut to match: the message itself is short.
                if n >= 40 {
                    let mut b = buf[..n].to_vec();
                    b[4..6].copy_from_slice(&((n - 40) as u16).to_be_bytes());
                    assert!(NdpRepr::parse_bytes(&b).is_err(), "{n}");
                    let _ = NdpPacket::new_checked(&b[40..])
                        .map(|p| (p.link_layer_addr(1), p.link_layer_addr(2), p.flags()));
                }
            }
            // Option walking stays in bounds on any length, checked view or not.
            for n in 0..=buf.len() - 40 {
                let icmp = &buf[40..40 + n];
                assert_eq!(
                    NdpPacket::new_checked(icmp).is_ok(),
                    n == 24 || n == 32,
                    "{n}"
                );
                let p = NdpPacket::new_unchecked(icmp);
                let ll = p
                    .link_layer_addr(OPTION_SOURCE_LINK_LAYER_ADDR)
                    .or(p.link_layer_addr(OPTION_TARGET_LINK_LAYER_ADDR));
                assert_eq!(ll.is_some(), n == 32, "{n}");
            }
        }
        let e = Ipv6Packet::new_checked(&[0x60u8; 39][..]).unwrap_err();
        assert_eq!((e.field, e.offset), ("ipv6_destination_address", 24));
        let e = NdpPacket::new_checked(&[136u8, 0, 0][..]).unwrap_err();
        assert_eq!((e.field, e.offset), ("icmpv6_checksum", 2));
    }

    #[test]
    fn bad_checksum_and_fields_are_rejected() {
        let buf = emitted(&advert());
        // Every single-bit change in the pseudo-header addresses or the message breaks the
        // checksum (or, for type and code, the message).
        for at in (8..40).chain(40..72) {
            let mut b = buf.clone();
            b[at] ^= 0x10;
            let e = NdpRepr::parse_bytes(&b).unwrap_err();
            let want = match at {
                40 => ("icmpv6_type", ErrorKind::Unsupported),
                41 => ("icmpv6_code", ErrorKind::BadValue),
                65 => ("nd_option", ErrorKind::Truncated),
                _ => ("icmpv6_checksum", ErrorKind::BadChecksum),
            };
            assert_eq!((e.field, e.kind), want, "octet {at}");
        }
        let mut b = buf.clone();
        b[7] = 254;
        let e = NdpRepr::parse_bytes(&b).unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("ipv6_hop_limit", 7, ErrorKind::BadValue)
        );
        let mut b = buf.clone();
        b[6] = 17;
        let e = NdpRepr::parse_bytes(&b).unwrap_err();
        assert_eq!((e.field, e.offset), ("ipv6_next_header", 6));
        let mut b = buf.clone();
        b[0] = 0x40;
        assert_eq!(NdpRepr::parse_bytes(&b).unwrap_err().field, "ipv6_version");
        let mut b = buf;
        b[40] = 128; // echo request
        let e = NdpRepr::parse_bytes(&b).unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("icmpv6_type", 40, ErrorKind::Unsupported)
        );
        assert_eq!(
            advert().emit(&mut [0u8; 71]).unwrap_err().kind,
            ErrorKind::BufferSize
        );
    }

    #[test]
    fn ipv6_view_reads_and_writes_class_and_flow() {
        let mut buf = [0u8; 40];
        let mut ip = Ipv6Packet::new_unchecked(&mut buf[..]);
        ip.set_version_class_flow(6, 0xb8, 0x12345);
        let ip = Ipv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(
            (ip.version(), ip.traffic_class(), ip.flow_label()),
            (6, 0xb8, 0x12345)
        );
        assert!(ip.payload().is_empty());
    }

    #[test]
    fn flags_octet_round_trips() {
        for b in [0u8, 0x20, 0x40, 0x60, 0x80, 0xe0] {
            assert_eq!(NdFlags::from_octet(b).octet(), b);
        }
        assert_eq!(NdFlags::from_octet(0x1f), NdFlags::default());
    }
}
