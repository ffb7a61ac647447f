//! Engine configuration: the clock, its ports, unicast limits, and profile presets.
//!
//! These are plain values. The appliance's TOML configuration maps onto them; the engine
//! checks them once in [`EngineConfig::check`] and never again.

use super::bmca::{BetterMasterPolicy, BmcaVariant};
use crate::wire::{ClockIdentity, TimeInterval};

/// Delay mechanism of a port (8.2.15.4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DelayMechanism {
    /// End to end: Delay_Req / Delay_Resp (value 1).
    E2E,
    /// Peer to peer: Pdelay_Req / Pdelay_Resp (value 2).
    P2P,
    /// No delay mechanism (value 0xFE).
    Disabled,
}

impl DelayMechanism {
    /// The wire enumeration (Table 21).
    pub const fn wire(self) -> u8 {
        match self {
            DelayMechanism::E2E => 1,
            DelayMechanism::P2P => 2,
            DelayMechanism::Disabled => 0xfe,
        }
    }
}

/// The network protocol of a port, for CLOCK_DESCRIPTION and for nothing else: framing is
/// the data plane's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkProtocol {
    /// UDP/IPv4 (1).
    UdpIpv4,
    /// UDP/IPv6 (2).
    UdpIpv6,
    /// IEEE 802.3 (3).
    Ieee8023,
}

impl NetworkProtocol {
    /// The wire enumeration (Table 3).
    pub const fn wire(self) -> u16 {
        match self {
            NetworkProtocol::UdpIpv4 => 1,
            NetworkProtocol::UdpIpv6 => 2,
            NetworkProtocol::Ieee8023 => 3,
        }
    }
}

/// Limits on unicast service (16.1), per port. Hitting one is a DENY and a counted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnicastLimits {
    /// Most slaves (distinct addresses) served on the port at once.
    pub max_slaves: u32,
    /// Longest grant, seconds; longer requests are granted this long.
    pub max_duration: u32,
    /// Shortest grant accepted, seconds; shorter requests are denied.
    pub min_duration: u32,
    /// Fastest Announce rate granted (log2 seconds).
    pub min_log_announce_interval: i8,
    /// Fastest Sync rate granted (log2 seconds).
    pub min_log_sync_interval: i8,
    /// Fastest Delay_Resp rate granted (log2 seconds).
    pub min_log_delay_resp_interval: i8,
    /// Most messages per second summed over every grant on the port (Announce, Sync with its
    /// Follow_Up counted once, Delay_Resp).
    pub max_total_rate: u32,
}

impl Default for UnicastLimits {
    fn default() -> Self {
        UnicastLimits {
            max_slaves: 4096,
            max_duration: 300,
            min_duration: 10,
            min_log_announce_interval: -3,
            min_log_sync_interval: -7,
            min_log_delay_resp_interval: -7,
            max_total_rate: 2_000_000,
        }
    }
}

/// One port's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// The port's MAC: its physical address in CLOCK_DESCRIPTION.
    pub mac: [u8; 6],
    /// Network protocol, for CLOCK_DESCRIPTION.
    pub network_protocol: NetworkProtocol,
    /// The port's protocol address (IPv4, IPv6 or MAC octets), for CLOCK_DESCRIPTION.
    pub protocol_address: Vec<u8>,
    /// E2E, P2P or none.
    pub delay_mechanism: DelayMechanism,
    /// logAnnounceInterval.
    pub log_announce_interval: i8,
    /// logSyncInterval.
    pub log_sync_interval: i8,
    /// logMinDelayReqInterval (told to slaves in Delay_Resp).
    pub log_min_delay_req_interval: i8,
    /// logMinPdelayReqInterval.
    pub log_min_pdelay_req_interval: i8,
    /// announceReceiptTimeout, in announce intervals.
    pub announce_receipt_timeout: u8,
    /// Serve multicast (Announce, Sync, Delay_Resp on the multicast groups).
    pub multicast: bool,
    /// Serve unicast negotiation (16.1).
    pub unicast: bool,
    /// Unicast limits.
    pub unicast_limits: UnicastLimits,
    /// One-step Sync (the data plane writes the launch time); two-step otherwise.
    pub one_step: bool,
    /// Known delay asymmetry of the link (16.8): master-to-slave delay minus the mean path
    /// delay. Added to Sync/Follow_Up correctionField and subtracted from Delay_Resp's, so
    /// unmodified slaves compute the right offset.
    pub delay_asymmetry: TimeInterval,
    /// Egress latency (16.7): added to transmit timestamps.
    pub egress_latency: TimeInterval,
    /// Ingress latency (16.7): subtracted from receive timestamps.
    pub ingress_latency: TimeInterval,
    /// G.8275.x localPriority of the port.
    pub local_priority: u8,
    /// Never leave MASTER for a better master (masterOnly / serverOnly).
    pub master_only: bool,
    /// The logAnnounceInterval range the profile allows (default profiles 0..=4, 1588-2019
    /// J.3/J.4): a foreign master's claimed interval is clamped into it (widened to include
    /// this port's own), so a spoofed Announce cannot hold the port PASSIVE for its claimed
    /// 2^127 s.
    pub announce_log_range: (i8, i8),
    /// Who may negotiate unicast (16.1) on this port: source prefixes (empty: any source).
    pub unicast_allowed_sources: Vec<SourcePrefix>,
    /// … and which clock identities (empty: any).
    pub unicast_allowed_identities: Vec<crate::wire::ClockIdentity>,
    /// Answer unicast Delay_Req from slaves without a Delay_Resp grant (linuxptp's
    /// `hybrid_e2e`: multicast Sync, unicast Delay_Req). Off by default: such a request is
    /// unverified, and its Delay_Resp (54 octets) is larger than it (44).
    pub hybrid_e2e: bool,
    /// Sign what the port sends and check what it receives (None: neither; a received
    /// AUTHENTICATION TLV is then ignored like any unknown TLV).
    pub auth: Option<PortAuth>,
    /// Also be a PTPv1 (IEEE 1588-2002) master on this port (UDP/IPv4), from the same
    /// clock: None, or its syncInterval (log2 seconds).
    pub v1_log_sync_interval: Option<i8>,
    /// The v1 subdomains served (one v1 master each, on its group: `_DFLT` 224.0.1.129,
    /// `_ALT1`–`_ALT3` .130–.132, other names by hash), each once.
    pub v1_subdomains: Vec<crate::wire::v1::Subdomain>,
}

/// An address prefix a unicast slave may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourcePrefix {
    /// IPv4 address and prefix length.
    V4([u8; 4], u8),
    /// IPv6 address and prefix length.
    V6([u8; 16], u8),
    /// One MAC address (PTP over L2).
    Mac([u8; 6]),
}

impl SourcePrefix {
    /// Parses `10.0.0.0/8`, `fd00::/8`, a bare address (a host), or a MAC
    /// `02:00:00:00:00:01`.
    pub fn parse(s: &str) -> Option<SourcePrefix> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
            None => (s, None),
        };
        if let Ok(a) = addr.parse::<std::net::Ipv4Addr>() {
            let l = len.unwrap_or(32);
            return (l <= 32).then_some(SourcePrefix::V4(a.octets(), l));
        }
        if let Ok(a) = addr.parse::<std::net::Ipv6Addr>() {
            let l = len.unwrap_or(128);
            return (l <= 128).then_some(SourcePrefix::V6(a.octets(), l));
        }
        let parts: Vec<u8> = addr
            .split(':')
            .map(|p| u8::from_str_radix(p, 16).ok().filter(|_| p.len() == 2))
            .collect::<Option<_>>()?;
        (len.is_none() && parts.len() == 6).then(|| {
            let mut m = [0; 6];
            m.copy_from_slice(&parts);
            SourcePrefix::Mac(m)
        })
    }

    /// Whether `a` is inside it.
    pub fn contains(&self, a: &super::io::PeerAddress) -> bool {
        use super::io::PeerAddress as P;
        fn prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
            let full = usize::from(bits / 8);
            let rest = bits % 8;
            a[..full] == b[..full]
                && (rest == 0 || (a[full] ^ b[full]) & (0xffu8 << (8 - rest)) == 0)
        }
        match (self, a) {
            (SourcePrefix::V4(p, l), P::Ipv4(x)) => prefix(p, x, *l),
            (SourcePrefix::V6(p, l), P::Ipv6(x)) => prefix(p, x, *l),
            (SourcePrefix::Mac(m), P::Mac(x)) => m == x,
            _ => false,
        }
    }
}

impl PortConfig {
    /// Whether a unicast negotiation from `source` claiming `identity` is allowed here.
    pub fn unicast_allowed(
        &self,
        source: &super::io::PeerAddress,
        identity: &crate::wire::ClockIdentity,
    ) -> bool {
        (self.unicast_allowed_sources.is_empty()
            || self
                .unicast_allowed_sources
                .iter()
                .any(|p| p.contains(source)))
            && (self.unicast_allowed_identities.is_empty()
                || self.unicast_allowed_identities.contains(identity))
    }

    /// A foreign master's claimed logAnnounceInterval, clamped to what the profile (and this
    /// port's own interval) allow.
    pub fn foreign_announce_log(&self, claimed: i8) -> i8 {
        let (lo, hi) = self.announce_log_range;
        claimed.clamp(
            lo.min(self.log_announce_interval),
            hi.max(self.log_announce_interval),
        )
    }

    /// A port with the default profile's E2E settings.
    pub fn new(mac: [u8; 6]) -> Self {
        PortConfig {
            mac,
            network_protocol: NetworkProtocol::UdpIpv4,
            protocol_address: Vec::new(),
            delay_mechanism: DelayMechanism::E2E,
            log_announce_interval: 1,
            log_sync_interval: 0,
            log_min_delay_req_interval: 0,
            log_min_pdelay_req_interval: 0,
            announce_receipt_timeout: 3,
            multicast: true,
            unicast: false,
            unicast_limits: UnicastLimits::default(),
            one_step: false,
            delay_asymmetry: TimeInterval::ZERO,
            egress_latency: TimeInterval::ZERO,
            ingress_latency: TimeInterval::ZERO,
            local_priority: 128,
            master_only: false,
            announce_log_range: (0, 4),
            hybrid_e2e: false,
            unicast_allowed_sources: Vec::new(),
            unicast_allowed_identities: Vec::new(),
            auth: None,
            v1_log_sync_interval: None,
            v1_subdomains: vec![crate::wire::v1::Subdomain::DEFAULT],
        }
    }
}

/// The clock's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockConfig {
    /// clockIdentity (usually [`ClockIdentity::from_mac`] of the first port).
    pub clock_identity: ClockIdentity,
    /// priority1.
    pub priority1: u8,
    /// priority2.
    pub priority2: u8,
    /// domainNumber.
    pub domain_number: u8,
    /// majorSdoId (4 bits) — 0 for 1588 profiles, 1 for 802.1AS.
    pub major_sdo_id: u8,
    /// minorSdoId.
    pub minor_sdo_id: u8,
    /// Which BMCA compares datasets.
    pub bmca: BmcaVariant,
    /// What a port does when a better master appears.
    pub better_master_policy: BetterMasterPolicy,
    /// Whether management SET of priority1/priority2/domain/intervals is honoured.
    pub management_set: bool,
    /// userDescription (management USER_DESCRIPTION, CLOCK_DESCRIPTION).
    pub user_description: String,
    /// profileIdentity for CLOCK_DESCRIPTION.
    pub profile_identity: [u8; 6],
    /// Most TX timestamps awaited at once (two-step); beyond it a Sync is skipped and counted.
    pub max_pending_tx_timestamps: u32,
    /// How long to wait for a TX timestamp before giving up on its Follow_Up.
    pub tx_timestamp_timeout_ns: u64,
    /// Most event requests (Delay_Req, Pdelay_Req) handled per millisecond, all sources
    /// together; signaling and general messages get a quarter of it, management a tenth
    /// (see [`super::admit::AdmitConfig::from_requests_per_ms`]); each source is held to its
    /// own rate first. The excess is dropped and counted so a flood cannot starve Syncs.
    pub max_requests_per_ms: u32,
    /// Messages per second one source (address) may send before its excess is dropped
    /// (`source_rate_limited`), with bursts of an eighth of that.
    pub max_requests_per_source_per_s: u32,
    /// The key of the admission table's hash: random per run (the appliance draws it), so a
    /// sender cannot aim its addresses at a good slave's slots.
    pub admission_key: u64,
    /// SMPTE ST 2059-2 synchronization metadata to append to every Announce, if any.
    pub smpte: Option<SmpteMetadata>,
    /// The security associations (keys) ports with [`PortConfig::auth`] sign and check
    /// with (1588-2019 16.14, Annex P).
    pub security: super::auth::SecurityDatabase,
}

/// A port's integrity protection (1588-2019 16.14, immediate processing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortAuth {
    /// The security association (its SPP) of this port.
    pub spp: u8,
    /// The key every message sent is signed with (any key of the association is accepted
    /// on receive, so keys can be rolled over).
    pub key_id: u32,
    /// Refuse (and count) every received message without a valid AUTHENTICATION TLV. When
    /// false, messages without one are accepted; one with an invalid TLV is always refused.
    pub required: bool,
}

/// The constant parts of the SMPTE ST 2059-2 synchronization-metadata TLV (organization
/// 68-97-E8, subtype 1). masterLockingStatus follows the clock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpteMetadata {
    /// defaultSystemFrameRate numerator (e.g. 30000).
    pub frame_rate_numerator: u32,
    /// defaultSystemFrameRate denominator (e.g. 1001).
    pub frame_rate_denominator: u32,
    /// timeAddressFlags: bit 0 drop frame, bit 1 color frame identification.
    pub time_address_flags: u8,
    /// currentLocalOffset, seconds.
    pub current_local_offset: i32,
    /// jumpSeconds, seconds.
    pub jump_seconds: i32,
    /// timeOfNextJump, seconds on the PTP timescale (48 bits).
    pub time_of_next_jump: u64,
    /// timeOfNextJam, seconds (48 bits).
    pub time_of_next_jam: u64,
    /// timeOfPreviousJam, seconds (48 bits).
    pub time_of_previous_jam: u64,
    /// previousJamLocalOffset, seconds.
    pub previous_jam_local_offset: i32,
    /// daylightSaving flags.
    pub daylight_saving: u8,
    /// leapSecondJump flags.
    pub leap_second_jump: u8,
}

impl Default for SmpteMetadata {
    fn default() -> Self {
        SmpteMetadata {
            frame_rate_numerator: 30_000,
            frame_rate_denominator: 1001,
            time_address_flags: 0,
            current_local_offset: 0,
            jump_seconds: 0,
            time_of_next_jump: 0,
            time_of_next_jam: 0,
            time_of_previous_jam: 0,
            previous_jam_local_offset: 0,
            daylight_saving: 0,
            leap_second_jump: 0,
        }
    }
}

/// SMPTE's organizationId (OUI 68-97-E8).
pub const SMPTE_OUI: [u8; 3] = [0x68, 0x97, 0xe8];
/// Subtype of the synchronization-metadata TLV.
pub const SMPTE_SUBTYPE_SYNC_METADATA: [u8; 3] = [0, 0, 1];

impl ClockConfig {
    /// Defaults of the 1588 default profile for a clock with this identity.
    pub fn new(clock_identity: ClockIdentity) -> Self {
        ClockConfig {
            clock_identity,
            priority1: 128,
            priority2: 128,
            domain_number: 0,
            major_sdo_id: 0,
            minor_sdo_id: 0,
            bmca: BmcaVariant::Default,
            better_master_policy: BetterMasterPolicy::Passive,
            management_set: false,
            user_description: String::from("Meridian grandmaster"),
            profile_identity: PROFILE_DEFAULT_E2E,
            max_pending_tx_timestamps: 65_536,
            tx_timestamp_timeout_ns: 10_000_000,
            max_requests_per_ms: 1_000,
            max_requests_per_source_per_s: 512,
            admission_key: 0x6d65_7269_6469_616e,
            smpte: None,
            security: super::auth::SecurityDatabase::default(),
        }
    }
}

/// The whole engine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The clock.
    pub clock: ClockConfig,
    /// Its ports, numbered from 1 in this order.
    pub ports: Vec<PortConfig>,
}

/// A configuration value the engine cannot run with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    /// Which setting (e.g. `ports[0].log_sync_interval`).
    pub field: String,
    /// What is wrong.
    pub problem: &'static str,
}

fn check_log(field: String, v: i8, lo: i8, hi: i8) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        Err(ConfigError {
            field,
            problem: "log interval out of range [-7, 6]",
        })
    } else {
        Ok(())
    }
}

impl EngineConfig {
    /// Checks every value; the engine refuses to start on the first error.
    pub fn check(&self) -> Result<(), ConfigError> {
        let c = &self.clock;
        if self.ports.is_empty() || self.ports.len() > 0xfffe {
            return Err(ConfigError {
                field: "ports".into(),
                problem: "need between 1 and 65534 ports",
            });
        }
        if c.major_sdo_id > 15 {
            return Err(ConfigError {
                field: "clock.major_sdo_id".into(),
                problem: "must fit in 4 bits",
            });
        }
        if c.clock_identity == ClockIdentity::ALL || c.clock_identity == ClockIdentity([0; 8]) {
            return Err(ConfigError {
                field: "clock.clock_identity".into(),
                problem: "all-zero and all-one identities are reserved",
            });
        }
        if c.user_description.len() > 128 {
            return Err(ConfigError {
                field: "clock.user_description".into(),
                problem: "longer than 128 octets",
            });
        }
        if c.max_pending_tx_timestamps == 0
            || c.max_requests_per_ms == 0
            || c.max_requests_per_source_per_s == 0
        {
            return Err(ConfigError {
                field: "clock.max_pending_tx_timestamps / max_requests_per_ms / \
                        max_requests_per_source_per_s"
                    .into(),
                problem: "must be positive",
            });
        }
        for (i, p) in self.ports.iter().enumerate() {
            check_log(
                format!("ports[{i}].log_announce_interval"),
                p.log_announce_interval,
                -3,
                6,
            )?;
            check_log(
                format!("ports[{i}].log_sync_interval"),
                p.log_sync_interval,
                -7,
                6,
            )?;
            check_log(
                format!("ports[{i}].log_min_delay_req_interval"),
                p.log_min_delay_req_interval,
                -7,
                6,
            )?;
            check_log(
                format!("ports[{i}].log_min_pdelay_req_interval"),
                p.log_min_pdelay_req_interval,
                -7,
                6,
            )?;
            if p.announce_receipt_timeout < 2 {
                return Err(ConfigError {
                    field: format!("ports[{i}].announce_receipt_timeout"),
                    problem: "must be at least 2",
                });
            }
            if !p.multicast && !p.unicast {
                return Err(ConfigError {
                    field: format!("ports[{i}].multicast"),
                    problem: "a port must serve multicast, unicast or both",
                });
            }
            let l = &p.unicast_limits;
            if l.min_duration > l.max_duration || l.max_duration == 0 {
                return Err(ConfigError {
                    field: format!("ports[{i}].unicast_limits.max_duration"),
                    problem: "must be positive and at least min_duration",
                });
            }
            if p.protocol_address.len() > 16 {
                return Err(ConfigError {
                    field: format!("ports[{i}].protocol_address"),
                    problem: "longer than 16 octets",
                });
            }
            if let Some(l) = p.v1_log_sync_interval {
                // 1588-2002 knows 1, 2, 8, 16 and 64 s; faster where the slaves accept it. A
                // v1 slave needs two Syncs within 8 s to take a master.
                if !(-7..=1).contains(&l) {
                    return Err(ConfigError {
                        field: format!("ports[{i}].ptpv1_log_sync_interval"),
                        problem: "v1 log interval out of range [-7, 1] (a v1 slave needs two \
                                  Syncs within 8 s)",
                    });
                }
                let problem = if p.network_protocol != NetworkProtocol::UdpIpv4 {
                    Some("PTPv1 runs over UDP/IPv4 only")
                } else if p.one_step {
                    Some("PTPv1 here is two-step (PTP_ASSIST)")
                } else if p.auth.is_some() {
                    Some("PTPv1 has no authentication: not with auth")
                } else {
                    None
                };
                let subdomains = &p.v1_subdomains;
                let sub_problem = if subdomains.is_empty() {
                    Some("at least one subdomain")
                } else if subdomains.iter().any(|s| s.name().is_empty()) {
                    Some("an empty subdomain name")
                } else if (1..subdomains.len()).any(|k| subdomains[..k].contains(&subdomains[k])) {
                    Some("a subdomain is named twice")
                } else {
                    None
                };
                if let Some(problem) = sub_problem {
                    return Err(ConfigError {
                        field: format!("ports[{i}].ptpv1_subdomains"),
                        problem,
                    });
                }
                if let Some(problem) = problem {
                    return Err(ConfigError {
                        field: format!("ports[{i}].ptpv1"),
                        problem,
                    });
                }
            }
            if let Some(a) = &p.auth {
                let problem = match c.security.association(a.spp) {
                    None => Some("no security association with this spp"),
                    Some(sa) => match sa.key(a.key_id) {
                        None => Some("the key id is not in the security association"),
                        Some(k) if !k.algorithm.supported() => {
                            Some("the key is AES-CMAC, which is not supported (use SHA256-128)")
                        }
                        Some(_) => None,
                    },
                };
                if let Some(problem) = problem {
                    return Err(ConfigError {
                        field: format!("ports[{i}].auth"),
                        problem,
                    });
                }
                if p.one_step {
                    return Err(ConfigError {
                        field: format!("ports[{i}].auth"),
                        problem: "not with one-step Sync: the data plane writes the \
                                  timestamp after the ICV is computed",
                    });
                }
            }
        }
        Ok(())
    }
}

/// profileIdentity of the default delay request-response profile (J.3).
pub const PROFILE_DEFAULT_E2E: [u8; 6] = [0x00, 0x1b, 0x19, 0x00, 0x01, 0x00];
/// profileIdentity of the default peer-to-peer profile (J.4).
pub const PROFILE_DEFAULT_P2P: [u8; 6] = [0x00, 0x1b, 0x19, 0x00, 0x02, 0x00];
/// profileIdentity of SMPTE ST 2059-2.
pub const PROFILE_SMPTE_2059_2: [u8; 6] = [0x68, 0x97, 0xe8, 0x00, 0x01, 0x00];
/// profileIdentity of ITU-T G.8275.2.
pub const PROFILE_G8275_2: [u8; 6] = [0x00, 0x19, 0xa7, 0x02, 0x01, 0x02];
/// profileIdentity of IEEE 802.1AS.
pub const PROFILE_8021AS: [u8; 6] = [0x00, 0x80, 0xc2, 0x00, 0x01, 0x00];
/// profileIdentity of the AES67 media profile (AES67-2018 annex A).
pub const PROFILE_AES67: [u8; 6] = [0x00, 0x0b, 0x5e, 0x00, 0x01, 0x00];

/// A named profile preset (1588-2019 clause 20, annex I; and the industry profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Default delay request-response profile (annex I.3): domain 0, E2E.
    DefaultE2E,
    /// Default peer-to-peer profile (annex I.4): domain 0, P2P.
    DefaultP2P,
    /// SMPTE ST 2059-2:2021: domain 127, Announce 2^-2 s, Sync 2^-3 s, Delay_Req 2^-3 s,
    /// and the SMPTE synchronization-metadata TLV in Announce.
    Smpte2059_2,
    /// AES67 media profile: domain 0, Announce 2^1 s, Sync 2^-3 s, E2E.
    Aes67,
    /// ITU-T G.8275.2 (telecom, partial timing support): unicast only, domain 44, alternate
    /// BMCA, Announce/Sync/Delay rates negotiated per slave.
    G8275_2,
    /// IEEE 802.1AS (gPTP): L2, P2P, majorSdoId 1, Announce 2^0 s, Sync 2^-3 s.
    Ieee8021As,
}

impl Profile {
    /// Every preset with the name the configuration file uses.
    pub const ALL: [(&'static str, Profile); 6] = [
        ("default-e2e", Profile::DefaultE2E),
        ("default-p2p", Profile::DefaultP2P),
        ("smpte-2059-2", Profile::Smpte2059_2),
        ("aes67", Profile::Aes67),
        ("g8275.2", Profile::G8275_2),
        ("802.1as", Profile::Ieee8021As),
    ];

    /// Looks a preset up by its configuration name.
    pub fn from_name(name: &str) -> Option<Profile> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
    }

    /// The preset's configuration name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    /// Applies the preset to a clock and its ports (values a user did not override later).
    pub fn apply(self, clock: &mut ClockConfig, ports: &mut [PortConfig]) {
        let (domain, ann, sync, dreq, mech, sdo, profile_id) = match self {
            Profile::DefaultE2E => (0, 1, 0, 0, DelayMechanism::E2E, 0, PROFILE_DEFAULT_E2E),
            Profile::DefaultP2P => (0, 1, 0, 0, DelayMechanism::P2P, 0, PROFILE_DEFAULT_P2P),
            Profile::Smpte2059_2 => (
                127,
                -2,
                -3,
                -3,
                DelayMechanism::E2E,
                0,
                PROFILE_SMPTE_2059_2,
            ),
            Profile::Aes67 => (0, 1, -3, -3, DelayMechanism::E2E, 0, PROFILE_AES67),
            Profile::G8275_2 => (44, 0, -4, -4, DelayMechanism::E2E, 0, PROFILE_G8275_2),
            Profile::Ieee8021As => (0, 0, -3, 0, DelayMechanism::P2P, 1, PROFILE_8021AS),
        };
        clock.domain_number = domain;
        clock.major_sdo_id = sdo;
        clock.profile_identity = profile_id;
        clock.smpte = (self == Profile::Smpte2059_2).then(SmpteMetadata::default);
        clock.bmca = if self == Profile::G8275_2 {
            BmcaVariant::G8275
        } else {
            BmcaVariant::Default
        };
        if self == Profile::Ieee8021As {
            clock.priority1 = 246;
            clock.priority2 = 248;
        }
        // logAnnounceInterval ranges: default profiles (J.3, J.4) and AES67 0..=4; ST 2059-2
        // −3..=1; G.8275.2 −3..=0; 802.1AS −3..=4 (its default 0, configurable).
        let announce_range = match self {
            Profile::DefaultE2E | Profile::DefaultP2P | Profile::Aes67 => (0, 4),
            Profile::Smpte2059_2 => (-3, 1),
            Profile::G8275_2 => (-3, 0),
            Profile::Ieee8021As => (-3, 4),
        };
        for p in ports {
            p.announce_log_range = announce_range;
            p.log_announce_interval = ann;
            p.log_sync_interval = sync;
            p.log_min_delay_req_interval = dreq;
            p.log_min_pdelay_req_interval = 0;
            p.delay_mechanism = mech;
            match self {
                Profile::G8275_2 => {
                    p.multicast = false;
                    p.unicast = true;
                    p.announce_receipt_timeout = 3;
                }
                Profile::Ieee8021As => {
                    p.network_protocol = NetworkProtocol::Ieee8023;
                    p.announce_receipt_timeout = 3;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn source_prefixes() {
        use super::super::io::PeerAddress as P;
        let p = SourcePrefix::parse("10.77.0.0/16").unwrap();
        assert!(p.contains(&P::Ipv4([10, 77, 3, 4])));
        assert!(!p.contains(&P::Ipv4([10, 78, 0, 1])));
        assert!(!p.contains(&P::Ipv6([0; 16])));
        let p = SourcePrefix::parse("10.1.2.3").unwrap();
        assert!(p.contains(&P::Ipv4([10, 1, 2, 3])) && !p.contains(&P::Ipv4([10, 1, 2, 4])));
        let p = SourcePrefix::parse("192.168.1.128/25").unwrap();
        assert!(p.contains(&P::Ipv4([192, 168, 1, 200])));
        assert!(!p.contains(&P::Ipv4([192, 168, 1, 100])));
        let p = SourcePrefix::parse("fd00::/8").unwrap();
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        assert!(p.contains(&P::Ipv6(a)));
        assert!(SourcePrefix::parse("0.0.0.0/0")
            .unwrap()
            .contains(&P::Ipv4([1, 2, 3, 4])));
        let m = SourcePrefix::parse("02:6d:69:00:00:02").unwrap();
        assert!(m.contains(&P::Mac([2, 0x6d, 0x69, 0, 0, 2])));
        for bad in [
            "10.0.0.0/33",
            "nonsense",
            "02:6d:69:00:00",
            "1.2.3.4/x",
            "::/129",
        ] {
            assert_eq!(SourcePrefix::parse(bad), None, "{bad}");
        }
    }

    use super::*;

    fn cfg() -> EngineConfig {
        EngineConfig {
            clock: ClockConfig::new(ClockIdentity([1, 2, 3, 0xff, 0xfe, 4, 5, 6])),
            ports: vec![PortConfig::new([2, 0, 0, 0, 0, 1])],
        }
    }

    #[test]
    fn defaults_check_and_errors_name_the_field() {
        cfg().check().unwrap();
        let mut c = cfg();
        c.ports[0].log_sync_interval = -9;
        assert_eq!(c.check().unwrap_err().field, "ports[0].log_sync_interval");
        let mut c = cfg();
        c.ports[0].multicast = false;
        assert_eq!(c.check().unwrap_err().field, "ports[0].multicast");
        let mut c = cfg();
        c.clock.clock_identity = ClockIdentity::ALL;
        assert_eq!(c.check().unwrap_err().field, "clock.clock_identity");
    }

    #[test]
    fn profiles_by_name_and_values() {
        for (name, p) in Profile::ALL {
            assert_eq!(Profile::from_name(name), Some(p));
            assert_eq!(p.name(), name);
            let mut c = cfg();
            p.apply(&mut c.clock, &mut c.ports);
            c.check().unwrap();
        }
        let mut c = cfg();
        Profile::Smpte2059_2.apply(&mut c.clock, &mut c.ports);
        assert_eq!(c.clock.domain_number, 127);
        assert_eq!(c.ports[0].log_announce_interval, -2);
        assert_eq!(c.ports[0].log_sync_interval, -3);
        let mut c = cfg();
        Profile::G8275_2.apply(&mut c.clock, &mut c.ports);
        assert_eq!(c.clock.domain_number, 44);
        assert!(c.ports[0].unicast && !c.ports[0].multicast);
        assert_eq!(c.clock.bmca, BmcaVariant::G8275);
    }
}
