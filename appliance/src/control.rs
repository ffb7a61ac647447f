//! The control plane: a Unix socket that answers every connection with a JSON status report
//! (`meridian status`), and the report itself.
//!
//! The socket is served by a thread of its own ([`ControlThread`]), never by the engine
//! loop: for each connection it asks the engine loop for a report through a [`ReportDesk`]
//! (an atomic flag the loop looks at each round, plus a wake-up byte for a loop asleep in
//! `poll()`), then adds the residence summary from the shared histograms, encodes the JSON
//! and writes it — so a burst of clients costs the loop one report each, built between two
//! rounds, and a slow client costs it nothing.

use crossbeam_queue::ArrayQueue;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use meridian_proto::engine::unicast::{GrantType, Slave, SlaveCounters};
use meridian_proto::engine::{Engine, PeerAddress, PortState, Stats, Time};
use meridian_proto::wire::{MessageType, PortIdentity};
use serde::{Deserialize, Serialize};

/// The clock part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockReport {
    /// clockIdentity, linuxptp style.
    pub identity: String,
    /// Profile preset name.
    pub profile: String,
    /// priority1.
    pub priority1: u8,
    /// priority2.
    pub priority2: u8,
    /// domainNumber.
    pub domain: u8,
    /// clockClass announced.
    pub clock_class: u8,
    /// clockAccuracy announced.
    pub clock_accuracy: u8,
    /// offsetScaledLogVariance announced.
    pub offset_scaled_log_variance: u16,
    /// currentUtcOffset.
    pub current_utc_offset: i16,
    /// currentUtcOffsetValid.
    pub current_utc_offset_valid: bool,
    /// ptpTimescale.
    pub ptp_timescale: bool,
    /// timeTraceable.
    pub time_traceable: bool,
    /// frequencyTraceable.
    pub frequency_traceable: bool,
    /// leap61 / leap59 pending.
    pub leap: i8,
    /// timeSource.
    pub time_source: u8,
    /// When the leap-second file expires (Unix seconds), if one is used.
    #[serde(default)]
    pub leap_file_expires: Option<i64>,
    /// `free-running`, `locked` or `holdover` (see [`ClockState`]).
    #[serde(default)]
    pub state: ClockState,
    /// Seconds in holdover (0 otherwise).
    #[serde(default)]
    pub holdover_s: u64,
    /// The time error bound the clock vouches for, ns (`None`: unknown, free-running).
    #[serde(default)]
    pub error_bound_ns: Option<u64>,
    /// What the clock is disciplined to: `system` (followed as the kernel keeps it, or the
    /// servo's reference for a PHC), `none`, `phc:/dev/ptpN`, `gnss:/dev/TTY[,pps:…]`.
    #[serde(default)]
    pub reference: String,
    /// The servo against the reference (`linreg`, `pi`), when one runs.
    #[serde(default)]
    pub servo: Option<String>,
    /// Its state: `unlocked`, `locking`, `locked`, `locked-stable`.
    #[serde(default)]
    pub servo_state: Option<String>,
    /// The last offset from the reference, ns (absent while the reference is missing).
    #[serde(default)]
    pub offset_ns: Option<i64>,
    /// The frequency correction in force, ppb.
    #[serde(default)]
    pub frequency_ppb: Option<f64>,
    /// Comparisons the reference could not make since the start.
    #[serde(default)]
    pub reference_missing: u64,
    /// The announced quality and time properties were pinned by a management SET of
    /// GRANDMASTER_SETTINGS_NP (`[clock] management-set`): the discipline no longer sets them
    /// until a restart.
    #[serde(default)]
    pub pinned_by_management: bool,
}

impl ClockReport {
    /// Takes the state, holdover time and error bound from the clock discipline.
    pub fn set_discipline(&mut self, a: &meridian_proto::servo::holdover::Announced) {
        use meridian_proto::servo::holdover::DisciplineState as D;
        self.state = match a.state {
            D::FreeRunning => ClockState::FreeRunning,
            D::Locked => ClockState::Locked,
            D::Holdover => ClockState::Holdover,
        };
        self.holdover_s = a.holdover_s;
        self.error_bound_ns = a.error_bound_ns;
    }

    /// Takes the reference and the servo's state from the time base.
    pub fn set_reference(&mut self, d: &crate::clock::timebase::DisciplineReport) {
        self.reference.clone_from(&d.reference);
        self.servo = d.servo.map(str::to_string);
        if let Some(st) = &d.status {
            self.servo_state = Some(st.servo.name().to_string());
            self.offset_ns = st.offset_ns;
            self.frequency_ppb = Some(st.frequency_ppb);
            self.reference_missing = st.reference_missing;
        }
    }
}

/// What the clock is doing, as OpenShift's ptp-operator dashboards number it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockState {
    /// No usable reference (0).
    #[default]
    FreeRunning,
    /// Following a synchronised, traceable reference (1).
    Locked,
    /// The reference is lost; keeping its last frequency (2).
    Holdover,
}

impl ClockState {
    /// The number exported as `meridian_clock_state`.
    pub fn number(self) -> f64 {
        match self {
            ClockState::FreeRunning => 0.0,
            ClockState::Locked => 1.0,
            ClockState::Holdover => 2.0,
        }
    }

    /// The name, as in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            ClockState::FreeRunning => "free-running",
            ClockState::Locked => "locked",
            ClockState::Holdover => "holdover",
        }
    }
}

/// One port in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortReport {
    /// portNumber.
    pub number: u16,
    /// Interface.
    pub interface: String,
    /// Transport.
    pub transport: String,
    /// Port state (linuxptp names).
    pub state: String,
    /// "hardware (PHC n)" or "software".
    pub timestamping: String,
    /// Unicast slaves served.
    pub unicast_slaves: usize,
    /// Granted unicast message rate, messages/s.
    pub unicast_rate: f64,
    /// Foreign masters heard.
    pub foreign_masters: usize,
    /// The best foreign master's grandmaster identity, if one is qualified.
    pub best_master: Option<String>,
    /// PTPv1: a better v1 master is heard and the port's v1 master is silent (in any of
    /// its subdomains).
    #[serde(default)]
    pub ptpv1_passive: bool,
    /// PTPv1: the port's v1 masters, one per subdomain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ptpv1: Vec<V1MasterReport>,
    /// The data plane's counters for the port (by name; DPDK: port and pipeline stages).
    #[serde(default)]
    pub counters: std::collections::BTreeMap<String, u64>,
    /// The user-space data plane's load (DPDK: mbuf pool, rings, burst sizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataplane: Option<crate::dataplane::DataplaneLoad>,
    /// Unicast slaves holding a grant, by message type (`announce`, `sync`, `delay_resp`,
    /// `pdelay_resp`).
    #[serde(default)]
    pub unicast_granted: BTreeMap<String, usize>,
    /// The slaves listed (`[metrics] per-slave`), up to `per-slave-limit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slaves: Vec<SlaveReport>,
    /// Slaves served but not listed (over the limit).
    #[serde(default)]
    pub slaves_unlisted: usize,
    /// The listed slaves as the engine loop copied them; [`StatusReport::expand_slaves`]
    /// turns them into [`Self::slaves`] off the engine loop.
    #[serde(skip)]
    pub slave_samples: Vec<SlaveSample>,
}

/// One PTPv1 master of a port (a subdomain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct V1MasterReport {
    /// The subdomain's name.
    pub subdomain: String,
    /// Its IPv4 group.
    pub group: String,
    /// Silent for a better v1 master.
    pub passive: bool,
}

/// The grant types by name, in [`GrantType`] index order.
pub const GRANT_TYPES: [(GrantType, &str); 4] = [
    (GrantType::Announce, "announce"),
    (GrantType::Sync, "sync"),
    (GrantType::DelayResp, "delay_resp"),
    (GrantType::PdelayResp, "pdelay_resp"),
];

/// One unicast slave as the engine loop copies it: plain values, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaveSample {
    /// Its address.
    pub address: PeerAddress,
    /// Its portIdentity.
    pub identity: PortIdentity,
    /// Per grant type (index order of [`GRANT_TYPES`]): logInterMessagePeriod and the ns left.
    pub grants: [Option<(i8, u64)>; 4],
    /// Messages sent to it and grants given.
    pub counters: SlaveCounters,
}

impl SlaveSample {
    /// `slave` of a unicast service at `now`.
    pub fn of(slave: &Slave, now: Time) -> Self {
        SlaveSample {
            address: slave.address,
            identity: slave.identity,
            grants: GRANT_TYPES.map(|(t, _)| {
                slave
                    .granted(t)
                    .zip(slave.grant_expires(t))
                    .map(|(log, exp)| (log, exp.saturating_since(now)))
            }),
            counters: slave.counters,
        }
    }
}

/// One unicast slave in the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaveReport {
    /// portIdentity, linuxptp style (`001122.fffe.334455-1`).
    pub identity: String,
    /// Its address (IPv4, IPv6 or MAC).
    pub address: String,
    /// Its grants by message type.
    pub grants: BTreeMap<String, GrantReport>,
    /// Grants given (first grants and renewals).
    pub grants_given: u64,
    /// Announce messages sent to it.
    pub announces: u64,
    /// Sync messages sent to it.
    pub syncs: u64,
    /// Delay_Resp messages sent to it.
    pub delay_resps: u64,
}

/// One grant in the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GrantReport {
    /// logInterMessagePeriod granted.
    pub log_interval: i8,
    /// Seconds until it expires unless renewed.
    pub remaining_s: f64,
}

impl From<&SlaveSample> for SlaveReport {
    fn from(s: &SlaveSample) -> Self {
        SlaveReport {
            identity: s.identity.to_string(),
            address: address_text(&s.address),
            grants: GRANT_TYPES
                .iter()
                .zip(&s.grants)
                .filter_map(|((_, name), g)| {
                    g.map(|(log, left)| {
                        (
                            (*name).to_string(),
                            GrantReport {
                                log_interval: log,
                                remaining_s: left as f64 / 1e9,
                            },
                        )
                    })
                })
                .collect(),
            grants_given: s.counters.grants,
            announces: s.counters.announces,
            syncs: s.counters.syncs,
            delay_resps: s.counters.delay_resps,
        }
    }
}

/// An address as people write it.
pub fn address_text(a: &PeerAddress) -> String {
    match *a {
        PeerAddress::Ipv4(b) => std::net::Ipv4Addr::from(b).to_string(),
        PeerAddress::Ipv6(b) => std::net::Ipv6Addr::from(b).to_string(),
        PeerAddress::Mac(m) => m
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// One polling loop of the data plane (a DPDK lcore) in the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopReport {
    /// The thread: `engine` (the engine loop, with any stages on its core) or `io<N>`
    /// (pipeline stages on core N).
    pub thread: String,
    /// The CPU it is pinned to.
    pub lcore: usize,
    /// Rounds that found work.
    pub busy_polls: u64,
    /// Rounds that found none.
    pub idle_polls: u64,
}

/// Counters in the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Messages received.
    pub rx_messages: u64,
    /// Messages sent.
    pub tx_messages: u64,
    /// Malformed frames.
    pub rx_malformed: u64,
    /// The last parse error.
    pub last_malformed: Option<String>,
    /// Wrong domain.
    pub rx_wrong_domain: u64,
    /// Dropped by the request budget.
    pub rx_rate_limited: u64,
    /// Grants given.
    pub grants: u64,
    /// Denials.
    pub denials: u64,
    /// TX timestamps that never came.
    pub tx_timestamp_timeouts: u64,
    /// Syncs skipped: TX-timestamp table full.
    pub tx_timestamp_table_full: u64,
    /// Port state changes.
    pub state_changes: u64,
    /// Management answers.
    pub management_responses: u64,
    /// Management errors.
    pub management_errors: u64,
    /// Send failures in the data plane.
    pub tx_errors: u64,
    /// Messages received, by type (snake_case names).
    #[serde(default)]
    pub rx_by_type: BTreeMap<String, u64>,
    /// Messages sent, by type.
    #[serde(default)]
    pub tx_by_type: BTreeMap<String, u64>,
    /// Received messages the engine dropped, by reason.
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
    /// Unicast grants cancelled by their slave.
    #[serde(default)]
    pub cancels: u64,
    /// Unicast grants that expired.
    #[serde(default)]
    pub grants_expired: u64,
    /// Foreign Announces whose logMessageInterval was outside the profile's range (clamped).
    #[serde(default)]
    pub announce_interval_clamped: u64,
    /// Clock steps the engine followed (its schedules moved with the clock).
    #[serde(default)]
    pub clock_steps: u64,
    /// PTPv1 messages received on ports with a v1 master.
    #[serde(default)]
    pub rx_v1: u64,
    /// PTPv1 messages sent.
    #[serde(default)]
    pub tx_v1: u64,
}

/// The message types by name, for the per-type counters.
const MESSAGE_TYPES: [(MessageType, &str); 10] = [
    (MessageType::Sync, "sync"),
    (MessageType::DelayReq, "delay_req"),
    (MessageType::PdelayReq, "pdelay_req"),
    (MessageType::PdelayResp, "pdelay_resp"),
    (MessageType::FollowUp, "follow_up"),
    (MessageType::DelayResp, "delay_resp"),
    (MessageType::PdelayRespFollowUp, "pdelay_resp_follow_up"),
    (MessageType::Announce, "announce"),
    (MessageType::Signaling, "signaling"),
    (MessageType::Management, "management"),
];

impl StatsReport {
    /// From the engine's counters and the data plane's send errors.
    pub fn new(s: &Stats, tx_errors: u64) -> Self {
        StatsReport {
            rx_messages: s.rx.iter().sum(),
            tx_messages: s.tx.iter().sum(),
            rx_malformed: s.rx_malformed,
            last_malformed: s.last_malformed.map(|e| e.to_string()),
            rx_wrong_domain: s.rx_wrong_domain,
            rx_rate_limited: s.rx_rate_limited,
            grants: s.grants,
            denials: s.denials.iter().sum(),
            tx_timestamp_timeouts: s.tx_timestamp_timeouts,
            tx_timestamp_table_full: s.tx_timestamp_table_full,
            state_changes: s.state_changes,
            management_responses: s.management_responses,
            management_errors: s.management_errors,
            tx_errors,
            rx_by_type: by_type(&s.rx),
            tx_by_type: by_type(&s.tx),
            drops: [
                ("malformed", s.rx_malformed),
                ("wrong_domain", s.rx_wrong_domain),
                ("wrong_sdo", s.rx_wrong_sdo),
                ("own", s.rx_own),
                ("bad_port", s.rx_bad_port),
                ("ignored", s.rx_ignored),
                ("missing_timestamp", s.rx_missing_timestamp),
                ("rate_limited", s.rx_rate_limited),
                ("source_rate_limited", s.rx_source_rate_limited),
                ("wrong_state", s.rx_wrong_state),
                ("delay_req_without_grant", s.delay_req_without_grant),
                ("pdelay_req_without_grant", s.pdelay_req_without_grant),
                ("management_reply_too_large", s.management_reply_too_large),
                ("cancel_not_owner", s.cancel_not_owner),
                ("unicast_not_allowed", s.unicast_not_allowed),
                ("auth_missing", s.rx_auth_missing),
                ("auth_failed", s.rx_auth_failed),
                ("auth_sign_failed", s.tx_auth_failed),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            cancels: s.cancels,
            grants_expired: s.grants_expired,
            announce_interval_clamped: s.announce_interval_clamped,
            clock_steps: s.clock_steps,
            rx_v1: s.rx_v1,
            tx_v1: s.tx_v1,
        }
    }
}

fn by_type(counts: &[u64; 16]) -> BTreeMap<String, u64> {
    MESSAGE_TYPES
        .iter()
        .map(|(t, name)| (name.to_string(), counts[t.nibble() as usize]))
        .collect()
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Meridian's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// The clock.
    pub clock: ClockReport,
    /// Ports.
    pub ports: Vec<PortReport>,
    /// Counters.
    pub stats: StatsReport,
    /// Residence time on the DPDK data plane (Delay_Req RX stamp → Delay_Resp TX stamp).
    #[serde(default)]
    pub residence: Option<crate::metrics::LatencyReport>,
    /// The data plane's polling loops (DPDK; empty for sockets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<LoopReport>,
}

/// Builds the report's clock part from the engine.
pub fn clock_report(engine: &Engine, profile: &str) -> ClockReport {
    let c = engine.clock_config();
    let s = engine.clock_status();
    let tp = &s.time_properties;
    ClockReport {
        identity: c.clock_identity.to_string(),
        profile: profile.to_string(),
        priority1: c.priority1,
        priority2: c.priority2,
        domain: c.domain_number,
        clock_class: s.clock_quality.clock_class,
        clock_accuracy: s.clock_quality.clock_accuracy.0,
        offset_scaled_log_variance: s.clock_quality.offset_scaled_log_variance,
        current_utc_offset: tp.current_utc_offset,
        current_utc_offset_valid: tp.current_utc_offset_valid,
        ptp_timescale: tp.ptp_timescale,
        time_traceable: tp.time_traceable,
        frequency_traceable: tp.frequency_traceable,
        leap: if tp.leap61 {
            1
        } else if tp.leap59 {
            -1
        } else {
            0
        },
        time_source: tp.time_source.0,
        leap_file_expires: None,
        // Replaced by the discipline's own (`ClockReport::set_discipline`) where the
        // report is built; from the engine alone, traceable time is the best guess.
        state: if tp.time_traceable {
            ClockState::Locked
        } else {
            ClockState::FreeRunning
        },
        holdover_s: 0,
        error_bound_ns: None,
        reference: String::new(),
        servo: None,
        servo_state: None,
        offset_ns: None,
        frequency_ppb: None,
        reference_missing: 0,
        pinned_by_management: engine.clock_status_pinned(),
    }
}

impl StatusReport {
    /// Turns the slaves the engine loop copied into their report form (strings), off the
    /// engine loop.
    pub fn expand_slaves(&mut self) {
        for p in &mut self.ports {
            p.slaves = p.slave_samples.iter().map(SlaveReport::from).collect();
            p.slave_samples = Vec::new();
        }
    }

    /// Whether at least one port is serving time (MASTER).
    pub fn serving(&self) -> bool {
        self.ports
            .iter()
            .any(|p| p.state == PortState::Master.name())
    }

    /// The report as text for a person at the console.
    pub fn to_text(&self) -> String {
        let c = &self.clock;
        let mut s =
            format!(
            "Meridian {} — up {} s\nclock {} ({})  profile {}  domain {}  priority1 {}  priority2 {}\n\
             quality: class {}  accuracy 0x{:02x}  variance 0x{:04x}  timeSource 0x{:02x}\n\
             time: PTP timescale {}  UTC offset {} ({})  traceable time {} / frequency {}{}\n",
            self.version,
            self.uptime_s,
            c.identity,
            match (c.state, c.error_bound_ns) {
                (ClockState::Holdover, Some(b)) => {
                    format!("holdover for {} s, error within {b} ns", c.holdover_s)
                }
                (s, Some(b)) => format!("{}, error within {b} ns", s.name()),
                (s, None) => s.name().to_string(),
            },
            c.profile,
            c.domain,
            c.priority1,
            c.priority2,
            c.clock_class,
            c.clock_accuracy,
            c.offset_scaled_log_variance,
            c.time_source,
            c.ptp_timescale,
            c.current_utc_offset,
            if c.current_utc_offset_valid { "valid" } else { "NOT valid" },
            c.time_traceable,
            c.frequency_traceable,
            match c.leap {
                1 => "  LEAP SECOND (+1) at end of day",
                -1 => "  LEAP SECOND (-1) at end of day",
                _ => "",
            }
        );
        s += &format!(
            "reference: {}{}\n",
            if c.reference.is_empty() {
                "-"
            } else {
                &c.reference
            },
            match (&c.servo, &c.servo_state) {
                (Some(servo), Some(state)) => format!(
                    "  servo {servo} {state}  offset {}  frequency {:+.3} ppb  missing {}",
                    c.offset_ns
                        .map_or_else(|| "-".to_string(), |o| format!("{o} ns")),
                    c.frequency_ppb.unwrap_or(0.0),
                    c.reference_missing
                ),
                _ => String::new(),
            }
        );
        if c.pinned_by_management {
            s += "quality PINNED by management (SET GRANDMASTER_SETTINGS_NP): the reference no \
                  longer sets it until a restart\n";
        }
        for p in &self.ports {
            s += &format!(
                "port {} ({}, {}, {} stamps): {}  unicast slaves {} ({:.1} msg/s)  foreign masters {}{}\n",
                p.number,
                p.interface,
                p.transport,
                p.timestamping,
                p.state,
                p.unicast_slaves,
                p.unicast_rate,
                p.foreign_masters,
                p.best_master
                    .as_ref()
                    .map(|b| format!("  best master {b}"))
                    .unwrap_or_default()
            );
            if !p.ptpv1.is_empty() {
                let v1: Vec<String> = p
                    .ptpv1
                    .iter()
                    .map(|v| {
                        let state = if v.passive {
                            "silent: a better v1 master"
                        } else {
                            "serving"
                        };
                        format!("{} ({}) {state}", v.subdomain, v.group)
                    })
                    .collect();
                s += &format!("  PTPv1: {}\n", v1.join(", "));
            }
        }
        for p in &self.ports {
            let Some(d) = &p.dataplane else {
                continue;
            };
            let avg = |b: &crate::dataplane::BurstCounts| {
                let n: u64 = b.counts.iter().sum();
                if n == 0 {
                    0.0
                } else {
                    b.frames as f64 / n as f64
                }
            };
            s += &format!(
                "port {} data plane: mbufs {}/{} in use  frames per burst rx {:.1} tx {:.1}",
                p.number,
                d.mbufs_in_use,
                d.mbufs,
                avg(&d.rx_bursts),
                avg(&d.tx_bursts)
            );
            for r in &d.rings {
                s += &format!("  ring {} {}/{}", r.name, r.entries, r.capacity);
            }
            s += "\n";
        }
        for p in self.ports.iter().filter(|p| !p.slaves.is_empty()) {
            s += &format!(
                "port {} slaves ({} listed, {} not):\n",
                p.number,
                p.slaves.len(),
                p.slaves_unlisted
            );
            for sl in &p.slaves {
                let grants: Vec<String> = sl
                    .grants
                    .iter()
                    .map(|(t, g)| {
                        format!("{t} 2^{} s ({:.0} s left)", g.log_interval, g.remaining_s)
                    })
                    .collect();
                s += &format!(
                    "  {} {}: {}; sent announce {} sync {} delay_resp {}\n",
                    sl.identity,
                    sl.address,
                    grants.join(", "),
                    sl.announces,
                    sl.syncs,
                    sl.delay_resps
                );
            }
        }
        for l in &self.loops {
            let total = (l.busy_polls + l.idle_polls).max(1);
            s += &format!(
                "lcore {} ({}): {:.2} % of {} polls busy\n",
                l.lcore,
                l.thread,
                100.0 * l.busy_polls as f64 / total as f64,
                l.busy_polls + l.idle_polls
            );
        }
        let t = &self.stats;
        s += &format!(
            "messages: rx {} tx {}  malformed {}  rate-limited {}  grants {} denials {}  \
             TX-stamp timeouts {}  send errors {}\n",
            t.rx_messages,
            t.tx_messages,
            t.rx_malformed,
            t.rx_rate_limited,
            t.grants,
            t.denials,
            t.tx_timestamp_timeouts,
            t.tx_errors
        );
        if let Some(r) = &self.residence {
            s += &format!(
                "residence (Delay_Req RX → Delay_Resp TX): {} samples  p50 {} ns  p99 {} ns  \
                 p99.9 {} ns  max {} ns\n",
                r.count, r.p50_ns, r.p99_ns, r.p999_ns, r.max_ns
            );
        }
        s
    }
}

/// The listening side, served by the [`ControlThread`] (non-blocking).
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

/// A control-socket error.
#[derive(Debug, thiserror::Error)]
#[error("control socket {path}: {error}")]
pub struct ControlError {
    /// The socket path.
    pub path: String,
    /// What failed.
    pub error: std::io::Error,
}

impl ControlServer {
    /// Binds the socket (replacing a stale one), creating its directory.
    pub fn bind(path: &Path, mode: u32) -> Result<Self, ControlError> {
        let err = |error| ControlError {
            path: path.display().to_string(),
            error,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        if path.exists() {
            // Refuse to steal the socket of a running daemon.
            if UnixStream::connect(path).is_ok() {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another meridian is running",
                )));
            }
            std::fs::remove_file(path).map_err(err)?;
        }
        let listener = UnixListener::bind(path).map_err(err)?;
        // Explicit permissions, not the umask's: who may connect is who may read the status.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)?;
        }
        listener.set_nonblocking(true).map_err(err)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The listening socket's fd, for poll.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.listener.as_raw_fd()
    }

    /// Answers every waiting connection with `report()` (`None`: the connection is closed
    /// unanswered, the client sees an error).
    /// The engine loop is asked at most once per [`REPORT_REUSE`]: clients within it get the
    /// same report, so a flood of connections costs the loop at most ten reports a second.
    pub fn serve(
        &self,
        cache: &mut Option<(std::time::Instant, Vec<u8>)>,
        mut report: impl FnMut() -> Option<StatusReport>,
    ) {
        while let Ok((mut stream, _)) = self.listener.accept() {
            let fresh = cache
                .as_ref()
                .is_some_and(|(at, _)| at.elapsed() < REPORT_REUSE);
            if !fresh {
                let Some(r) = report() else {
                    continue;
                };
                *cache = Some((
                    std::time::Instant::now(),
                    serde_json::to_vec(&r).unwrap_or_default(),
                ));
            }
            let Some((_, body)) = cache.as_ref() else {
                continue;
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
            let _ = stream.write_all(body);
        }
    }
}

/// A report is served again to clients within this of its making.
const REPORT_REUSE: Duration = Duration::from_millis(100);
/// How long a client may take to read its report.
const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
/// How long the control thread waits for the engine loop's report.
const REPORT_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the control thread looks for the engine loop's answer.
const REPLY_POLL: Duration = Duration::from_micros(50);
/// How often the control thread looks at its stop flag while no client comes.
const STOP_CHECK_NS: u64 = 200_000_000;

/// The engine loop's side of the control thread: tells it when a report is wanted and takes
/// the report.
#[derive(Debug)]
pub struct ReportDesk {
    wanted: Arc<AtomicBool>,
    wake: UnixStream,
    /// Lock-free, and nobody is woken: waking a thread costs the waker ~170 µs on these VMs
    /// (an IPI to the other vCPU), which the engine loop would pay before the next Sync. The
    /// control thread looks every [`REPLY_POLL`] instead.
    reply: Arc<ArrayQueue<StatusReport>>,
}

impl ReportDesk {
    /// The descriptor that becomes readable when a report is wanted (for a loop that sleeps
    /// in `poll()`).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.wake.as_raw_fd()
    }

    /// Whether a report is wanted: one atomic load per call; when one is, the flag is
    /// cleared and the wake-up bytes are read.
    #[inline]
    pub fn wanted(&mut self) -> bool {
        if !self.wanted.load(Ordering::Acquire) {
            return false;
        }
        self.wanted.store(false, Ordering::Release);
        let mut buf = [0u8; 64];
        while matches!(self.wake.read(&mut buf), Ok(n) if n > 0) {}
        true
    }

    /// Hands over the report asked for (replacing an unread one; no syscall, no wake-up).
    pub fn answer(&self, report: StatusReport) {
        let _ = self.reply.force_push(report);
    }
}

/// The thread serving the control socket; stops when dropped.
#[derive(Debug)]
pub struct ControlThread {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ControlThread {
    /// Serves `server` on a new thread kept off `avoid_cpus` (the data plane's cores),
    /// adding to each report the residence summary of `residence`. Returns the thread and
    /// the engine loop's [`ReportDesk`].
    pub fn start(
        server: ControlServer,
        residence: Vec<crate::metrics::ResidenceSeries>,
        avoid_cpus: &[usize],
    ) -> Result<(ControlThread, ReportDesk), ControlError> {
        let path = server.path.display().to_string();
        let err = |error| ControlError {
            path: path.clone(),
            error,
        };
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(err)?;
        wake_tx.set_nonblocking(true).map_err(err)?;
        wake_rx.set_nonblocking(true).map_err(err)?;
        let wanted = Arc::new(AtomicBool::new(false));
        let reply = Arc::new(ArrayQueue::new(1));
        let desk = ReportDesk {
            wanted: Arc::clone(&wanted),
            wake: wake_rx,
            reply: Arc::clone(&reply),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let avoid = avoid_cpus.to_vec();
        let thread = std::thread::Builder::new()
            .name("meridian-control".into())
            .spawn(move || {
                crate::sys::keep_off_cpus(&avoid, "control socket");
                let mut ask = || {
                    // A late answer to an earlier, abandoned request is stale.
                    while reply.pop().is_some() {}
                    wanted.store(true, Ordering::Release);
                    let _ = (&wake_tx).write(&[1]);
                    let asked = std::time::Instant::now();
                    let mut r = loop {
                        if let Some(r) = reply.pop() {
                            break r;
                        }
                        if asked.elapsed() > REPORT_TIMEOUT {
                            return None;
                        }
                        std::thread::sleep(REPLY_POLL);
                    };
                    r.residence = crate::metrics::merged_report(&residence);
                    r.expand_slaves();
                    Some(r)
                };
                let mut poll = crate::dataplane::PollSet::new(&[server.raw_fd()]);
                let mut cache = None;
                while !flag.load(Ordering::Relaxed) {
                    match poll.wait(Some(STOP_CHECK_NS)) {
                        Ok(_) if poll.is_ready(0) => server.serve(&mut cache, &mut ask),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "control socket: poll");
                            std::thread::sleep(Duration::from_nanos(STOP_CHECK_NS));
                        }
                    }
                }
            })
            .map_err(err)?;
        Ok((
            ControlThread {
                stop,
                thread: Some(thread),
            },
            desk,
        ))
    }
}

impl Drop for ControlThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Client side: fetches the report from a running daemon.
pub fn fetch(path: &Path) -> Result<StatusReport, ControlError> {
    let err = |error| ControlError {
        path: path.display().to_string(),
        error,
    };
    let mut s = UnixStream::connect(path).map_err(err)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .map_err(err)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(err)?;
    serde_json::from_slice(&buf)
        .map_err(|e| err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(states: &[&str]) -> StatusReport {
        StatusReport {
            version: "0".into(),
            uptime_s: 1,
            clock: ClockReport::default(),
            ports: states
                .iter()
                .enumerate()
                .map(|(i, s)| PortReport {
                    number: i as u16 + 1,
                    state: s.to_string(),
                    ..PortReport::default()
                })
                .collect(),
            stats: StatsReport::default(),
            residence: None,
            loops: Vec::new(),
        }
    }

    #[test]
    fn serving_means_a_port_is_master() {
        assert!(report(&["MASTER"]).serving());
        assert!(report(&["PASSIVE", "MASTER"]).serving());
        assert!(!report(&["PASSIVE"]).serving());
        assert!(!report(&["LISTENING", "FAULTY"]).serving());
        assert!(!report(&[]).serving());
    }

    /// A slave as the engine loop copies it becomes its report form off the loop: identity
    /// and address as text, grants with time left, counters.
    #[test]
    fn listed_slaves_are_expanded_with_their_grants() {
        use meridian_proto::engine::config::UnicastLimits;
        use meridian_proto::engine::unicast::UnicastService;
        use meridian_proto::wire::ClockIdentity;
        let limits = UnicastLimits::default();
        let mut u = UnicastService::new(4);
        let address = PeerAddress::Ipv6([0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        let identity = PortIdentity {
            clock_identity: ClockIdentity([0, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55]),
            port_number: 1,
        };
        let t0 = Time(1_000_000_000);
        u.request(
            t0,
            address,
            identity,
            MessageType::Sync,
            -3,
            60,
            &limits,
            true,
        )
        .unwrap();
        let mut r = report(&["MASTER"]);
        let later = t0.plus_nanos(15_500_000_000);
        r.ports[0].slave_samples = u.iter().map(|(_, s)| SlaveSample::of(s, later)).collect();
        r.expand_slaves();
        let p = &r.ports[0];
        assert!(p.slave_samples.is_empty());
        let s = &p.slaves[0];
        assert_eq!(s.identity, "001122.fffe.334455-1");
        assert_eq!(s.address, "fd77::2");
        assert_eq!(s.grants.len(), 1, "{s:?}");
        assert_eq!(
            s.grants["sync"],
            GrantReport {
                log_interval: -3,
                remaining_s: 44.5
            }
        );
        assert_eq!(s.grants_given, 1);
        assert_eq!(
            address_text(&PeerAddress::Mac([2, 0xab, 0, 0, 0, 9])),
            "02:ab:00:00:00:09"
        );
        let t = r.to_text();
        assert!(
            t.contains("001122.fffe.334455-1 fd77::2: sync 2^-3 s (44 s left)"),
            "{t}"
        );
    }

    #[test]
    fn text_shows_the_data_plane_load() {
        let mut r = report(&["MASTER"]);
        r.ports[0].dataplane = Some(crate::dataplane::DataplaneLoad {
            mbufs_in_use: 120,
            mbufs: 2_048,
            rings: vec![crate::dataplane::RingLoad {
                name: "tx".into(),
                entries: 3,
                capacity: 512,
            }],
            rx_bursts: crate::dataplane::BurstCounts {
                counts: vec![2, 2, 0, 0, 0, 0, 0],
                frames: 6,
            },
            tx_bursts: crate::dataplane::BurstCounts::default(),
        });
        r.loops.push(LoopReport {
            thread: "engine".into(),
            lcore: 0,
            busy_polls: 25,
            idle_polls: 75,
        });
        let t = r.to_text();
        assert!(
            t.contains(
                "data plane: mbufs 120/2048 in use  frames per burst rx 1.5 tx 0.0  ring tx 3/512"
            ),
            "{t}"
        );
        assert!(
            t.contains("lcore 0 (engine): 25.00 % of 100 polls busy"),
            "{t}"
        );
    }

    /// The socket gets the configured mode whatever the umask.
    #[test]
    fn the_socket_has_the_configured_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o660] {
            let path = dir.path().join(format!("{mode:o}.sock"));
            let _s = ControlServer::bind(&path, mode).unwrap();
            let m = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{m:o}");
        }
    }

    /// A client's request reaches the engine loop as a flag and a readable descriptor; its
    /// answer comes back with the residence summary added; an engine loop that does not
    /// answer costs the client an error after the timeout, and nothing else.
    #[test]
    fn the_control_thread_asks_the_engine_loop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let series = vec![crate::metrics::ResidenceSeries::default()];
        let mut rec = series[0].recorders();
        rec.record(crate::metrics::ReplyKind::DelayResp, 1_500);
        rec.publish();
        let (thread, mut desk) =
            ControlThread::start(ControlServer::bind(&path, 0o660).unwrap(), series, &[]).unwrap();
        let readable = |desk: &ReportDesk| {
            crate::dataplane::poll_readable(&[desk.raw_fd()], Some(0)).unwrap()[0]
        };
        assert!(!desk.wanted());
        assert!(!readable(&desk));
        let p = path.clone();
        let client = std::thread::spawn(move || fetch(&p));
        let t0 = std::time::Instant::now();
        while !readable(&desk) {
            assert!(t0.elapsed() < Duration::from_secs(5), "never asked");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(desk.wanted());
        assert!(!desk.wanted(), "asked once");
        assert!(!readable(&desk), "the wake-up byte was read");
        desk.answer(report(&["MASTER"]));
        let r = client.join().unwrap().unwrap();
        assert_eq!(r.ports[0].state, "MASTER");
        assert_eq!(r.residence.map(|r| r.count), Some(1));
        // Another client within 100 ms gets the same report; the engine loop is not asked.
        let p = path.clone();
        let again = std::thread::spawn(move || fetch(&p))
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(again.ports[0].state, "MASTER");
        assert!(!desk.wanted(), "served from the last report");
        std::thread::sleep(REPORT_REUSE + Duration::from_millis(20));
        // Nobody answers now.
        let p = path.clone();
        let t0 = std::time::Instant::now();
        assert!(std::thread::spawn(move || fetch(&p))
            .join()
            .unwrap()
            .is_err());
        assert!(t0.elapsed() < Duration::from_secs(3));
        // A late answer to the abandoned request is not served to the next client.
        assert!(desk.wanted());
        desk.answer(report(&["PASSIVE"]));
        let p = path.clone();
        let client = std::thread::spawn(move || fetch(&p));
        while !desk.wanted() {
            std::thread::sleep(Duration::from_millis(1));
        }
        desk.answer(report(&["LISTENING"]));
        assert_eq!(client.join().unwrap().unwrap().ports[0].state, "LISTENING");
        drop(thread);
        assert!(!path.exists(), "the socket file is removed with the thread");
    }
}
