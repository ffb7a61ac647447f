//! The IEEE 1588-2019 wire format.
//!
//! Two layers, in the style of smoltcp:
//!
//! * **Views** such as [`Header`] and [`Message`] wrap a `T: AsRef<[u8]>` and read fields
//!   in place. Their `new_checked` constructors validate untrusted bytes once, after which
//!   field accessors cannot go out of bounds.
//! * **Reprs** such as [`HeaderRepr`] and [`MessageRepr`] are plain values. `Repr::parse`
//!   turns a checked view into a value; `Repr::emit` writes a value into a caller-supplied
//!   buffer of exactly `buffer_len()` bytes. Neither allocates.
//!
//! Everything borrowed from a frame (TLV payloads, PTP texts) borrows from the input buffer
//! with lifetime `'a`, so parsing a frame is allocation-free.
//!
//! Every error is a [`WireError`] naming the field and its byte offset within the PTP
//! message (or the frame, for framing errors).
//!
//! Module map:
//! * [`types`] — Timestamp, TimeInterval, ClockIdentity, PortIdentity, ClockQuality, PtpText.
//! * [`header`] — the 34-byte common header (clause 13.3).
//! * [`message`] — message bodies (clause 13.4–13.14) and the whole-message codec.
//! * [`tlv`] — TLV iteration and the TLVs a grandmaster meets (clause 14, 16.1, 16.2).
//! * [`management`] — management TLV data fields (clause 15.5).
//! * [`frame`] — Ethernet/802.1Q, IPv4/UDP, IPv6/UDP framing (annexes C, D, E).
//! * [`arp`] — ARP for IPv4 over Ethernet (RFC 826), which a DPDK port answers itself.
//! * [`ndp`] — IPv6 neighbour solicitation and advertisement (RFC 4861) in their IPv6 header.

use core::fmt;

pub mod arp;
pub mod frame;
pub mod header;
pub mod management;
pub mod message;
pub mod ndp;
pub mod tlv;
pub mod types;
pub mod v1;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use frame::{
    EthernetRepr, FrameRepr, Ipv4Repr, Ipv6Repr, MacAddress, NetworkRepr, ParsedFrame, UdpPorts,
};
pub use header::{Flags, Header, HeaderRepr, MessageType};
pub use management::{ManagementAction, ManagementData, ManagementId};
pub use message::{Message, MessageBody, MessageRepr};
pub use ndp::{Ipv6Packet, NdFlags, NdpMessage, NdpPacket, NdpRepr};
pub use tlv::{Tlv, TlvBlock, TlvRepr, TlvType};
pub use types::{
    ClockAccuracy, ClockIdentity, ClockQuality, PortIdentity, PtpText, TimeInterval, TimeSource,
    Timestamp,
};

/// What went wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The buffer ends before the field does.
    Truncated,
    /// A length field disagrees with the buffer or with the message type.
    BadLength,
    /// The field holds a value the standard forbids (e.g. nanoseconds ≥ 10^9).
    BadValue,
    /// A checksum does not verify.
    BadChecksum,
    /// The field holds a value this implementation does not handle (e.g. PTP version 1).
    Unsupported,
    /// An output buffer has the wrong size.
    BufferSize,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadLength => "length mismatch",
            ErrorKind::BadValue => "invalid value",
            ErrorKind::BadChecksum => "bad checksum",
            ErrorKind::Unsupported => "unsupported value",
            ErrorKind::BufferSize => "wrong output buffer size",
        })
    }
}

/// A parse or emit error: which field, where, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field} at offset {offset}: {kind}")]
pub struct WireError {
    /// Spec name of the field (snake_case), e.g. `"message_length"`.
    pub field: &'static str,
    /// Byte offset of the field within the buffer being parsed.
    pub offset: usize,
    /// What is wrong with it.
    pub kind: ErrorKind,
}

impl WireError {
    /// A new error.
    pub const fn new(field: &'static str, offset: usize, kind: ErrorKind) -> Self {
        WireError {
            field,
            offset,
            kind,
        }
    }

    /// The same error with its offset shifted by `base` (used when a sub-parser's offsets are
    /// relative to an inner buffer).
    pub const fn shifted(self, base: usize) -> Self {
        WireError {
            offset: self.offset + base,
            ..self
        }
    }
}

/// Result alias for wire operations.
pub type Result<T> = core::result::Result<T, WireError>;

/// Big-endian field access on byte slices. Callers check bounds first; these helpers index
/// directly so a missed check shows up in tests as a panic rather than as silent garbage.
pub(crate) mod be {
    #[inline]
    pub fn u16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }
    #[inline]
    pub fn u32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }
    #[inline]
    pub fn u48(b: &[u8], at: usize) -> u64 {
        let mut x = [0u8; 8];
        x[2..].copy_from_slice(&b[at..at + 6]);
        u64::from_be_bytes(x)
    }
    #[inline]
    pub fn i64(b: &[u8], at: usize) -> i64 {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        i64::from_be_bytes(x)
    }
    #[inline]
    pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
    #[inline]
    pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
    #[inline]
    pub fn put_u48(b: &mut [u8], at: usize, v: u64) {
        b[at..at + 6].copy_from_slice(&v.to_be_bytes()[2..]);
    }
    #[inline]
    pub fn put_i64(b: &mut [u8], at: usize, v: i64) {
        b[at..at + 8].copy_from_slice(&v.to_be_bytes());
    }
}

/// Checks that `buf` holds at least `end` bytes, naming `field` starting at `start` otherwise.
#[inline]
pub(crate) fn need(buf: &[u8], field: &'static str, start: usize, end: usize) -> Result<()> {
    if buf.len() < end {
        Err(WireError::new(field, start, ErrorKind::Truncated))
    } else {
        Ok(())
    }
}

/// Checks an output buffer's size.
#[inline]
pub(crate) fn check_out(buf: &[u8], field: &'static str, len: usize) -> Result<()> {
    if buf.len() != len {
        Err(WireError::new(field, 0, ErrorKind::BufferSize))
    } else {
        Ok(())
    }
}

/// Entry point shared by the `cargo fuzz` target and the corpus-replay test: runs every parser
/// over `data` and walks everything they return. Must never panic.
#[doc(hidden)]
pub fn fuzz_parse(data: &[u8]) {
    // As a whole Ethernet frame.
    if let Ok(f) = ParsedFrame::parse(data) {
        walk_message(f.payload);
    }
    // As a bare PTP message (UDP payload), v2 and v1.
    walk_message(data);
    walk_v1(data);
    // As ARP, and as an IPv6 packet carrying neighbour discovery.
    walk_neighbour(data);
    // As a bare TLV sequence.
    if let Ok(block) = TlvBlock::new_checked(data, 0) {
        for t in block.iter() {
            walk_tlv(&t);
        }
    }
    // As management data of every ID.
    if let Some((&[hi, lo], rest)) = data.split_first_chunk::<2>() {
        let id = ManagementId(u16::from_be_bytes([hi, lo]));
        if let Ok(d) = ManagementData::parse(id, rest) {
            let mut out = [0u8; 1500];
            if let Some(buf) = out.get_mut(..d.wire_len()) {
                d.write(buf);
            }
        }
    }
}

fn walk_v1(payload: &[u8]) {
    // With and without the v1 version octets, so the fuzzer reaches the body parsers.
    let mut patched = [0u8; 256];
    let n = payload.len().min(patched.len());
    patched[..n].copy_from_slice(&payload[..n]);
    if n >= 2 {
        patched[0] = 0;
        patched[1] = 1;
    }
    for bytes in [payload, &patched[..n]] {
        let Ok(m) = v1::V1MessageRepr::parse_bytes(bytes) else {
            continue;
        };
        let mut out = [0u8; 256];
        if let Some(buf) = out.get_mut(..m.buffer_len()) {
            if m.emit(buf).is_ok() {
                assert_eq!(
                    v1::V1MessageRepr::parse_bytes(buf),
                    Ok(m),
                    "a re-emitted v1 message parses differently"
                );
            }
        }
    }
}

fn walk_message(payload: &[u8]) {
    let Ok(m) = MessageRepr::parse_bytes(payload) else {
        return;
    };
    for t in m.tlvs.iter() {
        walk_tlv(&t);
    }
    // Re-emitting what we parsed gives a message that parses to the same value (reserved
    // octets are normalised to zero, so the bytes may differ from non-canonical input).
    let mut out = [0u8; 1500];
    if let Some(buf) = out.get_mut(..m.buffer_len()) {
        if m.emit(buf).is_ok() {
            let again = MessageRepr::parse_bytes(buf);
            assert_eq!(
                again.as_ref().map(|r| r.header),
                Ok(m.header),
                "re-emit differs"
            );
            assert_eq!(again.map(|r| r.body), Ok(m.body), "re-emit differs");
        }
    }
}

fn walk_neighbour(data: &[u8]) {
    let mut out = [0u8; 128];
    if let Ok(a) = ArpRepr::parse_bytes(data) {
        let buf = &mut out[..a.buffer_len()];
        assert!(a.emit(buf).is_ok(), "ARP emit");
        assert_eq!(ArpRepr::parse_bytes(buf), Ok(a), "ARP re-emit differs");
    }
    if let Ok(ip) = Ipv6Packet::new_checked(data) {
        if let Ok(n) = NdpRepr::parse(&ip) {
            let buf = &mut out[..n.buffer_len()];
            assert!(n.emit(buf).is_ok(), "NDP emit");
            assert_eq!(NdpRepr::parse_bytes(buf), Ok(n), "NDP re-emit differs");
        }
        if let Ok(p) = NdpPacket::new_checked(ip.payload()) {
            let _ = (p.link_layer_addr(1), p.link_layer_addr(2), p.flags());
        }
    }
}

fn walk_tlv(t: &TlvRepr<'_>) {
    let mut out = [0u8; 1500];
    if let Some(buf) = out.get_mut(..t.buffer_len()) {
        let _ = t.emit(buf);
    }
}
