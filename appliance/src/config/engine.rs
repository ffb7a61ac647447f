//! From the file to the engine: [`Config::engine_config`] builds the engine's
//! [`EngineConfig`] (profile preset first, then the file's overrides), with the helpers the
//! runtime needs on the way ([`Config::explicit_quality`], [`Config::delay_mechanisms`],
//! [`parse_identity`]).

use meridian_proto::engine::bmca::BetterMasterPolicy;
use meridian_proto::engine::config::{NetworkProtocol, SmpteMetadata, UnicastLimits};
use meridian_proto::engine::{ClockConfig, DelayMechanism, EngineConfig, PortConfig};
use meridian_proto::wire::{ClockAccuracy, ClockIdentity, ClockQuality, TimeInterval, TimeSource};

use super::schema::{
    BetterMasterName, DelayMechanismName, PortSection, QualitySetting, TransportName,
};
use super::{Config, ConfigError};

/// What the data plane learned about each port, needed to build the engine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFacts {
    /// The interface's MAC.
    pub mac: [u8; 6],
    /// Its protocol address (IPv4, IPv6 or MAC octets).
    pub protocol_address: Vec<u8>,
}

impl Config {
    /// Stand-ins for port facts before the ports are open, for questions that do not depend
    /// on MACs or addresses.
    pub(crate) fn placeholder_facts(&self) -> Vec<PortFacts> {
        self.ports
            .iter()
            .map(|_| PortFacts {
                mac: [0x02, 0, 0, 0, 0, 1],
                protocol_address: Vec::new(),
            })
            .collect()
    }

    /// The delay mechanism each port ends up with: its own setting, else its profile's.
    pub fn delay_mechanisms(&self) -> Vec<DelayMechanism> {
        self.engine_config(&self.placeholder_facts())
            .map(|e| e.ports.iter().map(|p| p.delay_mechanism).collect())
            .unwrap_or_default()
    }

    /// The engine configuration for ports whose facts the data plane found.
    pub fn engine_config(&self, facts: &[PortFacts]) -> Result<EngineConfig, ConfigError> {
        let c = &self.clock;
        let identity = if c.identity == "auto" {
            ClockIdentity::from_mac(facts.first().map_or([0x02, 0, 0, 0, 0, 1], |f| f.mac))
        } else {
            parse_identity(&c.identity).map_err(|p| ConfigError {
                key: "clock.identity".into(),
                line: None,
                problem: p.into(),
            })?
        };
        let mut clock = ClockConfig::new(identity);
        let mut ports: Vec<PortConfig> = facts.iter().map(|f| PortConfig::new(f.mac)).collect();
        c.profile.profile().apply(&mut clock, &mut ports);
        clock.priority1 = c.priority1;
        clock.priority2 = c.priority2;
        if let Some(d) = c.domain {
            clock.domain_number = d;
        }
        clock.better_master_policy = match c.better_master {
            BetterMasterName::Passive => BetterMasterPolicy::Passive,
            BetterMasterName::StayMaster => BetterMasterPolicy::IgnoreAndStayMaster,
            BetterMasterName::Slave => BetterMasterPolicy::Slave,
        };
        clock.management_set = c.management_set;
        clock.user_description = c.user_description.clone();
        clock.max_pending_tx_timestamps = c.max_pending_tx_timestamps;
        clock.tx_timestamp_timeout_ns = c.tx_timestamp_timeout_ms * 1_000_000;
        clock.max_requests_per_ms = c.max_requests_per_ms;
        clock.max_requests_per_source_per_s = c.max_requests_per_source_per_s;
        clock.admission_key = super::random_key();
        if let Some(path) = &self.security.sa_file {
            clock.security =
                super::load_security_database(path).map_err(|problem| ConfigError {
                    key: "security.sa-file".into(),
                    line: None,
                    problem,
                })?;
        }
        if let (Some(m), Some(s)) = (clock.smpte.as_mut(), &self.smpte) {
            let (n, d) = s.frame_rate().map_err(|problem| ConfigError {
                key: "smpte.frame-rate".into(),
                line: None,
                problem,
            })?;
            *m = SmpteMetadata {
                frame_rate_numerator: n,
                frame_rate_denominator: d,
                time_address_flags: u8::from(s.drop_frame) | u8::from(s.color_frame) << 1,
                current_local_offset: s.local_offset_s,
                jump_seconds: s.jump_s,
                time_of_next_jump: s.time_of_next_jump,
                time_of_next_jam: s.time_of_next_jam,
                time_of_previous_jam: s.time_of_previous_jam,
                previous_jam_local_offset: s.previous_jam_local_offset_s,
                daylight_saving: u8::from(s.daylight_saving)
                    | u8::from(s.daylight_saving_next) << 1
                    | u8::from(s.daylight_saving_previous_jam) << 2,
                leap_second_jump: u8::from(s.next_jump_is_leap_second),
            };
        }
        for ((p, s), f) in ports.iter_mut().zip(&self.ports).zip(facts) {
            port_config(p, s, f);
        }
        Ok(EngineConfig { clock, ports })
    }

    /// The explicit clock quality, if configured.
    pub fn explicit_quality(&self) -> Option<(ClockQuality, TimeSource, bool, bool)> {
        match &self.clock.quality {
            QualitySetting::Explicit(q) => Some((
                ClockQuality {
                    clock_class: q.class,
                    clock_accuracy: ClockAccuracy(q.accuracy),
                    offset_scaled_log_variance: q.variance,
                },
                q.time_source.wire(),
                q.time_traceable,
                q.frequency_traceable,
            )),
            QualitySetting::Keyword(_) => None,
        }
    }
}

/// Applies a `[[port]]` section and its port's facts over the profile's port defaults.
fn port_config(p: &mut PortConfig, s: &PortSection, f: &PortFacts) {
    p.network_protocol = match s.transport {
        TransportName::UdpIpv4 => NetworkProtocol::UdpIpv4,
        TransportName::UdpIpv6 => NetworkProtocol::UdpIpv6,
        TransportName::L2 => NetworkProtocol::Ieee8023,
    };
    p.protocol_address = f.protocol_address.clone();
    if let Some(d) = s.delay_mechanism {
        p.delay_mechanism = match d {
            DelayMechanismName::E2e => DelayMechanism::E2E,
            DelayMechanismName::P2p => DelayMechanism::P2P,
            DelayMechanismName::None => DelayMechanism::Disabled,
        };
    }
    if let Some(v) = s.multicast {
        p.multicast = v;
    }
    if let Some(v) = s.unicast {
        p.unicast = v;
    }
    p.one_step = s.one_step;
    if let Some(v) = s.log_announce_interval {
        p.log_announce_interval = v;
    }
    if let Some(v) = s.log_sync_interval {
        p.log_sync_interval = v;
    }
    if let Some(v) = s.log_min_delay_req_interval {
        p.log_min_delay_req_interval = v;
    }
    if let Some(v) = s.log_min_pdelay_req_interval {
        p.log_min_pdelay_req_interval = v;
    }
    if let Some(v) = s.announce_receipt_timeout {
        p.announce_receipt_timeout = v;
    }
    p.delay_asymmetry = TimeInterval::from_nanos(s.delay_asymmetry_ns);
    p.ingress_latency = TimeInterval::from_nanos(s.ingress_latency_ns);
    p.egress_latency = TimeInterval::from_nanos(s.egress_latency_ns);
    p.master_only = s.master_only;
    p.hybrid_e2e = s.hybrid_e2e;
    // Checked by check-config; anything unparsable here is skipped.
    p.unicast_allowed_sources = s
        .unicast_allowed_sources
        .iter()
        .filter_map(|a| meridian_proto::engine::SourcePrefix::parse(a))
        .collect();
    p.unicast_allowed_identities = s
        .unicast_allowed_identities
        .iter()
        .filter_map(|c| parse_identity(c).ok())
        .collect();
    p.local_priority = s.local_priority;
    p.v1_log_sync_interval = s.ptpv1.then_some(s.ptpv1_log_sync_interval);
    // Names longer than 16 octets are cut here and refused by the engine's check (not a
    // standard name).
    p.v1_subdomains = s
        .ptpv1_subdomains
        .iter()
        .map(|n| meridian_proto::wire::v1::Subdomain::named(n.as_bytes()))
        .collect();
    // Checked by check-config (the association and key exist).
    p.auth = match (s.auth_spp, s.auth_key_id) {
        (Some(spp), Some(key_id)) => Some(meridian_proto::engine::PortAuth {
            spp,
            key_id,
            required: s.require_auth,
        }),
        _ => None,
    };
    let l = &s.unicast_limits;
    p.unicast_limits = UnicastLimits {
        max_slaves: l.max_slaves,
        max_duration: l.max_duration,
        min_duration: l.min_duration,
        min_log_announce_interval: l.min_log_announce_interval,
        min_log_sync_interval: l.min_log_sync_interval,
        min_log_delay_resp_interval: l.min_log_delay_resp_interval,
        max_total_rate: l.max_total_rate,
    };
}

/// Parses `001b19.fffe.000001` (linuxptp style) or 16 hex digits.
pub fn parse_identity(s: &str) -> Result<ClockIdentity, &'static str> {
    let hex: String = s
        .chars()
        .filter(|c| *c != '.' && *c != ':' && *c != '-')
        .collect();
    if hex.len() != 16 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("expected 16 hex digits like 001b19.fffe.000001");
    }
    let mut id = [0u8; 8];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "bad hex digit")?;
    }
    Ok(ClockIdentity(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "[[port]]\ninterface = \"eth0\"\n";

    #[test]
    fn minimal_config_uses_defaults() {
        let c = Config::parse(MIN).unwrap();
        assert_eq!(c.ports[0].transport, TransportName::UdpIpv4);
        let e = c
            .engine_config(&[PortFacts {
                mac: [0, 0x1b, 0x19, 1, 2, 3],
                protocol_address: vec![10, 0, 0, 1],
            }])
            .unwrap();
        assert_eq!(e.clock.clock_identity.to_string(), "001b19.fffe.010203");
        assert_eq!(e.ports[0].log_announce_interval, 1);
        assert!(e.ports[0].multicast && !e.ports[0].unicast);
    }

    /// `[smpte]` sets every field of the synchronization-metadata TLV; without it the
    /// profile's defaults (30000/1001, no offsets) stay.
    #[test]
    fn smpte_metadata_from_the_file() {
        let facts = [PortFacts {
            mac: [2, 0, 0, 0, 0, 1],
            protocol_address: vec![],
        }];
        let base = "[clock]\nprofile = \"smpte-2059-2\"\n";
        let c = Config::parse(&format!("{base}{MIN}")).unwrap();
        let m = c.engine_config(&facts).unwrap().clock.smpte.unwrap();
        assert_eq!(m, SmpteMetadata::default());
        assert_eq!(
            (m.frame_rate_numerator, m.frame_rate_denominator),
            (30_000, 1001)
        );
        let c = Config::parse(&format!(
            "{base}[smpte]\nframe-rate = \"50/1\"\ndrop-frame = true\ncolor-frame = true\n\
             local-offset-s = 3600\ndaylight-saving = true\ndaylight-saving-next = false\n\
             daylight-saving-previous-jam = true\njump-s = -3600\n\
             time-of-next-jump = 1800000037\nnext-jump-is-leap-second = true\n\
             time-of-next-jam = 1800000000\ntime-of-previous-jam = 1700000000\n\
             previous-jam-local-offset-s = 7200\n{MIN}"
        ))
        .unwrap();
        let m = c.engine_config(&facts).unwrap().clock.smpte.unwrap();
        assert_eq!(
            m,
            SmpteMetadata {
                frame_rate_numerator: 50,
                frame_rate_denominator: 1,
                time_address_flags: 0b11,
                current_local_offset: 3600,
                jump_seconds: -3600,
                time_of_next_jump: 1_800_000_037,
                time_of_next_jam: 1_800_000_000,
                time_of_previous_jam: 1_700_000_000,
                previous_jam_local_offset: 7200,
                daylight_saving: 0b101,
                leap_second_jump: 1,
            }
        );
    }

    #[test]
    fn profile_then_overrides() {
        let c = Config::parse(
            "[clock]\nprofile = \"g8275.2\"\ndomain = 45\nquality = { class = 6, accuracy = 0x21, time-source = \"gnss\" }\n[[port]]\ninterface = \"e\"\nlog-sync-interval = -5\n",
        )
        .unwrap();
        let e = c
            .engine_config(&[PortFacts {
                mac: [2, 0, 0, 0, 0, 1],
                protocol_address: vec![],
            }])
            .unwrap();
        assert_eq!(e.clock.domain_number, 45);
        assert!(e.ports[0].unicast && !e.ports[0].multicast);
        assert_eq!(e.ports[0].log_sync_interval, -5);
        let (q, ts, _, _) = c.explicit_quality().unwrap();
        assert_eq!(
            (q.clock_class, q.clock_accuracy.0, ts),
            (6, 0x21, TimeSource::GNSS)
        );
    }

    #[test]
    fn delay_mechanism_from_profile_then_port() {
        let c = Config::parse(
            "[clock]\nprofile = \"default-p2p\"\n[[port]]\ninterface = \"a\"\n[[port]]\ninterface = \"b\"\ndelay-mechanism = \"e2e\"\n",
        )
        .unwrap();
        assert_eq!(
            c.delay_mechanisms(),
            [DelayMechanism::P2P, DelayMechanism::E2E]
        );
        assert_eq!(
            Config::parse(MIN).unwrap().delay_mechanisms(),
            [DelayMechanism::E2E]
        );
    }

    #[test]
    fn identity_forms() {
        assert_eq!(
            parse_identity("001b19.fffe.000001").unwrap().to_string(),
            "001b19.fffe.000001"
        );
        assert!(parse_identity("001b19fffe00000").is_err());
    }
}
