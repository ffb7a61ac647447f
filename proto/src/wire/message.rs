//! Whole PTP messages: header, body (clauses 13.5–13.13) and TLVs.

use super::header::{field as hf, Header, HeaderRepr, MessageType};
use super::management::ManagementAction;
use super::tlv::TlvBlock;
use super::types::{ClockIdentity, ClockQuality, PortIdentity, TimeSource, Timestamp};
use super::{be, ErrorKind, Result, WireError};

/// Offsets of body fields, from the start of the message.
pub mod field {
    /// originTimestamp / preciseOriginTimestamp / receiveTimestamp /
    /// requestReceiptTimestamp / responseOriginTimestamp: the first body field of every
    /// timestamped message, where one-step writes the launch time.
    pub const TIMESTAMP: usize = 34;
    /// requestingPortIdentity of Delay_Resp, Pdelay_Resp and Pdelay_Resp_Follow_Up.
    pub const REQUESTING_PORT_IDENTITY: usize = 44;
    /// targetPortIdentity of Signaling and Management.
    pub const TARGET_PORT_IDENTITY: usize = 34;
    /// Announce: currentUtcOffset.
    pub const CURRENT_UTC_OFFSET: usize = 44;
    /// Announce: grandmasterPriority1 (after a reserved octet).
    pub const GRANDMASTER_PRIORITY1: usize = 47;
    /// Announce: grandmasterClockQuality.
    pub const GRANDMASTER_CLOCK_QUALITY: usize = 48;
    /// Announce: grandmasterPriority2.
    pub const GRANDMASTER_PRIORITY2: usize = 52;
    /// Announce: grandmasterIdentity.
    pub const GRANDMASTER_IDENTITY: usize = 53;
    /// Announce: stepsRemoved.
    pub const STEPS_REMOVED: usize = 61;
    /// Announce: timeSource.
    pub const TIME_SOURCE: usize = 63;
    /// Management: startingBoundaryHops.
    pub const STARTING_BOUNDARY_HOPS: usize = 44;
    /// Management: boundaryHops.
    pub const BOUNDARY_HOPS: usize = 45;
    /// Management: actionField (low nibble).
    pub const ACTION_FIELD: usize = 46;
}

/// Announce body (13.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnnounceBody {
    /// `originTimestamp`.
    pub origin_timestamp: Timestamp,
    /// `currentUtcOffset`.
    pub current_utc_offset: i16,
    /// `grandmasterPriority1`.
    pub grandmaster_priority1: u8,
    /// `grandmasterClockQuality`.
    pub grandmaster_clock_quality: ClockQuality,
    /// `grandmasterPriority2`.
    pub grandmaster_priority2: u8,
    /// `grandmasterIdentity`.
    pub grandmaster_identity: ClockIdentity,
    /// `stepsRemoved`.
    pub steps_removed: u16,
    /// `timeSource`.
    pub time_source: TimeSource,
}

/// The fixed body of each message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageBody {
    /// Sync (13.6).
    Sync {
        /// `originTimestamp` (for one-step: the launch time).
        origin_timestamp: Timestamp,
    },
    /// Delay_Req (13.6).
    DelayReq {
        /// `originTimestamp`.
        origin_timestamp: Timestamp,
    },
    /// Pdelay_Req (13.9); ten reserved octets follow the timestamp.
    PdelayReq {
        /// `originTimestamp`.
        origin_timestamp: Timestamp,
    },
    /// Pdelay_Resp (13.10).
    PdelayResp {
        /// `requestReceiptTimestamp`.
        request_receipt_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Follow_Up (13.7).
    FollowUp {
        /// `preciseOriginTimestamp`.
        precise_origin_timestamp: Timestamp,
    },
    /// Delay_Resp (13.8).
    DelayResp {
        /// `receiveTimestamp`.
        receive_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Pdelay_Resp_Follow_Up (13.11).
    PdelayRespFollowUp {
        /// `responseOriginTimestamp`.
        response_origin_timestamp: Timestamp,
        /// `requestingPortIdentity`.
        requesting_port_identity: PortIdentity,
    },
    /// Announce (13.5).
    Announce(AnnounceBody),
    /// Signaling (13.12); its TLVs carry the content.
    Signaling {
        /// `targetPortIdentity`.
        target_port_identity: PortIdentity,
    },
    /// Management (15.4); one management TLV follows.
    Management {
        /// `targetPortIdentity`.
        target_port_identity: PortIdentity,
        /// `startingBoundaryHops`.
        starting_boundary_hops: u8,
        /// `boundaryHops`.
        boundary_hops: u8,
        /// `actionField`.
        action: ManagementAction,
    },
}

impl MessageBody {
    /// The message type this body belongs to.
    pub const fn message_type(&self) -> MessageType {
        match self {
            MessageBody::Sync { .. } => MessageType::Sync,
            MessageBody::DelayReq { .. } => MessageType::DelayReq,
            MessageBody::PdelayReq { .. } => MessageType::PdelayReq,
            MessageBody::PdelayResp { .. } => MessageType::PdelayResp,
            MessageBody::FollowUp { .. } => MessageType::FollowUp,
            MessageBody::DelayResp { .. } => MessageType::DelayResp,
            MessageBody::PdelayRespFollowUp { .. } => MessageType::PdelayRespFollowUp,
            MessageBody::Announce(_) => MessageType::Announce,
            MessageBody::Signaling { .. } => MessageType::Signaling,
            MessageBody::Management { .. } => MessageType::Management,
        }
    }

    /// Header plus body length.
    pub const fn fixed_len(&self) -> usize {
        match self.message_type().fixed_len() {
            Some(n) => n,
            None => Header::<&[u8]>::LEN,
        }
    }

    /// Parses the body of a message whose header says `mt`, from a buffer at least
    /// `mt.fixed_len()` long.
    fn parse(mt: MessageType, b: &[u8]) -> Result<Self> {
        let ts = |field| Timestamp::read(b, field::TIMESTAMP, field);
        let rpi = || {
            PortIdentity::read(
                b,
                field::REQUESTING_PORT_IDENTITY,
                "requesting_port_identity",
            )
        };
        let tpi = || PortIdentity::read(b, field::TARGET_PORT_IDENTITY, "target_port_identity");
        Ok(match mt {
            MessageType::Sync => MessageBody::Sync {
                origin_timestamp: ts("origin_timestamp")?,
            },
            MessageType::DelayReq => MessageBody::DelayReq {
                origin_timestamp: ts("origin_timestamp")?,
            },
            MessageType::PdelayReq => MessageBody::PdelayReq {
                origin_timestamp: ts("origin_timestamp")?,
            },
            MessageType::PdelayResp => MessageBody::PdelayResp {
                request_receipt_timestamp: ts("request_receipt_timestamp")?,
                requesting_port_identity: rpi()?,
            },
            MessageType::FollowUp => MessageBody::FollowUp {
                precise_origin_timestamp: ts("precise_origin_timestamp")?,
            },
            MessageType::DelayResp => MessageBody::DelayResp {
                receive_timestamp: ts("receive_timestamp")?,
                requesting_port_identity: rpi()?,
            },
            MessageType::PdelayRespFollowUp => MessageBody::PdelayRespFollowUp {
                response_origin_timestamp: ts("response_origin_timestamp")?,
                requesting_port_identity: rpi()?,
            },
            MessageType::Announce => MessageBody::Announce(AnnounceBody {
                origin_timestamp: ts("origin_timestamp")?,
                current_utc_offset: be::u16(b, field::CURRENT_UTC_OFFSET) as i16,
                grandmaster_priority1: b[field::GRANDMASTER_PRIORITY1],
                grandmaster_clock_quality: ClockQuality::read(b, field::GRANDMASTER_CLOCK_QUALITY),
                grandmaster_priority2: b[field::GRANDMASTER_PRIORITY2],
                grandmaster_identity: ClockIdentity::read(b, field::GRANDMASTER_IDENTITY),
                steps_removed: be::u16(b, field::STEPS_REMOVED),
                time_source: TimeSource(b[field::TIME_SOURCE]),
            }),
            MessageType::Signaling => MessageBody::Signaling {
                target_port_identity: tpi()?,
            },
            MessageType::Management => MessageBody::Management {
                target_port_identity: tpi()?,
                starting_boundary_hops: b[field::STARTING_BOUNDARY_HOPS],
                boundary_hops: b[field::BOUNDARY_HOPS],
                action: ManagementAction::from_nibble(b[field::ACTION_FIELD] & 0x0f),
            },
            MessageType::Reserved(_) => {
                return Err(WireError::new(
                    "message_type",
                    hf::SDO_MSGTYPE,
                    ErrorKind::Unsupported,
                ))
            }
        })
    }

    /// Writes the body into `b[34..fixed_len]`, zeroing reserved octets.
    fn emit(&self, b: &mut [u8]) {
        b[Header::<&[u8]>::LEN..self.fixed_len()].fill(0);
        match *self {
            MessageBody::Sync {
                origin_timestamp: t,
            }
            | MessageBody::DelayReq {
                origin_timestamp: t,
            }
            | MessageBody::PdelayReq {
                origin_timestamp: t,
            }
            | MessageBody::FollowUp {
                precise_origin_timestamp: t,
            } => t.write(b, field::TIMESTAMP),
            MessageBody::PdelayResp {
                request_receipt_timestamp: t,
                requesting_port_identity: p,
            }
            | MessageBody::DelayResp {
                receive_timestamp: t,
                requesting_port_identity: p,
            }
            | MessageBody::PdelayRespFollowUp {
                response_origin_timestamp: t,
                requesting_port_identity: p,
            } => {
                t.write(b, field::TIMESTAMP);
                p.write(b, field::REQUESTING_PORT_IDENTITY);
            }
            MessageBody::Announce(a) => {
                a.origin_timestamp.write(b, field::TIMESTAMP);
                be::put_u16(b, field::CURRENT_UTC_OFFSET, a.current_utc_offset as u16);
                b[field::GRANDMASTER_PRIORITY1] = a.grandmaster_priority1;
                a.grandmaster_clock_quality
                    .write(b, field::GRANDMASTER_CLOCK_QUALITY);
                b[field::GRANDMASTER_PRIORITY2] = a.grandmaster_priority2;
                b[field::GRANDMASTER_IDENTITY..field::GRANDMASTER_IDENTITY + 8]
                    .copy_from_slice(&a.grandmaster_identity.0);
                be::put_u16(b, field::STEPS_REMOVED, a.steps_removed);
                b[field::TIME_SOURCE] = a.time_source.0;
            }
            MessageBody::Signaling {
                target_port_identity,
            } => target_port_identity.write(b, field::TARGET_PORT_IDENTITY),
            MessageBody::Management {
                target_port_identity,
                starting_boundary_hops,
                boundary_hops,
                action,
            } => {
                target_port_identity.write(b, field::TARGET_PORT_IDENTITY);
                b[field::STARTING_BOUNDARY_HOPS] = starting_boundary_hops;
                b[field::BOUNDARY_HOPS] = boundary_hops;
                b[field::ACTION_FIELD] = action.nibble();
            }
        }
    }
}

/// A zero-copy view of a whole PTP message (header, body, TLVs).
///
/// `new_checked` validates the header, `messageLength` against the buffer and the message
/// type, every timestamp in the body, and the TLV framing. The buffer may be longer than
/// `messageLength` (e.g. Ethernet padding, or the two trailing octets of UDP/IPv6); the
/// excess is not part of the message.
#[derive(Debug, Clone, Copy)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Message<T> {
    /// Validates untrusted bytes.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let m = Message { buffer };
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        let h = Header::new_checked(b)?;
        let mt = h.message_type();
        let fixed = mt.fixed_len().ok_or(WireError::new(
            "message_type",
            hf::SDO_MSGTYPE,
            ErrorKind::Unsupported,
        ))?;
        let len = h.message_length() as usize;
        if len < fixed || len > b.len() {
            return Err(WireError::new(
                "message_length",
                hf::MESSAGE_LENGTH,
                ErrorKind::BadLength,
            ));
        }
        MessageBody::parse(mt, b)?;
        TlvBlock::new_checked(&b[fixed..len], fixed)?;
        Ok(())
    }

    /// The header view.
    pub fn header(&self) -> Header<&[u8]> {
        Header::new_unchecked(self.buffer.as_ref())
    }

    /// The message's bytes: exactly `messageLength` octets.
    pub fn as_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..self.header().message_length() as usize]
    }

    /// The TLVs after the fixed part.
    pub fn tlvs(&self) -> TlvBlock<'_> {
        let b = self.as_bytes();
        let fixed = self.header().message_type().fixed_len().unwrap_or(b.len());
        // Validated by `check`; an empty block is the safe fallback.
        TlvBlock::new_checked(&b[fixed..], fixed).unwrap_or_default()
    }

    /// The first body timestamp (origin / precise origin / receive / request receipt /
    /// response origin), read in place.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::read(self.buffer.as_ref(), field::TIMESTAMP, "timestamp").unwrap_or_default()
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Message<T> {
    /// One-step: writes `t` into the first body timestamp in place (10 octets at offset 34).
    pub fn set_timestamp(&mut self, t: Timestamp) {
        t.write(self.buffer.as_mut(), field::TIMESTAMP);
    }

    /// Mutable header view (correctionField, sequenceId).
    pub fn header_mut(&mut self) -> Header<&mut [u8]> {
        Header::new_unchecked(self.buffer.as_mut())
    }
}

/// A whole message as a plain value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRepr<'a> {
    /// The header. On emit, `message_type` and `message_length` are taken from the body
    /// and TLVs, not from here.
    pub header: HeaderRepr,
    /// The body.
    pub body: MessageBody,
    /// The TLVs.
    pub tlvs: TlvBlock<'a>,
}

impl<'a> MessageRepr<'a> {
    /// Parses a checked message.
    pub fn parse(m: &Message<&'a [u8]>) -> Result<Self> {
        let all: &'a [u8] = m.buffer;
        let b = &all[..Header::new_unchecked(all).message_length() as usize];
        let header = HeaderRepr::parse(&Header::new_unchecked(b));
        let body = MessageBody::parse(header.message_type, b)?;
        let fixed = body.fixed_len();
        Ok(MessageRepr {
            header,
            body,
            tlvs: TlvBlock::new_checked(&b[fixed..], fixed)?,
        })
    }

    /// Checks and parses untrusted bytes in one step.
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Self> {
        Self::parse(&Message::new_checked(buf)?)
    }

    /// Octets needed to emit: the fixed part plus the TLVs.
    pub fn buffer_len(&self) -> usize {
        self.body.fixed_len() + self.tlvs.len()
    }

    /// Writes the message into `buf`, which must be exactly [`Self::buffer_len`] octets.
    /// `messageType` and `messageLength` are derived from the body and TLVs.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let len = self.buffer_len();
        super::check_out(buf, "message", len)?;
        if len > u16::MAX as usize {
            return Err(WireError::new(
                "message_length",
                hf::MESSAGE_LENGTH,
                ErrorKind::BadLength,
            ));
        }
        let header = HeaderRepr {
            message_type: self.body.message_type(),
            message_length: len as u16,
            ..self.header
        };
        header.emit_into(buf)?;
        self.body.emit(buf);
        buf[self.body.fixed_len()..].copy_from_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::Flags;
    use crate::wire::tlv::TlvRepr;
    use crate::wire::types::{ClockAccuracy, TimeInterval};

    fn header(mt: MessageType) -> HeaderRepr {
        HeaderRepr {
            major_sdo_id: 0,
            message_type: mt,
            minor_version_ptp: 1,
            version_ptp: 2,
            message_length: 0,
            domain_number: 0,
            minor_sdo_id: 0,
            flags: Flags::default(),
            correction: TimeInterval::ZERO,
            message_type_specific: 0,
            source_port_identity: PortIdentity {
                clock_identity: ClockIdentity([0xaa; 8]),
                port_number: 1,
            },
            sequence_id: 7,
            control_field: mt.control_field(),
            log_message_interval: 0,
        }
    }

    #[test]
    fn announce_byte_exact() {
        let body = MessageBody::Announce(AnnounceBody {
            origin_timestamp: Timestamp::new(0x0102_0304_0506, 0x0708_090a).unwrap(),
            current_utc_offset: 37,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: ClockAccuracy::NS_100,
                offset_scaled_log_variance: 0x4e5d,
            },
            grandmaster_priority2: 127,
            grandmaster_identity: ClockIdentity([1, 2, 3, 4, 5, 6, 7, 8]),
            steps_removed: 0,
            time_source: TimeSource::GNSS,
        });
        let mut h = header(MessageType::Announce);
        h.message_length = 64;
        h.log_message_interval = 1;
        let r = MessageRepr {
            header: h,
            body,
            tlvs: TlvBlock::EMPTY,
        };
        let mut buf = [0xa5u8; 64];
        r.emit(&mut buf).unwrap();
        assert_eq!(
            &buf[34..],
            &[
                1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 37, 0, 128, 6, 0x21, 0x4e, 0x5d, 127, 1, 2, 3, 4,
                5, 6, 7, 8, 0, 0, 0x20
            ]
        );
        assert_eq!(&buf[..4], &[0x0b, 0x12, 0, 64]);
        assert_eq!(MessageRepr::parse_bytes(&buf).unwrap(), r);
    }

    #[test]
    fn signaling_with_tlvs_roundtrips_and_length_is_derived() {
        let mut tb = [0u8; 32];
        let tlvs = TlvBlock::build(
            &mut tb,
            &[TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Announce,
                log_inter_message_period: 1,
                duration: 60,
            }],
        )
        .unwrap();
        let r = MessageRepr {
            header: header(MessageType::Signaling),
            body: MessageBody::Signaling {
                target_port_identity: PortIdentity::ALL,
            },
            tlvs,
        };
        let mut buf = vec![0xa5u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        assert_eq!(buf.len(), 54);
        assert_eq!(&buf[2..4], &[0, 54]);
        let p = MessageRepr::parse_bytes(&buf).unwrap();
        assert_eq!(p.tlvs.iter().count(), 1);
        assert_eq!(p.body, r.body);
    }

    #[test]
    fn rejects_bad_lengths_and_types() {
        let r = MessageRepr {
            header: header(MessageType::DelayReq),
            body: MessageBody::DelayReq {
                origin_timestamp: Timestamp::default(),
            },
            tlvs: TlvBlock::EMPTY,
        };
        let mut buf = [0u8; 44];
        r.emit(&mut buf).unwrap();
        // messageLength beyond the buffer
        buf[3] = 46;
        let e = Message::new_checked(&buf[..]).unwrap_err();
        assert_eq!((e.field, e.offset), ("message_length", 2));
        // messageLength shorter than the fixed part
        buf[3] = 40;
        assert_eq!(
            Message::new_checked(&buf[..]).unwrap_err().field,
            "message_length"
        );
        buf[3] = 44;
        buf[0] = 0x05;
        assert_eq!(
            Message::new_checked(&buf[..]).unwrap_err().field,
            "message_type"
        );
        buf[0] = 0x01;
        buf[40..44].copy_from_slice(&2_000_000_000u32.to_be_bytes());
        let e = Message::new_checked(&buf[..]).unwrap_err();
        assert_eq!((e.field, e.offset), ("origin_timestamp", 40));
    }

    #[test]
    fn one_step_timestamp_written_in_place() {
        let r = MessageRepr {
            header: header(MessageType::Sync),
            body: MessageBody::Sync {
                origin_timestamp: Timestamp::default(),
            },
            tlvs: TlvBlock::EMPTY,
        };
        let mut buf = [0u8; 44];
        r.emit(&mut buf).unwrap();
        let mut m = Message::new_checked(&mut buf[..]).unwrap();
        let t = Timestamp::new(1_700_000_037, 123_456_789).unwrap();
        m.set_timestamp(t);
        assert_eq!(m.timestamp(), t);
    }
}
