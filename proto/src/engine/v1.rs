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

use super::Time;
use crate::wire::v1::{Subdomain, SyncBody, V1PortIdentity, V1Time, COMM_ETHER};
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

/// The best foreign PTPv1 master heard in a subdomain.
#[derive(Debug, Clone, Copy)]
pub(super) struct V1Foreign {
    pub uuid: [u8; 6],
    pub dataset: super::bmca::ComparisonDataset,
    /// Syncs heard from it in a row (qualified at two, as 1588-2002 asks).
    pub syncs: u8,
    /// When it is forgotten: ten of its Sync intervals after the last one.
    pub expires: Time,
}

/// One v1 master: a subdomain served on a port, with its own Sync schedule, sequence and
/// v1 BMC state.
#[derive(Debug, Clone, Copy)]
pub(super) struct V1Master {
    pub subdomain: Subdomain,
    /// Its group (0 `_DFLT` … 3: see [`Subdomain::group_index`]).
    pub group: u8,
    pub next_sync: Time,
    pub sync_seq: u16,
    /// The best foreign v1 master, and whether it is better than us (then silent).
    pub foreign: Option<V1Foreign>,
    pub passive: bool,
}

impl V1Master {
    /// A master for a checked (standard) subdomain, first Sync at `first_sync`.
    pub fn new(subdomain: Subdomain, first_sync: Time) -> V1Master {
        V1Master {
            subdomain,
            group: subdomain.group_index(),
            next_sync: first_sync,
            sync_seq: 0,
            foreign: None,
            passive: false,
        }
    }

    pub fn shift(&mut self, delta: i64) {
        self.next_sync = self.next_sync.shifted(delta);
        if let Some(f) = &mut self.foreign {
            f.expires = f.expires.shifted(delta);
        }
    }
}

/// managementMessageKey values (1588-2002 Table 25) answered here: a GET key and the key of
/// its answer.
pub mod key {
    /// OBTAIN_IDENTITY → CLOCK_IDENTITY.
    pub const OBTAIN_IDENTITY: u8 = 1;
    /// The answer to OBTAIN_IDENTITY.
    pub const CLOCK_IDENTITY: u8 = 2;
    /// GET_DEFAULT_DATA_SET → DEFAULT_DATA_SET.
    pub const GET_DEFAULT_DATA_SET: u8 = 7;
    /// The answer to GET_DEFAULT_DATA_SET.
    pub const DEFAULT_DATA_SET: u8 = 8;
    /// GET_CURRENT_DATA_SET → CURRENT_DATA_SET.
    pub const GET_CURRENT_DATA_SET: u8 = 10;
    /// The answer to GET_CURRENT_DATA_SET.
    pub const CURRENT_DATA_SET: u8 = 11;
    /// GET_PARENT_DATA_SET → PARENT_DATA_SET.
    pub const GET_PARENT_DATA_SET: u8 = 12;
    /// The answer to GET_PARENT_DATA_SET.
    pub const PARENT_DATA_SET: u8 = 13;
    /// GET_PORT_DATA_SET → PORT_DATA_SET.
    pub const GET_PORT_DATA_SET: u8 = 14;
    /// The answer to GET_PORT_DATA_SET.
    pub const PORT_DATA_SET: u8 = 15;
    /// GET_GLOBAL_TIME_DATA_SET → GLOBAL_TIME_DATA_SET.
    pub const GET_GLOBAL_TIME_DATA_SET: u8 = 16;
    /// The answer to GET_GLOBAL_TIME_DATA_SET.
    pub const GLOBAL_TIME_DATA_SET: u8 = 17;
}

/// 1588-2002 port states (PTP_INITIALIZING 0 … PTP_SLAVE 8: v2's less one).
pub fn port_state(s: super::PortState) -> u8 {
    (s as u8).saturating_sub(1)
}

/// The v1 state a management answer describes.
pub(super) struct ManagementView {
    pub gm: V1Grandmaster,
    pub subdomain: Subdomain,
    pub number_ports: u16,
    pub foreign_records: u16,
    pub port_state: u8,
    pub last_sync_seq: u16,
    pub now: Timestamp,
    pub leap59: bool,
    pub leap61: bool,
}

/// The answer to GET key `get`: (answer key, parameters written into `buf`, their declared
/// length), or `None` for keys that are not a GET answered here. Layouts are 1588-2002's
/// (every field right-aligned in 32-bit words), as ptpd 1.x and linuxptp's v1 transport
/// lay them out; PARENT_DATA_SET holds 88 octets and declares 90 (both peers expect 90),
/// so two zero octets pad it.
pub(super) fn answer(get: u8, v: &ManagementView, buf: &mut [u8; 90]) -> Option<(u8, usize)> {
    let s = v.gm.sync_body(v.now, 0)?;
    let me = s.grandmaster;
    buf.fill(0);
    let put16 =
        |b: &mut [u8; 90], at: usize, x: u16| b[at..at + 2].copy_from_slice(&x.to_be_bytes());
    let id = |b: &mut [u8; 90], at: usize| {
        b[at + 3] = me.communication_technology;
        b[at + 4..at + 10].copy_from_slice(&me.uuid);
        b[at + 14..at + 16].copy_from_slice(&me.port_id.to_be_bytes());
    };
    Some(match get {
        key::OBTAIN_IDENTITY => {
            id(buf, 0);
            let m = b"Meridian;";
            buf[16..16 + m.len()].copy_from_slice(m);
            (key::CLOCK_IDENTITY, 64)
        }
        key::GET_DEFAULT_DATA_SET => {
            id(buf, 0);
            buf[19] = s.local_stratum;
            buf[20..24].copy_from_slice(&s.local_identifier);
            put16(buf, 26, s.local_variance as u16);
            buf[31] = 1; // clockFollowupCapable: two-step
            buf[35] = u8::from(s.grandmaster_preferred);
            buf[39] = 0; // initializable: not by management
            buf[43] = 0; // externalTiming
            buf[47] = u8::from(s.grandmaster_is_boundary_clock);
            buf[51] = s.sync_interval as u8;
            buf[52..68].copy_from_slice(&v.subdomain.0);
            put16(buf, 70, v.number_ports);
            put16(buf, 74, v.foreign_records);
            (key::DEFAULT_DATA_SET, 76)
        }
        // A grandmaster: zero steps, offset and delay.
        key::GET_CURRENT_DATA_SET => (key::CURRENT_DATA_SET, 20),
        key::GET_PARENT_DATA_SET => {
            // Its own parent (as the Sync says).
            id(buf, 0);
            put16(buf, 18, v.last_sync_seq);
            buf[23] = 1; // parentFollowupCapable
            put16(buf, 30, s.local_variance as u16);
            put16(buf, 38, s.estimated_master_variance as u16);
            buf[40..44].copy_from_slice(&s.estimated_master_drift.to_be_bytes());
            buf[47] = u8::from(s.utc_reasonable);
            id(buf, 48);
            buf[67] = s.grandmaster_stratum;
            buf[68..72].copy_from_slice(&s.grandmaster_identifier);
            put16(buf, 74, s.grandmaster_variance as u16);
            buf[79] = u8::from(s.grandmaster_preferred);
            buf[83] = u8::from(s.grandmaster_is_boundary_clock);
            put16(buf, 86, v.last_sync_seq);
            (key::PARENT_DATA_SET, 90)
        }
        key::GET_PORT_DATA_SET => {
            put16(buf, 2, me.port_id);
            buf[7] = v.port_state;
            put16(buf, 10, v.last_sync_seq);
            put16(buf, 14, v.last_sync_seq);
            id(buf, 16);
            buf[37] = 4;
            buf[38] = 2;
            buf[39] = 2;
            buf[40..44].copy_from_slice(&v.subdomain.multicast_group());
            put16(buf, 46, 319);
            put16(buf, 50, 320);
            (key::PORT_DATA_SET, 52)
        }
        key::GET_GLOBAL_TIME_DATA_SET => {
            let (t, epoch) = time(v.now, v.gm.wire_utc_offset());
            buf[0..4].copy_from_slice(&t.seconds.to_be_bytes());
            buf[4..8].copy_from_slice(&t.nanoseconds.to_be_bytes());
            put16(buf, 10, v.gm.current_utc_offset as u16);
            buf[15] = u8::from(v.leap59);
            buf[19] = u8::from(v.leap61);
            put16(buf, 22, epoch);
            (key::GLOBAL_TIME_DATA_SET, 24)
        }
        _ => return None,
    })
}

impl super::Engine {
    /// A v1 Management message for v1 master `k` of port `i`. The GETs of [`key`] addressed
    /// to us (our UUID, or the all-zeros or all-ones wildcard; port 0, ours or 0xFFFF) are
    /// answered to the subdomain's group, as 1588-2002 sends everything; like every request
    /// they pass the management admission first. Everything else — other clocks' answers,
    /// and every key that would change the clock (INITIALIZE_CLOCK, SET_SUBDOMAIN, UPDATE_*,
    /// SET_TIME, GOTO_FAULTY_STATE, DISABLE_PORT …: v1 has no authentication, so a forged
    /// one could take the grandmaster down) — is counted and ignored.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_v1_management(
        &mut self,
        now: Time,
        i: usize,
        k: usize,
        rx: &super::RxMessage<'_>,
        msg: &crate::wire::v1::V1MessageRepr<'_>,
        out: &mut dyn super::Output,
    ) {
        use crate::wire::v1::{V1Body, V1MessageRepr};
        let V1Body::Management {
            target,
            starting_boundary_hops,
            boundary_hops,
            key: get,
            ..
        } = msg.body
        else {
            return;
        };
        let ours = uuid(&self.clock.clock_identity);
        let clock_matches =
            target.uuid == [0; 6] || target.uuid == [0xff; 6] || Some(target.uuid) == ours;
        let port_matches = matches!(target.port_id, 0 | 0xffff)
            || target.port_id == self.ports[i].identity.port_number;
        let for_us = clock_matches && port_matches;
        if !for_us {
            self.stats.rx_ignored += 1;
            return;
        }
        if !self.admit(now, &rx.source, super::admit::Class::Management) {
            return;
        }
        let m = self.ports[i].v1[k];
        let log = self.port_cfg[i].v1_log_sync_interval.unwrap_or(0);
        let tp = &self.status.time_properties;
        let view = ManagementView {
            gm: self.ctx(i).v1_grandmaster(log),
            subdomain: m.subdomain,
            number_ports: self.ports.len() as u16,
            foreign_records: u16::from(m.foreign.is_some()),
            port_state: if m.passive {
                port_state(super::PortState::Passive)
            } else {
                port_state(self.ports[i].state)
            },
            last_sync_seq: m.sync_seq.wrapping_sub(1),
            now: now.to_timestamp(),
            leap59: tp.leap59,
            leap61: tp.leap61,
        };
        let mut params = [0u8; 90];
        let Some((answer_key, len)) = answer(get, &view, &mut params) else {
            self.stats.rx_ignored += 1;
            return;
        };
        let (ctx, stats) = self.ctx_and_stats(i);
        let Some(header) = ctx.v1_header(m.subdomain, msg.header.sequence_id) else {
            return;
        };
        // Hops as a v2 response counts them (15.4.1.3): those the request used up.
        let hops = starting_boundary_hops.saturating_sub(boundary_hops).max(0);
        let repr = V1MessageRepr {
            header,
            body: V1Body::Management {
                target: msg.header.source,
                starting_boundary_hops: hops,
                boundary_hops: hops,
                key: answer_key,
                parameters: &params[..len],
            },
        };
        ctx.send_v1(out, stats, &repr, super::TxStamp::None, None);
    }
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
