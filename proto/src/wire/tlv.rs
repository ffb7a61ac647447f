//! TLVs (IEEE 1588-2019 clause 14) and the ones a grandmaster meets: management (15.5),
//! unicast negotiation (16.1), path trace (16.2), alternate timescale (16.3),
//! authentication (16.14) and organization extensions (14.3).
//!
//! A message's TLVs are kept as a [`TlvBlock`]: the validated bytes between the fixed part of
//! the message and `messageLength`. Iterating a block yields one [`TlvRepr`] per TLV without
//! allocating. Unknown TLV types are kept as raw type + value, never rejected.

use super::header::MessageType;
use super::management::{ManagementData, ManagementId};
use super::types::{ClockIdentity, PtpText};
use super::{be, need, ErrorKind, Result, WireError};

/// Offset of `tlvType` within a TLV.
pub const TLV_TYPE: usize = 0;
/// Offset of `lengthField` within a TLV.
pub const LENGTH_FIELD: usize = 2;
/// Offset of the value (after type and length).
pub const VALUE: usize = 4;

/// `tlvType` (Table 52). A raw `u16` so unknown types round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlvType(pub u16);

impl TlvType {
    /// MANAGEMENT.
    pub const MANAGEMENT: Self = Self(0x0001);
    /// MANAGEMENT_ERROR_STATUS.
    pub const MANAGEMENT_ERROR_STATUS: Self = Self(0x0002);
    /// ORGANIZATION_EXTENSION.
    pub const ORGANIZATION_EXTENSION: Self = Self(0x0003);
    /// REQUEST_UNICAST_TRANSMISSION.
    pub const REQUEST_UNICAST_TRANSMISSION: Self = Self(0x0004);
    /// GRANT_UNICAST_TRANSMISSION.
    pub const GRANT_UNICAST_TRANSMISSION: Self = Self(0x0005);
    /// CANCEL_UNICAST_TRANSMISSION.
    pub const CANCEL_UNICAST_TRANSMISSION: Self = Self(0x0006);
    /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION.
    pub const ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION: Self = Self(0x0007);
    /// PATH_TRACE.
    pub const PATH_TRACE: Self = Self(0x0008);
    /// ALTERNATE_TIME_OFFSET_INDICATOR.
    pub const ALTERNATE_TIME_OFFSET_INDICATOR: Self = Self(0x0009);
    /// AUTHENTICATION (1588-2019 16.14, Table 52). 0x2000 was 1588-2008's experimental
    /// AUTHENTICATION, reserved since 2019.
    pub const AUTHENTICATION: Self = Self(0x8009);
    /// ORGANIZATION_EXTENSION_PROPAGATE.
    pub const ORGANIZATION_EXTENSION_PROPAGATE: Self = Self(0x4000);
    /// ENHANCED_ACCURACY_METRICS.
    pub const ENHANCED_ACCURACY_METRICS: Self = Self(0x4001);
    /// ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE.
    pub const ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE: Self = Self(0x8000);
    /// L1_SYNC.
    pub const L1_SYNC: Self = Self(0x8001);
    /// PORT_COMMUNICATION_AVAILABILITY.
    pub const PORT_COMMUNICATION_AVAILABILITY: Self = Self(0x8002);
    /// PROTOCOL_ADDRESS.
    pub const PROTOCOL_ADDRESS: Self = Self(0x8003);
    /// SLAVE_RX_SYNC_TIMING_DATA.
    pub const SLAVE_RX_SYNC_TIMING_DATA: Self = Self(0x8004);
    /// PAD.
    pub const PAD: Self = Self(0x8008);
}

/// Which of the three organization-extension TLV types (14.3, 14.4 of 1588-2019).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgExtKind {
    /// ORGANIZATION_EXTENSION (0x0003), the 2008 form.
    Legacy,
    /// ORGANIZATION_EXTENSION_PROPAGATE (0x4000).
    Propagate,
    /// ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE (0x8000).
    DoNotPropagate,
}

impl OrgExtKind {
    const fn tlv_type(self) -> TlvType {
        match self {
            OrgExtKind::Legacy => TlvType::ORGANIZATION_EXTENSION,
            OrgExtKind::Propagate => TlvType::ORGANIZATION_EXTENSION_PROPAGATE,
            OrgExtKind::DoNotPropagate => TlvType::ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE,
        }
    }
}

/// `managementErrorId` (Table 109).
pub mod management_error {
    /// RESPONSE_TOO_BIG.
    pub const RESPONSE_TOO_BIG: u16 = 0x0001;
    /// NO_SUCH_ID.
    pub const NO_SUCH_ID: u16 = 0x0002;
    /// WRONG_LENGTH.
    pub const WRONG_LENGTH: u16 = 0x0003;
    /// WRONG_VALUE.
    pub const WRONG_VALUE: u16 = 0x0004;
    /// NOT_SETABLE.
    pub const NOT_SETABLE: u16 = 0x0005;
    /// NOT_SUPPORTED.
    pub const NOT_SUPPORTED: u16 = 0x0006;
    /// GENERAL_ERROR.
    pub const GENERAL_ERROR: u16 = 0xfffe;
}

/// One TLV as a plain value. Everything variable-length borrows from the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlvRepr<'a> {
    /// MANAGEMENT (15.5.2): managementId and its dataField.
    Management {
        /// `managementId`.
        id: ManagementId,
        /// `dataField`, typed where the ID is known and the bytes fit its layout, otherwise
        /// [`ManagementData::Raw`].
        data: ManagementData<'a>,
    },
    /// MANAGEMENT_ERROR_STATUS (15.5.4).
    ManagementErrorStatus {
        /// `managementErrorId` (see [`management_error`]).
        error_id: u16,
        /// `managementId` the error refers to.
        id: ManagementId,
        /// `displayData`; absent (`None`) when the TLV ends after the reserved octets.
        display_data: Option<PtpText<'a>>,
    },
    /// ORGANIZATION_EXTENSION and its propagate / do-not-propagate forms (14.3).
    OrganizationExtension {
        /// Which TLV type carries it.
        kind: OrgExtKind,
        /// `organizationId` (OUI or CID).
        organization_id: [u8; 3],
        /// `organizationSubType`.
        organization_sub_type: [u8; 3],
        /// `dataField`.
        data: &'a [u8],
    },
    /// REQUEST_UNICAST_TRANSMISSION (16.1.4.1).
    RequestUnicastTransmission {
        /// `messageType` requested (upper nibble of the first octet).
        message_type: MessageType,
        /// `logInterMessagePeriod`.
        log_inter_message_period: i8,
        /// `durationField`, seconds.
        duration: u32,
    },
    /// GRANT_UNICAST_TRANSMISSION (16.1.4.2).
    GrantUnicastTransmission {
        /// `messageType` granted.
        message_type: MessageType,
        /// `logInterMessagePeriod`.
        log_inter_message_period: i8,
        /// `durationField`, seconds; 0 means denied.
        duration: u32,
        /// `R` flag: renewal invited.
        renewal_invited: bool,
    },
    /// CANCEL_UNICAST_TRANSMISSION (16.1.4.3).
    CancelUnicastTransmission {
        /// `messageType` cancelled.
        message_type: MessageType,
    },
    /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION (16.1.4.4).
    AcknowledgeCancelUnicastTransmission {
        /// `messageType` acknowledged.
        message_type: MessageType,
    },
    /// PATH_TRACE (16.2.5): a sequence of clock identities (8 octets each).
    PathTrace {
        /// The raw `pathSequence`; iterate it with [`path_trace_iter`].
        path_sequence: &'a [u8],
    },
    /// ALTERNATE_TIME_OFFSET_INDICATOR (16.3.3.1).
    AlternateTimeOffsetIndicator {
        /// `keyField`.
        key_field: u8,
        /// `currentOffset`, seconds.
        current_offset: i32,
        /// `jumpSeconds`.
        jump_seconds: i32,
        /// `timeOfNextJump`, 48-bit seconds.
        time_of_next_jump: u64,
        /// `displayName`.
        display_name: PtpText<'a>,
    },
    /// AUTHENTICATION (16.14.3): the fixed fields; the optional fields and ICV stay raw.
    Authentication {
        /// `SPP`, security parameter pointer.
        spp: u8,
        /// `secParamIndicator`.
        sec_param_indicator: u8,
        /// `keyID`.
        key_id: u32,
        /// disclosedKey / sequenceNo / RES (as indicated) and the ICV, unparsed.
        rest: &'a [u8],
    },
    /// PAD (14.4): filler octets.
    Pad {
        /// The pad octets as received (zero when we send).
        bytes: &'a [u8],
    },
    /// Any other type, kept verbatim.
    Unknown {
        /// `tlvType`.
        tlv_type: TlvType,
        /// The value octets.
        value: &'a [u8],
    },
}

/// Iterates the clock identities of a PATH_TRACE `pathSequence`.
pub fn path_trace_iter(seq: &[u8]) -> impl Iterator<Item = ClockIdentity> + '_ {
    seq.chunks_exact(ClockIdentity::LEN)
        .map(|c| ClockIdentity(<[u8; 8]>::try_from(c).unwrap_or([0; 8])))
}

/// Rounds a value length up to even, the way linuxptp pads PTPText-carrying TLVs.
const fn even(n: usize) -> usize {
    n + (n & 1)
}

impl<'a> TlvRepr<'a> {
    /// The `tlvType` this value is emitted with.
    pub fn tlv_type(&self) -> TlvType {
        match self {
            TlvRepr::Management { .. } => TlvType::MANAGEMENT,
            TlvRepr::ManagementErrorStatus { .. } => TlvType::MANAGEMENT_ERROR_STATUS,
            TlvRepr::OrganizationExtension { kind, .. } => kind.tlv_type(),
            TlvRepr::RequestUnicastTransmission { .. } => TlvType::REQUEST_UNICAST_TRANSMISSION,
            TlvRepr::GrantUnicastTransmission { .. } => TlvType::GRANT_UNICAST_TRANSMISSION,
            TlvRepr::CancelUnicastTransmission { .. } => TlvType::CANCEL_UNICAST_TRANSMISSION,
            TlvRepr::AcknowledgeCancelUnicastTransmission { .. } => {
                TlvType::ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION
            }
            TlvRepr::PathTrace { .. } => TlvType::PATH_TRACE,
            TlvRepr::AlternateTimeOffsetIndicator { .. } => {
                TlvType::ALTERNATE_TIME_OFFSET_INDICATOR
            }
            TlvRepr::Authentication { .. } => TlvType::AUTHENTICATION,
            TlvRepr::Pad { .. } => TlvType::PAD,
            TlvRepr::Unknown { tlv_type, .. } => *tlv_type,
        }
    }

    /// Length of the value (what `lengthField` says).
    pub fn value_len(&self) -> usize {
        match self {
            TlvRepr::Management { data, .. } => 2 + data.wire_len(),
            TlvRepr::ManagementErrorStatus { display_data, .. } => {
                8 + display_data.map_or(0, |t| even(t.wire_len()))
            }
            TlvRepr::OrganizationExtension { data, .. } => 6 + data.len(),
            TlvRepr::RequestUnicastTransmission { .. } => 6,
            TlvRepr::GrantUnicastTransmission { .. } => 8,
            TlvRepr::CancelUnicastTransmission { .. }
            | TlvRepr::AcknowledgeCancelUnicastTransmission { .. } => 2,
            TlvRepr::PathTrace { path_sequence } => path_sequence.len(),
            TlvRepr::AlternateTimeOffsetIndicator { display_name, .. } => {
                even(15 + display_name.wire_len())
            }
            TlvRepr::Authentication { rest, .. } => 6 + rest.len(),
            TlvRepr::Pad { bytes } => bytes.len(),
            TlvRepr::Unknown { value, .. } => value.len(),
        }
    }

    /// Octets needed to emit: type, length and value.
    pub fn buffer_len(&self) -> usize {
        VALUE + self.value_len()
    }

    /// Parses the TLV at the start of `buf`; returns it and the octets it spans. Offsets in
    /// errors are relative to `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize)> {
        need(buf, "tlv_type", TLV_TYPE, VALUE)?;
        let tlv_type = TlvType(be::u16(buf, TLV_TYPE));
        let len = be::u16(buf, LENGTH_FIELD) as usize;
        need(buf, "length_field", LENGTH_FIELD, VALUE + len)?;
        let v = &buf[VALUE..VALUE + len];
        let exact = |want: usize, field: &'static str| -> Result<()> {
            if len != want {
                Err(WireError::new(field, LENGTH_FIELD, ErrorKind::BadLength))
            } else {
                Ok(())
            }
        };
        let at_least = |want: usize, field: &'static str| -> Result<()> {
            if len < want {
                Err(WireError::new(field, LENGTH_FIELD, ErrorKind::BadLength))
            } else {
                Ok(())
            }
        };
        let repr = match tlv_type {
            TlvType::MANAGEMENT => {
                at_least(2, "management_id")?;
                let id = ManagementId(be::u16(v, 0));
                let data =
                    ManagementData::parse(id, &v[2..]).unwrap_or(ManagementData::Raw(&v[2..]));
                TlvRepr::Management { id, data }
            }
            TlvType::MANAGEMENT_ERROR_STATUS => {
                at_least(8, "management_error_id")?;
                let display_data = if len == 8 {
                    None
                } else {
                    let t = PtpText::read(v, 8, "display_data").map_err(|e| e.shifted(VALUE))?;
                    if even(t.wire_len()) + 8 != len {
                        return Err(WireError::new(
                            "display_data",
                            VALUE + 8,
                            ErrorKind::BadLength,
                        ));
                    }
                    Some(t)
                };
                TlvRepr::ManagementErrorStatus {
                    error_id: be::u16(v, 0),
                    id: ManagementId(be::u16(v, 2)),
                    display_data,
                }
            }
            TlvType::ORGANIZATION_EXTENSION
            | TlvType::ORGANIZATION_EXTENSION_PROPAGATE
            | TlvType::ORGANIZATION_EXTENSION_DO_NOT_PROPAGATE => {
                at_least(6, "organization_id")?;
                let kind = match tlv_type {
                    TlvType::ORGANIZATION_EXTENSION => OrgExtKind::Legacy,
                    TlvType::ORGANIZATION_EXTENSION_PROPAGATE => OrgExtKind::Propagate,
                    _ => OrgExtKind::DoNotPropagate,
                };
                TlvRepr::OrganizationExtension {
                    kind,
                    organization_id: [v[0], v[1], v[2]],
                    organization_sub_type: [v[3], v[4], v[5]],
                    data: &v[6..],
                }
            }
            TlvType::REQUEST_UNICAST_TRANSMISSION => {
                exact(6, "request_unicast_transmission")?;
                TlvRepr::RequestUnicastTransmission {
                    message_type: MessageType::from_nibble(v[0] >> 4),
                    log_inter_message_period: v[1] as i8,
                    duration: be::u32(v, 2),
                }
            }
            TlvType::GRANT_UNICAST_TRANSMISSION => {
                exact(8, "grant_unicast_transmission")?;
                TlvRepr::GrantUnicastTransmission {
                    message_type: MessageType::from_nibble(v[0] >> 4),
                    log_inter_message_period: v[1] as i8,
                    duration: be::u32(v, 2),
                    renewal_invited: v[7] & 1 != 0,
                }
            }
            TlvType::CANCEL_UNICAST_TRANSMISSION => {
                exact(2, "cancel_unicast_transmission")?;
                TlvRepr::CancelUnicastTransmission {
                    message_type: MessageType::from_nibble(v[0] >> 4),
                }
            }
            TlvType::ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION => {
                exact(2, "acknowledge_cancel_unicast_transmission")?;
                TlvRepr::AcknowledgeCancelUnicastTransmission {
                    message_type: MessageType::from_nibble(v[0] >> 4),
                }
            }
            TlvType::PATH_TRACE => {
                if len % ClockIdentity::LEN != 0 {
                    return Err(WireError::new(
                        "path_sequence",
                        LENGTH_FIELD,
                        ErrorKind::BadLength,
                    ));
                }
                TlvRepr::PathTrace { path_sequence: v }
            }
            TlvType::ALTERNATE_TIME_OFFSET_INDICATOR => {
                at_least(16, "alternate_time_offset_indicator")?;
                let display_name =
                    PtpText::read(v, 15, "display_name").map_err(|e| e.shifted(VALUE))?;
                if even(15 + display_name.wire_len()) != len {
                    return Err(WireError::new(
                        "display_name",
                        VALUE + 15,
                        ErrorKind::BadLength,
                    ));
                }
                TlvRepr::AlternateTimeOffsetIndicator {
                    key_field: v[0],
                    current_offset: be::u32(v, 1) as i32,
                    jump_seconds: be::u32(v, 5) as i32,
                    time_of_next_jump: be::u48(v, 9),
                    display_name,
                }
            }
            TlvType::AUTHENTICATION => {
                at_least(6, "authentication")?;
                TlvRepr::Authentication {
                    spp: v[0],
                    sec_param_indicator: v[1],
                    key_id: be::u32(v, 2),
                    rest: &v[6..],
                }
            }
            TlvType::PAD => TlvRepr::Pad { bytes: v },
            _ => TlvRepr::Unknown { tlv_type, value: v },
        };
        Ok((repr, VALUE + len))
    }

    /// Writes the TLV into `buf`, which must be exactly [`Self::buffer_len`] octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        super::check_out(buf, "tlv", self.buffer_len())?;
        let len = self.value_len();
        if len > u16::MAX as usize {
            return Err(WireError::new(
                "length_field",
                LENGTH_FIELD,
                ErrorKind::BadLength,
            ));
        }
        be::put_u16(buf, TLV_TYPE, self.tlv_type().0);
        be::put_u16(buf, LENGTH_FIELD, len as u16);
        let v = &mut buf[VALUE..];
        v.fill(0);
        match *self {
            TlvRepr::Management { id, data } => {
                be::put_u16(v, 0, id.0);
                data.write(&mut v[2..]);
            }
            TlvRepr::ManagementErrorStatus {
                error_id,
                id,
                display_data,
            } => {
                be::put_u16(v, 0, error_id);
                be::put_u16(v, 2, id.0);
                if let Some(t) = display_data {
                    t.write(v, 8);
                }
            }
            TlvRepr::OrganizationExtension {
                organization_id,
                organization_sub_type,
                data,
                ..
            } => {
                v[0..3].copy_from_slice(&organization_id);
                v[3..6].copy_from_slice(&organization_sub_type);
                v[6..].copy_from_slice(data);
            }
            TlvRepr::RequestUnicastTransmission {
                message_type,
                log_inter_message_period,
                duration,
            } => {
                v[0] = message_type.nibble() << 4;
                v[1] = log_inter_message_period as u8;
                be::put_u32(v, 2, duration);
            }
            TlvRepr::GrantUnicastTransmission {
                message_type,
                log_inter_message_period,
                duration,
                renewal_invited,
            } => {
                v[0] = message_type.nibble() << 4;
                v[1] = log_inter_message_period as u8;
                be::put_u32(v, 2, duration);
                v[7] = renewal_invited as u8;
            }
            TlvRepr::CancelUnicastTransmission { message_type }
            | TlvRepr::AcknowledgeCancelUnicastTransmission { message_type } => {
                v[0] = message_type.nibble() << 4;
            }
            TlvRepr::PathTrace { path_sequence } => v.copy_from_slice(path_sequence),
            TlvRepr::AlternateTimeOffsetIndicator {
                key_field,
                current_offset,
                jump_seconds,
                time_of_next_jump,
                display_name,
            } => {
                v[0] = key_field;
                be::put_u32(v, 1, current_offset as u32);
                be::put_u32(v, 5, jump_seconds as u32);
                be::put_u48(v, 9, time_of_next_jump);
                display_name.write(v, 15);
            }
            TlvRepr::Authentication {
                spp,
                sec_param_indicator,
                key_id,
                rest,
            } => {
                v[0] = spp;
                v[1] = sec_param_indicator;
                be::put_u32(v, 2, key_id);
                v[6..].copy_from_slice(rest);
            }
            TlvRepr::Pad { bytes } => v.copy_from_slice(bytes),
            TlvRepr::Unknown { value, .. } => v.copy_from_slice(value),
        }
        Ok(())
    }
}

/// The TLVs of one message: validated bytes, iterated without allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlvBlock<'a> {
    bytes: &'a [u8],
}

impl<'a> TlvBlock<'a> {
    /// No TLVs.
    pub const EMPTY: TlvBlock<'static> = TlvBlock { bytes: &[] };

    /// Validates that `bytes` is a whole sequence of well-formed TLVs. `base` is added to
    /// error offsets (the block's offset within the message).
    pub fn new_checked(bytes: &'a [u8], base: usize) -> Result<Self> {
        let mut at = 0;
        while at < bytes.len() {
            let (_, n) = TlvRepr::parse(&bytes[at..]).map_err(|e| e.shifted(base + at))?;
            at += n;
        }
        Ok(TlvBlock { bytes })
    }

    /// Writes `tlvs` back to back into `buf` and returns the block over the written part.
    pub fn build(buf: &'a mut [u8], tlvs: &[TlvRepr<'_>]) -> Result<Self> {
        let n = Self::write(buf, tlvs)?;
        let bytes: &'a [u8] = buf;
        Ok(TlvBlock { bytes: &bytes[..n] })
    }

    /// Writes `tlvs` back to back at the start of `buf`; returns the octets written.
    pub fn write(buf: &mut [u8], tlvs: &[TlvRepr<'_>]) -> Result<usize> {
        let mut at = 0;
        for t in tlvs {
            let n = t.buffer_len();
            if buf.len() < at + n {
                return Err(WireError::new("tlv", at, ErrorKind::BufferSize));
            }
            t.emit(&mut buf[at..at + n])?;
            at += n;
        }
        Ok(at)
    }

    /// Octets in the block.
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are no TLVs.
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates the TLVs.
    pub fn iter(&self) -> TlvIter<'a> {
        TlvIter { rest: self.bytes }
    }
}

impl<'a> IntoIterator for TlvBlock<'a> {
    type Item = TlvRepr<'a>;
    type IntoIter = TlvIter<'a>;
    fn into_iter(self) -> TlvIter<'a> {
        self.iter()
    }
}

/// Iterator over a validated [`TlvBlock`].
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = TlvRepr<'a>;
    fn next(&mut self) -> Option<TlvRepr<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match TlvRepr::parse(self.rest) {
            Ok((t, n)) => {
                self.rest = &self.rest[n..];
                Some(t)
            }
            // Unreachable for a block built by `new_checked`; end iteration rather than panic.
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

/// A zero-copy view of one TLV (type, length, value).
#[derive(Debug, Clone, Copy)]
pub struct Tlv<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Tlv<T> {
    /// Wraps a buffer after checking it holds the type, length and the whole value.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        need(b, "tlv_type", TLV_TYPE, VALUE)?;
        let len = be::u16(b, LENGTH_FIELD) as usize;
        need(b, "length_field", LENGTH_FIELD, VALUE + len)?;
        Ok(Tlv { buffer })
    }
    /// `tlvType`.
    pub fn tlv_type(&self) -> TlvType {
        TlvType(be::u16(self.buffer.as_ref(), TLV_TYPE))
    }
    /// `lengthField`.
    pub fn length(&self) -> u16 {
        be::u16(self.buffer.as_ref(), LENGTH_FIELD)
    }
    /// The value octets.
    pub fn value(&self) -> &[u8] {
        &self.buffer.as_ref()[VALUE..VALUE + self.length() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(t: TlvRepr<'_>, expect: &[u8]) {
        let mut buf = vec![0xa5u8; t.buffer_len()];
        t.emit(&mut buf).unwrap();
        assert_eq!(buf, expect, "{t:?}");
        let (p, n) = TlvRepr::parse(&buf).unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(p, t);
    }

    #[test]
    fn unicast_tlvs_byte_exact() {
        roundtrip(
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Sync,
                log_inter_message_period: -4,
                duration: 300,
            },
            &[0, 4, 0, 6, 0x00, 0xfc, 0, 0, 1, 44],
        );
        roundtrip(
            TlvRepr::GrantUnicastTransmission {
                message_type: MessageType::Announce,
                log_inter_message_period: 1,
                duration: 60,
                renewal_invited: true,
            },
            &[0, 5, 0, 8, 0xb0, 1, 0, 0, 0, 60, 0, 1],
        );
        roundtrip(
            TlvRepr::CancelUnicastTransmission {
                message_type: MessageType::DelayResp,
            },
            &[0, 6, 0, 2, 0x90, 0],
        );
        roundtrip(
            TlvRepr::AcknowledgeCancelUnicastTransmission {
                message_type: MessageType::DelayResp,
            },
            &[0, 7, 0, 2, 0x90, 0],
        );
    }

    #[test]
    fn other_tlvs_byte_exact() {
        roundtrip(
            TlvRepr::PathTrace {
                path_sequence: &[1, 2, 3, 4, 5, 6, 7, 8],
            },
            &[0, 8, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8],
        );
        roundtrip(
            TlvRepr::OrganizationExtension {
                kind: OrgExtKind::Legacy,
                organization_id: [0x68, 0x97, 0xe8],
                organization_sub_type: [0, 0, 1],
                data: &[9, 9],
            },
            &[0, 3, 0, 8, 0x68, 0x97, 0xe8, 0, 0, 1, 9, 9],
        );
        roundtrip(
            TlvRepr::AlternateTimeOffsetIndicator {
                key_field: 1,
                current_offset: -3600,
                jump_seconds: 3600,
                time_of_next_jump: 0x0102_0304_0506,
                display_name: PtpText(b"CET"),
            },
            &[
                0, 9, 0, 20, 1, 0xff, 0xff, 0xf1, 0xf0, 0, 0, 0x0e, 0x10, 1, 2, 3, 4, 5, 6, 3,
                b'C', b'E', b'T', 0,
            ],
        );
        roundtrip(
            TlvRepr::ManagementErrorStatus {
                error_id: management_error::NOT_SUPPORTED,
                id: ManagementId(0x2005),
                display_data: None,
            },
            &[0, 2, 0, 8, 0, 6, 0x20, 0x05, 0, 0, 0, 0],
        );
        roundtrip(
            TlvRepr::ManagementErrorStatus {
                error_id: management_error::WRONG_LENGTH,
                id: ManagementId(0x2005),
                display_data: Some(PtpText(b"ab")),
            },
            &[0, 2, 0, 12, 0, 3, 0x20, 0x05, 0, 0, 0, 0, 2, b'a', b'b', 0],
        );
        roundtrip(
            TlvRepr::Authentication {
                spp: 1,
                sec_param_indicator: 0,
                key_id: 7,
                rest: &[0xaa; 4],
            },
            &[0x80, 0x09, 0, 10, 1, 0, 0, 0, 0, 7, 0xaa, 0xaa, 0xaa, 0xaa],
        );
        roundtrip(TlvRepr::Pad { bytes: &[0, 0] }, &[0x80, 0x08, 0, 2, 0, 0]);
        roundtrip(
            TlvRepr::Unknown {
                tlv_type: TlvType(0x7f00),
                value: &[1],
            },
            &[0x7f, 0, 0, 1, 1],
        );
    }

    #[test]
    fn errors_name_field_and_offset() {
        let e = TlvRepr::parse(&[0, 4, 0, 5, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            (e.field, e.offset, e.kind),
            ("request_unicast_transmission", 2, ErrorKind::BadLength)
        );
        let e = TlvRepr::parse(&[0, 8, 0, 16, 0]).unwrap_err();
        assert_eq!((e.field, e.kind), ("length_field", ErrorKind::Truncated));
        let e = TlvBlock::new_checked(&[0x80, 8, 0, 0, 0, 8, 0, 3, 1, 2, 3], 44).unwrap_err();
        assert_eq!((e.field, e.offset), ("path_sequence", 50));
    }

    #[test]
    fn block_iterates_several() {
        let mut buf = [0u8; 64];
        let tlvs = [
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Sync,
                log_inter_message_period: 0,
                duration: 60,
            },
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::DelayResp,
                log_inter_message_period: 0,
                duration: 60,
            },
        ];
        let block = TlvBlock::build(&mut buf, &tlvs).unwrap();
        assert_eq!(block.len(), 20);
        let got: Vec<_> = block.iter().collect();
        assert_eq!(got, tlvs);
    }
}
