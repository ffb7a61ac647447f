//! ARP for IPv4 over Ethernet (RFC 826), the only ARP a PTP port over UDP/IPv4 meets:
//! hardware type 1 (Ethernet), protocol type 0x0800 (IPv4), address lengths 6 and 4.
//!
//! [`ArpPacket`] views the 28 octets after the Ethernet (802.1Q) header; its `new_checked`
//! refuses any other hardware or protocol. [`ArpRepr`] is the packet as a value. Octets after
//! the 28 (Ethernet padding) are ignored on parsing and never written.

use super::frame::{MacAddress, ETHERTYPE_IPV4};
use super::{be, check_out, need, ErrorKind, Result, WireError};

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// `htype` of Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;
/// `ptype` of IPv4 (its EtherType).
pub const PTYPE_IPV4: u16 = ETHERTYPE_IPV4;

/// Field offsets within the packet (RFC 826, for 6-octet hardware and 4-octet protocol
/// addresses).
pub mod field {
    /// `htype` (ar$hrd), hardware address space, u16.
    pub const HTYPE: usize = 0;
    /// `ptype` (ar$pro), protocol address space, u16.
    pub const PTYPE: usize = 2;
    /// `hlen` (ar$hln), octets of a hardware address.
    pub const HLEN: usize = 4;
    /// `plen` (ar$pln), octets of a protocol address.
    pub const PLEN: usize = 5;
    /// `oper` (ar$op), u16.
    pub const OPER: usize = 6;
    /// `sha` (ar$sha), sender hardware address, six octets.
    pub const SHA: usize = 8;
    /// `spa` (ar$spa), sender protocol address, four octets.
    pub const SPA: usize = 14;
    /// `tha` (ar$tha), target hardware address, six octets.
    pub const THA: usize = 18;
    /// `tpa` (ar$tpa), target protocol address, four octets.
    pub const TPA: usize = 24;
    /// End of the packet.
    pub const END: usize = 28;
}

/// `oper`. Values other than request and reply are kept, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// 1: who has `tpa`? Tell `spa`.
    Request,
    /// 2: `spa` is at `sha`.
    Reply,
    /// Any other value (RARP, InARP, ...).
    Other(u16),
}

impl ArpOperation {
    /// From the field's value.
    pub const fn from_u16(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            v => ArpOperation::Other(v),
        }
    }

    /// The field's value.
    pub const fn value(self) -> u16 {
        match self {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Other(v) => v,
        }
    }
}

fn mac_at(b: &[u8], at: usize) -> MacAddress {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    MacAddress(m)
}

fn ipv4_at(b: &[u8], at: usize) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    a
}

/// A zero-copy view of an ARP packet (Ethernet, IPv4) at the start of a buffer.
#[derive(Debug, Clone, Copy)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Length of the packet in octets.
    pub const LEN: usize = field::END;

    /// Wraps a buffer without checks. Accessors panic if it is shorter than [`Self::LEN`];
    /// use [`Self::new_checked`] on untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wraps a buffer after checking it holds a whole packet for Ethernet and IPv4.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = ArpPacket { buffer };
        p.check()?;
        Ok(p)
    }

    /// Checks the address spaces and lengths, and that every field is in the buffer.
    pub fn check(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        need(b, "htype", field::HTYPE, field::PTYPE)?;
        if self.htype() != HTYPE_ETHERNET {
            return Err(WireError::new(
                "htype",
                field::HTYPE,
                ErrorKind::Unsupported,
            ));
        }
        need(b, "ptype", field::PTYPE, field::HLEN)?;
        if self.ptype() != PTYPE_IPV4 {
            return Err(WireError::new(
                "ptype",
                field::PTYPE,
                ErrorKind::Unsupported,
            ));
        }
        need(b, "hlen", field::HLEN, field::PLEN)?;
        if self.hlen() != 6 {
            return Err(WireError::new("hlen", field::HLEN, ErrorKind::BadValue));
        }
        need(b, "plen", field::PLEN, field::OPER)?;
        if self.plen() != 4 {
            return Err(WireError::new("plen", field::PLEN, ErrorKind::BadValue));
        }
        need(b, "oper", field::OPER, field::SHA)?;
        need(b, "sha", field::SHA, field::SPA)?;
        need(b, "spa", field::SPA, field::THA)?;
        need(b, "tha", field::THA, field::TPA)?;
        need(b, "tpa", field::TPA, field::END)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// `htype`: hardware address space (1 for Ethernet).
    pub fn htype(&self) -> u16 {
        be::u16(self.b(), field::HTYPE)
    }
    /// `ptype`: protocol address space (0x0800 for IPv4).
    pub fn ptype(&self) -> u16 {
        be::u16(self.b(), field::PTYPE)
    }
    /// `hlen`: octets of a hardware address.
    pub fn hlen(&self) -> u8 {
        self.b()[field::HLEN]
    }
    /// `plen`: octets of a protocol address.
    pub fn plen(&self) -> u8 {
        self.b()[field::PLEN]
    }
    /// `oper`.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from_u16(be::u16(self.b(), field::OPER))
    }
    /// `sha`: sender hardware address.
    pub fn sender_hardware_addr(&self) -> MacAddress {
        mac_at(self.b(), field::SHA)
    }
    /// `spa`: sender protocol address.
    pub fn sender_protocol_addr(&self) -> [u8; 4] {
        ipv4_at(self.b(), field::SPA)
    }
    /// `tha`: target hardware address.
    pub fn target_hardware_addr(&self) -> MacAddress {
        mac_at(self.b(), field::THA)
    }
    /// `tpa`: target protocol address.
    pub fn target_protocol_addr(&self) -> [u8; 4] {
        ipv4_at(self.b(), field::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets `htype`.
    pub fn set_htype(&mut self, v: u16) {
        be::put_u16(self.m(), field::HTYPE, v);
    }
    /// Sets `ptype`.
    pub fn set_ptype(&mut self, v: u16) {
        be::put_u16(self.m(), field::PTYPE, v);
    }
    /// Sets `hlen`.
    pub fn set_hlen(&mut self, v: u8) {
        self.m()[field::HLEN] = v;
    }
    /// Sets `plen`.
    pub fn set_plen(&mut self, v: u8) {
        self.m()[field::PLEN] = v;
    }
    /// Sets `oper`.
    pub fn set_operation(&mut self, op: ArpOperation) {
        be::put_u16(self.m(), field::OPER, op.value());
    }
    /// Sets `sha`.
    pub fn set_sender_hardware_addr(&mut self, a: MacAddress) {
        self.m()[field::SHA..field::SPA].copy_from_slice(&a.0);
    }
    /// Sets `spa`.
    pub fn set_sender_protocol_addr(&mut self, a: [u8; 4]) {
        self.m()[field::SPA..field::THA].copy_from_slice(&a);
    }
    /// Sets `tha`.
    pub fn set_target_hardware_addr(&mut self, a: MacAddress) {
        self.m()[field::THA..field::TPA].copy_from_slice(&a.0);
    }
    /// Sets `tpa`.
    pub fn set_target_protocol_addr(&mut self, a: [u8; 4]) {
        self.m()[field::TPA..field::END].copy_from_slice(&a);
    }
}

/// An ARP packet (Ethernet, IPv4) as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// `oper`.
    pub operation: ArpOperation,
    /// `sha`.
    pub sender_hardware_addr: MacAddress,
    /// `spa`.
    pub sender_protocol_addr: [u8; 4],
    /// `tha` (ignored in requests; usually zero).
    pub target_hardware_addr: MacAddress,
    /// `tpa`.
    pub target_protocol_addr: [u8; 4],
}

impl ArpRepr {
    /// Reads every field of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Self {
        ArpRepr {
            operation: p.operation(),
            sender_hardware_addr: p.sender_hardware_addr(),
            sender_protocol_addr: p.sender_protocol_addr(),
            target_hardware_addr: p.target_hardware_addr(),
            target_protocol_addr: p.target_protocol_addr(),
        }
    }

    /// Checks and parses the packet at the start of `buf`.
    pub fn parse_bytes(buf: &[u8]) -> Result<Self> {
        Ok(Self::parse(&ArpPacket::new_checked(buf)?))
    }

    /// Octets needed to emit: always [`ArpPacket::LEN`].
    pub const fn buffer_len(&self) -> usize {
        ArpPacket::<&[u8]>::LEN
    }

    /// The reply to this request from the owner of `tpa`, at `mac`: "`tpa` is at `mac`",
    /// addressed to the requester.
    pub const fn reply_from(&self, mac: MacAddress) -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Reply,
            sender_hardware_addr: mac,
            sender_protocol_addr: self.target_protocol_addr,
            target_hardware_addr: self.sender_hardware_addr,
            target_protocol_addr: self.sender_protocol_addr,
        }
    }

    /// Writes the packet into a buffer of exactly [`Self::buffer_len`] octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        check_out(buf, "arp", self.buffer_len())?;
        let mut p = ArpPacket::new_unchecked(buf);
        p.set_htype(HTYPE_ETHERNET);
        p.set_ptype(PTYPE_IPV4);
        p.set_hlen(6);
        p.set_plen(4);
        p.set_operation(self.operation);
        p.set_sender_hardware_addr(self.sender_hardware_addr);
        p.set_sender_protocol_addr(self.sender_protocol_addr);
        p.set_target_hardware_addr(self.target_hardware_addr);
        p.set_target_protocol_addr(self.target_protocol_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware_addr: MacAddress([2, 0, 0, 0, 0, 2]),
            sender_protocol_addr: [10, 0, 0, 2],
            target_hardware_addr: MacAddress([0; 6]),
            target_protocol_addr: [10, 0, 0, 1],
        }
    }

    #[test]
    fn emit_writes_every_byte_and_parses_back() {
        let r = request().reply_from(MacAddress([2, 0, 0, 0, 0, 1]));
        let mut buf = [0xa5u8; 28];
        r.emit(&mut buf).unwrap();
        assert_eq!(
            buf,
            [
                0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0,
                2
            ]
        );
        let p = ArpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.operation(), ArpOperation::Reply);
        assert_eq!(ArpRepr::parse(&p), r);
        // Ethernet padding after the packet is ignored.
        let mut padded = [0u8; 46];
        padded[..28].copy_from_slice(&buf);
        assert_eq!(ArpRepr::parse_bytes(&padded), Ok(r));
        // Other operations survive the round trip.
        let o = ArpRepr {
            operation: ArpOperation::Other(0x1234),
            ..r
        };
        o.emit(&mut buf).unwrap();
        assert_eq!(ArpRepr::parse_bytes(&buf), Ok(o));
    }

    #[test]
    fn truncated_at_every_length_names_the_field() {
        let mut buf = [0u8; 28];
        request().emit(&mut buf).unwrap();
        let cut = [
            ("htype", 0),
            ("htype", 0),
            ("ptype", 2),
            ("ptype", 2),
            ("hlen", 4),
            ("plen", 5),
            ("oper", 6),
            ("oper", 6),
        ];
        for n in 0..28 {
            let e = ArpPacket::new_checked(&buf[..n]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "{n}");
            let want = match n {
                0..=7 => cut[n],
                8..=13 => ("sha", 8),
                14..=17 => ("spa", 14),
                18..=23 => ("tha", 18),
                _ => ("tpa", 24),
            };
            assert_eq!((e.field, e.offset), want, "{n}");
        }
    }

    #[test]
    fn other_hardware_and_protocols_are_refused() {
        let mut buf = [0u8; 28];
        request().emit(&mut buf).unwrap();
        for (at, v, field, kind) in [
            (1, 6, "htype", ErrorKind::Unsupported),
            (2, 0x86, "ptype", ErrorKind::Unsupported),
            (4, 8, "hlen", ErrorKind::BadValue),
            (5, 16, "plen", ErrorKind::BadValue),
        ] {
            let mut b = buf;
            b[at] = v;
            let e = ArpPacket::new_checked(&b[..]).unwrap_err();
            assert_eq!((e.field, e.kind), (field, kind));
        }
        let e = request().emit(&mut [0u8; 27]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BufferSize);
    }
}
