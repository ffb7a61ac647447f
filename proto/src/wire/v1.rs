//! PTPv1 (IEEE 1588-2002) messages: a zero-copy view ([`V1Message`]) and plain `Repr`
//! structs to parse and build them, in the style of the v2 codec. Dante's original clocking
//! and older industrial devices speak only v1.
//!
//! # Telling v1 from v2
//!
//! v1 carries `versionPTP` as a 16-bit field at offset 0 (so octet 0 is 0 and octet 1 is
//! 1); v2 has `transportSpecific | messageType` in octet 0 and `minorVersionPTP |
//! versionPTP` in octet 1, whose low nibble is 2. [`ptp_version`] applies that one rule.
//!
//! # Layout (all big-endian)
//!
//! ```text
//! header (40)  0 versionPTP u16 · 2 versionNetwork u16 · 4 subdomain [16] · 20 messageType
//!              21 sourceCommunicationTechnology · 22 sourceUuid [6] · 28 sourcePortId u16
//!              30 sequenceId u16 · 32 control · 33 reserved · 34 flags [2] · 36 reserved [4]
//! Sync / Delay_Req (124), Follow_Up (52), Delay_Resp (60), Management (60 + parameters)
//! ```
//!
//! Field offsets of the bodies are in [`field`]. Reserved octets are written as zero and
//! ignored when read.

use super::{be, ErrorKind, Result, WireError};

/// `versionPTP` of IEEE 1588-2002.
pub const VERSION_PTP: u16 = 1;
/// `versionNetwork` of IEEE 1588-2002.
pub const VERSION_NETWORK: u16 = 1;
/// Octets of the common header.
pub const HEADER_LEN: usize = 40;
/// Octets of a Sync or Delay_Req.
pub const SYNC_LEN: usize = 124;
/// Octets of a Follow_Up.
pub const FOLLOW_UP_LEN: usize = 52;
/// Octets of a Delay_Resp.
pub const DELAY_RESP_LEN: usize = 60;
/// Octets of a Management message before its parameters.
pub const MANAGEMENT_FIXED_LEN: usize = 60;
/// Most parameter octets a Management message carries (1588-2002: 90).
pub const MAX_MANAGEMENT_PARAMETERS: usize = 90;

/// `messageType`: event messages (Sync, Delay_Req; UDP port 319).
pub const MESSAGE_TYPE_EVENT: u8 = 1;
/// `messageType`: general messages (Follow_Up, Delay_Resp, Management; UDP port 320).
pub const MESSAGE_TYPE_GENERAL: u8 = 2;
/// communicationTechnology of Ethernet (PTP_ETHER).
pub const COMM_ETHER: u8 = 1;

/// Which major PTP version a message is, by the rule in the module docs: `Some(1)`,
/// `Some(2)`, or `None` (shorter than two octets, or neither).
pub fn ptp_version(buf: &[u8]) -> Option<u8> {
    match buf {
        [0, 1, ..] => Some(1),
        [_, b, ..] if b & 0x0f == 2 => Some(2),
        _ => None,
    }
}

/// Field offsets.
pub mod field {
    use core::ops::Range;
    /// versionPTP.
    pub const VERSION_PTP: Range<usize> = 0..2;
    /// versionNetwork.
    pub const VERSION_NETWORK: Range<usize> = 2..4;
    /// subdomain.
    pub const SUBDOMAIN: Range<usize> = 4..20;
    /// messageType.
    pub const MESSAGE_TYPE: usize = 20;
    /// sourceCommunicationTechnology.
    pub const SOURCE_COMM: usize = 21;
    /// sourceUuid.
    pub const SOURCE_UUID: Range<usize> = 22..28;
    /// sourcePortId.
    pub const SOURCE_PORT: usize = 28;
    /// sequenceId.
    pub const SEQUENCE_ID: usize = 30;
    /// control.
    pub const CONTROL: usize = 32;
    /// flags (the second octet holds the defined bits).
    pub const FLAGS: Range<usize> = 34..36;

    /// Sync / Delay_Req: originTimestamp.
    pub const ORIGIN_TIMESTAMP: usize = 40;
    /// epochNumber.
    pub const EPOCH_NUMBER: usize = 48;
    /// currentUTCOffset.
    pub const CURRENT_UTC_OFFSET: usize = 50;
    /// grandmasterCommunicationTechnology.
    pub const GM_COMM: usize = 53;
    /// grandmasterClockUuid.
    pub const GM_UUID: Range<usize> = 54..60;
    /// grandmasterPortId.
    pub const GM_PORT: usize = 60;
    /// grandmasterSequenceId.
    pub const GM_SEQUENCE_ID: usize = 62;
    /// grandmasterClockStratum.
    pub const GM_STRATUM: usize = 67;
    /// grandmasterClockIdentifier.
    pub const GM_IDENTIFIER: Range<usize> = 68..72;
    /// grandmasterClockVariance.
    pub const GM_VARIANCE: usize = 74;
    /// grandmasterPreferred.
    pub const GM_PREFERRED: usize = 77;
    /// grandmasterIsBoundaryClock.
    pub const GM_IS_BOUNDARY: usize = 79;
    /// syncInterval.
    pub const SYNC_INTERVAL: usize = 83;
    /// localClockVariance.
    pub const LOCAL_VARIANCE: usize = 86;
    /// localStepsRemoved.
    pub const LOCAL_STEPS_REMOVED: usize = 90;
    /// localClockStratum.
    pub const LOCAL_STRATUM: usize = 95;
    /// localClockIdentifier.
    pub const LOCAL_IDENTIFIER: Range<usize> = 96..100;
    /// parentCommunicationTechnology.
    pub const PARENT_COMM: usize = 101;
    /// parentUuid.
    pub const PARENT_UUID: Range<usize> = 102..108;
    /// parentPortField.
    pub const PARENT_PORT: usize = 110;
    /// estimatedMasterVariance.
    pub const ESTIMATED_MASTER_VARIANCE: usize = 114;
    /// estimatedMasterDrift.
    pub const ESTIMATED_MASTER_DRIFT: usize = 116;
    /// utcReasonable.
    pub const UTC_REASONABLE: usize = 123;

    /// Follow_Up: associatedSequenceId.
    pub const ASSOCIATED_SEQUENCE_ID: usize = 42;
    /// Follow_Up: preciseOriginTimestamp.
    pub const PRECISE_ORIGIN_TIMESTAMP: usize = 44;

    /// Delay_Resp: delayReceiptTimestamp.
    pub const DELAY_RECEIPT_TIMESTAMP: usize = 40;
    /// Delay_Resp: requestingSourceCommunicationTechnology.
    pub const REQUESTING_COMM: usize = 49;
    /// Delay_Resp: requestingSourceUuid.
    pub const REQUESTING_UUID: Range<usize> = 50..56;
    /// Delay_Resp: requestingSourcePortId.
    pub const REQUESTING_PORT: usize = 56;
    /// Delay_Resp: requestingSourceSequenceId.
    pub const REQUESTING_SEQUENCE_ID: usize = 58;

    /// Management: targetCommunicationTechnology.
    pub const TARGET_COMM: usize = 41;
    /// Management: targetUuid.
    pub const TARGET_UUID: Range<usize> = 42..48;
    /// Management: targetPortId.
    pub const TARGET_PORT: usize = 48;
    /// Management: startingBoundaryHops.
    pub const STARTING_BOUNDARY_HOPS: usize = 50;
    /// Management: boundaryHops.
    pub const BOUNDARY_HOPS: usize = 52;
    /// Management: managementMessageKey.
    pub const MANAGEMENT_KEY: usize = 55;
    /// Management: parameterLength.
    pub const PARAMETER_LENGTH: usize = 58;
}

/// `control` (1588-2002 Table 18): which message this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Sync (event).
    Sync = 0,
    /// Delay_Req (event).
    DelayReq = 1,
    /// Follow_Up (general).
    FollowUp = 2,
    /// Delay_Resp (general).
    DelayResp = 3,
    /// Management (general).
    Management = 4,
}

impl Control {
    /// From the wire value.
    pub fn from_u8(v: u8) -> Option<Control> {
        Some(match v {
            0 => Control::Sync,
            1 => Control::DelayReq,
            2 => Control::FollowUp,
            3 => Control::DelayResp,
            4 => Control::Management,
            _ => return None,
        })
    }

    /// Whether it is an event message (timestamped; port 319).
    pub fn is_event(self) -> bool {
        matches!(self, Control::Sync | Control::DelayReq)
    }

    /// The `messageType` it travels with.
    pub fn message_type(self) -> u8 {
        if self.is_event() {
            MESSAGE_TYPE_EVENT
        } else {
            MESSAGE_TYPE_GENERAL
        }
    }

    /// Its length (Management: without parameters).
    pub fn fixed_len(self) -> usize {
        match self {
            Control::Sync | Control::DelayReq => SYNC_LEN,
            Control::FollowUp => FOLLOW_UP_LEN,
            Control::DelayResp => DELAY_RESP_LEN,
            Control::Management => MANAGEMENT_FIXED_LEN,
        }
    }
}

/// The defined bits of `flags` (its second octet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct V1Flags {
    /// PTP_LI_61: the last minute of the day has 61 seconds.
    pub leap61: bool,
    /// PTP_LI_59: it has 59.
    pub leap59: bool,
    /// PTP_BOUNDARY_CLOCK.
    pub boundary_clock: bool,
    /// PTP_ASSIST: two-step, a Follow_Up carries the precise time.
    pub assist: bool,
    /// PTP_EXT_SYNC.
    pub ext_sync: bool,
    /// PARENT_STATS.
    pub parent_stats: bool,
    /// PTP_SYNC_BURST.
    pub sync_burst: bool,
}

impl V1Flags {
    fn from_octet(b: u8) -> Self {
        V1Flags {
            leap61: b & 0x01 != 0,
            leap59: b & 0x02 != 0,
            boundary_clock: b & 0x04 != 0,
            assist: b & 0x08 != 0,
            ext_sync: b & 0x10 != 0,
            parent_stats: b & 0x20 != 0,
            sync_burst: b & 0x40 != 0,
        }
    }

    fn octet(self) -> u8 {
        u8::from(self.leap61)
            | u8::from(self.leap59) << 1
            | u8::from(self.boundary_clock) << 2
            | u8::from(self.assist) << 3
            | u8::from(self.ext_sync) << 4
            | u8::from(self.parent_stats) << 5
            | u8::from(self.sync_burst) << 6
    }
}

/// A v1 subdomain name: 16 octets, NUL-padded (`_DFLT`, `_ALT1` … `_ALT3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subdomain(pub [u8; 16]);

impl Subdomain {
    /// The default subdomain, to 224.0.1.129.
    pub const DEFAULT: Subdomain = Subdomain::named(b"_DFLT");

    /// `name` NUL-padded (longer names are cut at 16 octets).
    pub const fn named(name: &[u8]) -> Subdomain {
        let mut s = [0u8; 16];
        let mut i = 0;
        while i < name.len() && i < 16 {
            s[i] = name[i];
            i += 1;
        }
        Subdomain(s)
    }

    /// The four standard subdomains, in the order of their groups.
    pub const STANDARD: [Subdomain; 4] = [
        Subdomain::DEFAULT,
        Subdomain::named(b"_ALT1"),
        Subdomain::named(b"_ALT2"),
        Subdomain::named(b"_ALT3"),
    ];

    /// Which of the four standard subdomains this is: 0 for `_DFLT`, 1–3 for `_ALT1`–`_ALT3`
    /// (`None` for any other name).
    pub fn standard_index(&self) -> Option<u8> {
        Self::STANDARD
            .iter()
            .position(|s| s == self)
            .map(|k| k as u8)
    }

    /// Which group the subdomain uses (1588-2002 Annex D): 0 `_DFLT` (224.0.1.129), 1–3
    /// `_ALT1`–`_ALT3` (.130–.132), and for any other name 1 + (CRC-32 of its 16 octets)
    /// mod 3, an alternate group it shares with other names.
    pub fn group_index(&self) -> u8 {
        self.standard_index()
            .unwrap_or_else(|| 1 + (crc32(&self.0) % 3) as u8)
    }

    /// The IPv4 multicast group (see [`Subdomain::group_index`]).
    pub fn multicast_group(&self) -> [u8; 4] {
        group_of_index(self.group_index())
    }

    /// The name without its padding.
    pub fn name(&self) -> &[u8] {
        let n = self.0.iter().position(|&b| b == 0).unwrap_or(16);
        &self.0[..n]
    }
}

/// CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR all ones),
/// as 1588-2002 hashes subdomain names.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The IPv4 group of standard subdomain `k` (0 `_DFLT` … 3 `_ALT3`): 224.0.1.(129 + k).
pub const fn group_of_index(k: u8) -> [u8; 4] {
    [224, 0, 1, 129 + (k & 3)]
}

/// A 1588-2002 time: seconds and nanoseconds (a negative nanoseconds field carries the
/// sign of the whole, which a master never sends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct V1Time {
    /// Seconds.
    pub seconds: u32,
    /// Nanoseconds, |n| < 10⁹.
    pub nanoseconds: i32,
}

impl V1Time {
    fn read(b: &[u8], at: usize, name: &'static str) -> Result<V1Time> {
        let t = V1Time {
            seconds: be::u32(b, at),
            nanoseconds: be::u32(b, at + 4) as i32,
        };
        if t.nanoseconds.unsigned_abs() >= 1_000_000_000 {
            return Err(WireError::new(name, at + 4, ErrorKind::BadValue));
        }
        Ok(t)
    }

    fn write(self, b: &mut [u8], at: usize) {
        be::put_u32(b, at, self.seconds);
        be::put_u32(b, at + 4, self.nanoseconds as u32);
    }
}

/// A v1 port identity: communication technology, UUID (the MAC for Ethernet) and port id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct V1PortIdentity {
    /// communicationTechnology (1: Ethernet).
    pub communication_technology: u8,
    /// The 6-octet UUID.
    pub uuid: [u8; 6],
    /// portId.
    pub port_id: u16,
}

/// The common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1HeaderRepr {
    /// versionNetwork (1).
    pub version_network: u16,
    /// subdomain.
    pub subdomain: Subdomain,
    /// Source: communication technology, UUID, port.
    pub source: V1PortIdentity,
    /// sequenceId.
    pub sequence_id: u16,
    /// flags.
    pub flags: V1Flags,
}

/// Sync and Delay_Req: the timestamp plus the sender's view of its grandmaster, parent and
/// itself (what v2 moved into Announce).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncBody {
    /// originTimestamp.
    pub origin_timestamp: V1Time,
    /// epochNumber.
    pub epoch_number: u16,
    /// currentUTCOffset, seconds.
    pub current_utc_offset: i16,
    /// The grandmaster's communication technology, UUID and port.
    pub grandmaster: V1PortIdentity,
    /// grandmasterSequenceId.
    pub grandmaster_sequence_id: u16,
    /// grandmasterClockStratum.
    pub grandmaster_stratum: u8,
    /// grandmasterClockIdentifier (`GPS\0`, `ATOM`, `NTP\0`, `HAND`, `INIT`, `DFLT`).
    pub grandmaster_identifier: [u8; 4],
    /// grandmasterClockVariance.
    pub grandmaster_variance: i16,
    /// grandmasterPreferred.
    pub grandmaster_preferred: bool,
    /// grandmasterIsBoundaryClock.
    pub grandmaster_is_boundary_clock: bool,
    /// syncInterval, log2 seconds.
    pub sync_interval: i8,
    /// localClockVariance.
    pub local_variance: i16,
    /// localStepsRemoved.
    pub local_steps_removed: u16,
    /// localClockStratum.
    pub local_stratum: u8,
    /// localClockIdentifier.
    pub local_identifier: [u8; 4],
    /// The parent's communication technology, UUID and port.
    pub parent: V1PortIdentity,
    /// estimatedMasterVariance.
    pub estimated_master_variance: i16,
    /// estimatedMasterDrift.
    pub estimated_master_drift: i32,
    /// utcReasonable.
    pub utc_reasonable: bool,
}

/// A message body, by `control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V1Body<'a> {
    /// Sync.
    Sync(SyncBody),
    /// Delay_Req (same fields as Sync).
    DelayReq(SyncBody),
    /// Follow_Up.
    FollowUp {
        /// The Sync's sequenceId.
        associated_sequence_id: u16,
        /// preciseOriginTimestamp.
        precise_origin_timestamp: V1Time,
    },
    /// Delay_Resp.
    DelayResp {
        /// delayReceiptTimestamp.
        delay_receipt_timestamp: V1Time,
        /// The requester (communication technology, UUID, port).
        requesting: V1PortIdentity,
        /// The request's sequenceId.
        requesting_sequence_id: u16,
    },
    /// Management.
    Management {
        /// The target (all-ones UUID: every clock).
        target: V1PortIdentity,
        /// startingBoundaryHops.
        starting_boundary_hops: i16,
        /// boundaryHops.
        boundary_hops: i16,
        /// managementMessageKey (1588-2002 Table 25).
        key: u8,
        /// messageParameters (`parameterLength` octets).
        parameters: &'a [u8],
    },
}

impl V1Body<'_> {
    /// Its `control`.
    pub fn control(&self) -> Control {
        match self {
            V1Body::Sync(_) => Control::Sync,
            V1Body::DelayReq(_) => Control::DelayReq,
            V1Body::FollowUp { .. } => Control::FollowUp,
            V1Body::DelayResp { .. } => Control::DelayResp,
            V1Body::Management { .. } => Control::Management,
        }
    }
}

/// A whole v1 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1MessageRepr<'a> {
    /// Header.
    pub header: V1HeaderRepr,
    /// Body.
    pub body: V1Body<'a>,
}

/// A zero-copy view of a v1 message: the header checked (version, control, length) by
/// [`V1Message::new_checked`]; fields read on demand.
#[derive(Debug, Clone, Copy)]
pub struct V1Message<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> V1Message<T> {
    /// Checks versionPTP, the control value and that the buffer holds the whole message
    /// (trailing octets, e.g. Ethernet padding, are allowed and ignored).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(WireError::new("header", b.len(), ErrorKind::Truncated));
        }
        if be::u16(b, field::VERSION_PTP.start) != VERSION_PTP {
            return Err(WireError::new("version_ptp", 0, ErrorKind::Unsupported));
        }
        let control = Control::from_u8(b[field::CONTROL]).ok_or(WireError::new(
            "control",
            field::CONTROL,
            ErrorKind::BadValue,
        ))?;
        let mut need = control.fixed_len();
        if control == Control::Management && b.len() >= MANAGEMENT_FIXED_LEN {
            let n = usize::from(be::u16(b, field::PARAMETER_LENGTH));
            if n > MAX_MANAGEMENT_PARAMETERS {
                return Err(WireError::new(
                    "parameter_length",
                    field::PARAMETER_LENGTH,
                    ErrorKind::BadLength,
                ));
            }
            need += n;
        }
        if b.len() < need {
            return Err(WireError::new("message", b.len(), ErrorKind::Truncated));
        }
        Ok(V1Message { buffer })
    }

    /// control.
    pub fn control(&self) -> Control {
        Control::from_u8(self.buffer.as_ref()[field::CONTROL]).unwrap_or(Control::Management)
    }

    /// sequenceId.
    pub fn sequence_id(&self) -> u16 {
        be::u16(self.buffer.as_ref(), field::SEQUENCE_ID)
    }

    /// subdomain.
    pub fn subdomain(&self) -> Subdomain {
        let mut s = [0u8; 16];
        s.copy_from_slice(&self.buffer.as_ref()[field::SUBDOMAIN]);
        Subdomain(s)
    }

    /// The source port identity.
    pub fn source(&self) -> V1PortIdentity {
        let b = self.buffer.as_ref();
        identity(
            b,
            field::SOURCE_COMM,
            field::SOURCE_UUID.start,
            field::SOURCE_PORT,
        )
    }

    /// The message's octets (without trailing padding).
    pub fn as_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let mut n = self.control().fixed_len();
        if self.control() == Control::Management {
            n += usize::from(be::u16(b, field::PARAMETER_LENGTH));
        }
        &b[..n]
    }
}

fn identity(b: &[u8], comm: usize, uuid: usize, port: usize) -> V1PortIdentity {
    let mut u = [0u8; 6];
    u.copy_from_slice(&b[uuid..uuid + 6]);
    V1PortIdentity {
        communication_technology: b[comm],
        uuid: u,
        port_id: be::u16(b, port),
    }
}

fn put_identity(b: &mut [u8], comm: usize, uuid: usize, port: usize, id: &V1PortIdentity) {
    b[comm] = id.communication_technology;
    b[uuid..uuid + 6].copy_from_slice(&id.uuid);
    be::put_u16(b, port, id.port_id);
}

fn four(b: &[u8], r: core::ops::Range<usize>) -> [u8; 4] {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[r]);
    x
}

impl<'a> V1MessageRepr<'a> {
    /// Checks and parses `buf`.
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Self> {
        V1Message::new_checked(buf)?;
        Self::parse_checked(buf)
    }

    fn parse_checked(b: &'a [u8]) -> Result<Self> {
        use field as f;
        let control = Control::from_u8(b[f::CONTROL]).ok_or(WireError::new(
            "control",
            f::CONTROL,
            ErrorKind::BadValue,
        ))?;
        if b[f::MESSAGE_TYPE] != control.message_type() {
            return Err(WireError::new(
                "message_type",
                f::MESSAGE_TYPE,
                ErrorKind::BadValue,
            ));
        }
        let mut subdomain = [0u8; 16];
        subdomain.copy_from_slice(&b[f::SUBDOMAIN]);
        let header = V1HeaderRepr {
            version_network: be::u16(b, f::VERSION_NETWORK.start),
            subdomain: Subdomain(subdomain),
            source: identity(b, f::SOURCE_COMM, f::SOURCE_UUID.start, f::SOURCE_PORT),
            sequence_id: be::u16(b, f::SEQUENCE_ID),
            flags: V1Flags::from_octet(b[f::FLAGS.end - 1]),
        };
        let body = match control {
            Control::Sync | Control::DelayReq => {
                let s = SyncBody {
                    origin_timestamp: V1Time::read(b, f::ORIGIN_TIMESTAMP, "origin_timestamp")?,
                    epoch_number: be::u16(b, f::EPOCH_NUMBER),
                    current_utc_offset: be::u16(b, f::CURRENT_UTC_OFFSET) as i16,
                    grandmaster: identity(b, f::GM_COMM, f::GM_UUID.start, f::GM_PORT),
                    grandmaster_sequence_id: be::u16(b, f::GM_SEQUENCE_ID),
                    grandmaster_stratum: b[f::GM_STRATUM],
                    grandmaster_identifier: four(b, f::GM_IDENTIFIER),
                    grandmaster_variance: be::u16(b, f::GM_VARIANCE) as i16,
                    grandmaster_preferred: b[f::GM_PREFERRED] != 0,
                    grandmaster_is_boundary_clock: b[f::GM_IS_BOUNDARY] != 0,
                    sync_interval: b[f::SYNC_INTERVAL] as i8,
                    local_variance: be::u16(b, f::LOCAL_VARIANCE) as i16,
                    local_steps_removed: be::u16(b, f::LOCAL_STEPS_REMOVED),
                    local_stratum: b[f::LOCAL_STRATUM],
                    local_identifier: four(b, f::LOCAL_IDENTIFIER),
                    parent: identity(b, f::PARENT_COMM, f::PARENT_UUID.start, f::PARENT_PORT),
                    estimated_master_variance: be::u16(b, f::ESTIMATED_MASTER_VARIANCE) as i16,
                    estimated_master_drift: be::u32(b, f::ESTIMATED_MASTER_DRIFT) as i32,
                    utc_reasonable: b[f::UTC_REASONABLE] != 0,
                };
                if control == Control::Sync {
                    V1Body::Sync(s)
                } else {
                    V1Body::DelayReq(s)
                }
            }
            Control::FollowUp => V1Body::FollowUp {
                associated_sequence_id: be::u16(b, f::ASSOCIATED_SEQUENCE_ID),
                precise_origin_timestamp: V1Time::read(
                    b,
                    f::PRECISE_ORIGIN_TIMESTAMP,
                    "precise_origin_timestamp",
                )?,
            },
            Control::DelayResp => V1Body::DelayResp {
                delay_receipt_timestamp: V1Time::read(
                    b,
                    f::DELAY_RECEIPT_TIMESTAMP,
                    "delay_receipt_timestamp",
                )?,
                requesting: identity(
                    b,
                    f::REQUESTING_COMM,
                    f::REQUESTING_UUID.start,
                    f::REQUESTING_PORT,
                ),
                requesting_sequence_id: be::u16(b, f::REQUESTING_SEQUENCE_ID),
            },
            Control::Management => {
                let n = usize::from(be::u16(b, f::PARAMETER_LENGTH));
                V1Body::Management {
                    target: identity(b, f::TARGET_COMM, f::TARGET_UUID.start, f::TARGET_PORT),
                    starting_boundary_hops: be::u16(b, f::STARTING_BOUNDARY_HOPS) as i16,
                    boundary_hops: be::u16(b, f::BOUNDARY_HOPS) as i16,
                    key: b[f::MANAGEMENT_KEY],
                    parameters: &b[MANAGEMENT_FIXED_LEN..MANAGEMENT_FIXED_LEN + n],
                }
            }
        };
        Ok(V1MessageRepr { header, body })
    }

    /// Octets needed to emit.
    pub fn buffer_len(&self) -> usize {
        match &self.body {
            V1Body::Management { parameters, .. } => MANAGEMENT_FIXED_LEN + parameters.len(),
            b => b.control().fixed_len(),
        }
    }

    /// Writes the message into `buf`, exactly [`Self::buffer_len`] octets; reserved octets
    /// are zeroed. versionPTP, messageType and control come from the body.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        use field as f;
        let len = self.buffer_len();
        if buf.len() != len {
            return Err(WireError::new("message", 0, ErrorKind::BufferSize));
        }
        if let V1Body::Management { parameters, .. } = &self.body {
            if parameters.len() > MAX_MANAGEMENT_PARAMETERS {
                return Err(WireError::new(
                    "parameter_length",
                    f::PARAMETER_LENGTH,
                    ErrorKind::BadLength,
                ));
            }
        }
        buf.fill(0);
        let h = &self.header;
        let control = self.body.control();
        be::put_u16(buf, f::VERSION_PTP.start, VERSION_PTP);
        be::put_u16(buf, f::VERSION_NETWORK.start, h.version_network);
        buf[f::SUBDOMAIN].copy_from_slice(&h.subdomain.0);
        buf[f::MESSAGE_TYPE] = control.message_type();
        put_identity(
            buf,
            f::SOURCE_COMM,
            f::SOURCE_UUID.start,
            f::SOURCE_PORT,
            &h.source,
        );
        be::put_u16(buf, f::SEQUENCE_ID, h.sequence_id);
        buf[f::CONTROL] = control as u8;
        buf[f::FLAGS.end - 1] = h.flags.octet();
        match &self.body {
            V1Body::Sync(s) | V1Body::DelayReq(s) => {
                s.origin_timestamp.write(buf, f::ORIGIN_TIMESTAMP);
                be::put_u16(buf, f::EPOCH_NUMBER, s.epoch_number);
                be::put_u16(buf, f::CURRENT_UTC_OFFSET, s.current_utc_offset as u16);
                put_identity(
                    buf,
                    f::GM_COMM,
                    f::GM_UUID.start,
                    f::GM_PORT,
                    &s.grandmaster,
                );
                be::put_u16(buf, f::GM_SEQUENCE_ID, s.grandmaster_sequence_id);
                buf[f::GM_STRATUM] = s.grandmaster_stratum;
                buf[f::GM_IDENTIFIER].copy_from_slice(&s.grandmaster_identifier);
                be::put_u16(buf, f::GM_VARIANCE, s.grandmaster_variance as u16);
                buf[f::GM_PREFERRED] = u8::from(s.grandmaster_preferred);
                buf[f::GM_IS_BOUNDARY] = u8::from(s.grandmaster_is_boundary_clock);
                buf[f::SYNC_INTERVAL] = s.sync_interval as u8;
                be::put_u16(buf, f::LOCAL_VARIANCE, s.local_variance as u16);
                be::put_u16(buf, f::LOCAL_STEPS_REMOVED, s.local_steps_removed);
                buf[f::LOCAL_STRATUM] = s.local_stratum;
                buf[f::LOCAL_IDENTIFIER].copy_from_slice(&s.local_identifier);
                put_identity(
                    buf,
                    f::PARENT_COMM,
                    f::PARENT_UUID.start,
                    f::PARENT_PORT,
                    &s.parent,
                );
                be::put_u16(
                    buf,
                    f::ESTIMATED_MASTER_VARIANCE,
                    s.estimated_master_variance as u16,
                );
                be::put_u32(
                    buf,
                    f::ESTIMATED_MASTER_DRIFT,
                    s.estimated_master_drift as u32,
                );
                buf[f::UTC_REASONABLE] = u8::from(s.utc_reasonable);
            }
            V1Body::FollowUp {
                associated_sequence_id,
                precise_origin_timestamp,
            } => {
                be::put_u16(buf, f::ASSOCIATED_SEQUENCE_ID, *associated_sequence_id);
                precise_origin_timestamp.write(buf, f::PRECISE_ORIGIN_TIMESTAMP);
            }
            V1Body::DelayResp {
                delay_receipt_timestamp,
                requesting,
                requesting_sequence_id,
            } => {
                delay_receipt_timestamp.write(buf, f::DELAY_RECEIPT_TIMESTAMP);
                put_identity(
                    buf,
                    f::REQUESTING_COMM,
                    f::REQUESTING_UUID.start,
                    f::REQUESTING_PORT,
                    requesting,
                );
                be::put_u16(buf, f::REQUESTING_SEQUENCE_ID, *requesting_sequence_id);
            }
            V1Body::Management {
                target,
                starting_boundary_hops,
                boundary_hops,
                key,
                parameters,
            } => {
                put_identity(
                    buf,
                    f::TARGET_COMM,
                    f::TARGET_UUID.start,
                    f::TARGET_PORT,
                    target,
                );
                be::put_u16(
                    buf,
                    f::STARTING_BOUNDARY_HOPS,
                    *starting_boundary_hops as u16,
                );
                be::put_u16(buf, f::BOUNDARY_HOPS, *boundary_hops as u16);
                buf[f::MANAGEMENT_KEY] = *key;
                be::put_u16(buf, f::PARAMETER_LENGTH, parameters.len() as u16);
                buf[MANAGEMENT_FIXED_LEN..].copy_from_slice(parameters);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(seq: u16) -> V1HeaderRepr {
        V1HeaderRepr {
            version_network: VERSION_NETWORK,
            subdomain: Subdomain::DEFAULT,
            source: V1PortIdentity {
                communication_technology: COMM_ETHER,
                uuid: [0x02, 0x6d, 0x69, 0, 0, 1],
                port_id: 1,
            },
            sequence_id: seq,
            flags: V1Flags {
                assist: true,
                ..V1Flags::default()
            },
        }
    }

    fn sync_body() -> SyncBody {
        let me = header(0).source;
        SyncBody {
            origin_timestamp: V1Time {
                seconds: 1_700_000_000,
                nanoseconds: 123_456_789,
            },
            epoch_number: 0,
            current_utc_offset: 37,
            grandmaster: me,
            grandmaster_sequence_id: 7,
            grandmaster_stratum: 1,
            grandmaster_identifier: *b"GPS\0",
            grandmaster_variance: -16_000,
            grandmaster_preferred: true,
            grandmaster_is_boundary_clock: false,
            sync_interval: 0,
            local_variance: -16_000,
            local_steps_removed: 0,
            local_stratum: 1,
            local_identifier: *b"GPS\0",
            parent: me,
            estimated_master_variance: -1,
            estimated_master_drift: 0,
            utc_reasonable: true,
        }
    }

    fn roundtrip(r: &V1MessageRepr<'_>) -> Vec<u8> {
        let mut b = vec![0u8; r.buffer_len()];
        r.emit(&mut b).unwrap();
        assert_eq!(&V1MessageRepr::parse_bytes(&b).unwrap(), r);
        b
    }

    /// Every field at the offset 1588-2002 (and Wireshark's PTPv1 dissector) puts it.
    #[test]
    fn sync_is_byte_exact() {
        let r = V1MessageRepr {
            header: header(0x1234),
            body: V1Body::Sync(sync_body()),
        };
        let b = roundtrip(&r);
        assert_eq!(b.len(), 124);
        assert_eq!(&b[0..4], &[0, 1, 0, 1]);
        assert_eq!(&b[4..10], b"_DFLT\0");
        assert_eq!(b[20], 1, "event");
        assert_eq!(&b[21..30], &[1, 0x02, 0x6d, 0x69, 0, 0, 1, 0, 1]);
        assert_eq!(&b[30..33], &[0x12, 0x34, 0]);
        assert_eq!(
            &b[34..36],
            &[0, 0x08],
            "PTP_ASSIST in the second flags octet"
        );
        assert_eq!(
            &b[40..48],
            &[0x65, 0x53, 0xf1, 0x00, 0x07, 0x5b, 0xcd, 0x15]
        );
        assert_eq!(&b[50..52], &[0, 37]);
        assert_eq!(&b[53..60], &[1, 0x02, 0x6d, 0x69, 0, 0, 1]);
        assert_eq!(b[67], 1);
        assert_eq!(&b[68..72], b"GPS\0");
        assert_eq!(&b[74..76], &(-16_000i16).to_be_bytes());
        assert_eq!((b[77], b[79], b[83]), (1, 0, 0));
        assert_eq!(&b[101..108], &[1, 0x02, 0x6d, 0x69, 0, 0, 1]);
        assert_eq!(&b[110..112], &[0, 1]);
        assert_eq!(b[123], 1);
        assert_eq!(ptp_version(&b), Some(1));
    }

    #[test]
    fn follow_up_delay_resp_and_management_are_byte_exact() {
        let f = V1MessageRepr {
            header: header(9),
            body: V1Body::FollowUp {
                associated_sequence_id: 8,
                precise_origin_timestamp: V1Time {
                    seconds: 2,
                    nanoseconds: 3,
                },
            },
        };
        let b = roundtrip(&f);
        assert_eq!(b.len(), 52);
        assert_eq!((b[20], b[32]), (2, 2));
        assert_eq!(&b[42..52], &[0, 8, 0, 0, 0, 2, 0, 0, 0, 3]);
        let d = V1MessageRepr {
            header: header(10),
            body: V1Body::DelayResp {
                delay_receipt_timestamp: V1Time {
                    seconds: 4,
                    nanoseconds: 5,
                },
                requesting: V1PortIdentity {
                    communication_technology: 1,
                    uuid: [2, 0, 0, 0, 0, 9],
                    port_id: 1,
                },
                requesting_sequence_id: 77,
            },
        };
        let b = roundtrip(&d);
        assert_eq!(b.len(), 60);
        assert_eq!((b[20], b[32]), (2, 3));
        assert_eq!(
            &b[40..60],
            &[0, 0, 0, 4, 0, 0, 0, 5, 0, 1, 2, 0, 0, 0, 0, 9, 0, 1, 0, 77]
        );
        let m = V1MessageRepr {
            header: header(11),
            body: V1Body::Management {
                target: V1PortIdentity {
                    communication_technology: 0xff,
                    uuid: [0xff; 6],
                    port_id: 0xffff,
                },
                starting_boundary_hops: 0,
                boundary_hops: 0,
                key: 7,
                parameters: &[],
            },
        };
        let b = roundtrip(&m);
        assert_eq!(b.len(), 60);
        assert_eq!((b[32], b[41], b[55], b[58], b[59]), (4, 0xff, 7, 0, 0));
    }

    #[test]
    fn v1_and_v2_are_told_apart_by_one_rule() {
        assert_eq!(ptp_version(&[0, 1]), Some(1));
        assert_eq!(ptp_version(&[0x00, 0x02]), Some(2), "v2 Sync");
        assert_eq!(ptp_version(&[0x0b, 0x12]), Some(2), "v2.1 Announce");
        assert_eq!(ptp_version(&[0x00, 0x03]), None);
        assert_eq!(ptp_version(&[0]), None);
        // A v2 message is not a v1 one.
        let mut v2 = [0u8; 44];
        v2[1] = 2;
        assert_eq!(
            V1Message::new_checked(&v2[..]).unwrap_err().field,
            "version_ptp"
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let r = V1MessageRepr {
            header: header(1),
            body: V1Body::Sync(sync_body()),
        };
        let good = roundtrip(&r);
        for n in 0..good.len() {
            assert!(
                V1MessageRepr::parse_bytes(&good[..n]).is_err(),
                "{n} octets"
            );
        }
        let mut b = good.clone();
        b[32] = 9;
        assert_eq!(V1MessageRepr::parse_bytes(&b).unwrap_err().field, "control");
        let mut b = good.clone();
        b[20] = 2;
        assert_eq!(
            V1MessageRepr::parse_bytes(&b).unwrap_err().field,
            "message_type"
        );
        let mut b = good.clone();
        b[44..48].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        assert_eq!(
            V1MessageRepr::parse_bytes(&b).unwrap_err().field,
            "origin_timestamp"
        );
        // Padding after the message is allowed (minimum Ethernet frames).
        let mut padded = good.clone();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(V1MessageRepr::parse_bytes(&padded).unwrap(), r);
        // Management parameters beyond 90 octets, or past the buffer.
        let mut m = vec![0u8; 60];
        m[..2].copy_from_slice(&[0, 1]);
        m[20] = 2;
        m[32] = 4;
        m[58..60].copy_from_slice(&91u16.to_be_bytes());
        assert_eq!(
            V1MessageRepr::parse_bytes(&m).unwrap_err().field,
            "parameter_length"
        );
        m[58..60].copy_from_slice(&4u16.to_be_bytes());
        assert_eq!(
            V1MessageRepr::parse_bytes(&m).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn subdomains_map_to_their_groups() {
        assert_eq!(Subdomain::DEFAULT.multicast_group(), [224, 0, 1, 129]);
        for (i, n) in [b"_ALT1", b"_ALT2", b"_ALT3"].iter().enumerate() {
            assert_eq!(
                Subdomain::named(*n).multicast_group(),
                [224, 0, 1, 130 + i as u8]
            );
        }
        // The CRC-32 check value, then names hashed over their 16 padded octets.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        for name in [b"studio".as_slice(), b"STUDIO", b"DANTE", b"x"] {
            let s = Subdomain::named(name);
            assert_eq!(s.standard_index(), None);
            assert_eq!(u32::from(s.group_index()), 1 + crc32(&s.0) % 3);
        }
        assert_eq!(Subdomain::named(b"studio").name(), b"studio");
    }
}
