//! The schema of the file: one serde type per section, kebab-case keys, unknown keys
//! rejected (`deny_unknown_fields`), and a named function for every default.
//!
//! The types only describe what the file may say; whether the values make sense together is
//! `check`'s business, and what the engine makes of them is `engine`'s.

use std::path::PathBuf;

use meridian_proto::engine::config::UnicastLimits;
use meridian_proto::engine::Profile;
use meridian_proto::wire::TimeSource;
use serde::Deserialize;

use crate::dataplane::{TimestampingMode, Transport};

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
    /// Messages per second one source may send.
    #[serde(default = "default_requests_per_source")]
    pub max_requests_per_source_per_s: u32,
    /// Holdover: traceable while the error bound is within this, µs.
    #[serde(default = "default_holdover_spec")]
    pub holdover_spec_us: u64,
    /// Holdover: seconds before free-running.
    #[serde(default = "default_holdover_budget")]
    pub holdover_budget_s: u64,
    /// Holdover: the frequency uncertainty assumed when the reference goes, ppb.
    #[serde(default = "default_holdover_frequency")]
    pub holdover_frequency_ppb: f64,
    /// Holdover: frequency drift, ppb per second.
    #[serde(default)]
    pub holdover_aging_ppb_per_s: f64,
    /// What the clock is disciplined to (see [`ReferenceSetting::parse`]).
    #[serde(default = "default_reference")]
    pub reference: String,
    /// The servo against a reference.
    #[serde(default)]
    pub servo: ServoName,
}

/// `[clock] servo`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServoName {
    /// Linear regression over the recent samples (linuxptp's `linreg`): measurably better
    /// at one sample a second (`bench servo_sim`).
    #[default]
    Linreg,
    /// Proportional-integral (linuxptp's `pi`).
    Pi,
}

/// `[clock] reference`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferenceSetting {
    /// `"system"`: CLOCK_REALTIME as chrony/NTP keeps it.
    System,
    /// `"none"`: free-running.
    None,
    /// `"phc:/dev/ptpN"`: another PHC.
    Phc(i32),
    /// `"gnss:/dev/ttyS0[,pps:/dev/pps0][,baud:9600][,nmea-delay-ms:0]"`.
    Gnss(crate::clock::reference::GnssSetup),
}

impl ReferenceSetting {
    /// Parses `s`; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<ReferenceSetting, String> {
        let phc = |dev: &str| -> Result<i32, String> {
            dev.strip_prefix("/dev/ptp")
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| format!("\"{dev}\": expected /dev/ptpN"))
        };
        match s {
            "system" => return Ok(ReferenceSetting::System),
            "none" => return Ok(ReferenceSetting::None),
            _ => {}
        }
        if let Some(dev) = s.strip_prefix("phc:") {
            return phc(dev).map(ReferenceSetting::Phc);
        }
        let Some(rest) = s.strip_prefix("gnss:") else {
            return Err(format!(
                "\"{s}\": expected \"system\", \"none\", \"phc:/dev/ptpN\" or \
                 \"gnss:/dev/TTY[,pps:/dev/ppsN][,baud:N][,nmea-delay-ms:N]\""
            ));
        };
        let mut parts = rest.split(',');
        let serial = parts.next().unwrap_or_default();
        if !serial.starts_with('/') {
            return Err(format!(
                "\"{serial}\": the receiver's serial device, a path"
            ));
        }
        let mut g = crate::clock::reference::GnssSetup {
            serial: PathBuf::from(serial),
            baud: 9_600,
            pps: None,
            nmea_delay_ns: 0,
        };
        for p in parts {
            let (k, v) = p.split_once(':').unwrap_or((p, ""));
            match k {
                "pps" if v.starts_with('/') => g.pps = Some(PathBuf::from(v)),
                "baud" => {
                    g.baud = v
                        .parse()
                        .ok()
                        .filter(|b| crate::sys::serial::baud_supported(*b))
                        .ok_or_else(|| format!("baud:{v}: not a serial speed"))?
                }
                "nmea-delay-ms" => {
                    let ms: u64 = v
                        .parse()
                        .ok()
                        .filter(|ms| *ms < 1_000)
                        .ok_or_else(|| format!("nmea-delay-ms:{v}: must be 0..=999"))?;
                    g.nmea_delay_ns = ms * 1_000_000;
                }
                _ => {
                    return Err(format!(
                        "\"{p}\": expected pps:/dev/ppsN, baud:N or nmea-delay-ms:N"
                    ))
                }
            }
        }
        Ok(ReferenceSetting::Gnss(g))
    }

    /// The device files it needs.
    pub fn devices(&self) -> Vec<PathBuf> {
        match self {
            ReferenceSetting::System | ReferenceSetting::None => Vec::new(),
            ReferenceSetting::Phc(i) => vec![PathBuf::from(format!("/dev/ptp{i}"))],
            ReferenceSetting::Gnss(g) => std::iter::once(g.serial.clone())
                .chain(g.pps.clone())
                .collect(),
        }
    }
}

fn default_reference() -> String {
    "system".into()
}

fn default_holdover_spec() -> u64 {
    1_000
}
fn default_holdover_budget() -> u64 {
    3_600
}
fn default_holdover_frequency() -> f64 {
    1_000.0
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
fn default_v1_subdomains() -> Vec<String> {
    vec!["_DFLT".into()]
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
fn default_requests_per_source() -> u32 {
    512
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
            max_requests_per_source_per_s: default_requests_per_source(),
            holdover_spec_us: default_holdover_spec(),
            holdover_budget_s: default_holdover_budget(),
            holdover_frequency_ppb: default_holdover_frequency(),
            holdover_aging_ppb_per_s: 0.0,
            reference: default_reference(),
            servo: ServoName::default(),
        }
    }
}

impl ClockSection {
    /// The holdover settings for the system clock as reference (every class 248: it is not
    /// a primary reference of ours).
    pub fn holdover(&self) -> meridian_proto::servo::holdover::HoldoverConfig {
        meridian_proto::servo::holdover::HoldoverConfig {
            spec_ns: self.holdover_spec_us.saturating_mul(1_000),
            budget_s: self.holdover_budget_s,
            frequency_floor_ppb: self.holdover_frequency_ppb,
            aging_ppb_per_s: self.holdover_aging_ppb_per_s,
            ..crate::clock::SystemClock::HOLDOVER
        }
    }

    /// The holdover settings for a primary reference (GNSS, a GNSS card's PHC): the
    /// profile's classes (6, 7, 52 or G.8275's 140, 248) with the holdover keys.
    pub fn primary_holdover(&self) -> meridian_proto::servo::holdover::HoldoverConfig {
        use meridian_proto::servo::holdover::HoldoverConfig;
        let classes = if self.profile == ProfileName::G8275_2 {
            HoldoverConfig::telecom()
        } else {
            HoldoverConfig::default_profile()
        };
        HoldoverConfig {
            locked_class: classes.locked_class,
            holdover_class: classes.holdover_class,
            degraded_class: classes.degraded_class,
            free_class: classes.free_class,
            ..self.holdover()
        }
    }

    /// `reference`, parsed (checked by `check-config`).
    pub fn reference_setting(&self) -> Result<ReferenceSetting, String> {
        ReferenceSetting::parse(&self.reference)
    }
}

/// `[timestamping]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TimestampingSection {
    /// auto / hardware / software.
    #[serde(default)]
    pub mode: StampModeName,
    /// Socket backend: kernel TX stamps for replies (Delay_Resp, Pdelay_Resp) too, for their
    /// residence times.
    #[serde(default = "yes")]
    pub reply_stamps: bool,
}

fn yes() -> bool {
    true
}

impl Default for TimestampingSection {
    fn default() -> Self {
        TimestampingSection {
            mode: StampModeName::default(),
            reply_stamps: true,
        }
    }
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
    /// Socket backend, UDP: the kernel's queue for datagrams waiting on an unresolved
    /// neighbour, per neighbour, set on each port's interface (`neigh/<iface>/
    /// unres_qlen_bytes`). 0: leave the kernel's (212 992 B).
    #[serde(default = "default_unresolved_queue_bytes")]
    pub unresolved_queue_bytes: u32,
}

fn default_unresolved_queue_bytes() -> u32 {
    2048
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
            unresolved_queue_bytes: default_unresolved_queue_bytes(),
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
    /// The socket's permission bits (octal text, e.g. "0660").
    #[serde(default = "default_socket_mode")]
    pub socket_mode: String,
}

fn default_socket_mode() -> String {
    "0660".into()
}

impl ControlSection {
    /// `socket-mode` as permission bits (checked by `check-config`).
    pub fn mode(&self) -> Result<u32, String> {
        u32::from_str_radix(self.socket_mode.trim_start_matches("0o"), 8)
            .ok()
            .filter(|m| *m <= 0o777)
            .ok_or_else(|| {
                format!(
                    "\"{}\": octal permission bits, e.g. \"0660\"",
                    self.socket_mode
                )
            })
    }
}

/// The control socket used when the configuration names none.
pub fn default_control_socket() -> PathBuf {
    PathBuf::from("/run/meridian/control.sock")
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            socket: default_control_socket(),
            socket_mode: default_socket_mode(),
        }
    }
}

/// `[security]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SecuritySection {
    /// After opening its ports, run as this user (empty: stay as started).
    #[serde(default)]
    pub user: String,
    /// The security association database (linuxptp's `sa_file` format) that ports with
    /// `auth-spp` sign and check with. Must be readable by its owner only.
    #[serde(default)]
    pub sa_file: Option<std::path::PathBuf>,
}

/// `[smpte]`: the SMPTE ST 2059-2 synchronization metadata announced with the
/// `smpte-2059-2` profile (every field of the TLV but masterLockingStatus, which follows the
/// clock).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SmpteSection {
    /// defaultSystemFrameRate as `"numerator/denominator"` (`"30000/1001"`, `"25/1"`).
    #[serde(default = "default_frame_rate")]
    pub frame_rate: String,
    /// timeAddressFlags bit 0: drop-frame time address.
    #[serde(default)]
    pub drop_frame: bool,
    /// timeAddressFlags bit 1: color-frame identification.
    #[serde(default)]
    pub color_frame: bool,
    /// currentLocalOffset: local time − TAI-based UTC, seconds (e.g. 3600 for CET).
    #[serde(default)]
    pub local_offset_s: i32,
    /// daylightSaving bit 0: daylight saving time is in effect now.
    #[serde(default)]
    pub daylight_saving: bool,
    /// daylightSaving bit 1: it will be in effect after the next jump.
    #[serde(default)]
    pub daylight_saving_next: bool,
    /// daylightSaving bit 2: it was in effect at the previous jam.
    #[serde(default)]
    pub daylight_saving_previous_jam: bool,
    /// jumpSeconds: the size of the next local-time discontinuity, seconds.
    #[serde(default)]
    pub jump_s: i32,
    /// timeOfNextJump: when it happens, seconds on the PTP timescale (0: none planned).
    #[serde(default)]
    pub time_of_next_jump: u64,
    /// leapSecondJump bit 0: the next jump is a leap second.
    #[serde(default)]
    pub next_jump_is_leap_second: bool,
    /// timeOfNextJam: when slaves should next re-jam their time code, PTP seconds (0: none).
    #[serde(default)]
    pub time_of_next_jam: u64,
    /// timeOfPreviousJam, PTP seconds.
    #[serde(default)]
    pub time_of_previous_jam: u64,
    /// previousJamLocalOffset, seconds.
    #[serde(default)]
    pub previous_jam_local_offset_s: i32,
}

fn default_frame_rate() -> String {
    "30000/1001".into()
}

impl SmpteSection {
    /// The frame rate as (numerator, denominator), or why not.
    pub fn frame_rate(&self) -> Result<(u32, u32), String> {
        let bad = || {
            format!(
                "{:?}: expected \"numerator/denominator\" between 1 and 1000 frames/s, \
                 e.g. \"30000/1001\" or \"25/1\"",
                self.frame_rate
            )
        };
        let (n, d) = self.frame_rate.split_once('/').ok_or_else(bad)?;
        let (n, d): (u32, u32) = (
            n.trim().parse().map_err(|_| bad())?,
            d.trim().parse().map_err(|_| bad())?,
        );
        if d == 0 || n < d || u64::from(n) > 1000 * u64::from(d) {
            return Err(bad());
        }
        Ok((n, d))
    }
}

/// `[metrics]`: the Prometheus exporter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricsSection {
    /// Address `/metrics` is served on; empty: no exporter.
    #[serde(default = "default_metrics_listen")]
    pub listen: String,
    /// Series per unicast slave (grants, messages sent) in the status report and `/metrics`.
    #[serde(default)]
    pub per_slave: bool,
    /// At most this many slaves per port get them.
    #[serde(default = "default_per_slave_limit")]
    pub per_slave_limit: u32,
}

/// Slaves per port with their own series unless configured.
pub const DEFAULT_PER_SLAVE_LIMIT: u32 = 1_000;
/// The largest `per-slave-limit`.
pub const MAX_PER_SLAVE_LIMIT: u32 = 20_000;

fn default_per_slave_limit() -> u32 {
    DEFAULT_PER_SLAVE_LIMIT
}

/// Where `/metrics` is served unless configured.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9473";

fn default_metrics_listen() -> String {
    DEFAULT_METRICS_LISTEN.into()
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            listen: default_metrics_listen(),
            per_slave: false,
            per_slave_limit: DEFAULT_PER_SLAVE_LIMIT,
        }
    }
}

impl MetricsSection {
    /// How many slaves per port get their own series (0: none).
    pub fn slaves_listed(&self) -> usize {
        if self.per_slave {
            self.per_slave_limit as usize
        } else {
            0
        }
    }

    /// The address to serve on (`None`: off), or why `listen` is not one.
    pub fn listen_addr(&self) -> Result<Option<std::net::SocketAddr>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        l.parse().map(Some).map_err(|_| {
            format!("{l:?} is not an address and port (e.g. \"127.0.0.1:9473\" or \"[::1]:9473\"; \"\" turns the exporter off)")
        })
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
    /// Answer unicast Delay_Req without a grant (linuxptp hybrid_e2e slaves).
    #[serde(default)]
    pub hybrid_e2e: bool,
    /// Sign every message sent with this security association's `auth-key-id` key
    /// (AUTHENTICATION TLV, 1588-2019 16.14) and check every AUTHENTICATION TLV received.
    #[serde(default)]
    pub auth_spp: Option<u8>,
    /// The key (of `auth-spp`'s association) messages are signed with.
    #[serde(default)]
    pub auth_key_id: Option<u32>,
    /// Refuse (and count) every received message without a valid AUTHENTICATION TLV.
    #[serde(default)]
    pub require_auth: bool,
    /// Also serve PTPv1 (IEEE 1588-2002) on this port (UDP/IPv4), one v1 master per
    /// subdomain of `ptpv1-subdomains`.
    #[serde(default)]
    pub ptpv1: bool,
    /// The v1 subdomains served: `_DFLT` (224.0.1.129), `_ALT1`–`_ALT3` (.130–.132), other
    /// names (1–16 octets) on an alternate group by their CRC-32.
    #[serde(default = "default_v1_subdomains")]
    pub ptpv1_subdomains: Vec<String>,
    /// The v1 Sync interval, log2 seconds (0: 1 s; 1588-2002 knows 0, 1, 3, 4, 6; v1
    /// slaves need two Syncs within 8 s, so at most 1 here; faster where they accept it).
    #[serde(default)]
    pub ptpv1_log_sync_interval: i8,
    /// Who may negotiate unicast: address prefixes (empty: anyone).
    #[serde(default)]
    pub unicast_allowed_sources: Vec<String>,
    /// … and clock identities (empty: any).
    #[serde(default)]
    pub unicast_allowed_identities: Vec<String>,
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
