//! The PTPv1 view of the grandmaster (IEEE 1588-2008 clause 18, as linuxptp's PTPv1
//! transport applies it): the fields a v1 Sync carries, derived from the same clock state
//! the v2 Announce is built from, so the two announcements never disagree.
//!
//! | v2 | v1 |
//! |---|---|
//! | clockIdentity `aa:bb:cc:FF:FE:dd:ee:ff` | UUID `aa:bb:cc:dd:ee:ff`, communicationTechnology 1 |
//! | clockClass 6, 7 / 9 / 10 / 13–248 / 251 / 255 (others) | stratum 0 / 1 / 2 / 3 / 4 / 255 (255) |
//! | priority1 0–126 / 127 / 128 / 129–255 | preferred 1 stratum 0 / preferred 1 / — / stratum 255 |
//! | priority2 0–127 / 128–255 | isBoundaryClock 1 / 0 |
//! | clockAccuracy 0x20–0x22 / 0x23–0x2F / 0x30 / 0x31–0xFD / 0xFE | identifier `ATOM` / `NTP\0` / `HAND` / `INIT` / `DFLT` |
//! | offsetScaledLogVariance | clockVariance = variance − 0x8000 |
//! | seconds (48 bits, PTP timescale) | low 32 bits and epochNumber (high 16); PTP seconds when the identifier says a PTP timescale (`ATOM`, `GPS`, `NTP`, `HAND`), UTC (− currentUtcOffset) under `INIT`/`DFLT`, whose arbitrary timescale a v1 slave compares with its UTC clock as is (measured with linuxptp's v1 transport: a TAI Sync under `DFLT` reads 37 s off) |

use crate::wire::v1::{SyncBody, V1PortIdentity, V1Time, COMM_ETHER};
use crate::wire::{ClockIdentity, ClockQuality, Timestamp};

/// The v1 UUID of a v2 clock identity built from a MAC (`FF:FE` in octets 3–4); `None`
/// for identities that are not (a v1 peer could not name us).
pub fn uuid(id: &ClockIdentity) -> Option<[u8; 6]> {
    let c = id.0;
    (c[3] == 0xff && c[4] == 0xfe).then_some([c[0], c[1], c[2], c[5], c[6], c[7]])
}

/// grandmasterClockStratum of a clockClass.
pub fn stratum(clock_class: u8) -> u8 {
    match clock_class {
        6 | 7 => 0,
        9 => 1,
        10 => 2,
        13..=248 => 3,
        251 => 4,
        _ => 255,
    }
}

/// (preferred, stratum) from priority1 and clockClass.
pub fn preferred_and_stratum(priority1: u8, clock_class: u8) -> (bool, u8) {
    match priority1 {
        0..=126 => (true, 0),
        127 => (true, stratum(clock_class)),
        128 => (false, stratum(clock_class)),
        _ => (false, 255),
    }
}

/// grandmasterIsBoundaryClock from priority2.
pub fn is_boundary_clock(priority2: u8) -> bool {
    priority2 <= 127
}

/// grandmasterClockIdentifier from clockAccuracy.
pub fn identifier(clock_accuracy: u8) -> [u8; 4] {
    match clock_accuracy {
        0x20..=0x22 => *b"ATOM",
        0x23..=0x2f => *b"NTP\0",
        0x30 => *b"HAND",
        0x31..=0xfd => *b"INIT",
        _ => *b"DFLT",
    }
}

/// Whether v1 peers take this identifier's time as the PTP timescale (clause 18:
/// everything but `INIT` and `DFLT`); otherwise it is an arbitrary one they read as UTC.
pub fn ptp_timescale(identifier: &[u8; 4]) -> bool {
    !matches!(identifier, b"INIT" | b"DFLT")
}

/// clockVariance from offsetScaledLogVariance.
pub fn variance(offset_scaled_log_variance: u16) -> i16 {
    offset_scaled_log_variance.wrapping_sub(0x8000) as i16
}

/// A v2 timestamp (PTP timescale) as v1 time (UTC: `utc_offset` seconds less) and
/// epochNumber.
pub fn time(t: Timestamp, utc_offset: i16) -> (V1Time, u16) {
    let s = t.seconds.wrapping_sub(i64::from(utc_offset) as u64) & 0xffff_ffff_ffff;
    (
        V1Time {
            seconds: s as u32,
            nanoseconds: t.nanoseconds as i32,
        },
        (s >> 32) as u16,
    )
}

/// What a grandmaster's v1 Sync says of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1Grandmaster {
    /// clockIdentity.
    pub identity: ClockIdentity,
    /// The port's number.
    pub port: u16,
    /// priority1.
    pub priority1: u8,
    /// priority2.
    pub priority2: u8,
    /// The clock's quality now.
    pub quality: ClockQuality,
    /// currentUtcOffset.
    pub current_utc_offset: i16,
    /// Whether the UTC offset is known (utcReasonable).
    pub utc_offset_valid: bool,
    /// syncInterval, log2 seconds.
    pub sync_interval: i8,
}

impl V1Grandmaster {
    /// Seconds to subtract from PTP time for the v1 wire: 0 under a PTP timescale, else
    /// currentUtcOffset (see the module table).
    pub fn wire_utc_offset(&self) -> i16 {
        if ptp_timescale(&identifier(self.quality.clock_accuracy.0)) {
            0
        } else {
            self.current_utc_offset
        }
    }

    /// The Sync body for `origin` (the grandmaster is its own parent, zero steps removed).
    /// `None` if the identity has no v1 UUID.
    pub fn sync_body(&self, origin: Timestamp, sequence_id: u16) -> Option<SyncBody> {
        let me = V1PortIdentity {
            communication_technology: COMM_ETHER,
            uuid: uuid(&self.identity)?,
            port_id: self.port,
        };
        let (origin_timestamp, epoch_number) = time(origin, self.wire_utc_offset());
        let (preferred, stratum) = preferred_and_stratum(self.priority1, self.quality.clock_class);
        let ident = identifier(self.quality.clock_accuracy.0);
        let var = variance(self.quality.offset_scaled_log_variance);
        Some(SyncBody {
            origin_timestamp,
            epoch_number,
            current_utc_offset: self.current_utc_offset,
            grandmaster: me,
            grandmaster_sequence_id: sequence_id,
            grandmaster_stratum: stratum,
            grandmaster_identifier: ident,
            grandmaster_variance: var,
            grandmaster_preferred: preferred,
            grandmaster_is_boundary_clock: is_boundary_clock(self.priority2),
            sync_interval: self.sync_interval,
            local_variance: var,
            local_steps_removed: 0,
            local_stratum: stratum,
            local_identifier: ident,
            parent: me,
            estimated_master_variance: -1,
            estimated_master_drift: 0x7fff_ffff,
            utc_reasonable: self.utc_offset_valid,
        })
    }
}

/// clockClass of a stratum (the inverse of [`stratum`], as linuxptp's v1 transport maps it).
pub fn class_of_stratum(stratum: u8) -> u8 {
    match stratum {
        0 => 6,
        1 => 9,
        2 => 10,
        3 => 248,
        4 => 251,
        _ => 255,
    }
}

/// clockAccuracy of an identifier (the inverse of [`identifier`]); unknown ones as `DFLT`.
pub fn accuracy_of_identifier(id: &[u8; 4]) -> u8 {
    match id {
        b"ATOM" | b"GPS\0" => 0x22,
        b"NTP\0" => 0x2f,
        b"HAND" => 0x30,
        b"INIT" => 0xfd,
        _ => 0xfe,
    }
}

/// The clock identity of a v1 UUID (`FF:FE` in the middle).
pub fn identity_of_uuid(u: &[u8; 6]) -> ClockIdentity {
    ClockIdentity([u[0], u[1], u[2], 0xff, 0xfe, u[3], u[4], u[5]])
}

/// The v2 comparison data set a foreign v1 master's Sync describes (clause 18 backwards:
/// stratum → clockClass, identifier → clockAccuracy, variance + 0x8000, preferred →
/// priority1 127 else 128, isBoundaryClock → priority2 127 else 128), received on `receiver`.
pub fn dataset_of_sync(
    s: &SyncBody,
    sender: &V1PortIdentity,
    receiver: crate::wire::PortIdentity,
) -> super::bmca::ComparisonDataset {
    super::bmca::ComparisonDataset {
        grandmaster_priority1: if s.grandmaster_preferred { 127 } else { 128 },
        grandmaster_identity: identity_of_uuid(&s.grandmaster.uuid),
        grandmaster_clock_quality: ClockQuality {
            clock_class: class_of_stratum(s.grandmaster_stratum),
            clock_accuracy: crate::wire::ClockAccuracy(accuracy_of_identifier(
                &s.grandmaster_identifier,
            )),
            offset_scaled_log_variance: (s.grandmaster_variance as u16).wrapping_add(0x8000),
        },
        grandmaster_priority2: if s.grandmaster_is_boundary_clock {
            127
        } else {
            128
        },
        steps_removed: s.local_steps_removed.saturating_add(1),
        identity_of_senders: crate::wire::PortIdentity {
            clock_identity: identity_of_uuid(&sender.uuid),
            port_number: sender.port_id,
        },
        identity_of_receiver: receiver,
        local_priority: super::bmca::DEFAULT_LOCAL_PRIORITY,
    }
}

/// Our own data set as a v1 peer sees it: through the v1 fields and back, so that both sides
/// of a comparison have v1's resolution.
pub fn projected(
    gm: &V1Grandmaster,
    receiver: crate::wire::PortIdentity,
) -> Option<super::bmca::ComparisonDataset> {
    let s = gm.sync_body(Timestamp::default(), 0)?;
    let mut d = dataset_of_sync(&s, &s.grandmaster, receiver);
    d.steps_removed = 0;
    d.identity_of_senders = receiver;
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ClockAccuracy;

    #[test]
    fn clause_18_mappings() {
        let id = ClockIdentity([0x02, 0x6d, 0x69, 0xff, 0xfe, 0, 0, 1]);
        assert_eq!(uuid(&id), Some([0x02, 0x6d, 0x69, 0, 0, 1]));
        assert_eq!(uuid(&ClockIdentity([1; 8])), None);
        for (class, s) in [(6, 0), (7, 0), (9, 1), (10, 2), (13, 3), (52, 3), (187, 3)] {
            assert_eq!(stratum(class), s, "class {class}");
        }
        for (class, s) in [(248, 3), (251, 4), (255, 255), (8, 255), (250, 255)] {
            assert_eq!(stratum(class), s, "class {class}");
        }
        assert_eq!(preferred_and_stratum(0, 248), (true, 0));
        assert_eq!(preferred_and_stratum(127, 6), (true, 0));
        assert_eq!(preferred_and_stratum(128, 248), (false, 3));
        assert_eq!(preferred_and_stratum(200, 6), (false, 255));
        assert!(is_boundary_clock(127) && !is_boundary_clock(128));
        assert_eq!(&identifier(0x21), b"ATOM");
        assert_eq!(&identifier(0x27), b"NTP\0");
        assert_eq!(&identifier(0x30), b"HAND");
        assert_eq!(&identifier(0x31), b"INIT");
        assert_eq!(&identifier(0xfe), b"DFLT");
        assert_eq!(variance(0x4e5d), 0x4e5du16.wrapping_sub(0x8000) as i16);
        assert_eq!(variance(0xffff), 0x7fff);
        let (t, epoch) = time(
            Timestamp {
                seconds: (3 << 32) | 1_700_000_037,
                nanoseconds: 9,
            },
            37,
        );
        assert_eq!((t.seconds, t.nanoseconds, epoch), (1_700_000_000, 9, 3));
    }

    #[test]
    fn a_locked_grandmasters_sync() {
        let gm = V1Grandmaster {
            identity: ClockIdentity([0x02, 0x6d, 0x69, 0xff, 0xfe, 0, 0, 1]),
            port: 1,
            priority1: 128,
            priority2: 128,
            quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: ClockAccuracy(0x21),
                offset_scaled_log_variance: 0x4e5d,
            },
            current_utc_offset: 37,
            utc_offset_valid: true,
            sync_interval: 0,
        };
        let s = gm
            .sync_body(
                Timestamp {
                    seconds: 1_700_000_037,
                    nanoseconds: 1,
                },
                4,
            )
            .unwrap();
        assert_eq!(s.grandmaster_stratum, 0);
        assert_eq!(&s.grandmaster_identifier, b"ATOM");
        assert!(!s.grandmaster_preferred && !s.grandmaster_is_boundary_clock);
        assert_eq!(
            s.parent, s.grandmaster,
            "a v1 slave drops a Sync whose parent is zero"
        );
        assert_eq!(s.grandmaster.uuid, [0x02, 0x6d, 0x69, 0, 0, 1]);
        assert_eq!((s.current_utc_offset, s.utc_reasonable), (37, true));
        assert_eq!(
            s.origin_timestamp.seconds, 1_700_000_037,
            "ATOM: PTP timescale"
        );
        let free = V1Grandmaster {
            quality: ClockQuality {
                clock_class: 248,
                clock_accuracy: ClockAccuracy(0xfe),
                offset_scaled_log_variance: 0xffff,
            },
            ..gm
        };
        let s = free
            .sync_body(
                Timestamp {
                    seconds: 1_700_000_037,
                    nanoseconds: 1,
                },
                4,
            )
            .unwrap();
        assert_eq!(&s.grandmaster_identifier, b"DFLT");
        assert_eq!(
            s.origin_timestamp.seconds, 1_700_000_000,
            "DFLT: read as UTC"
        );
    }
}
