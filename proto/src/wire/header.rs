//! The common message header (IEEE 1588-2019 clause 13.3), 34 octets.

use super::types::{PortIdentity, TimeInterval};
use super::{be, check_out, ErrorKind, Result, WireError};

/// Field offsets within the header (Table 35).
pub mod field {
    /// majorSdoId (high nibble) | messageType (low nibble).
    pub const SDO_MSGTYPE: usize = 0;
    /// minorVersionPTP (high nibble) | versionPTP (low nibble).
    pub const VERSION: usize = 1;
    /// messageLength, u16.
    pub const MESSAGE_LENGTH: usize = 2;
    /// domainNumber.
    pub const DOMAIN_NUMBER: usize = 4;
    /// minorSdoId.
    pub const MINOR_SDO_ID: usize = 5;
    /// flagField, two octets.
    pub const FLAG_FIELD: usize = 6;
    /// correctionField, i64 scaled nanoseconds.
    pub const CORRECTION_FIELD: usize = 8;
    /// messageTypeSpecific, four octets.
    pub const MESSAGE_TYPE_SPECIFIC: usize = 16;
    /// sourcePortIdentity, ten octets.
    pub const SOURCE_PORT_IDENTITY: usize = 20;
    /// sequenceId, u16.
    pub const SEQUENCE_ID: usize = 30;
    /// controlField.
    pub const CONTROL_FIELD: usize = 32;
    /// logMessageInterval, i8.
    pub const LOG_MESSAGE_INTERVAL: usize = 33;
}

/// `messageType` (Table 36). Reserved values are kept, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Sync (event).
    Sync,
    /// Delay_Req (event).
    DelayReq,
    /// Pdelay_Req (event).
    PdelayReq,
    /// Pdelay_Resp (event).
    PdelayResp,
    /// Follow_Up (general).
    FollowUp,
    /// Delay_Resp (general).
    DelayResp,
    /// Pdelay_Resp_Follow_Up (general).
    PdelayRespFollowUp,
    /// Announce (general).
    Announce,
    /// Signaling (general).
    Signaling,
    /// Management (general).
    Management,
    /// A reserved nibble value.
    Reserved(u8),
}

impl MessageType {
    /// From the low nibble of octet 0.
    pub const fn from_nibble(n: u8) -> Self {
        match n & 0x0f {
            0x0 => MessageType::Sync,
            0x1 => MessageType::DelayReq,
            0x2 => MessageType::PdelayReq,
            0x3 => MessageType::PdelayResp,
            0x8 => MessageType::FollowUp,
            0x9 => MessageType::DelayResp,
            0xa => MessageType::PdelayRespFollowUp,
            0xb => MessageType::Announce,
            0xc => MessageType::Signaling,
            0xd => MessageType::Management,
            n => MessageType::Reserved(n),
        }
    }

    /// The 4-bit value.
    pub const fn nibble(self) -> u8 {
        match self {
            MessageType::Sync => 0x0,
            MessageType::DelayReq => 0x1,
            MessageType::PdelayReq => 0x2,
            MessageType::PdelayResp => 0x3,
            MessageType::FollowUp => 0x8,
            MessageType::DelayResp => 0x9,
            MessageType::PdelayRespFollowUp => 0xa,
            MessageType::Announce => 0xb,
            MessageType::Signaling => 0xc,
            MessageType::Management => 0xd,
            MessageType::Reserved(n) => n & 0x0f,
        }
    }

    /// Event messages are timestamped and go to UDP port 319 (7.3.5): Sync, Delay_Req,
    /// Pdelay_Req and Pdelay_Resp, messageType 0x0–0x3 (IEEE 1588-2019 Table 36). The
    /// reserved values 0x4–0x7 and 0xE–0xF belong to no class and are not event messages.
    /// This is the one rule every data plane uses (through the frame classifier).
    pub const fn is_event(self) -> bool {
        self.nibble() <= 0x3
    }

    /// The `controlField` value 1588-2019 asks senders to use (Table 42) for compatibility
    /// with version 1 equipment.
    pub const fn control_field(self) -> u8 {
        match self {
            MessageType::Sync => 0,
            MessageType::DelayReq => 1,
            MessageType::FollowUp => 2,
            MessageType::DelayResp => 3,
            MessageType::Management => 4,
            _ => 5,
        }
    }

    /// Length of the fixed part of the message (header + body), before any TLVs.
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            MessageType::Sync | MessageType::DelayReq | MessageType::FollowUp => Some(44),
            MessageType::PdelayReq
            | MessageType::PdelayResp
            | MessageType::DelayResp
            | MessageType::PdelayRespFollowUp => Some(54),
            MessageType::Announce => Some(64),
            MessageType::Signaling => Some(44),
            MessageType::Management => Some(48),
            MessageType::Reserved(_) => None,
        }
    }
}

/// `flagField` (Table 37), both octets, each flag by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags {
    /// alternateMasterFlag (octet 0 bit 0).
    pub alternate_master: bool,
    /// twoStepFlag (octet 0 bit 1).
    pub two_step: bool,
    /// unicastFlag (octet 0 bit 2).
    pub unicast: bool,
    /// octet 0 bit 3 (reserved).
    pub reserved_0_3: bool,
    /// octet 0 bit 4 (reserved).
    pub reserved_0_4: bool,
    /// PTP profile Specific 1 (octet 0 bit 5).
    pub profile_specific_1: bool,
    /// PTP profile Specific 2 (octet 0 bit 6).
    pub profile_specific_2: bool,
    /// octet 0 bit 7 (reserved; "security" in 1588-2008).
    pub reserved_0_7: bool,
    /// leap61 (octet 1 bit 0).
    pub leap61: bool,
    /// leap59 (octet 1 bit 1).
    pub leap59: bool,
    /// currentUtcOffsetValid (octet 1 bit 2).
    pub current_utc_offset_valid: bool,
    /// ptpTimescale (octet 1 bit 3).
    pub ptp_timescale: bool,
    /// timeTraceable (octet 1 bit 4).
    pub time_traceable: bool,
    /// frequencyTraceable (octet 1 bit 5).
    pub frequency_traceable: bool,
    /// synchronizationUncertain (octet 1 bit 6).
    pub synchronization_uncertain: bool,
    /// octet 1 bit 7 (reserved).
    pub reserved_1_7: bool,
}

impl Flags {
    /// From the two flag octets.
    pub fn from_bits(bits: u16) -> Self {
        let b = |n: u32| bits & (1 << n) != 0;
        Flags {
            alternate_master: b(8),
            two_step: b(9),
            unicast: b(10),
            reserved_0_3: b(11),
            reserved_0_4: b(12),
            profile_specific_1: b(13),
            profile_specific_2: b(14),
            reserved_0_7: b(15),
            leap61: b(0),
            leap59: b(1),
            current_utc_offset_valid: b(2),
            ptp_timescale: b(3),
            time_traceable: b(4),
            frequency_traceable: b(5),
            synchronization_uncertain: b(6),
            reserved_1_7: b(7),
        }
    }

    /// The two flag octets (octet 0 in the high byte).
    pub fn bits(&self) -> u16 {
        let f = |v: bool, n: u32| (v as u16) << n;
        f(self.alternate_master, 8)
            | f(self.two_step, 9)
            | f(self.unicast, 10)
            | f(self.reserved_0_3, 11)
            | f(self.reserved_0_4, 12)
            | f(self.profile_specific_1, 13)
            | f(self.profile_specific_2, 14)
            | f(self.reserved_0_7, 15)
            | f(self.leap61, 0)
            | f(self.leap59, 1)
            | f(self.current_utc_offset_valid, 2)
            | f(self.ptp_timescale, 3)
            | f(self.time_traceable, 4)
            | f(self.frequency_traceable, 5)
            | f(self.synchronization_uncertain, 6)
            | f(self.reserved_1_7, 7)
    }
}

/// A zero-copy view of the common header at the start of a PTP message.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Length of the header in octets.
    pub const LEN: usize = 34;

    /// Wraps a buffer without checks. Accessors panic if it is shorter than [`Self::LEN`];
    /// use [`Self::new_checked`] on untrusted bytes.
    pub const fn new_unchecked(buffer: T) -> Self {
        Header { buffer }
    }

    /// Wraps a buffer after checking it holds a whole header of PTP version 2.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let h = Header { buffer };
        h.check()?;
        Ok(h)
    }

    /// Checks length and version.
    pub fn check(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < Self::LEN {
            return Err(WireError::new("header", b.len(), ErrorKind::Truncated));
        }
        if self.version_ptp() != 2 {
            return Err(WireError::new(
                "version_ptp",
                field::VERSION,
                ErrorKind::Unsupported,
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

    /// `majorSdoId` (formerly transportSpecific), 4 bits.
    pub fn major_sdo_id(&self) -> u8 {
        self.b()[field::SDO_MSGTYPE] >> 4
    }
    /// `messageType`.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_nibble(self.b()[field::SDO_MSGTYPE])
    }
    /// `minorVersionPTP`, 4 bits.
    pub fn minor_version_ptp(&self) -> u8 {
        self.b()[field::VERSION] >> 4
    }
    /// `versionPTP`, 4 bits.
    pub fn version_ptp(&self) -> u8 {
        self.b()[field::VERSION] & 0x0f
    }
    /// `messageLength`.
    pub fn message_length(&self) -> u16 {
        be::u16(self.b(), field::MESSAGE_LENGTH)
    }
    /// `domainNumber`.
    pub fn domain_number(&self) -> u8 {
        self.b()[field::DOMAIN_NUMBER]
    }
    /// `minorSdoId`.
    pub fn minor_sdo_id(&self) -> u8 {
        self.b()[field::MINOR_SDO_ID]
    }
    /// `flagField`.
    pub fn flags(&self) -> Flags {
        Flags::from_bits(be::u16(self.b(), field::FLAG_FIELD))
    }
    /// `correctionField`.
    pub fn correction(&self) -> TimeInterval {
        TimeInterval(be::i64(self.b(), field::CORRECTION_FIELD))
    }
    /// `messageTypeSpecific`.
    pub fn message_type_specific(&self) -> u32 {
        be::u32(self.b(), field::MESSAGE_TYPE_SPECIFIC)
    }
    /// `sourcePortIdentity`.
    pub fn source_port_identity(&self) -> PortIdentity {
        let b = self.b();
        PortIdentity {
            clock_identity: super::types::ClockIdentity::read(b, field::SOURCE_PORT_IDENTITY),
            port_number: be::u16(b, field::SOURCE_PORT_IDENTITY + 8),
        }
    }
    /// `sequenceId`.
    pub fn sequence_id(&self) -> u16 {
        be::u16(self.b(), field::SEQUENCE_ID)
    }
    /// `controlField`.
    pub fn control_field(&self) -> u8 {
        self.b()[field::CONTROL_FIELD]
    }
    /// `logMessageInterval`.
    pub fn log_message_interval(&self) -> i8 {
        self.b()[field::LOG_MESSAGE_INTERVAL] as i8
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Overwrites `correctionField` in place (e.g. to add residence time or asymmetry).
    pub fn set_correction(&mut self, c: TimeInterval) {
        be::put_i64(self.buffer.as_mut(), field::CORRECTION_FIELD, c.0);
    }
    /// Overwrites `sequenceId` in place.
    pub fn set_sequence_id(&mut self, s: u16) {
        be::put_u16(self.buffer.as_mut(), field::SEQUENCE_ID, s);
    }
}

/// The header as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderRepr {
    /// `majorSdoId`, 4 bits (0 for the default profiles; 1 for 802.1AS).
    pub major_sdo_id: u8,
    /// `messageType`.
    pub message_type: MessageType,
    /// `minorVersionPTP`, 4 bits (1 for 1588-2019, 0 for 2008 peers).
    pub minor_version_ptp: u8,
    /// `versionPTP`, always 2.
    pub version_ptp: u8,
    /// `messageLength`: header, body and TLVs.
    pub message_length: u16,
    /// `domainNumber`.
    pub domain_number: u8,
    /// `minorSdoId`.
    pub minor_sdo_id: u8,
    /// `flagField`.
    pub flags: Flags,
    /// `correctionField`.
    pub correction: TimeInterval,
    /// `messageTypeSpecific` (reserved in most messages; kept so frames re-emit exactly).
    pub message_type_specific: u32,
    /// `sourcePortIdentity`.
    pub source_port_identity: PortIdentity,
    /// `sequenceId`.
    pub sequence_id: u16,
    /// `controlField`.
    pub control_field: u8,
    /// `logMessageInterval`.
    pub log_message_interval: i8,
}

impl HeaderRepr {
    /// Reads every field of a checked header.
    pub fn parse<T: AsRef<[u8]>>(h: &Header<T>) -> Self {
        HeaderRepr {
            major_sdo_id: h.major_sdo_id(),
            message_type: h.message_type(),
            minor_version_ptp: h.minor_version_ptp(),
            version_ptp: h.version_ptp(),
            message_length: h.message_length(),
            domain_number: h.domain_number(),
            minor_sdo_id: h.minor_sdo_id(),
            flags: h.flags(),
            correction: h.correction(),
            message_type_specific: h.message_type_specific(),
            source_port_identity: h.source_port_identity(),
            sequence_id: h.sequence_id(),
            control_field: h.control_field(),
            log_message_interval: h.log_message_interval(),
        }
    }

    /// Octets needed to emit: always [`Header::LEN`].
    pub const fn buffer_len(&self) -> usize {
        Header::<&[u8]>::LEN
    }

    /// Writes the header into the first 34 octets of `buf` (which must hold at least that).
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < Header::<&[u8]>::LEN {
            return Err(WireError::new("header", 0, ErrorKind::BufferSize));
        }
        buf[field::SDO_MSGTYPE] = (self.major_sdo_id << 4) | self.message_type.nibble();
        buf[field::VERSION] = (self.minor_version_ptp << 4) | (self.version_ptp & 0x0f);
        be::put_u16(buf, field::MESSAGE_LENGTH, self.message_length);
        buf[field::DOMAIN_NUMBER] = self.domain_number;
        buf[field::MINOR_SDO_ID] = self.minor_sdo_id;
        be::put_u16(buf, field::FLAG_FIELD, self.flags.bits());
        be::put_i64(buf, field::CORRECTION_FIELD, self.correction.0);
        be::put_u32(
            buf,
            field::MESSAGE_TYPE_SPECIFIC,
            self.message_type_specific,
        );
        self.source_port_identity
            .write(buf, field::SOURCE_PORT_IDENTITY);
        be::put_u16(buf, field::SEQUENCE_ID, self.sequence_id);
        buf[field::CONTROL_FIELD] = self.control_field;
        buf[field::LOG_MESSAGE_INTERVAL] = self.log_message_interval as u8;
        Ok(())
    }

    /// Writes the header into a buffer of exactly [`Self::buffer_len`] octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        check_out(buf, "header", self.buffer_len())?;
        self.emit_into(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::types::ClockIdentity;

    fn sample() -> HeaderRepr {
        HeaderRepr {
            major_sdo_id: 1,
            message_type: MessageType::FollowUp,
            minor_version_ptp: 1,
            version_ptp: 2,
            message_length: 44,
            domain_number: 127,
            minor_sdo_id: 0x5a,
            flags: Flags {
                two_step: true,
                ptp_timescale: true,
                current_utc_offset_valid: true,
                ..Flags::default()
            },
            correction: TimeInterval(-0x0102_0304_0506),
            message_type_specific: 0xdead_beef,
            source_port_identity: PortIdentity {
                clock_identity: ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]),
                port_number: 0x0102,
            },
            sequence_id: 0xfffe,
            control_field: 2,
            log_message_interval: -3,
        }
    }

    #[test]
    fn emit_writes_every_byte_and_parses_back() {
        let r = sample();
        let mut buf = [0xa5u8; 34];
        r.emit(&mut buf).unwrap();
        assert_eq!(
            buf,
            [
                0x18, 0x12, 0, 44, 127, 0x5a, 0x02, 0x0c, 0xff, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa,
                0xfa, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x02, 0xff, 0xfe, 2,
                0xfd
            ]
        );
        let h = Header::new_checked(&buf[..]).unwrap();
        assert_eq!(HeaderRepr::parse(&h), r);
    }

    #[test]
    fn rejects_short_and_v1() {
        let mut buf = [0u8; 34];
        r_emit(&mut buf);
        assert_eq!(
            Header::new_checked(&buf[..33]).unwrap_err().kind,
            ErrorKind::Truncated
        );
        buf[1] = 0x01;
        let e = Header::new_checked(&buf[..]).unwrap_err();
        assert_eq!((e.field, e.offset), ("version_ptp", 1));
    }

    fn r_emit(buf: &mut [u8]) {
        sample().emit(buf).unwrap();
    }

    #[test]
    fn flags_bits_roundtrip_all_16() {
        for bit in 0..16 {
            let v = 1u16 << bit;
            assert_eq!(Flags::from_bits(v).bits(), v);
        }
    }

    #[test]
    fn message_type_nibbles_roundtrip() {
        for n in 0..16u8 {
            assert_eq!(MessageType::from_nibble(n).nibble(), n);
        }
        assert!(MessageType::PdelayResp.is_event());
        assert!(!MessageType::FollowUp.is_event());
        // Table 36: exactly 0x0-0x3 are event messages; reserved 0x4-0x7 are not.
        let events: Vec<u8> = (0..16u8)
            .filter(|&n| MessageType::from_nibble(n).is_event())
            .collect();
        assert_eq!(events, [0, 1, 2, 3]);
    }
}
