//! Primitive PTP data types (IEEE 1588-2019 clause 5.3).

use core::fmt;

use super::{be, need, ErrorKind, Result, WireError};

/// Nanoseconds in one second.
pub const NANOS_PER_SEC: u32 = 1_000_000_000;

/// `Timestamp` (5.3.3): 48-bit seconds and 32-bit nanoseconds, 10 octets on the wire.
///
/// The timescale (TAI for the PTP timescale) is the caller's business; this is only the
/// wire encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// `secondsField`, 48 bits.
    pub seconds: u64,
    /// `nanosecondsField`, always `< 10^9`.
    pub nanoseconds: u32,
}

impl Timestamp {
    /// Encoded length in octets.
    pub const LEN: usize = 10;
    /// Largest value of the 48-bit seconds field.
    pub const MAX_SECONDS: u64 = (1 << 48) - 1;

    /// A timestamp, or `None` if a field is out of range.
    pub const fn new(seconds: u64, nanoseconds: u32) -> Option<Self> {
        if seconds > Self::MAX_SECONDS || nanoseconds >= NANOS_PER_SEC {
            None
        } else {
            Some(Timestamp {
                seconds,
                nanoseconds,
            })
        }
    }

    /// From nanoseconds since the epoch of its timescale, or `None` past 2^48 seconds.
    pub const fn from_nanos(nanos: u128) -> Option<Self> {
        let secs = nanos / NANOS_PER_SEC as u128;
        if secs > Self::MAX_SECONDS as u128 {
            return None;
        }
        Some(Timestamp {
            seconds: secs as u64,
            nanoseconds: (nanos % NANOS_PER_SEC as u128) as u32,
        })
    }

    /// Nanoseconds since the epoch of its timescale.
    pub const fn as_nanos(&self) -> u128 {
        self.seconds as u128 * NANOS_PER_SEC as u128 + self.nanoseconds as u128
    }

    /// Reads a timestamp at `at`, naming `field` in errors.
    pub fn read(buf: &[u8], at: usize, field: &'static str) -> Result<Self> {
        need(buf, field, at, at + Self::LEN)?;
        let seconds = be::u48(buf, at);
        let nanoseconds = be::u32(buf, at + 6);
        if nanoseconds >= NANOS_PER_SEC {
            return Err(WireError::new(field, at + 6, ErrorKind::BadValue));
        }
        Ok(Timestamp {
            seconds,
            nanoseconds,
        })
    }

    /// Writes the timestamp at `at`. The caller guarantees room.
    pub fn write(&self, buf: &mut [u8], at: usize) {
        be::put_u48(buf, at, self.seconds);
        be::put_u32(buf, at + 6, self.nanoseconds);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.seconds, self.nanoseconds)
    }
}

/// `TimeInterval` (5.3.2): nanoseconds scaled by 2^16, as carried by `correctionField`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeInterval(pub i64);

impl TimeInterval {
    /// Encoded length in octets.
    pub const LEN: usize = 8;
    /// Zero.
    pub const ZERO: TimeInterval = TimeInterval(0);

    /// Whole nanoseconds, saturating at the representable range.
    pub const fn from_nanos(nanos: i64) -> Self {
        TimeInterval(nanos.saturating_mul(1 << 16))
    }

    /// From scaled nanoseconds (units of 2^-16 ns).
    pub const fn from_scaled_nanos(scaled: i64) -> Self {
        TimeInterval(scaled)
    }

    /// Nanoseconds as a float (sub-nanosecond parts kept).
    pub fn as_nanos_f64(&self) -> f64 {
        self.0 as f64 / 65536.0
    }

    /// Whole nanoseconds, truncated toward negative infinity.
    pub const fn as_nanos_floor(&self) -> i64 {
        self.0 >> 16
    }
}

/// `ClockIdentity` (5.3.4, 7.5.2.2): eight octets.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockIdentity(pub [u8; 8]);

impl ClockIdentity {
    /// Encoded length in octets.
    pub const LEN: usize = 8;
    /// All ones: the wildcard in targetPortIdentity (7.5.2.4).
    pub const ALL: ClockIdentity = ClockIdentity([0xff; 8]);

    /// The EUI-64 built from an EUI-48 MAC by inserting `FF FE` in the middle, as linuxptp
    /// and most grandmasters do.
    pub const fn from_mac(mac: [u8; 6]) -> Self {
        ClockIdentity([mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]])
    }

    pub(crate) fn read(buf: &[u8], at: usize) -> Self {
        let mut id = [0u8; 8];
        id.copy_from_slice(&buf[at..at + 8]);
        ClockIdentity(id)
    }
}

impl fmt::Display for ClockIdentity {
    /// linuxptp style: `001122.fffe.334455`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

impl fmt::Debug for ClockIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClockIdentity({self})")
    }
}

/// `PortIdentity` (5.3.5): clock identity and port number, ten octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PortIdentity {
    /// `clockIdentity`.
    pub clock_identity: ClockIdentity,
    /// `portNumber`, 1-based; 0xFFFF is the wildcard.
    pub port_number: u16,
}

impl PortIdentity {
    /// Encoded length in octets.
    pub const LEN: usize = 10;
    /// The all-ones wildcard target (7.5.2.4).
    pub const ALL: PortIdentity = PortIdentity {
        clock_identity: ClockIdentity::ALL,
        port_number: 0xffff,
    };

    /// Reads a port identity at `at`, naming `field` in errors.
    pub fn read(buf: &[u8], at: usize, field: &'static str) -> Result<Self> {
        need(buf, field, at, at + Self::LEN)?;
        Ok(PortIdentity {
            clock_identity: ClockIdentity::read(buf, at),
            port_number: be::u16(buf, at + 8),
        })
    }

    /// Writes the port identity at `at`. The caller guarantees room.
    pub fn write(&self, buf: &mut [u8], at: usize) {
        buf[at..at + 8].copy_from_slice(&self.clock_identity.0);
        be::put_u16(buf, at + 8, self.port_number);
    }

    /// Whether this identity matches `other` with 7.5.2.4 wildcard rules applied to `self`.
    pub fn matches(&self, other: &PortIdentity) -> bool {
        (self.clock_identity == ClockIdentity::ALL || self.clock_identity == other.clock_identity)
            && (self.port_number == 0xffff || self.port_number == other.port_number)
    }
}

impl fmt::Display for PortIdentity {
    /// linuxptp style: `001122.fffe.334455-1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.clock_identity, self.port_number)
    }
}

/// `clockAccuracy` (7.6.2.6, Table 5). Kept as a raw octet so unknown values round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClockAccuracy(pub u8);

impl ClockAccuracy {
    /// Within 1 ps.
    pub const PS_1: Self = Self(0x17);
    /// Within 25 ns.
    pub const NS_25: Self = Self(0x20);
    /// Within 100 ns.
    pub const NS_100: Self = Self(0x21);
    /// Within 250 ns.
    pub const NS_250: Self = Self(0x22);
    /// Within 1 µs.
    pub const US_1: Self = Self(0x23);
    /// Within 2.5 µs.
    pub const US_2_5: Self = Self(0x24);
    /// Within 10 µs.
    pub const US_10: Self = Self(0x25);
    /// Within 25 µs.
    pub const US_25: Self = Self(0x26);
    /// Within 100 µs.
    pub const US_100: Self = Self(0x27);
    /// Within 250 µs.
    pub const US_250: Self = Self(0x28);
    /// Within 1 ms.
    pub const MS_1: Self = Self(0x29);
    /// Within 2.5 ms.
    pub const MS_2_5: Self = Self(0x2a);
    /// Within 10 ms.
    pub const MS_10: Self = Self(0x2b);
    /// Within 25 ms.
    pub const MS_25: Self = Self(0x2c);
    /// Within 100 ms.
    pub const MS_100: Self = Self(0x2d);
    /// Within 250 ms.
    pub const MS_250: Self = Self(0x2e);
    /// Within 1 s.
    pub const S_1: Self = Self(0x2f);
    /// Within 10 s.
    pub const S_10: Self = Self(0x30);
    /// Worse than 10 s.
    pub const S_10_PLUS: Self = Self(0x31);
    /// Unknown.
    pub const UNKNOWN: Self = Self(0xfe);
}

/// `timeSource` (7.6.2.8, Table 6). Kept as a raw octet so unknown values round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeSource(pub u8);

impl TimeSource {
    /// Atomic clock.
    pub const ATOMIC_CLOCK: Self = Self(0x10);
    /// GNSS receiver.
    pub const GNSS: Self = Self(0x20);
    /// Terrestrial radio.
    pub const TERRESTRIAL_RADIO: Self = Self(0x30);
    /// Serial time code.
    pub const SERIAL_TIME_CODE: Self = Self(0x39);
    /// Another PTP domain.
    pub const PTP: Self = Self(0x40);
    /// NTP.
    pub const NTP: Self = Self(0x50);
    /// Set by hand.
    pub const HAND_SET: Self = Self(0x60);
    /// Other.
    pub const OTHER: Self = Self(0x90);
    /// Free-running internal oscillator.
    pub const INTERNAL_OSCILLATOR: Self = Self(0xa0);
}

/// `ClockQuality` (5.3.7): class, accuracy and variance, four octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClockQuality {
    /// `clockClass` (7.6.2.5).
    pub clock_class: u8,
    /// `clockAccuracy` (7.6.2.6).
    pub clock_accuracy: ClockAccuracy,
    /// `offsetScaledLogVariance` (7.6.3.5).
    pub offset_scaled_log_variance: u16,
}

impl ClockQuality {
    /// Encoded length in octets.
    pub const LEN: usize = 4;

    pub(crate) fn read(buf: &[u8], at: usize) -> Self {
        ClockQuality {
            clock_class: buf[at],
            clock_accuracy: ClockAccuracy(buf[at + 1]),
            offset_scaled_log_variance: be::u16(buf, at + 2),
        }
    }

    pub(crate) fn write(&self, buf: &mut [u8], at: usize) {
        buf[at] = self.clock_class;
        buf[at + 1] = self.clock_accuracy.0;
        be::put_u16(buf, at + 2, self.offset_scaled_log_variance);
    }
}

/// `PTPText` (5.3.9): a length octet and that many UTF-8 octets, borrowed from the frame.
///
/// The bytes are kept as they are: a peer's invalid UTF-8 is shown lossily, never rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PtpText<'a>(pub &'a [u8]);

impl<'a> PtpText<'a> {
    /// Longest text the length octet can carry.
    pub const MAX_LEN: usize = 255;

    /// A text from a string; `None` if longer than 255 octets.
    pub fn new(s: &'a str) -> Option<Self> {
        (s.len() <= Self::MAX_LEN).then_some(PtpText(s.as_bytes()))
    }

    /// Encoded length: the length octet plus the text.
    pub const fn wire_len(&self) -> usize {
        1 + self.0.len()
    }

    /// Reads a text at `at`, naming `field` in errors.
    pub fn read(buf: &'a [u8], at: usize, field: &'static str) -> Result<Self> {
        need(buf, field, at, at + 1)?;
        let len = buf[at] as usize;
        need(buf, field, at, at + 1 + len)?;
        Ok(PtpText(&buf[at + 1..at + 1 + len]))
    }

    /// Writes the text at `at`; returns the octets written. The caller guarantees room and a
    /// length ≤ 255 (checked by [`PtpText::new`], enforced here by truncation).
    pub fn write(&self, buf: &mut [u8], at: usize) -> usize {
        let len = self.0.len().min(Self::MAX_LEN);
        buf[at] = len as u8;
        buf[at + 1..at + 1 + len].copy_from_slice(&self.0[..len]);
        1 + len
    }
}

impl fmt::Display for PtpText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_rejects_nanoseconds_out_of_range() {
        let mut b = [0u8; 10];
        b[6..].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        let e = Timestamp::read(&b, 0, "origin_timestamp").unwrap_err();
        assert_eq!(e.offset, 6);
        assert_eq!(e.kind, ErrorKind::BadValue);
        b[6..].copy_from_slice(&999_999_999u32.to_be_bytes());
        assert_eq!(
            Timestamp::read(&b, 0, "t").unwrap().nanoseconds,
            999_999_999
        );
    }

    #[test]
    fn timestamp_nanos_roundtrip() {
        let t = Timestamp::new(0xffff_ffff_ffff, 999_999_999).unwrap();
        assert_eq!(Timestamp::from_nanos(t.as_nanos()), Some(t));
        assert_eq!(Timestamp::from_nanos(t.as_nanos() + 1), None);
        assert_eq!(Timestamp::new(1 << 48, 0), None);
    }

    #[test]
    fn clock_identity_from_mac_inserts_fffe() {
        let id = ClockIdentity::from_mac([0x00, 0x1b, 0x19, 0xaa, 0xbb, 0xcc]);
        assert_eq!(id.to_string(), "001b19.fffe.aabbcc");
    }

    #[test]
    fn port_identity_wildcards() {
        let p = PortIdentity {
            clock_identity: ClockIdentity([1; 8]),
            port_number: 1,
        };
        assert!(PortIdentity::ALL.matches(&p));
        let q = PortIdentity {
            port_number: 2,
            ..p
        };
        assert!(!q.matches(&p));
    }

    #[test]
    fn ptp_text_truncated_is_an_error() {
        let b = [5u8, b'a', b'b'];
        let e = PtpText::read(&b, 0, "user_description").unwrap_err();
        assert_eq!(e.field, "user_description");
        assert_eq!(e.kind, ErrorKind::Truncated);
    }
}
