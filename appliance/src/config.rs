//! The configuration file: one TOML document, kebab-case keys, unknown keys rejected.
//!
//! `appliance/config/meridian.toml` documents every key with its default. Parsing reports
//! serde/TOML errors with the key and line; [`Config::check`] reports semantic errors naming
//! the key (and its line when it is in the file).

use std::path::{Path, PathBuf};

use meridian_proto::engine::bmca::BetterMasterPolicy;
use meridian_proto::engine::config::NetworkProtocol;
use meridian_proto::engine::config::UnicastLimits;
use meridian_proto::engine::{ClockConfig, DelayMechanism, EngineConfig, PortConfig, Profile};
use meridian_proto::wire::{ClockAccuracy, ClockIdentity, ClockQuality, TimeInterval, TimeSource};
use serde::Deserialize;

use crate::dataplane::{TimestampingMode, Transport};

/// A configuration error: which key, where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}{problem}",
    line.map(|l| format!("line {l}: ")).unwrap_or_default(),
    if key.is_empty() { String::new() } else { format!("{key}: ") }
)]
pub struct ConfigError {
    /// The key, e.g. `port[0].log-sync-interval`.
    pub key: String,
    /// 1-based line of the key in the file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[clock]`.
    #[serde(default)]
    pub clock: ClockSection,
    /// `[timestamping]`.
    #[serde(default)]
    pub timestamping: TimestampingSection,
    /// `[dataplane]`.
    #[serde(default)]
    pub dataplane: DataplaneSection,
    /// `[control]`.
    #[serde(default)]
    pub control: ControlSection,
    /// `[logging]`.
    #[serde(default)]
    pub logging: LoggingSection,
    /// `[[port]]`, one per interface.
    #[serde(default, rename = "port")]
    pub ports: Vec<PortSection>,
}

/// Profile names as written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProfileName {
    /// `default-e2e`.
    #[serde(rename = "default-e2e")]
    DefaultE2E,
    /// `default-p2p`.
    #[serde(rename = "default-p2p")]
    DefaultP2P,
    /// `smpte-2059-2`.
    #[serde(rename = "smpte-2059-2")]
    Smpte2059_2,
    /// `aes67`.
    #[serde(rename = "aes67")]
    Aes67,
    /// `g8275.2`.
    #[serde(rename = "g8275.2")]
    G8275_2,
    /// `802.1as`.
    #[serde(rename = "802.1as")]
    Ieee8021As,
}

impl ProfileName {
    /// The engine's preset.
    pub fn profile(self) -> Profile {
        match self {
            ProfileName::DefaultE2E => Profile::DefaultE2E,
            ProfileName::DefaultP2P => Profile::DefaultP2P,
            ProfileName::Smpte2059_2 => Profile::Smpte2059_2,
            ProfileName::Aes67 => Profile::Aes67,
            ProfileName::G8275_2 => Profile::G8275_2,
            ProfileName::Ieee8021As => Profile::Ieee8021As,
        }
    }
}

/// `quality`: `"auto"` or an explicit table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum QualitySetting {
    /// `"auto"`.
    Keyword(String),
    /// An explicit quality the operator vouches for.
    Explicit(ExplicitQuality),
}

/// An explicit clock quality.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExplicitQuality {
    /// clockClass.
    pub class: u8,
    /// clockAccuracy (e.g. 0x21 = 100 ns, 0xFE unknown).
    #[serde(default = "default_accuracy")]
    pub accuracy: u8,
    /// offsetScaledLogVariance.
    #[serde(default = "default_variance")]
    pub variance: u16,
    /// timeSource.
    #[serde(default)]
    pub time_source: TimeSourceName,
    /// timeTraceable.
    #[serde(default)]
    pub time_traceable: bool,
    /// frequencyTraceable.
    #[serde(default)]
    pub frequency_traceable: bool,
}

fn default_accuracy() -> u8 {
    0xfe
}
fn default_variance() -> u16 {
    0xffff
}

/// timeSource names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSourceName {
    /// ATOMIC_CLOCK.
    AtomicClock,
    /// GNSS.
    Gnss,
    /// TERRESTRIAL_RADIO.
    TerrestrialRadio,
    /// SERIAL_TIME_CODE.
    SerialTimeCode,
    /// PTP.
    Ptp,
    /// NTP.
    Ntp,
    /// HAND_SET.
    HandSet,
    /// OTHER.
    Other,
    /// INTERNAL_OSCILLATOR.
    #[default]
    InternalOscillator,
}

impl TimeSourceName {
    /// The wire value.
    pub fn wire(self) -> TimeSource {
        match self {
            TimeSourceName::AtomicClock => TimeSource::ATOMIC_CLOCK,
            TimeSourceName::Gnss => TimeSource::GNSS,
            TimeSourceName::TerrestrialRadio => TimeSource::TERRESTRIAL_RADIO,
            TimeSourceName::SerialTimeCode => TimeSource::SERIAL_TIME_CODE,
            TimeSourceName::Ptp => TimeSource::PTP,
            TimeSourceName::Ntp => TimeSource::NTP,
            TimeSourceName::HandSet => TimeSource::HAND_SET,
            TimeSourceName::Other => TimeSource::OTHER,
            TimeSourceName::InternalOscillator => TimeSource::INTERNAL_OSCILLATOR,
        }
    }
}

/// `utc-offset`: `"auto"` or seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum UtcOffsetSetting {
    /// `"auto"`: from the leap-second file.
    Keyword(String),
    /// TAI − UTC in seconds.
    Seconds(i16),
}

/// `better-master`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BetterMasterName {
    /// Go PASSIVE.
    #[default]
    Passive,
    /// Stay MASTER.
    StayMaster,
    /// Follow the standard (SLAVE).
    Slave,
}

/// `[clock]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClockSection {
    /// `"auto"` or `001b19.fffe.000001`.
    #[serde(default = "auto")]
    pub identity: String,
    /// Profile preset.
    #[serde(default = "default_profile")]
    pub profile: ProfileName,
    /// priority1.
    #[serde(default = "default_priority")]
    pub priority1: u8,
    /// priority2.
    #[serde(default = "default_priority")]
    pub priority2: u8,
    /// Domain override.
    #[serde(default)]
    pub domain: Option<u8>,
    /// Clock quality.
    #[serde(default = "auto_quality")]
    pub quality: QualitySetting,
    /// TAI − UTC.
    #[serde(default = "auto_utc")]
    pub utc_offset: UtcOffsetSetting,
    /// Leap-second file.
    #[serde(default = "default_leap_file")]
    pub leap_file: PathBuf,
    /// Better-master policy.
    #[serde(default)]
    pub better_master: BetterMasterName,
    /// Honour management SET.
    #[serde(default)]
    pub management_set: bool,
    /// userDescription.
    #[serde(default = "default_user_description")]
    pub user_description: String,
    /// Outstanding two-step TX timestamps.
    #[serde(default = "default_pending")]
    pub max_pending_tx_timestamps: u32,
    /// TX timestamp timeout, ms.
    #[serde(default = "default_tx_timeout")]
    pub tx_timestamp_timeout_ms: u64,
    /// Request budget per ms.
    #[serde(default = "default_requests")]
    pub max_requests_per_ms: u32,
}

fn auto() -> String {
    "auto".into()
}
fn default_profile() -> ProfileName {
    ProfileName::DefaultE2E
}
fn default_priority() -> u8 {
    128
}
fn auto_quality() -> QualitySetting {
    QualitySetting::Keyword("auto".into())
}
fn auto_utc() -> UtcOffsetSetting {
    UtcOffsetSetting::Keyword("auto".into())
}
fn default_leap_file() -> PathBuf {
    PathBuf::from("/usr/share/zoneinfo/leap-seconds.list")
}
fn default_user_description() -> String {
    "Meridian grandmaster".into()
}
fn default_pending() -> u32 {
    65_536
}
fn default_tx_timeout() -> u64 {
    10
}
fn default_requests() -> u32 {
    1_000
}

impl Default for ClockSection {
    fn default() -> Self {
        ClockSection {
            identity: auto(),
            profile: default_profile(),
            priority1: 128,
            priority2: 128,
            domain: None,
            quality: auto_quality(),
            utc_offset: auto_utc(),
            leap_file: default_leap_file(),
            better_master: BetterMasterName::Passive,
            management_set: false,
            user_description: default_user_description(),
            max_pending_tx_timestamps: default_pending(),
            tx_timestamp_timeout_ms: default_tx_timeout(),
            max_requests_per_ms: default_requests(),
        }
    }
}

/// `[timestamping]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimestampingSection {
    /// auto / hardware / software.
    #[serde(default)]
    pub mode: StampModeName,
}

/// `mode` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StampModeName {
    /// Hardware if possible.
    #[default]
    Auto,
    /// Hardware or fail.
    Hardware,
    /// Software.
    Software,
}

impl StampModeName {
    /// The data plane's mode.
    pub fn mode(self) -> TimestampingMode {
        match self {
            StampModeName::Auto => TimestampingMode::Auto,
            StampModeName::Hardware => TimestampingMode::Hardware,
            StampModeName::Software => TimestampingMode::Software,
        }
    }
}

/// `[dataplane]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataplaneSection {
    /// sockets / dpdk.
    #[serde(default)]
    pub backend: BackendName,
    /// Extra DPDK EAL arguments (e.g. `["--no-huge", "-m", "256"]`); Meridian adds `-l`,
    /// `--vdev` for vdev ports and `--file-prefix`.
    #[serde(default)]
    pub eal_args: Vec<String>,
    /// The CPU core the DPDK engine loop is pinned to (and the RX and TX stages, unless
    /// `rx-lcore` / `tx-lcore` put them elsewhere).
    #[serde(default)]
    pub lcore: Option<usize>,
    /// The core of the RX stages (default: `lcore`). A core other than `lcore` splits every
    /// port into a pipeline of RX stage → ring → engine → ring → TX stage.
    #[serde(default)]
    pub rx_lcore: Option<usize>,
    /// The core of the TX stages (default: `lcore`).
    #[serde(default)]
    pub tx_lcore: Option<usize>,
    /// Frames each pipeline ring holds (RX → engine, engine → TX, TX stamps).
    #[serde(default = "default_ring_size")]
    pub ring_size: usize,
    /// RX descriptors per DPDK port (adjusted to the device's limits).
    #[serde(default = "default_descriptors")]
    pub rx_descriptors: u16,
    /// TX descriptors per DPDK port.
    #[serde(default = "default_descriptors")]
    pub tx_descriptors: u16,
    /// Mbufs in each DPDK port's pool.
    #[serde(default = "default_mbufs")]
    pub mbufs: u32,
    /// Microseconds the engine loop sleeps after an iteration that found nothing to do
    /// (0: pure busy poll). Frees the engine core for other work; with the RX/TX stages on
    /// another core the stamps are unaffected.
    #[serde(default)]
    pub idle_sleep_us: u32,
}

impl Default for DataplaneSection {
    fn default() -> Self {
        DataplaneSection {
            backend: BackendName::default(),
            eal_args: Vec::new(),
            lcore: None,
            rx_lcore: None,
            tx_lcore: None,
            ring_size: default_ring_size(),
            rx_descriptors: default_descriptors(),
            tx_descriptors: default_descriptors(),
            mbufs: default_mbufs(),
            idle_sleep_us: 0,
        }
    }
}

fn default_ring_size() -> usize {
    1024
}
fn default_descriptors() -> u16 {
    1024
}
fn default_mbufs() -> u32 {
    8191
}

impl DataplaneSection {
    /// The cores of the engine loop, the RX stages and the TX stages.
    pub fn lcores(&self) -> (usize, usize, usize) {
        let engine = self.lcore.unwrap_or(0);
        (
            engine,
            self.rx_lcore.unwrap_or(engine),
            self.tx_lcore.unwrap_or(engine),
        )
    }

    /// Whether the ports run as pipelines (a stage on another core than the engine).
    pub fn pipelined(&self) -> bool {
        let (e, r, t) = self.lcores();
        r != e || t != e
    }
}

/// Backend names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendName {
    /// Linux sockets.
    #[default]
    Sockets,
    /// DPDK poll-mode drivers.
    Dpdk,
}

/// `[control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ControlSection {
    /// Unix socket path for `meridian status`.
    #[serde(default = "default_control_socket")]
    pub socket: PathBuf,
}

/// The control socket used when the configuration names none.
pub fn default_control_socket() -> PathBuf {
    PathBuf::from("/run/meridian/control.sock")
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            socket: default_control_socket(),
        }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LoggingSection {
    /// Level.
    #[serde(default = "default_level")]
    pub level: LogLevel,
    /// text / json.
    #[serde(default)]
    pub format: LogFormat,
}

fn default_level() -> LogLevel {
    LogLevel::Info
}

impl Default for LoggingSection {
    fn default() -> Self {
        LoggingSection {
            level: LogLevel::Info,
            format: LogFormat::Text,
        }
    }
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogLevel {
    /// trace.
    Trace,
    /// debug.
    Debug,
    /// info.
    Info,
    /// warn.
    Warn,
    /// error.
    Error,
}

impl LogLevel {
    /// As a tracing filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Transport names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportName {
    /// UDP/IPv4.
    UdpIpv4,
    /// UDP/IPv6.
    UdpIpv6,
    /// IEEE 802.3.
    L2,
}

impl TransportName {
    /// The data plane's transport.
    pub fn transport(self) -> Transport {
        match self {
            TransportName::UdpIpv4 => Transport::UdpIpv4,
            TransportName::UdpIpv6 => Transport::UdpIpv6,
            TransportName::L2 => Transport::L2,
        }
    }

    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportName::UdpIpv4 => "udp-ipv4",
            TransportName::UdpIpv6 => "udp-ipv6",
            TransportName::L2 => "l2",
        }
    }
}

/// Delay mechanism names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DelayMechanismName {
    /// E2E.
    E2e,
    /// P2P.
    P2p,
    /// None.
    None,
}

/// `[[port]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PortSection {
    /// Network interface.
    pub interface: String,
    /// Transport.
    #[serde(default = "default_transport")]
    pub transport: TransportName,
    /// Delay mechanism override.
    #[serde(default)]
    pub delay_mechanism: Option<DelayMechanismName>,
    /// Serve multicast.
    #[serde(default)]
    pub multicast: Option<bool>,
    /// Serve unicast negotiation.
    #[serde(default)]
    pub unicast: Option<bool>,
    /// One-step Sync.
    #[serde(default)]
    pub one_step: bool,
    /// logAnnounceInterval override.
    #[serde(default)]
    pub log_announce_interval: Option<i8>,
    /// logSyncInterval override.
    #[serde(default)]
    pub log_sync_interval: Option<i8>,
    /// logMinDelayReqInterval override.
    #[serde(default)]
    pub log_min_delay_req_interval: Option<i8>,
    /// logMinPdelayReqInterval override.
    #[serde(default)]
    pub log_min_pdelay_req_interval: Option<i8>,
    /// announceReceiptTimeout override.
    #[serde(default)]
    pub announce_receipt_timeout: Option<u8>,
    /// DSCP.
    #[serde(default = "default_dscp")]
    pub dscp: u8,
    /// 802.1Q VLAN id (L2 only).
    #[serde(default)]
    pub vlan: Option<u16>,
    /// 802.1Q priority.
    #[serde(default)]
    pub vlan_priority: u8,
    /// IPv6 multicast scope.
    #[serde(default = "default_scope")]
    pub ipv6_scope: u8,
    /// Link asymmetry, ns.
    #[serde(default)]
    pub delay_asymmetry_ns: i64,
    /// Ingress latency, ns.
    #[serde(default)]
    pub ingress_latency_ns: i64,
    /// Egress latency, ns.
    #[serde(default)]
    pub egress_latency_ns: i64,
    /// masterOnly.
    #[serde(default)]
    pub master_only: bool,
    /// localPriority.
    #[serde(default = "default_priority")]
    pub local_priority: u8,
    /// Unicast limits.
    #[serde(default)]
    pub unicast_limits: UnicastLimitsSection,
    /// DPDK device of this port (backend "dpdk"): a vdev spec such as
    /// `net_af_packet0,iface=eth0` or a PCI address such as `0000:01:00.0`.
    #[serde(default)]
    pub dpdk_device: Option<String>,
    /// The port's IP address (backend "dpdk" with a UDP transport: the NIC has no kernel
    /// stack to ask).
    #[serde(default)]
    pub address: Option<std::net::IpAddr>,
}

fn default_transport() -> TransportName {
    TransportName::UdpIpv4
}
fn default_dscp() -> u8 {
    46
}
fn default_scope() -> u8 {
    2
}

/// `[port.unicast-limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct UnicastLimitsSection {
    /// Most slaves.
    pub max_slaves: u32,
    /// Longest grant, s.
    pub max_duration: u32,
    /// Shortest grant, s.
    pub min_duration: u32,
    /// Fastest Announce.
    pub min_log_announce_interval: i8,
    /// Fastest Sync.
    pub min_log_sync_interval: i8,
    /// Fastest Delay_Resp.
    pub min_log_delay_resp_interval: i8,
    /// Most messages/s over all grants.
    pub max_total_rate: u32,
}

impl Default for UnicastLimitsSection {
    fn default() -> Self {
        let d = UnicastLimits::default();
        UnicastLimitsSection {
            max_slaves: d.max_slaves,
            max_duration: d.max_duration,
            min_duration: d.min_duration,
            min_log_announce_interval: d.min_log_announce_interval,
            min_log_sync_interval: d.min_log_sync_interval,
            min_log_delay_resp_interval: d.min_log_delay_resp_interval,
            max_total_rate: d.max_total_rate,
        }
    }
}

/// What the data plane learned about each port, needed to build the engine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFacts {
    /// The interface's MAC.
    pub mac: [u8; 6],
    /// Its protocol address (IPv4, IPv6 or MAC octets).
    pub protocol_address: Vec<u8>,
}

impl Config {
    /// Parses a file's text. Errors name the key and line.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            // toml points an unknown key's error at its table; find the key's own line.
            let unknown_line = message
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                .and_then(|key| {
                    text.lines().position(|l| {
                        l.trim_start()
                            .strip_prefix(key)
                            .is_some_and(|r| r.trim_start().starts_with('='))
                    })
                })
                .map(|n| n + 1);
            let line = unknown_line.or_else(|| {
                e.span().map(|s| {
                    text.as_bytes()[..s.start.min(text.len())]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count()
                        + 1
                })
            });
            ConfigError {
                key: String::new(),
                line,
                problem: message,
            }
        })?;
        cfg.check(Some(text))?;
        Ok(cfg)
    }

    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            key: path.display().to_string(),
            line: None,
            problem: e.to_string(),
        })?;
        Config::parse(&text)
    }

    /// Semantic checks. `text` (the file) is used to find the line of the offending key.
    pub fn check(&self, text: Option<&str>) -> Result<(), ConfigError> {
        let err = |port: Option<usize>, key: &str, problem: String| ConfigError {
            key: match port {
                Some(i) => format!("port[{i}].{key}"),
                None => format!("clock.{key}"),
            },
            line: text.and_then(|t| locate(t, port, key)),
            problem,
        };
        if self.ports.is_empty() {
            return Err(ConfigError {
                key: "port".into(),
                line: None,
                problem: "at least one [[port]] is required".into(),
            });
        }
        if self.clock.identity != "auto" {
            parse_identity(&self.clock.identity)
                .map_err(|p| err(None, "identity", p.to_string()))?;
        }
        if let QualitySetting::Keyword(k) = &self.clock.quality {
            if k != "auto" {
                return Err(err(
                    None,
                    "quality",
                    format!("\"{k}\": expected \"auto\" or a table"),
                ));
            }
        }
        if let UtcOffsetSetting::Keyword(k) = &self.clock.utc_offset {
            if k != "auto" {
                return Err(err(
                    None,
                    "utc-offset",
                    format!("\"{k}\": expected \"auto\" or seconds"),
                ));
            }
        }
        if let Some(d) = self.clock.domain {
            if d > 239 {
                return Err(err(
                    None,
                    "domain",
                    format!("{d}: domains 240-255 are reserved"),
                ));
            }
        }
        if self.clock.user_description.len() > 128 {
            return Err(err(
                None,
                "user-description",
                "longer than 128 bytes".into(),
            ));
        }
        if self.clock.tx_timestamp_timeout_ms == 0 || self.clock.tx_timestamp_timeout_ms > 10_000 {
            return Err(err(
                None,
                "tx-timestamp-timeout-ms",
                "must be 1..=10000".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.ports.iter().enumerate() {
            if p.interface.is_empty() || p.interface.len() > 15 {
                return Err(err(
                    Some(i),
                    "interface",
                    format!("\"{}\": not an interface name", p.interface),
                ));
            }
            if !seen.insert(&p.interface) {
                return Err(err(
                    Some(i),
                    "interface",
                    format!("\"{}\" is used by two ports", p.interface),
                ));
            }
            if p.dscp > 63 {
                return Err(err(Some(i), "dscp", format!("{}: must be 0..=63", p.dscp)));
            }
            if let Some(v) = p.vlan {
                if p.transport != TransportName::L2 {
                    return Err(err(
                        Some(i),
                        "vlan",
                        "only for transport = \"l2\"; for UDP use a VLAN interface".into(),
                    ));
                }
                if v == 0 || v > 4094 {
                    return Err(err(Some(i), "vlan", format!("{v}: must be 1..=4094")));
                }
            }
            if p.vlan_priority > 7 {
                return Err(err(
                    Some(i),
                    "vlan-priority",
                    format!("{}: must be 0..=7", p.vlan_priority),
                ));
            }
            if p.ipv6_scope == 0 || p.ipv6_scope > 15 {
                return Err(err(
                    Some(i),
                    "ipv6-scope",
                    format!("{}: must be 1..=15", p.ipv6_scope),
                ));
            }
        }
        if self.dataplane.backend == BackendName::Dpdk {
            if !cfg!(feature = "dpdk") {
                return Err(ConfigError {
                    key: "dataplane.backend".into(),
                    line: text.and_then(|t| locate(t, None, "backend")),
                    problem: "\"dpdk\": this build has no DPDK data plane (build with \
                              `--features dpdk`); use \"sockets\""
                        .into(),
                });
            }
            let d = &self.dataplane;
            let dp_err = |key: &str, problem: String| ConfigError {
                key: format!("dataplane.{key}"),
                line: text.and_then(|t| locate(t, None, key)),
                problem,
            };
            let ids: Vec<usize> = core_affinity::get_core_ids()
                .unwrap_or_default()
                .iter()
                .map(|c| c.id)
                .collect();
            for (key, core) in [
                ("lcore", d.lcore),
                ("rx-lcore", d.rx_lcore),
                ("tx-lcore", d.tx_lcore),
            ] {
                match core {
                    Some(c) if !ids.is_empty() && !ids.contains(&c) => {
                        return Err(dp_err(
                            key,
                            format!("{c}: not a core this process may run on ({ids:?})"),
                        ));
                    }
                    _ => {}
                }
            }
            if d.idle_sleep_us > 100_000 {
                return Err(dp_err(
                    "idle-sleep-us",
                    format!("{}: at most 100000 (100 ms)", d.idle_sleep_us),
                ));
            }
            if !(64..=1 << 20).contains(&d.ring_size) {
                return Err(dp_err(
                    "ring-size",
                    format!("{}: must be 64..=1048576", d.ring_size),
                ));
            }
            for (key, n) in [
                ("rx-descriptors", d.rx_descriptors),
                ("tx-descriptors", d.tx_descriptors),
            ] {
                if n < 32 {
                    return Err(dp_err(key, format!("{n}: must be at least 32")));
                }
            }
            // The pool must cover both descriptor rings, the pipeline rings when full, and
            // the frames in hand.
            let rings = if d.pipelined() { 2 * d.ring_size } else { 0 };
            let need =
                u64::from(d.rx_descriptors) + u64::from(d.tx_descriptors) + rings as u64 + 128;
            if u64::from(d.mbufs) < need {
                return Err(dp_err(
                    "mbufs",
                    format!(
                        "{}: needs at least {need} (rx-descriptors + tx-descriptors{} + 128)",
                        d.mbufs,
                        if rings > 0 { " + 2 × ring-size" } else { "" }
                    ),
                ));
            }
            for (i, p) in self.ports.iter().enumerate() {
                if p.dpdk_device.is_none() {
                    return Err(err(
                        Some(i),
                        "dpdk-device",
                        "required with backend = \"dpdk\"".into(),
                    ));
                }
                match (p.transport, p.address) {
                    (TransportName::UdpIpv4, Some(std::net::IpAddr::V4(_)))
                    | (TransportName::UdpIpv6, Some(std::net::IpAddr::V6(_)))
                    | (TransportName::L2, _) => {}
                    _ => {
                        return Err(err(
                            Some(i),
                            "address",
                            "backend = \"dpdk\" with a UDP transport needs the port's IP address of that family".into(),
                        ))
                    }
                }
            }
        } else {
            for (i, p) in self.ports.iter().enumerate() {
                if p.dpdk_device.is_some() {
                    return Err(err(
                        Some(i),
                        "dpdk-device",
                        "only with [dataplane] backend = \"dpdk\"".into(),
                    ));
                }
            }
        }
        // The engine's own checks, with a representative MAC.
        let ec = self
            .engine_config(&self.placeholder_facts())
            .map_err(|e| ConfigError { line: None, ..e })?;
        ec.check().map_err(|e| {
            // The engine names fields like `ports[0].log_sync_interval`.
            let (port, key) = engine_field_to_key(&e.field);
            ConfigError {
                key: match port {
                    Some(i) => format!("port[{i}].{key}"),
                    None => key.clone(),
                },
                line: text.and_then(|t| locate(t, port, &key)),
                problem: e.problem.to_string(),
            }
        })
    }

    /// Stand-ins for port facts before the ports are open, for questions that do not depend
    /// on MACs or addresses.
    fn placeholder_facts(&self) -> Vec<PortFacts> {
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
        for ((p, s), f) in ports.iter_mut().zip(&self.ports).zip(facts) {
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
            p.local_priority = s.local_priority;
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

/// Maps the engine's `ports[0].log_sync_interval` to (Some(0), "log-sync-interval").
fn engine_field_to_key(field: &str) -> (Option<usize>, String) {
    let (port, rest) = match field.strip_prefix("ports[") {
        Some(r) => {
            let (n, rest) = r.split_once("].").unwrap_or(("", r));
            (n.parse().ok(), rest)
        }
        None => (None, field.strip_prefix("clock.").unwrap_or(field)),
    };
    (port, rest.replace('_', "-").replace("unicast-limits.", ""))
}

/// Finds the 1-based line where `key` is set, in `[clock]` (port None) or in the n-th
/// `[[port]]` table (including its `[port.unicast-limits]`). A port key that is missing (a
/// required one) is reported at its `[[port]]` header.
fn locate(text: &str, port: Option<usize>, key: &str) -> Option<usize> {
    let mut ports_seen = 0usize;
    let mut in_scope = false;
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_scope = if t.starts_with("[[port]]") {
                ports_seen += 1;
                port == Some(ports_seen - 1)
            } else if t.starts_with("[port.") {
                port == Some(ports_seen.saturating_sub(1)) && ports_seen > 0
            } else {
                port.is_none()
            };
            if in_scope && header.is_none() && port.is_some() {
                header = Some(n + 1);
            }
            continue;
        }
        if in_scope {
            if let Some((k, _)) = t.split_once('=') {
                if k.trim() == key {
                    return Some(n + 1);
                }
            }
        }
    }
    header
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

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e =
            Config::parse("[clock]\npriority1 = 1\nprioirty2 = 3\n[[port]]\ninterface = \"e\"\n")
                .unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.problem.contains("prioirty2"), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\nmulticat = true\n").unwrap_err();
        assert!(
            e.to_string().contains("multicat") && e.line == Some(3),
            "{e}"
        );
    }

    #[test]
    fn wrong_values_name_the_key_and_line() {
        let e = Config::parse(
            "[[port]]\ninterface = \"e\"\n\n[[port]]\ninterface = \"f\"\ndscp = 99\n",
        )
        .unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("port[1].dscp", Some(6)), "{e}");
        let e =
            Config::parse("[[port]]\ninterface = \"e\"\nlog-sync-interval = -12\n").unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("port[0].log-sync-interval", Some(3)),
            "{e}"
        );
        let e = Config::parse("[clock]\nidentity = \"xyz\"\n[[port]]\ninterface = \"e\"\n")
            .unwrap_err();
        assert_eq!((e.key.as_str(), e.line), ("clock.identity", Some(2)), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\ntransport = \"udp\"\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = Config::parse("[[port]]\ninterface = \"e\"\nvlan = 5\n").unwrap_err();
        assert_eq!(e.key, "port[0].vlan", "{e}");
        assert!(Config::parse("").unwrap_err().problem.contains("[[port]]"));
    }

    #[cfg(feature = "dpdk")]
    #[test]
    fn dpdk_pipeline_keys_are_checked() {
        let base = "[[port]]\ninterface = \"e\"\ntransport = \"l2\"\ndpdk-device = \"net_null0\"\n";
        let with = |dp: &str| format!("[dataplane]\nbackend = \"dpdk\"\n{dp}\n{base}");
        let c = Config::parse(&with("lcore = 0")).unwrap();
        assert!(!c.dataplane.pipelined());
        assert_eq!(c.dataplane.lcores(), (0, 0, 0));
        let c = Config::parse(&with("lcore = 0\ntx-lcore = 0\nrx-lcore = 0")).unwrap();
        assert!(!c.dataplane.pipelined());
        let e = Config::parse(&with("ring-size = 8")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("dataplane.ring-size", Some(3)),
            "{e}"
        );
        let e = Config::parse(&with("mbufs = 1000")).unwrap_err();
        assert_eq!(e.key, "dataplane.mbufs", "{e}");
        assert!(e.problem.contains("2176"), "{e}");
        let e = Config::parse(&with("rx-descriptors = 4")).unwrap_err();
        assert_eq!(e.key, "dataplane.rx-descriptors", "{e}");
        let e = Config::parse(&with("rx-lcore = 4096")).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.line),
            ("dataplane.rx-lcore", Some(3)),
            "{e}"
        );
        // A pipeline needs room for both rings in the pool.
        let e = Config::parse(&with(
            "rx-lcore = 0\nlcore = 0\ntx-lcore = 0\nring-size = 8192",
        ));
        assert!(e.is_ok(), "no pipeline, rings unused");
        if core_affinity::get_core_ids().is_some_and(|c| c.len() > 1) {
            let e = Config::parse(&with("lcore = 0\nrx-lcore = 1\nring-size = 8192")).unwrap_err();
            assert_eq!(e.key, "dataplane.mbufs", "{e}");
            assert!(e.problem.contains("2 × ring-size"), "{e}");
        }
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

    /// Every shipped example configuration parses and checks.
    #[test]
    fn shipped_examples_check() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut n = 0;
        let mut files = vec![dir.join("meridian.toml")];
        for e in std::fs::read_dir(dir.join("profiles")).unwrap() {
            files.push(e.unwrap().path());
        }
        for f in files {
            Config::load(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            n += 1;
        }
        assert!(n >= 7, "main example + one per profile, found {n}");
    }
}
