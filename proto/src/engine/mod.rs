//! The sans-IO grandmaster engine.
//!
//! The engine is the whole protocol side of a grandmaster: datasets (clause 8), BMCA
//! (9.3), port states (9.2), multicast Announce/Sync/Follow_Up and Delay_Req → Delay_Resp
//! (9.5, 11.3), the peer-delay responder (11.4), unicast negotiation for thousands of slaves
//! (16.1), and management (15). It performs no I/O and reads no clock.
//!
//! # The calling contract
//!
//! The caller (the appliance's engine core) owns one [`Engine`] and runs this loop:
//!
//! ```text
//! loop {
//!     let deadline = engine.poll_timeout();
//!     wait for a received frame, a TX timestamp, or `deadline`, whichever first;
//!     now = read the clock that stamps packets (PTP timescale, TAI ns);
//!     match what happened {
//!         frame      => engine.handle_message(now, RxMessage { .. }, &mut out),
//!         tx stamp   => engine.handle_tx_timestamp(now, token, tx_time, &mut out),
//!         lost stamp => engine.handle_tx_timestamp_lost(token),
//!         deadline   => engine.handle_timeout(now, &mut out),
//!         clock layer changed quality / UTC offset => engine.set_clock_status(now, status),
//!     }
//! }
//! ```
//!
//! * `now` is on the same timescale as the packet timestamps and must not go backwards
//!   (a smaller value is clamped and counted in [`Stats::time_went_backwards`]).
//! * [`Output::transmit`] is called synchronously for every message to send; the data plane
//!   copies the bytes. A [`TxStamp::TwoStep`] token must come back exactly once.
//! * `handle_timeout` may be called early or late: it does whatever is due by `now`. Calling
//!   it after every batch of received frames is how the caller keeps a flood of requests
//!   from starving scheduled Syncs (requests beyond [`ClockConfig::max_requests_per_ms`] are
//!   dropped and counted, so the batch cost is bounded).
//! * Nothing here allocates per message once slaves are admitted; state is bounded by the
//!   configured limits.

pub mod admit;
pub mod auth;
pub mod bmca;
pub mod config;
mod fuzzing;
pub mod io;
mod management;
mod pending;
pub mod time;
pub mod unicast;
pub mod v1;

pub use config::{
    ClockConfig, ConfigError, DelayMechanism, EngineConfig, PortAuth, PortConfig, Profile,
    SourcePrefix,
};
pub use fuzzing::fuzz_events;
pub use io::{
    Destination, Observation, Output, OwnedTransmit, PeerAddress, PortIndex, Recorded, RxMessage,
    Transmit, TxStamp, TxToken,
};
pub use time::{log_interval_nanos, Duration, Time};

use bmca::{ComparisonDataset, ForeignMasterTable, Recommendation};
use config::{SMPTE_OUI, SMPTE_SUBTYPE_SYNC_METADATA};
use pending::{FollowUpKind, Pending, PendingTable};
use unicast::{DenyReason, GrantType, UnicastService};

use crate::wire;
use crate::wire::message::AnnounceBody;
use crate::wire::tlv::OrgExtKind;
use crate::wire::{
    ClockQuality, Flags, HeaderRepr, MessageBody, MessageRepr, MessageType, PortIdentity,
    TimeInterval, TimeSource, TlvBlock, TlvRepr, WireError,
};

/// `portState` (IEEE 1588-2019 8.2.15.3.1, Table 20); the values are the wire enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    /// INITIALIZING (1).
    Initializing = 1,
    /// FAULTY (2).
    Faulty = 2,
    /// DISABLED (3).
    Disabled = 3,
    /// LISTENING (4).
    Listening = 4,
    /// PRE_MASTER (5).
    PreMaster = 5,
    /// MASTER (6).
    Master = 6,
    /// PASSIVE (7).
    Passive = 7,
    /// UNCALIBRATED (8).
    Uncalibrated = 8,
    /// SLAVE (9).
    Slave = 9,
}

impl PortState {
    /// Upper-case name as linuxptp prints it.
    pub fn name(self) -> &'static str {
        match self {
            PortState::Initializing => "INITIALIZING",
            PortState::Faulty => "FAULTY",
            PortState::Disabled => "DISABLED",
            PortState::Listening => "LISTENING",
            PortState::PreMaster => "PRE_MASTER",
            PortState::Master => "MASTER",
            PortState::Passive => "PASSIVE",
            PortState::Uncalibrated => "UNCALIBRATED",
            PortState::Slave => "SLAVE",
        }
    }
}

/// timePropertiesDS (8.2.4), as the clock layer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeProperties {
    /// currentUtcOffset (TAI − UTC, seconds).
    pub current_utc_offset: i16,
    /// currentUtcOffsetValid.
    pub current_utc_offset_valid: bool,
    /// leap59: the last minute of today has 59 seconds.
    pub leap59: bool,
    /// leap61: the last minute of today has 61 seconds.
    pub leap61: bool,
    /// timeTraceable.
    pub time_traceable: bool,
    /// frequencyTraceable.
    pub frequency_traceable: bool,
    /// ptpTimescale.
    pub ptp_timescale: bool,
    /// timeSource.
    pub time_source: TimeSource,
}

/// What the clock layer says about the clock: the basis of every Announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockStatus {
    /// clockQuality of defaultDS.
    pub clock_quality: ClockQuality,
    /// timePropertiesDS.
    pub time_properties: TimeProperties,
}

impl ClockStatus {
    /// A free-running clock with no reference: class 248, accuracy unknown, PTP timescale
    /// with the given UTC offset marked valid only if the caller knows it (leap file).
    pub fn free_running(current_utc_offset: i16, utc_offset_valid: bool) -> Self {
        ClockStatus {
            clock_quality: ClockQuality {
                clock_class: 248,
                clock_accuracy: crate::wire::ClockAccuracy::UNKNOWN,
                offset_scaled_log_variance: 0xffff,
            },
            time_properties: TimeProperties {
                current_utc_offset,
                current_utc_offset_valid: utc_offset_valid,
                leap59: false,
                leap61: false,
                time_traceable: false,
                frequency_traceable: false,
                ptp_timescale: true,
                time_source: TimeSource::INTERNAL_OSCILLATOR,
            },
        }
    }
}

/// Counters. Every drop has a reason here; nothing is dropped silently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received, by messageType nibble.
    pub rx: [u64; 16],
    /// Messages sent, by messageType nibble.
    pub tx: [u64; 16],
    /// Frames that failed to parse.
    pub rx_malformed: u64,
    /// The last parse error, naming the field.
    pub last_malformed: Option<WireError>,
    /// Messages for another domain.
    pub rx_wrong_domain: u64,
    /// Messages for another majorSdoId.
    pub rx_wrong_sdo: u64,
    /// Our own messages looped back.
    pub rx_own: u64,
    /// Messages received on a port index that does not exist.
    pub rx_bad_port: u64,
    /// Valid messages a grandmaster has no use for (Sync from another master…).
    pub rx_ignored: u64,
    /// Event messages without a receive timestamp.
    pub rx_missing_timestamp: u64,
    /// Requests dropped by the per-millisecond request budget.
    pub rx_rate_limited: u64,
    /// Requests in a port state or delay mechanism that does not answer them.
    pub rx_wrong_state: u64,
    /// Unicast Delay_Req from a peer with no Delay_Resp grant on a unicast-only port.
    pub delay_req_without_grant: u64,
    /// Grants given (new or renewed).
    pub grants: u64,
    /// Denials by reason: not serving, message type, rate, duration, slaves, total rate.
    pub denials: [u64; 6],
    /// Grants cancelled by slaves.
    pub cancels: u64,
    /// Grants that expired.
    pub grants_expired: u64,
    /// Slaves removed (no grant left).
    pub slaves_removed: u64,
    /// TX timestamps that never came (Follow_Up skipped).
    pub tx_timestamp_timeouts: u64,
    /// Syncs skipped because too many TX timestamps were outstanding.
    pub tx_timestamp_table_full: u64,
    /// TX timestamps that came after their deadline, or for unknown tokens.
    pub tx_timestamp_stale: u64,
    /// TX timestamps reported lost by the data plane.
    pub tx_timestamp_lost: u64,
    /// Port state changes.
    pub state_changes: u64,
    /// Foreign masters that did not fit the table.
    pub foreign_master_table_full: u64,
    /// Events whose `now` was earlier than a previous one.
    pub time_went_backwards: u64,
    /// Unicast management requests not answered because the answer would be longer than
    /// the request (no amplification towards a claimed source).
    pub management_reply_too_large: u64,
    /// Messages from a source over its own rate, dropped.
    pub rx_source_rate_limited: u64,
    /// Clock steps followed (schedules moved with the clock).
    pub clock_steps: u64,
    /// Unicast negotiation from sources or identities not on the port's allowed lists.
    pub unicast_not_allowed: u64,
    /// CANCELs whose port identity is not the granted slave's (spoofed), ignored.
    pub cancel_not_owner: u64,
    /// Unicast Pdelay_Req from sources without a Pdelay_Resp grant, dropped.
    pub pdelay_req_without_grant: u64,
    /// Announces whose logMessageInterval was outside the profile's range (clamped).
    pub announce_interval_clamped: u64,
    /// Messages without a valid AUTHENTICATION TLV on a port that requires one, refused.
    pub rx_auth_missing: u64,
    /// Messages whose AUTHENTICATION TLV failed (wrong SPP, unknown key, bad length or
    /// ICV), refused — on any port that checks.
    pub rx_auth_failed: u64,
    /// Messages not sent because signing failed (cannot happen with a checked config).
    pub tx_auth_failed: u64,
    /// PTPv1 messages received (on ports with a v1 master; elsewhere they are `rx_ignored`).
    pub rx_v1: u64,
    /// PTPv1 messages sent.
    pub tx_v1: u64,
    /// Times a port's v1 master fell silent for a better v1 master, or resumed.
    pub v1_state_changes: u64,
    /// Management requests answered.
    pub management_responses: u64,
    /// Management requests answered with MANAGEMENT_ERROR_STATUS.
    pub management_errors: u64,
}

impl Stats {
    fn deny(&mut self, r: DenyReason) {
        self.denials[r as usize] += 1;
    }
}

/// A port as the control plane sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortStatus {
    /// portIdentity.
    pub identity: PortIdentity,
    /// portState.
    pub state: PortState,
    /// Unicast slaves served.
    pub unicast_slaves: usize,
    /// Granted unicast message rate, messages/s.
    pub unicast_rate: f64,
    /// Foreign masters known.
    pub foreign_masters: usize,
    /// The best foreign master's grandmaster identity, if any is qualified.
    pub best_foreign_master: Option<ComparisonDataset>,
    /// PTPv1: whether a better v1 master is heard (the v1 master is then silent).
    pub v1_passive: bool,
}

struct Port {
    identity: PortIdentity,
    state: PortState,
    listening_until: Time,
    next_announce: Time,
    next_sync: Time,
    announce_seq: u16,
    sync_seq: u16,
    signaling_seq: u16,
    /// The last stamped multicast Sync: (sequenceId, TX time), for the interval error.
    last_sync: Option<(u16, Time)>,
    foreign: ForeignMasterTable,
    erbest: Option<ComparisonDataset>,
    unicast: UnicastService,
    /// Its link is down (the data plane says): FAULTY until it is up again.
    faulty: bool,
    /// PTPv1 masters, one per configured subdomain (allocated once, here).
    v1: Vec<v1::V1Master>,
}

/// A jump of the time the engine is given backwards by more than this is a clock step (ns).
const STEP_BACK_NS: i64 = 100_000_000;
/// … and forwards by more than this (the engine loop calls at least every second).
const STEP_FORWARD_NS: i64 = 10_000_000_000;

/// Largest message the engine builds (Announce with SMPTE TLV, management responses).
const MAX_MSG: usize = 512;
/// The stack buffer for messages up to this size (no TLVs beyond a short one).
const SMALL_MSG: usize = 96;
/// Most REQUEST TLVs answered from one Signaling message.
const MAX_TLVS_PER_SIGNALING: usize = 8;

/// The engine. See the module docs for the calling contract.
pub struct Engine {
    clock: ClockConfig,
    port_cfg: Vec<PortConfig>,
    ports: Vec<Port>,
    status: ClockStatus,
    /// Pinned by a management SET of GRANDMASTER_SETTINGS_NP: the clock layer's status no
    /// longer replaces it.
    pinned: bool,
    pending: PendingTable,
    stats: Stats,
    last_now: Time,
    admission: admit::Admission,
}

/// The pieces of the engine a message builder needs, borrowed apart from the port state.
struct Ctx<'a> {
    clock: &'a ClockConfig,
    cfg: &'a PortConfig,
    status: &'a ClockStatus,
    index: PortIndex,
    identity: PortIdentity,
}

impl Ctx<'_> {
    fn header(&self, mt: MessageType, seq: u16, log: i8, unicast: bool) -> HeaderRepr {
        HeaderRepr {
            major_sdo_id: self.clock.major_sdo_id,
            message_type: mt,
            minor_version_ptp: 1,
            version_ptp: 2,
            message_length: 0,
            domain_number: self.clock.domain_number,
            minor_sdo_id: self.clock.minor_sdo_id,
            flags: Flags {
                unicast,
                ..Flags::default()
            },
            correction: TimeInterval::ZERO,
            message_type_specific: 0,
            source_port_identity: self.identity,
            sequence_id: seq,
            control_field: mt.control_field(),
            log_message_interval: log,
        }
    }

    fn send(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        dest: Destination,
        repr: &MessageRepr<'_>,
        stamp: TxStamp,
    ) {
        self.send_reply(out, stats, dest, repr, stamp, None);
    }

    /// [`Self::send`] for a reply, carrying the request's RX timestamp (residence time).
    fn send_reply(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        dest: Destination,
        repr: &MessageRepr<'_>,
        stamp: TxStamp,
        request_rx: Option<Time>,
    ) {
        let msg_len = repr.buffer_len();
        let signer = self
            .cfg
            .auth
            .and_then(|a| self.clock.security.signer(a.spp, a.key_id));
        let len = msg_len + signer.map_or(0, |s| s.tlv_len());
        // Most messages (Sync, Follow_Up, Delay_Resp, Signaling with one TLV) fit the small
        // buffer: zeroing 512 octets per message showed in the profile at millions a second.
        let mut small = [0u8; SMALL_MSG];
        let mut large;
        let b = if len <= SMALL_MSG {
            &mut small[..len]
        } else {
            large = [0u8; MAX_MSG];
            let Some(b) = large.get_mut(..len) else {
                return;
            };
            b
        };
        if repr.emit(&mut b[..msg_len]).is_err() {
            return;
        }
        if let Some(s) = signer {
            if !s.sign(b, msg_len) {
                stats.tx_auth_failed += 1;
                return;
            }
        }
        let mt = repr.body.message_type();
        stats.tx[mt.nibble() as usize] += 1;
        out.transmit(Transmit {
            port: self.index,
            destination: dest,
            event: mt.is_event(),
            message_type: mt,
            payload: b,
            stamp,
            request_rx,
        });
    }

    fn send_announce(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        now: Time,
        dest: Destination,
        seq: u16,
        log: i8,
    ) {
        let tp = &self.status.time_properties;
        let mut h = self.header(
            MessageType::Announce,
            seq,
            log,
            matches!(dest, Destination::Unicast(_)),
        );
        h.flags.leap61 = tp.leap61;
        h.flags.leap59 = tp.leap59;
        h.flags.current_utc_offset_valid = tp.current_utc_offset_valid;
        h.flags.ptp_timescale = tp.ptp_timescale;
        h.flags.time_traceable = tp.time_traceable;
        h.flags.frequency_traceable = tp.frequency_traceable;
        let body = MessageBody::Announce(AnnounceBody {
            origin_timestamp: now.to_timestamp(),
            current_utc_offset: tp.current_utc_offset,
            grandmaster_priority1: self.clock.priority1,
            grandmaster_clock_quality: self.status.clock_quality,
            grandmaster_priority2: self.clock.priority2,
            grandmaster_identity: self.clock.clock_identity,
            steps_removed: 0,
            time_source: tp.time_source,
        });
        let mut tlv_buf = [0u8; 64];
        let tlvs = match &self.clock.smpte {
            Some(m) => {
                let mut data = [0u8; 42];
                data[0..4].copy_from_slice(&m.frame_rate_numerator.to_be_bytes());
                data[4..8].copy_from_slice(&m.frame_rate_denominator.to_be_bytes());
                data[8] = smpte_locking_status(self.status.clock_quality.clock_class);
                data[9] = m.time_address_flags;
                data[10..14].copy_from_slice(&m.current_local_offset.to_be_bytes());
                data[14..18].copy_from_slice(&m.jump_seconds.to_be_bytes());
                data[18..24].copy_from_slice(&m.time_of_next_jump.to_be_bytes()[2..]);
                data[24..30].copy_from_slice(&m.time_of_next_jam.to_be_bytes()[2..]);
                data[30..36].copy_from_slice(&m.time_of_previous_jam.to_be_bytes()[2..]);
                data[36..40].copy_from_slice(&m.previous_jam_local_offset.to_be_bytes());
                data[40] = m.daylight_saving;
                data[41] = m.leap_second_jump;
                let t = TlvRepr::OrganizationExtension {
                    kind: OrgExtKind::Legacy,
                    organization_id: SMPTE_OUI,
                    organization_sub_type: SMPTE_SUBTYPE_SYNC_METADATA,
                    data: &data,
                };
                TlvBlock::build(&mut tlv_buf, &[t]).unwrap_or_default()
            }
            None => TlvBlock::EMPTY,
        };
        let repr = MessageRepr {
            header: h,
            body,
            tlvs,
        };
        self.send(out, stats, dest, &repr, TxStamp::None);
    }

    /// The v1 view of this grandmaster (clause 18).
    fn v1_grandmaster(&self, log: i8) -> v1::V1Grandmaster {
        let tp = &self.status.time_properties;
        v1::V1Grandmaster {
            identity: self.clock.clock_identity,
            port: self.identity.port_number,
            priority1: self.clock.priority1,
            priority2: self.clock.priority2,
            quality: self.status.clock_quality,
            current_utc_offset: tp.current_utc_offset,
            utc_offset_valid: tp.current_utc_offset_valid,
            sync_interval: log,
        }
    }

    /// Seconds between PTP time and v1 wire time (see [`v1::V1Grandmaster::wire_utc_offset`]).
    fn v1_utc_offset(&self) -> i16 {
        self.v1_grandmaster(self.cfg.v1_log_sync_interval.unwrap_or(0))
            .wire_utc_offset()
    }

    /// A v1 header in `subdomain`.
    fn v1_header(
        &self,
        subdomain: wire::v1::Subdomain,
        seq: u16,
    ) -> Option<wire::v1::V1HeaderRepr> {
        let tp = &self.status.time_properties;
        Some(wire::v1::V1HeaderRepr {
            version_network: wire::v1::VERSION_NETWORK,
            subdomain,
            source: wire::v1::V1PortIdentity {
                communication_technology: wire::v1::COMM_ETHER,
                uuid: v1::uuid(&self.clock.clock_identity)?,
                port_id: self.identity.port_number,
            },
            sequence_id: seq,
            flags: wire::v1::V1Flags {
                leap61: tp.leap61,
                leap59: tp.leap59,
                assist: true,
                ..wire::v1::V1Flags::default()
            },
        })
    }

    /// Emits a v1 message to its subdomain's group (counted with the v2 type it maps to).
    fn send_v1(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        repr: &wire::v1::V1MessageRepr<'_>,
        stamp: TxStamp,
        request_rx: Option<Time>,
    ) {
        use wire::v1::Control;
        let group = repr.header.subdomain.group_index();
        let mut buf = [0u8; wire::v1::MANAGEMENT_FIXED_LEN + wire::v1::MAX_MANAGEMENT_PARAMETERS];
        let Some(b) = buf.get_mut(..repr.buffer_len()) else {
            return;
        };
        if repr.emit(b).is_err() {
            return;
        }
        let mt = match repr.body.control() {
            Control::Sync => MessageType::Sync,
            Control::DelayReq => MessageType::DelayReq,
            Control::FollowUp => MessageType::FollowUp,
            Control::DelayResp => MessageType::DelayResp,
            Control::Management => MessageType::Management,
        };
        stats.tx_v1 += 1;
        out.transmit(Transmit {
            port: self.index,
            destination: Destination::V1Group(group),
            event: repr.body.control().is_event(),
            message_type: mt,
            payload: b,
            stamp,
            request_rx,
        });
    }

    /// A two-step v1 Sync (its Follow_Up goes when the TX stamp comes).
    fn send_v1_sync(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        pending: &mut PendingTable,
        now: Time,
        k: usize,
        m: &v1::V1Master,
    ) {
        let seq = m.sync_seq;
        let log = self.cfg.v1_log_sync_interval.unwrap_or(0);
        let (Some(header), Some(body)) = (
            self.v1_header(m.subdomain, seq),
            self.v1_grandmaster(log).sync_body(now.to_timestamp(), seq),
        ) else {
            return;
        };
        let p = Pending {
            port: self.index,
            destination: Destination::V1Group(m.group),
            sequence_id: seq,
            kind: FollowUpKind::V1Sync { master: k as u8 },
        };
        let Some(token) = pending.insert(now, p) else {
            stats.tx_timestamp_table_full += 1;
            return;
        };
        let repr = wire::v1::V1MessageRepr {
            header,
            body: wire::v1::V1Body::Sync(body),
        };
        self.send_v1(out, stats, &repr, TxStamp::TwoStep(token), None);
    }

    /// Sends a Sync; for two-step reserves a TX timestamp first (and skips the Sync, counted,
    /// if the table is full: a two-step Sync without its Follow_Up helps nobody).
    #[allow(clippy::too_many_arguments)]
    fn send_sync(
        &self,
        out: &mut dyn Output,
        stats: &mut Stats,
        pending: &mut PendingTable,
        now: Time,
        scheduled: Time,
        dest: Destination,
        seq: u16,
        log: i8,
    ) {
        let unicast = matches!(dest, Destination::Unicast(_));
        let mut h = self.header(MessageType::Sync, seq, log, unicast);
        let stamp = if self.cfg.one_step {
            // Launch time is written by the data plane; corrections go in now.
            h.correction = TimeInterval(
                self.cfg
                    .delay_asymmetry
                    .0
                    .saturating_add(self.cfg.egress_latency.0),
            );
            TxStamp::OneStep
        } else {
            h.flags.two_step = true;
            let p = Pending {
                port: self.index,
                destination: dest,
                sequence_id: seq,
                kind: FollowUpKind::Sync {
                    log_interval: log,
                    unicast,
                    scheduled,
                },
            };
            match pending.insert(now, p) {
                Some(t) => TxStamp::TwoStep(t),
                None => {
                    stats.tx_timestamp_table_full += 1;
                    return;
                }
            }
        };
        let repr = MessageRepr {
            header: h,
            body: MessageBody::Sync {
                origin_timestamp: now.to_timestamp(),
            },
            tlvs: TlvBlock::EMPTY,
        };
        self.send(out, stats, dest, &repr, stamp);
    }
}

/// masterLockingStatus of the SMPTE TLV from clockClass: 0 not in use, 1 free run,
/// 2 cold locking, 3 warm locking, 4 locked.
fn smpte_locking_status(class: u8) -> u8 {
    match class {
        6 | 13 => 4,
        7 | 14 => 3,
        52 | 58 | 187 | 193 => 3,
        248 | 255 => 1,
        _ => 2,
    }
}

/// Adds `d` scaled-ns to a time, saturating.
fn offset_time(t: Time, d: TimeInterval) -> Time {
    t + Duration(d.0 >> 16)
}

impl Engine {
    /// A new engine at `now`. Ports start in LISTENING for one announce-receipt timeout
    /// (9.2.6.12) and then become MASTER unless a better master is heard; masterOnly ports
    /// start in MASTER.
    pub fn new(config: EngineConfig, now: Time, status: ClockStatus) -> Result<Self, ConfigError> {
        config.check()?;
        let EngineConfig { clock, ports } = config;
        let port_state = ports
            .iter()
            .enumerate()
            .map(|(i, p)| Port {
                identity: PortIdentity {
                    clock_identity: clock.clock_identity,
                    port_number: i as u16 + 1,
                },
                // A masterOnly port never listens for a better master (like linuxptp's
                // designated-master state machine): it is MASTER from the start.
                state: if p.master_only {
                    PortState::Master
                } else {
                    PortState::Listening
                },
                listening_until: now.plus_nanos(
                    log_interval_nanos(p.log_announce_interval) * p.announce_receipt_timeout as u64,
                ),
                next_announce: if p.master_only {
                    announce_phase(now, p)
                } else {
                    Time::NEVER
                },
                next_sync: if p.master_only { now } else { Time::NEVER },
                announce_seq: 0,
                sync_seq: 0,
                signaling_seq: 0,
                last_sync: None,
                foreign: ForeignMasterTable::new(16),
                erbest: None,
                unicast: UnicastService::new(p.unicast_limits.max_slaves),
                faulty: false,
                v1: if p.v1_log_sync_interval.is_some() {
                    let n = p.v1_subdomains.len();
                    p.v1_subdomains
                        .iter()
                        .enumerate()
                        .map(|(k, s)| {
                            v1::V1Master::new(
                                *s,
                                if p.master_only {
                                    v1_phase(now, p, k, n)
                                } else {
                                    Time::NEVER
                                },
                            )
                        })
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        let admission = admit::Admission::new(admit::AdmitConfig::from_requests_per_ms(
            clock.max_requests_per_ms,
            clock.max_requests_per_source_per_s,
            clock.admission_key,
        ));
        Ok(Engine {
            pending: PendingTable::new(
                clock.max_pending_tx_timestamps,
                clock.tx_timestamp_timeout_ns,
            ),
            clock,
            port_cfg: ports,
            ports: port_state,
            status,
            pinned: false,
            stats: Stats::default(),
            last_now: now,
            admission,
        })
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The clock configuration.
    pub fn clock_config(&self) -> &ClockConfig {
        &self.clock
    }

    /// The current clock status.
    pub fn clock_status(&self) -> &ClockStatus {
        &self.status
    }

    /// Whether a management SET of GRANDMASTER_SETTINGS_NP pinned the clock status (it stays
    /// until a restart; [`Self::set_clock_status`] no longer replaces it).
    pub fn clock_status_pinned(&self) -> bool {
        self.pinned
    }

    /// Sets priority1 and priority2 (a configuration reload), then runs BMCA at once: the
    /// next Announce (and every v1 Sync) carries them.
    pub fn set_priorities(&mut self, now: Time, priority1: u8, priority2: u8) {
        if (self.clock.priority1, self.clock.priority2) == (priority1, priority2) {
            return;
        }
        self.clock.priority1 = priority1;
        self.clock.priority2 = priority2;
        self.run_bmca(now);
    }

    /// Replaces port `port`'s unicast ACLs (a configuration reload). They apply to every
    /// request from now on, renewals included: a source or identity no longer allowed keeps
    /// what it was granted only until those grants expire. `false` for a port that does not
    /// exist.
    pub fn set_unicast_acl(
        &mut self,
        port: PortIndex,
        sources: Vec<SourcePrefix>,
        identities: Vec<crate::wire::ClockIdentity>,
    ) -> bool {
        let Some(cfg) = self.port_cfg.get_mut(port as usize) else {
            return false;
        };
        cfg.unicast_allowed_sources = sources;
        cfg.unicast_allowed_identities = identities;
        true
    }

    /// Number of ports.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// A port's status, for the control plane and metrics.
    pub fn port_status(&self, port: PortIndex) -> Option<PortStatus> {
        let p = self.ports.get(port as usize)?;
        Some(PortStatus {
            identity: p.identity,
            state: p.state,
            unicast_slaves: p.unicast.len(),
            unicast_rate: p.unicast.total_rate(),
            foreign_masters: p.foreign.len(),
            best_foreign_master: p.erbest,
            v1_passive: p.v1.iter().any(|m| m.passive),
        })
    }

    /// A port's PTPv1 masters, one per subdomain in the configured order: the subdomain and
    /// whether it is silent for a better v1 master (empty without v1).
    pub fn v1_masters(
        &self,
        port: PortIndex,
    ) -> impl Iterator<Item = (wire::v1::Subdomain, bool)> + '_ {
        self.ports
            .get(port as usize)
            .into_iter()
            .flat_map(|p| p.v1.iter().map(|m| (m.subdomain, m.passive)))
    }

    /// A port's unicast service, read-only (slaves and their grants).
    pub fn unicast(&self, port: PortIndex) -> Option<&UnicastService> {
        self.ports.get(port as usize).map(|p| &p.unicast)
    }

    /// TX timestamps currently awaited.
    pub fn pending_tx_timestamps(&self) -> usize {
        self.pending.outstanding()
    }

    /// Whether `token` still awaits its timestamp. The engine alone expires tokens (after
    /// the configured timeout, counted in [`Stats::tx_timestamp_timeouts`]); a data plane
    /// that keeps tokens in its own table drops the ones for which this is false, without
    /// reporting them again.
    pub fn tx_token_pending(&self, token: &TxToken) -> bool {
        self.pending.is_pending(token)
    }

    /// Keeps the engine's time monotonic, and follows a clock step: a jump back by more than
    /// [`STEP_BACK_NS`], or forward by more than [`STEP_FORWARD_NS`] past both the last time
    /// and the engine's own next deadline (the caller is due then, so a later call means the
    /// clock moved), moves every schedule, expiry and receipt time with the clock, so Syncs,
    /// Announces and unicast grants go on at their rates — no freeze for the length of a
    /// backwards step, no burst or mass expiry after a forward one. Smaller backwards wobbles
    /// are held at the last time (counted).
    fn clamp(&mut self, now: Time) -> Time {
        let delta = now.signed_since(self.last_now);
        if delta < -STEP_BACK_NS {
            self.stats.clock_steps += 1;
            self.shift(delta);
        } else if delta > STEP_FORWARD_NS {
            let due = self.poll_timeout().max(self.last_now);
            let late = now.signed_since(due);
            if late > STEP_FORWARD_NS {
                self.stats.clock_steps += 1;
                self.shift(late);
            }
        } else if delta < 0 {
            self.stats.time_went_backwards += 1;
            return self.last_now;
        }
        self.last_now = now;
        now
    }

    fn shift(&mut self, delta: i64) {
        self.admission.shift(delta);
        for p in &mut self.ports {
            p.listening_until = p.listening_until.shifted(delta);
            p.next_announce = p.next_announce.shifted(delta);
            p.next_sync = p.next_sync.shifted(delta);
            for m in &mut p.v1 {
                m.shift(delta);
            }
            p.last_sync = p.last_sync.map(|(q, t)| (q, t.shifted(delta)));
            p.foreign.shift(delta);
            p.unicast.shift(delta);
        }
        self.pending.shift(delta);
    }

    /// Emits `repr` out of port `i` (counting it), borrowing the engine's parts apart so the
    /// counters can be updated while the message builder reads the configuration.
    fn transmit(
        &mut self,
        i: usize,
        out: &mut dyn Output,
        dest: Destination,
        repr: &MessageRepr<'_>,
        stamp: TxStamp,
    ) {
        self.transmit_reply(i, out, dest, repr, stamp, None);
    }

    /// [`Self::transmit`] for a reply to an event message received at `request_rx`.
    fn transmit_reply(
        &mut self,
        i: usize,
        out: &mut dyn Output,
        dest: Destination,
        repr: &MessageRepr<'_>,
        stamp: TxStamp,
        request_rx: Option<Time>,
    ) {
        let (ctx, stats) = self.ctx_and_stats(i);
        ctx.send_reply(out, stats, dest, repr, stamp, request_rx);
    }

    /// Charges a received message to its source's and its class's budgets; a refusal is
    /// counted by reason and returns false.
    fn admit(&mut self, now: Time, source: &PeerAddress, class: admit::Class) -> bool {
        match self.admission.admit(now, source, class) {
            Ok(()) => true,
            Err(admit::Refusal::Source) => {
                self.stats.rx_source_rate_limited += 1;
                false
            }
            Err(admit::Refusal::Class) => {
                self.stats.rx_rate_limited += 1;
                false
            }
        }
    }

    /// Port `i`'s message builder and the counters, borrowed apart (so a builder can count
    /// what it sends).
    fn ctx_and_stats(&mut self, i: usize) -> (Ctx<'_>, &mut Stats) {
        let Engine {
            clock,
            port_cfg,
            ports,
            status,
            stats,
            ..
        } = self;
        let ctx = Ctx {
            clock,
            cfg: &port_cfg[i],
            status,
            index: i as PortIndex,
            identity: ports[i].identity,
        };
        (ctx, stats)
    }

    fn ctx(&self, i: usize) -> Ctx<'_> {
        Ctx {
            clock: &self.clock,
            cfg: &self.port_cfg[i],
            status: &self.status,
            index: i as PortIndex,
            identity: self.ports[i].identity,
        }
    }

    /// The data plane's view of port `port`'s link. Down: the port goes FAULTY (it sends
    /// nothing, its unicast slaves are let go, BMCA leaves it there). Up again: BMCA decides
    /// its state at once from what it knows (MASTER unless a better master is heard) —
    /// no new LISTENING period. Returns whether anything changed.
    pub fn set_port_link(&mut self, now: Time, port: u16, up: bool) -> bool {
        let now = self.clamp(now);
        let i = port as usize;
        let Some(p) = self.ports.get_mut(i) else {
            return false;
        };
        if up != p.faulty {
            return false;
        }
        if up {
            p.faulty = false;
            p.listening_until = now;
            self.set_state(i, PortState::Listening, now);
            self.run_bmca(now);
        } else {
            p.faulty = true;
            self.set_state(i, PortState::Faulty, now);
        }
        true
    }

    /// The clock layer's new view of the clock. Announce content follows at once; BMCA
    /// re-runs (our clockClass may now win or lose). Ignored while pinned by management.
    pub fn set_clock_status(&mut self, now: Time, status: ClockStatus) {
        let now = self.clamp(now);
        if !self.pinned && status != self.status {
            self.status = status;
            self.run_bmca(now);
        }
    }

    /// When the engine next needs [`Engine::handle_timeout`].
    pub fn poll_timeout(&self) -> Time {
        let mut t = self.pending.next_deadline().unwrap_or(Time::NEVER);
        for (p, cfg) in self.ports.iter().zip(&self.port_cfg) {
            if p.state == PortState::Listening {
                t = t.min(p.listening_until);
            }
            if p.state == PortState::Master && cfg.multicast {
                t = t.min(p.next_announce).min(p.next_sync);
            }
            for m in &p.v1 {
                if p.state == PortState::Master {
                    t = t.min(m.next_sync);
                }
                if let Some(f) = &m.foreign {
                    t = t.min(f.expires);
                }
            }
            t = t.min(p.unicast.next_wake());
            if let Some(d) = p.foreign.next_deadline(cfg.announce_receipt_timeout) {
                t = t.min(d);
            }
        }
        t
    }

    /// Does everything due by `now`: scheduled Announce/Sync (multicast and every unicast
    /// slave), grant expiry, foreign-master expiry and BMCA, TX-timestamp timeouts.
    pub fn handle_timeout(&mut self, now: Time, out: &mut dyn Output) {
        let now = self.clamp(now);
        self.stats.tx_timestamp_timeouts += self.pending.expire(now);
        let mut bmca = false;
        for (p, cfg) in self.ports.iter_mut().zip(&self.port_cfg) {
            if p.foreign.expire(now, cfg.announce_receipt_timeout) {
                bmca = true;
            }
            if p.state == PortState::Listening && now >= p.listening_until {
                bmca = true;
            }
        }
        if bmca {
            self.run_bmca(now);
        }
        for i in 0..self.ports.len() {
            self.service_port(i, now, out);
        }
    }

    fn service_port(&mut self, i: usize, now: Time, out: &mut dyn Output) {
        let Engine {
            clock,
            port_cfg,
            ports,
            status,
            pending,
            stats,
            ..
        } = self;
        let cfg = &port_cfg[i];
        let p = &mut ports[i];
        let ctx = Ctx {
            clock,
            cfg,
            status,
            index: i as PortIndex,
            identity: p.identity,
        };
        if p.state == PortState::Master && cfg.multicast {
            if now >= p.next_announce {
                ctx.send_announce(
                    out,
                    stats,
                    now,
                    Destination::Multicast,
                    p.announce_seq,
                    cfg.log_announce_interval,
                );
                p.announce_seq = p.announce_seq.wrapping_add(1);
                p.next_announce = next_tick(p.next_announce, now, cfg.log_announce_interval);
            }
            if now >= p.next_sync {
                ctx.send_sync(
                    out,
                    stats,
                    pending,
                    now,
                    p.next_sync,
                    Destination::Multicast,
                    p.sync_seq,
                    cfg.log_sync_interval,
                );
                p.sync_seq = p.sync_seq.wrapping_add(1);
                p.next_sync = next_tick(p.next_sync, now, cfg.log_sync_interval);
            }
        }
        for (k, m) in p.v1.iter_mut().enumerate() {
            if m.foreign.is_some_and(|f| now >= f.expires) {
                // The better v1 master went quiet: serve v1 again at once.
                m.foreign = None;
                if m.passive {
                    m.passive = false;
                    stats.v1_state_changes += 1;
                }
                m.next_sync = now;
            }
            if let (PortState::Master, Some(log), false) =
                (p.state, cfg.v1_log_sync_interval, m.passive)
            {
                if now >= m.next_sync {
                    ctx.send_v1_sync(out, stats, pending, now, k, m);
                    m.sync_seq = m.sync_seq.wrapping_add(1);
                    m.next_sync = next_tick(m.next_sync, now, log);
                }
            }
        }
        let r = p.unicast.sweep(now);
        stats.grants_expired += r.grants_expired;
        stats.slaves_removed += r.slaves_removed;
        if p.state == PortState::Master {
            p.unicast.run_due(now, |_, slave, kind, due| {
                let dest = Destination::Unicast(slave.address);
                let log = slave.granted(kind).unwrap_or(0);
                match kind {
                    GrantType::Announce => {
                        ctx.send_announce(out, stats, now, dest, slave.announce_seq, log);
                        slave.announce_seq = slave.announce_seq.wrapping_add(1);
                        slave.counters.announces += 1;
                    }
                    GrantType::Sync => {
                        ctx.send_sync(out, stats, pending, now, due, dest, slave.sync_seq, log);
                        slave.sync_seq = slave.sync_seq.wrapping_add(1);
                        slave.counters.syncs += 1;
                    }
                    GrantType::DelayResp | GrantType::PdelayResp => {}
                }
            });
        }
    }

    /// Handles one received PTP message.
    pub fn handle_message(&mut self, now: Time, rx: RxMessage<'_>, out: &mut dyn Output) {
        let now = self.clamp(now);
        let i = rx.port as usize;
        if i >= self.ports.len() {
            self.stats.rx_bad_port += 1;
            return;
        }
        if wire::v1::ptp_version(rx.payload) == Some(1) {
            self.on_v1(now, i, &rx, out);
            return;
        }
        let msg = match MessageRepr::parse_bytes(rx.payload) {
            Ok(m) => m,
            Err(e) => {
                self.stats.rx_malformed += 1;
                self.stats.last_malformed = Some(e);
                return;
            }
        };
        let h = &msg.header;
        self.stats.rx[h.message_type.nibble() as usize] += 1;
        if h.source_port_identity.clock_identity == self.clock.clock_identity {
            self.stats.rx_own += 1;
            return;
        }
        if h.major_sdo_id != self.clock.major_sdo_id {
            self.stats.rx_wrong_sdo += 1;
            return;
        }
        // Management may address all domains only through the domain it arrives on.
        if h.domain_number != self.clock.domain_number {
            self.stats.rx_wrong_domain += 1;
            return;
        }
        // Charged after the cheap checks above, per source and then per class.
        let class = match msg.body {
            MessageBody::DelayReq { .. } | MessageBody::PdelayReq { .. } => admit::Class::Event,
            MessageBody::Signaling { .. } => admit::Class::Signaling,
            MessageBody::Management { .. } => admit::Class::Management,
            _ => admit::Class::General,
        };
        if !self.admit(now, &rx.source, class) {
            return;
        }
        // Integrity (16.14): after admission, so a flood of forged ICVs costs an HMAC each
        // only up to the source's and the class's budget.
        if let Some(a) = self.port_cfg[i].auth {
            let len = (h.message_length as usize).min(rx.payload.len());
            match auth::verify(
                &self.clock.security,
                a.spp,
                &rx.payload[..len],
                msg.body.fixed_len(),
            ) {
                Ok(true) => {}
                Ok(false) if !a.required => {}
                Ok(false) => {
                    self.stats.rx_auth_missing += 1;
                    return;
                }
                Err(_) => {
                    self.stats.rx_auth_failed += 1;
                    return;
                }
            }
        }
        match msg.body {
            MessageBody::Announce(a) => self.on_announce(now, i, &msg.header, &a),
            MessageBody::DelayReq { .. } => self.on_delay_req(now, i, &rx, &msg, out),
            MessageBody::PdelayReq { .. } => self.on_pdelay_req(now, i, &rx, &msg, out),
            MessageBody::Signaling { .. } => self.on_signaling(now, i, &rx, &msg, out),
            MessageBody::Management { .. } => self.on_management(now, i, &rx, &msg, out),
            _ => self.stats.rx_ignored += 1,
        }
    }

    /// A PTPv1 message, on a port with v1 masters and in one of their subdomains: a Sync
    /// goes to the v1 BMC, a Delay_Req is answered with a Delay_Resp to the subdomain's group
    /// (as v1 slaves expect), a Management GET is answered ([`Engine::on_v1_management`]);
    /// everything else is counted and ignored.
    fn on_v1(&mut self, now: Time, i: usize, rx: &RxMessage<'_>, out: &mut dyn Output) {
        use wire::v1::{V1Body, V1MessageRepr};
        let msg = match V1MessageRepr::parse_bytes(rx.payload) {
            Ok(m) => m,
            Err(e) => {
                self.stats.rx_malformed += 1;
                self.stats.last_malformed = Some(e);
                return;
            }
        };
        if self.ports[i].v1.is_empty() {
            self.stats.rx_ignored += 1;
            return;
        }
        self.stats.rx_v1 += 1;
        if Some(msg.header.source.uuid) == v1::uuid(&self.clock.clock_identity) {
            self.stats.rx_own += 1;
            return;
        }
        let Some(k) = self.ports[i]
            .v1
            .iter()
            .position(|m| m.subdomain == msg.header.subdomain)
        else {
            self.stats.rx_wrong_domain += 1;
            return;
        };
        let subdomain = self.ports[i].v1[k].subdomain;
        match &msg.body {
            // A master-only port never yields, in v1 as in v2.
            V1Body::Sync(_) if self.port_cfg[i].master_only => {
                self.stats.rx_ignored += 1;
                return;
            }
            V1Body::Sync(s) => return self.on_v1_sync(now, i, k, s, &msg.header.source),
            V1Body::Management { .. } => return self.on_v1_management(now, i, k, rx, &msg, out),
            V1Body::DelayReq(_) => {}
            _ => {
                self.stats.rx_ignored += 1;
                return;
            }
        }
        if !self.admit(now, &rx.source, admit::Class::Event) {
            return;
        }
        if self.ports[i].state != PortState::Master || self.ports[i].v1[k].passive {
            self.stats.rx_wrong_state += 1;
            return;
        }
        let Some(t4) = rx.timestamp else {
            self.stats.rx_missing_timestamp += 1;
            return;
        };
        let cfg = &self.port_cfg[i];
        let t = offset_time(t4, TimeInterval(cfg.ingress_latency.0.saturating_neg()));
        // v1 has no correctionField: the asymmetry goes into the time itself, as the v2
        // Delay_Resp's correction (−asymmetry, subtracted by the slave) does.
        let t = offset_time(t, cfg.delay_asymmetry);
        let (ctx, stats) = self.ctx_and_stats(i);
        let (receipt, _) = v1::time(t.to_timestamp(), ctx.v1_utc_offset());
        let Some(header) = ctx.v1_header(subdomain, msg.header.sequence_id) else {
            return;
        };
        let repr = V1MessageRepr {
            header,
            body: V1Body::DelayResp {
                delay_receipt_timestamp: receipt,
                requesting: msg.header.source,
                requesting_sequence_id: msg.header.sequence_id,
            },
        };
        ctx.send_v1(out, stats, &repr, TxStamp::None, Some(t4));
    }

    /// A foreign v1 master's Sync in the subdomain of v1 master `k` (the v1 BMC,
    /// 1588-2002 7.6, on clause-18 data sets): it is tracked if it is the best heard; once
    /// qualified (two Syncs in a row) and better than our own data set seen through the same
    /// v1 fields, that v1 master falls silent until ten of its Sync intervals pass without
    /// one. v2 and the other subdomains are not affected.
    fn on_v1_sync(
        &mut self,
        now: Time,
        i: usize,
        k: usize,
        s: &wire::v1::SyncBody,
        from: &wire::v1::V1PortIdentity,
    ) {
        let receiver = self.ports[i].identity;
        let ds = v1::dataset_of_sync(s, from, receiver);
        // syncInterval claims are clamped to 1588-2002's 1 s … 64 s.
        let interval = log_interval_nanos(s.sync_interval.clamp(0, 6));
        let expires = now.plus_nanos(interval.saturating_mul(10));
        let variant = self.clock.bmca;
        let m = &mut self.ports[i].v1[k];
        match &mut m.foreign {
            Some(f) if f.uuid == from.uuid => {
                f.dataset = ds;
                f.syncs = f.syncs.saturating_add(1);
                f.expires = expires;
            }
            Some(f) if bmca::compare(variant, &ds, &f.dataset) != bmca::Comparison::Better => {
                return;
            }
            _ => {
                m.foreign = Some(v1::V1Foreign {
                    uuid: from.uuid,
                    dataset: ds,
                    syncs: 1,
                    expires,
                });
            }
        }
        let qualified = m.foreign.is_some_and(|f| f.syncs >= 2);
        let log = self.port_cfg[i].v1_log_sync_interval.unwrap_or(0);
        let ours = self.ctx(i).v1_grandmaster(log);
        let better = qualified
            && v1::projected(&ours, receiver).is_some_and(|d0| {
                matches!(
                    bmca::compare(variant, &ds, &d0),
                    bmca::Comparison::Better | bmca::Comparison::BetterByTopology
                )
            });
        let m = &mut self.ports[i].v1[k];
        if better != m.passive && (better || qualified) {
            m.passive = better;
            self.stats.v1_state_changes += 1;
            if !better {
                m.next_sync = now;
            }
        }
    }

    fn on_announce(&mut self, now: Time, i: usize, h: &HeaderRepr, a: &AnnounceBody) {
        let cfg = &self.port_cfg[i];
        let port = &mut self.ports[i];
        let data = ComparisonDataset::from_announce(
            a,
            h.source_port_identity,
            port.identity,
            cfg.local_priority,
        );
        // The sender's interval, within the profile's range: its word sets how long it is
        // believed.
        let log_interval = cfg.foreign_announce_log(h.log_message_interval);
        if log_interval != h.log_message_interval {
            self.stats.announce_interval_clamped += 1;
        }
        if !port
            .foreign
            .record(now, h.source_port_identity, data, log_interval)
        {
            self.stats.foreign_master_table_full += 1;
        }
        self.run_bmca(now);
    }

    fn d0(&self, i: usize) -> ComparisonDataset {
        ComparisonDataset {
            grandmaster_priority1: self.clock.priority1,
            grandmaster_identity: self.clock.clock_identity,
            grandmaster_clock_quality: self.status.clock_quality,
            grandmaster_priority2: self.clock.priority2,
            steps_removed: 0,
            identity_of_senders: self.ports[i].identity,
            identity_of_receiver: self.ports[i].identity,
            local_priority: self.port_cfg[i].local_priority,
        }
    }

    /// State decision for every port (9.3.3), then state changes.
    fn run_bmca(&mut self, now: Time) {
        let variant = self.clock.bmca;
        for p in &mut self.ports {
            p.erbest = p.foreign.best(variant, now);
        }
        let mut ebest: Option<(usize, ComparisonDataset)> = None;
        for (i, p) in self.ports.iter().enumerate() {
            if let Some(e) = p.erbest {
                let better = match &ebest {
                    None => true,
                    Some((_, b)) => bmca::compare(variant, &e, b).is_better(),
                };
                if better {
                    ebest = Some((i, e));
                }
            }
        }
        for i in 0..self.ports.len() {
            if self.ports[i].faulty {
                continue;
            }
            let d0 = self.d0(i);
            let p = &self.ports[i];
            let rec = bmca::state_decision(
                variant,
                &d0,
                self.status.clock_quality.clock_class,
                ebest.as_ref().map(|e| &e.1),
                p.erbest.as_ref(),
                ebest.as_ref().is_some_and(|e| e.0 == i),
                p.state,
            );
            let mut next = bmca::apply_policy(
                rec,
                self.clock.better_master_policy,
                self.port_cfg[i].master_only,
            );
            // Stay LISTENING for the initial announce-receipt timeout unless a better
            // master is already heard (9.2.6.12).
            if p.state == PortState::Listening
                && now < p.listening_until
                && matches!(
                    rec,
                    Recommendation::M1 | Recommendation::M2 | Recommendation::M3
                )
            {
                next = PortState::Listening;
            }
            self.set_state(i, next, now);
        }
    }

    fn set_state(&mut self, i: usize, next: PortState, now: Time) {
        let p = &mut self.ports[i];
        if p.state == next {
            return;
        }
        self.stats.state_changes += 1;
        let was_master = p.state == PortState::Master;
        p.state = next;
        if next == PortState::Master {
            let cfg = &self.port_cfg[i];
            p.next_announce = announce_phase(now, cfg);
            p.next_sync = now;
            let n = p.v1.len();
            for (k, m) in p.v1.iter_mut().enumerate() {
                m.next_sync = v1_phase(now, cfg, k, n);
            }
            p.last_sync = None;
        }
        if was_master && next != PortState::Master {
            // A port that stops being master stops serving its unicast slaves; they
            // renegotiate with the better master (or with us when we return).
            let n = p.unicast.clear();
            self.stats.slaves_removed += n;
        }
    }

    fn on_delay_req(
        &mut self,
        _now: Time,
        i: usize,
        rx: &RxMessage<'_>,
        msg: &MessageRepr<'_>,
        out: &mut dyn Output,
    ) {
        let cfg = &self.port_cfg[i];
        if self.ports[i].state != PortState::Master || cfg.delay_mechanism != DelayMechanism::E2E {
            self.stats.rx_wrong_state += 1;
            return;
        }
        let Some(t4) = rx.timestamp else {
            self.stats.rx_missing_timestamp += 1;
            return;
        };
        let unicast = !rx.multicast;
        let slave = self.ports[i].unicast.find_mut(&rx.source);
        let granted = slave.as_ref().and_then(|s| s.granted(GrantType::DelayResp));
        if unicast && granted.is_none() && !(cfg.multicast && cfg.hybrid_e2e) {
            // Unverified: no grant, and hybrid E2E not enabled (its reply would be larger
            // than the request, to whatever source the request claims).
            self.stats.delay_req_without_grant += 1;
            return;
        }
        if let (true, Some(s)) = (unicast && granted.is_some(), slave) {
            s.counters.delay_resps += 1;
        }
        let log = match (unicast, granted) {
            (true, Some(l)) => l,
            (true, None) => 0x7f,
            (false, _) => cfg.log_min_delay_req_interval,
        };
        let dest = if unicast {
            Destination::Unicast(rx.source)
        } else {
            Destination::Multicast
        };
        let request_rx = t4;
        let t4 = offset_time(t4, TimeInterval(cfg.ingress_latency.0.saturating_neg()));
        let ctx = self.ctx(i);
        let mut h = ctx.header(MessageType::DelayResp, msg.header.sequence_id, log, unicast);
        // 11.3.2: carry the request's correctionField; subtract the asymmetry (see
        // PortConfig::delay_asymmetry).
        h.correction = TimeInterval(
            msg.header
                .correction
                .0
                .saturating_sub(cfg.delay_asymmetry.0),
        );
        let repr = MessageRepr {
            header: h,
            body: MessageBody::DelayResp {
                receive_timestamp: t4.to_timestamp(),
                requesting_port_identity: msg.header.source_port_identity,
            },
            tlvs: TlvBlock::EMPTY,
        };
        self.transmit_reply(i, out, dest, &repr, TxStamp::None, Some(request_rx));
    }

    fn on_pdelay_req(
        &mut self,
        now: Time,
        i: usize,
        rx: &RxMessage<'_>,
        msg: &MessageRepr<'_>,
        out: &mut dyn Output,
    ) {
        let cfg = &self.port_cfg[i];
        let state = self.ports[i].state;
        // Only a serving port answers: a PASSIVE or LISTENING grandmaster is no one's peer
        // yet, and answering there only reflects traffic.
        if cfg.delay_mechanism != DelayMechanism::P2P || state != PortState::Master {
            self.stats.rx_wrong_state += 1;
            return;
        }
        // A unicast Pdelay_Req gets two messages (Pdelay_Resp and its follow-up, 108
        // octets for 54) sent to the source it claims: only from a slave granted
        // Pdelay_Resp. Multicast requests are answered to the peer-delay group (link-local
        // on L2), never to a claimed address.
        if !rx.multicast
            && self.ports[i]
                .unicast
                .find_mut(&rx.source)
                .and_then(|s| s.granted(GrantType::PdelayResp))
                .is_none()
        {
            self.stats.pdelay_req_without_grant += 1;
            return;
        }
        let Some(t2) = rx.timestamp else {
            self.stats.rx_missing_timestamp += 1;
            return;
        };
        let request_rx = t2;
        let t2 = offset_time(t2, TimeInterval(cfg.ingress_latency.0.saturating_neg()));
        let unicast = !rx.multicast;
        let dest = if unicast {
            Destination::Unicast(rx.source)
        } else {
            Destination::PdelayMulticast
        };
        // Two-step (11.4.2 c): requestReceiptTimestamp = t2 in Pdelay_Resp, t3 in the
        // follow-up. One-step P2P needs the turnaround written at launch, which the data
        // planes here do not offer, so the responder is always two-step.
        let p = Pending {
            port: i as PortIndex,
            destination: dest,
            sequence_id: msg.header.sequence_id,
            kind: FollowUpKind::PdelayResp {
                requesting_port_identity: msg.header.source_port_identity,
                request_correction: msg.header.correction.0,
            },
        };
        let Some(token) = self.pending.insert(now, p) else {
            self.stats.tx_timestamp_table_full += 1;
            return;
        };
        let ctx = self.ctx(i);
        let mut h = ctx.header(
            MessageType::PdelayResp,
            msg.header.sequence_id,
            0x7f,
            unicast,
        );
        h.flags.two_step = true;
        let repr = MessageRepr {
            header: h,
            body: MessageBody::PdelayResp {
                request_receipt_timestamp: t2.to_timestamp(),
                requesting_port_identity: msg.header.source_port_identity,
            },
            tlvs: TlvBlock::EMPTY,
        };
        self.transmit_reply(
            i,
            out,
            dest,
            &repr,
            TxStamp::TwoStep(token),
            Some(request_rx),
        );
    }

    fn on_signaling(
        &mut self,
        now: Time,
        i: usize,
        rx: &RxMessage<'_>,
        msg: &MessageRepr<'_>,
        out: &mut dyn Output,
    ) {
        let cfg = &self.port_cfg[i];
        if !cfg.unicast || rx.multicast {
            self.stats.rx_ignored += 1;
            return;
        }
        if self.ports[i].faulty {
            // 9.2.5: a FAULTY port sends nothing but required management responses.
            self.stats.rx_wrong_state += 1;
            return;
        }
        if !cfg.unicast_allowed(&rx.source, &msg.header.source_port_identity.clock_identity) {
            // Not on the port's list: no grant, no denial, no acknowledgement.
            self.stats.unicast_not_allowed += 1;
            return;
        }
        let serving = self.ports[i].state == PortState::Master;
        let requester = msg.header.source_port_identity;
        let mut replies: [Option<TlvRepr<'static>>; MAX_TLVS_PER_SIGNALING] =
            [None; MAX_TLVS_PER_SIGNALING];
        let mut n = 0;
        for tlv in msg.tlvs.iter() {
            if n == MAX_TLVS_PER_SIGNALING {
                break;
            }
            let reply = match tlv {
                TlvRepr::RequestUnicastTransmission {
                    message_type,
                    log_inter_message_period,
                    duration,
                } => {
                    let r = self.ports[i].unicast.request(
                        now,
                        rx.source,
                        requester,
                        message_type,
                        log_inter_message_period,
                        duration,
                        &cfg.unicast_limits,
                        serving,
                    );
                    let (log, dur) = match r {
                        Ok(g) => {
                            self.stats.grants += 1;
                            g
                        }
                        Err(reason) => {
                            self.stats.deny(reason);
                            (log_inter_message_period, 0)
                        }
                    };
                    Some(TlvRepr::GrantUnicastTransmission {
                        message_type,
                        log_inter_message_period: log,
                        duration: dur,
                        renewal_invited: dur > 0,
                    })
                }
                TlvRepr::CancelUnicastTransmission { message_type } => {
                    // Only the granted slave itself cancels: its address and the port
                    // identity it was granted under (an address alone is easily forged on
                    // a LAN). A mismatch gets no acknowledgement.
                    let owner = self.ports[i]
                        .unicast
                        .find(&rx.source)
                        .map(|(_, s)| s.identity);
                    if owner.is_some_and(|id| id != msg.header.source_port_identity) {
                        self.stats.cancel_not_owner += 1;
                        None
                    } else {
                        if self.ports[i].unicast.cancel(&rx.source, message_type) {
                            self.stats.cancels += 1;
                        }
                        Some(TlvRepr::AcknowledgeCancelUnicastTransmission { message_type })
                    }
                }
                // Grants and acknowledgements are for clients; a grandmaster sends none.
                _ => None,
            };
            if let Some(r) = reply {
                replies[n] = Some(r);
                n += 1;
            }
        }
        if n == 0 {
            self.stats.rx_ignored += 1;
            return;
        }
        let list: [TlvRepr<'static>; MAX_TLVS_PER_SIGNALING] =
            replies.map(|r| r.unwrap_or(TlvRepr::Pad { bytes: &[] }));
        let mut tb = [0u8; MAX_TLVS_PER_SIGNALING * 12];
        let Ok(tlvs) = TlvBlock::build(&mut tb, &list[..n]) else {
            return;
        };
        let seq = self.ports[i].signaling_seq;
        self.ports[i].signaling_seq = seq.wrapping_add(1);
        let ctx = self.ctx(i);
        let repr = MessageRepr {
            header: ctx.header(MessageType::Signaling, seq, 0x7f, true),
            body: MessageBody::Signaling {
                target_port_identity: requester,
            },
            tlvs,
        };
        self.transmit(
            i,
            out,
            Destination::Unicast(rx.source),
            &repr,
            TxStamp::None,
        );
        // A new grant may be due at once.
        self.service_port(i, now, out);
    }

    /// The data plane's report of when a two-step message left. Sends its follow-up.
    pub fn handle_tx_timestamp(
        &mut self,
        now: Time,
        token: TxToken,
        tx_time: Time,
        out: &mut dyn Output,
    ) {
        let _ = self.clamp(now);
        let Some(p) = self.pending.take(token) else {
            self.stats.tx_timestamp_stale += 1;
            return;
        };
        let i = p.port as usize;
        if i >= self.ports.len() {
            return;
        }
        if self.ports[i].faulty {
            // The link went down after the Sync left: its follow-up is not sent (9.2.5).
            self.stats.tx_timestamp_stale += 1;
            return;
        }
        if let FollowUpKind::Sync {
            log_interval,
            unicast,
            scheduled,
        } = p.kind
        {
            let interval_error_ns = self.sync_departed(i, &p, tx_time, log_interval);
            out.observe(Observation::SyncDeparture {
                port: p.port,
                unicast,
                emission_ns: tx_time.signed_since(scheduled),
                interval_error_ns,
            });
        }
        let cfg = &self.port_cfg[i];
        let t = offset_time(tx_time, cfg.egress_latency);
        if let FollowUpKind::V1Sync { master } = p.kind {
            // No correctionField in v1: the asymmetry the v2 Follow_Up carries goes in.
            let precise_t = offset_time(t, cfg.delay_asymmetry);
            let Some(subdomain) = self.ports[i]
                .v1
                .get(usize::from(master))
                .map(|m| m.subdomain)
            else {
                return;
            };
            let (ctx, stats) = self.ctx_and_stats(i);
            let Some(header) = ctx.v1_header(subdomain, p.sequence_id) else {
                return;
            };
            let (precise, _) = v1::time(precise_t.to_timestamp(), ctx.v1_utc_offset());
            let repr = wire::v1::V1MessageRepr {
                header,
                body: wire::v1::V1Body::FollowUp {
                    associated_sequence_id: p.sequence_id,
                    precise_origin_timestamp: precise,
                },
            };
            ctx.send_v1(out, stats, &repr, TxStamp::None, None);
            return;
        }
        let ctx = self.ctx(i);
        let repr = match p.kind {
            FollowUpKind::V1Sync { .. } => return,
            FollowUpKind::Sync {
                log_interval,
                unicast,
                ..
            } => {
                let mut h = ctx.header(MessageType::FollowUp, p.sequence_id, log_interval, unicast);
                h.correction = cfg.delay_asymmetry;
                MessageRepr {
                    header: h,
                    body: MessageBody::FollowUp {
                        precise_origin_timestamp: t.to_timestamp(),
                    },
                    tlvs: TlvBlock::EMPTY,
                }
            }
            FollowUpKind::PdelayResp {
                requesting_port_identity,
                request_correction,
            } => {
                let unicast = matches!(p.destination, Destination::Unicast(_));
                let mut h = ctx.header(
                    MessageType::PdelayRespFollowUp,
                    p.sequence_id,
                    0x7f,
                    unicast,
                );
                h.correction = TimeInterval(request_correction);
                MessageRepr {
                    header: h,
                    body: MessageBody::PdelayRespFollowUp {
                        response_origin_timestamp: t.to_timestamp(),
                        requesting_port_identity,
                    },
                    tlvs: TlvBlock::EMPTY,
                }
            }
        };
        self.transmit(i, out, p.destination, &repr, TxStamp::None);
    }

    /// Notes that the Sync `p` of port `i` left at `tx_time`; the interval error from the
    /// stream's previous Sync if that was the sequenceId before and was stamped.
    fn sync_departed(&mut self, i: usize, p: &Pending, tx_time: Time, log: i8) -> Option<i64> {
        let port = &mut self.ports[i];
        let last = match p.destination {
            Destination::Unicast(a) => &mut port.unicast.find_mut(&a)?.last_sync,
            _ => &mut port.last_sync,
        };
        let prev = last.replace((p.sequence_id, tx_time))?;
        (prev.0.wrapping_add(1) == p.sequence_id).then(|| {
            let nominal = log_interval_nanos(log).min(i64::MAX as u64) as i64;
            tx_time.signed_since(prev.1).saturating_sub(nominal)
        })
    }

    /// The data plane could not get a TX timestamp for this token: the follow-up is skipped.
    pub fn handle_tx_timestamp_lost(&mut self, token: TxToken) {
        if self.pending.take(token).is_some() {
            self.stats.tx_timestamp_lost += 1;
        } else {
            self.stats.tx_timestamp_stale += 1;
        }
    }
}

/// When a port that becomes master at `now` sends its first Announce: half a Sync interval
/// (or half an Announce interval, if Announce is the faster) after its first Sync, so that on
/// their grids no Announce goes out just before a Sync.
///
/// With software time stamps a frame sent right after another takes a warmer path through the
/// kernel: on a veth here a Sync sent ~100 µs after an Announce reached the slave 1.2 µs sooner
/// than the other Syncs of the second (issue 16). Announces and Syncs started together made
/// that one Sync in every Announce interval special, and a slave that samples one Sync per
/// second saw a constant −1.2 µs for the whole run whenever its sample fell on it.
fn announce_phase(now: Time, cfg: &PortConfig) -> Time {
    now.plus_nanos(phase_interval(cfg) / 2)
}

/// When the `k`-th of `n` PTPv1 masters of a port that becomes master at `now` sends its first
/// Sync: spread over the quarter of a v2 Sync interval before the first Announce, so neither
/// a v2 Sync nor another v1 Sync goes out just before it (see [`announce_phase`]).
fn v1_phase(now: Time, cfg: &PortConfig, k: usize, n: usize) -> Time {
    let iv = phase_interval(cfg);
    now.plus_nanos(iv / 4 + (iv / 4) * k as u64 / n.max(1) as u64)
}

/// The interval the first Announce and v1 Syncs are placed in: the shorter of Sync's and
/// Announce's, ns.
fn phase_interval(cfg: &PortConfig) -> u64 {
    log_interval_nanos(cfg.log_sync_interval).min(log_interval_nanos(cfg.log_announce_interval))
}

/// Next tick of a periodic timer: `prev + interval`, or `now + interval` if that is already
/// past (no bursts to catch up).
fn next_tick(prev: Time, now: Time, log: i8) -> Time {
    let iv = log_interval_nanos(log);
    let n = prev.plus_nanos(iv);
    if n <= now {
        now.plus_nanos(iv)
    } else {
        n
    }
}
