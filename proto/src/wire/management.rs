//! Management TLV data fields (IEEE 1588-2019 clause 15.5).
//!
//! A MANAGEMENT TLV (15.5.2) carries a `managementId` and a `dataField` whose layout the ID
//! selects (15.5.3). [`ManagementData`] is that `dataField` as a plain value: typed for the IDs
//! a grandmaster answers, kept verbatim ([`ManagementData::Raw`]) for every other ID.
//!
//! The encoding is byte-compatible with linuxptp (`ptp4l` responses, `pmc` requests):
//!
//! * single-value IDs (PRIORITY1, DOMAIN, …) are two octets: the value and a reserved zero;
//! * variable-length fields (CLOCK_DESCRIPTION, USER_DESCRIPTION) are followed by one zero pad
//!   octet when their length is odd, so the TLV length stays even (clause 14.1);
//! * `pmc` sends GET requests with a zero-filled `dataField` of the response's size unless run
//!   with `-z`; those bytes parse as an all-zero typed value, not as [`ManagementData::Empty`].
//!
//! Offsets in errors are relative to the start of the `dataField` (the octet after
//! `managementId`).

use core::fmt;

use super::types::{
    ClockAccuracy, ClockIdentity, ClockQuality, PortIdentity, PtpText, TimeInterval, TimeSource,
    Timestamp,
};
use super::{be, need, ErrorKind, Result, WireError};

/// Field offsets within each fixed-layout `dataField` (15.5.3).
pub mod field {
    /// DEFAULT_DATA_SET (15.5.3), 20 octets.
    pub mod default_data_set {
        /// Flags: bit 0 TSC (`twoStepFlag`), bit 1 SO (`slaveOnly`).
        pub const FLAGS: usize = 0;
        /// Reserved octet.
        pub const RESERVED_1: usize = 1;
        /// `numberPorts`, u16.
        pub const NUMBER_PORTS: usize = 2;
        /// `priority1`.
        pub const PRIORITY1: usize = 4;
        /// `clockQuality`, four octets.
        pub const CLOCK_QUALITY: usize = 5;
        /// `priority2`.
        pub const PRIORITY2: usize = 9;
        /// `clockIdentity`, eight octets.
        pub const CLOCK_IDENTITY: usize = 10;
        /// `domainNumber`.
        pub const DOMAIN_NUMBER: usize = 18;
        /// Reserved octet.
        pub const RESERVED_2: usize = 19;
        /// Total length.
        pub const LEN: usize = 20;
    }

    /// CURRENT_DATA_SET (15.5.3), 18 octets.
    pub mod current_data_set {
        /// `stepsRemoved`, u16.
        pub const STEPS_REMOVED: usize = 0;
        /// `offsetFromMaster`, TimeInterval.
        pub const OFFSET_FROM_MASTER: usize = 2;
        /// `meanPathDelay`, TimeInterval.
        pub const MEAN_PATH_DELAY: usize = 10;
        /// Total length.
        pub const LEN: usize = 18;
    }

    /// PARENT_DATA_SET (15.5.3), 32 octets.
    pub mod parent_data_set {
        /// `parentPortIdentity`, ten octets.
        pub const PARENT_PORT_IDENTITY: usize = 0;
        /// Flags: bit 0 PS (`parentStats`).
        pub const FLAGS: usize = 10;
        /// Reserved octet.
        pub const RESERVED: usize = 11;
        /// `observedParentOffsetScaledLogVariance`, u16.
        pub const OBSERVED_PARENT_OFFSET_SCALED_LOG_VARIANCE: usize = 12;
        /// `observedParentClockPhaseChangeRate`, i32.
        pub const OBSERVED_PARENT_CLOCK_PHASE_CHANGE_RATE: usize = 14;
        /// `grandmasterPriority1`.
        pub const GRANDMASTER_PRIORITY1: usize = 18;
        /// `grandmasterClockQuality`, four octets.
        pub const GRANDMASTER_CLOCK_QUALITY: usize = 19;
        /// `grandmasterPriority2`.
        pub const GRANDMASTER_PRIORITY2: usize = 23;
        /// `grandmasterIdentity`, eight octets.
        pub const GRANDMASTER_IDENTITY: usize = 24;
        /// Total length.
        pub const LEN: usize = 32;
    }

    /// TIME_PROPERTIES_DATA_SET (15.5.3), 4 octets.
    pub mod time_properties_data_set {
        /// `currentUtcOffset`, i16.
        pub const CURRENT_UTC_OFFSET: usize = 0;
        /// Flags: bits 0..5 LI-61, LI-59, UTCV, PTP, TTRA, FTRA.
        pub const FLAGS: usize = 2;
        /// `timeSource`.
        pub const TIME_SOURCE: usize = 3;
        /// Total length.
        pub const LEN: usize = 4;
    }

    /// linuxptp TIME_STATUS_NP (`struct time_status_np`), 50 octets.
    pub mod time_status_np {
        /// `master_offset`, i64 ns.
        pub const MASTER_OFFSET: usize = 0;
        /// `ingress_time`, i64 ns.
        pub const INGRESS_TIME: usize = 8;
        /// `cumulativeScaledRateOffset`, i32.
        pub const CUMULATIVE_SCALED_RATE_OFFSET: usize = 16;
        /// `scaledLastGmPhaseChange`, i32.
        pub const SCALED_LAST_GM_PHASE_CHANGE: usize = 20;
        /// `gmTimeBaseIndicator`, u16.
        pub const GM_TIME_BASE_INDICATOR: usize = 24;
        /// `lastGmPhaseChange`, ScaledNs (12 octets).
        pub const LAST_GM_PHASE_CHANGE: usize = 26;
        /// `gmPresent`, i32.
        pub const GM_PRESENT: usize = 38;
        /// `gmIdentity`.
        pub const GM_IDENTITY: usize = 42;
        /// Total length.
        pub const LEN: usize = 50;
    }

    /// linuxptp GRANDMASTER_SETTINGS_NP (`struct grandmaster_settings_np`), 8 octets: a
    /// clockQuality, then the layout of TIME_PROPERTIES_DATA_SET.
    pub mod grandmaster_settings_np {
        /// `clockQuality`.
        pub const CLOCK_QUALITY: usize = 0;
        /// `utc_offset`, `time_flags`, `time_source`.
        pub const TIME_PROPERTIES: usize = 4;
        /// Total length.
        pub const LEN: usize = 8;
    }

    /// PORT_DATA_SET (15.5.3), 26 octets.
    pub mod port_data_set {
        /// `portIdentity`, ten octets.
        pub const PORT_IDENTITY: usize = 0;
        /// `portState`.
        pub const PORT_STATE: usize = 10;
        /// `logMinDelayReqInterval`, i8.
        pub const LOG_MIN_DELAY_REQ_INTERVAL: usize = 11;
        /// `peerMeanPathDelay`, TimeInterval.
        pub const PEER_MEAN_PATH_DELAY: usize = 12;
        /// `logAnnounceInterval`, i8.
        pub const LOG_ANNOUNCE_INTERVAL: usize = 20;
        /// `announceReceiptTimeout`.
        pub const ANNOUNCE_RECEIPT_TIMEOUT: usize = 21;
        /// `logSyncInterval`, i8.
        pub const LOG_SYNC_INTERVAL: usize = 22;
        /// `delayMechanism`.
        pub const DELAY_MECHANISM: usize = 23;
        /// `logMinPdelayReqInterval`, i8.
        pub const LOG_MIN_PDELAY_REQ_INTERVAL: usize = 24;
        /// `versionNumber`: minorVersionPTP (high nibble) | versionPTP (low nibble).
        pub const VERSION_NUMBER: usize = 25;
        /// Total length.
        pub const LEN: usize = 26;
    }

    /// Single-value IDs (PRIORITY1, DOMAIN, …; 15.5.3), 2 octets.
    pub mod single {
        /// The value (or flags octet).
        pub const VALUE: usize = 0;
        /// Reserved octet; TIMESCALE_PROPERTIES puts `timeSource` here.
        pub const SECOND: usize = 1;
        /// Total length.
        pub const LEN: usize = 2;
    }

    /// UTC_PROPERTIES (15.5.3), 4 octets.
    pub mod utc_properties {
        /// `currentUtcOffset`, i16.
        pub const CURRENT_UTC_OFFSET: usize = 0;
        /// Flags: bit 0 LI-61, bit 1 LI-59, bit 2 UTCV.
        pub const FLAGS: usize = 2;
        /// Reserved octet.
        pub const RESERVED: usize = 3;
        /// Total length.
        pub const LEN: usize = 4;
    }

    /// TIME (15.5.3), 10 octets.
    pub mod time {
        /// `currentTime`, Timestamp.
        pub const CURRENT_TIME: usize = 0;
        /// Total length.
        pub const LEN: usize = 10;
    }
}

/// Flag bits in the `dataField` flag octets, as linuxptp's `msg.h` / `ds.h` define them.
pub mod flag {
    /// DEFAULT_DATA_SET: TSC, `twoStepFlag` (bit 0).
    pub const TWO_STEP: u8 = 1 << 0;
    /// DEFAULT_DATA_SET: SO, `slaveOnly` (bit 1).
    pub const DDS_SLAVE_ONLY: u8 = 1 << 1;
    /// SLAVE_ONLY: SO (bit 0).
    pub const SLAVE_ONLY: u8 = 1 << 0;
    /// PARENT_DATA_SET: PS, `parentStats` (bit 0).
    pub const PARENT_STATS: u8 = 1 << 0;
    /// LI-61, `leap61` (bit 0).
    pub const LEAP61: u8 = 1 << 0;
    /// LI-59, `leap59` (bit 1).
    pub const LEAP59: u8 = 1 << 1;
    /// UTCV, `currentUtcOffsetValid` (bit 2).
    pub const UTC_OFFSET_VALID: u8 = 1 << 2;
    /// PTP, `ptpTimescale` (bit 3).
    pub const PTP_TIMESCALE: u8 = 1 << 3;
    /// TTRA, `timeTraceable` (bit 4).
    pub const TIME_TRACEABLE: u8 = 1 << 4;
    /// FTRA, `frequencyTraceable` (bit 5).
    pub const FREQUENCY_TRACEABLE: u8 = 1 << 5;
}

/// `managementId` (15.5.2, Table 59). A raw u16 so unknown IDs round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ManagementId(pub u16);

/// Defines the `ManagementId` constants and `name()` from one table.
macro_rules! management_ids {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        impl ManagementId {
            $(
                $(#[$doc])*
                pub const $name: Self = Self($value);
            )*

            /// The ID's name as linuxptp's `pmc` spells it (e.g. `"DEFAULT_DATA_SET"`), or
            /// `None` for an ID neither 1588-2019 Table 59 nor linuxptp defines.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

management_ids! {
    /// NULL_PTP_MANAGEMENT (15.5.3); `pmc` calls it NULL_MANAGEMENT. No dataField.
    NULL_MANAGEMENT = 0x0000,
    /// CLOCK_DESCRIPTION (15.5.3).
    CLOCK_DESCRIPTION = 0x0001,
    /// USER_DESCRIPTION (15.5.3).
    USER_DESCRIPTION = 0x0002,
    /// SAVE_IN_NON_VOLATILE_STORAGE (15.5.3). No dataField.
    SAVE_IN_NON_VOLATILE_STORAGE = 0x0003,
    /// RESET_NON_VOLATILE_STORAGE (15.5.3). No dataField.
    RESET_NON_VOLATILE_STORAGE = 0x0004,
    /// INITIALIZE (15.5.3).
    INITIALIZE = 0x0005,
    /// FAULT_LOG (15.5.3).
    FAULT_LOG = 0x0006,
    /// FAULT_LOG_RESET (15.5.3). No dataField.
    FAULT_LOG_RESET = 0x0007,
    /// DEFAULT_DATA_SET (15.5.3).
    DEFAULT_DATA_SET = 0x2000,
    /// CURRENT_DATA_SET (15.5.3).
    CURRENT_DATA_SET = 0x2001,
    /// PARENT_DATA_SET (15.5.3).
    PARENT_DATA_SET = 0x2002,
    /// TIME_PROPERTIES_DATA_SET (15.5.3).
    TIME_PROPERTIES_DATA_SET = 0x2003,
    /// PORT_DATA_SET (15.5.3).
    PORT_DATA_SET = 0x2004,
    /// PRIORITY1 (15.5.3).
    PRIORITY1 = 0x2005,
    /// PRIORITY2 (15.5.3).
    PRIORITY2 = 0x2006,
    /// DOMAIN (15.5.3).
    DOMAIN = 0x2007,
    /// SLAVE_ONLY (15.5.3).
    SLAVE_ONLY = 0x2008,
    /// LOG_ANNOUNCE_INTERVAL (15.5.3).
    LOG_ANNOUNCE_INTERVAL = 0x2009,
    /// ANNOUNCE_RECEIPT_TIMEOUT (15.5.3).
    ANNOUNCE_RECEIPT_TIMEOUT = 0x200A,
    /// LOG_SYNC_INTERVAL (15.5.3).
    LOG_SYNC_INTERVAL = 0x200B,
    /// VERSION_NUMBER (15.5.3).
    VERSION_NUMBER = 0x200C,
    /// ENABLE_PORT (15.5.3). No dataField.
    ENABLE_PORT = 0x200D,
    /// DISABLE_PORT (15.5.3). No dataField.
    DISABLE_PORT = 0x200E,
    /// TIME (15.5.3).
    TIME = 0x200F,
    /// CLOCK_ACCURACY (15.5.3).
    CLOCK_ACCURACY = 0x2010,
    /// UTC_PROPERTIES (15.5.3).
    UTC_PROPERTIES = 0x2011,
    /// TRACEABILITY_PROPERTIES (15.5.3).
    TRACEABILITY_PROPERTIES = 0x2012,
    /// TIMESCALE_PROPERTIES (15.5.3).
    TIMESCALE_PROPERTIES = 0x2013,
    /// UNICAST_NEGOTIATION_ENABLE (15.5.3).
    UNICAST_NEGOTIATION_ENABLE = 0x2014,
    /// PATH_TRACE_LIST (15.5.3).
    PATH_TRACE_LIST = 0x2015,
    /// PATH_TRACE_ENABLE (15.5.3).
    PATH_TRACE_ENABLE = 0x2016,
    /// GRANDMASTER_CLUSTER_TABLE (15.5.3).
    GRANDMASTER_CLUSTER_TABLE = 0x2017,
    /// UNICAST_MASTER_TABLE (15.5.3).
    UNICAST_MASTER_TABLE = 0x2018,
    /// UNICAST_MASTER_MAX_TABLE_SIZE (15.5.3).
    UNICAST_MASTER_MAX_TABLE_SIZE = 0x2019,
    /// ACCEPTABLE_MASTER_TABLE (15.5.3).
    ACCEPTABLE_MASTER_TABLE = 0x201A,
    /// ACCEPTABLE_MASTER_TABLE_ENABLED (15.5.3).
    ACCEPTABLE_MASTER_TABLE_ENABLED = 0x201B,
    /// ACCEPTABLE_MASTER_MAX_TABLE_SIZE (15.5.3).
    ACCEPTABLE_MASTER_MAX_TABLE_SIZE = 0x201C,
    /// ALTERNATE_MASTER (15.5.3).
    ALTERNATE_MASTER = 0x201D,
    /// ALTERNATE_TIME_OFFSET_ENABLE (15.5.3).
    ALTERNATE_TIME_OFFSET_ENABLE = 0x201E,
    /// ALTERNATE_TIME_OFFSET_NAME (15.5.3).
    ALTERNATE_TIME_OFFSET_NAME = 0x201F,
    /// ALTERNATE_TIME_OFFSET_MAX_KEY (15.5.3).
    ALTERNATE_TIME_OFFSET_MAX_KEY = 0x2020,
    /// ALTERNATE_TIME_OFFSET_PROPERTIES (15.5.3).
    ALTERNATE_TIME_OFFSET_PROPERTIES = 0x2021,
    /// EXTERNAL_PORT_CONFIGURATION_ENABLED (15.5.3).
    EXTERNAL_PORT_CONFIGURATION_ENABLED = 0x3000,
    /// MASTER_ONLY (15.5.3).
    MASTER_ONLY = 0x3001,
    /// HOLDOVER_UPGRADE_ENABLE (15.5.3).
    HOLDOVER_UPGRADE_ENABLE = 0x3002,
    /// EXT_PORT_CONFIG_PORT_DATA_SET (15.5.3).
    EXT_PORT_CONFIG_PORT_DATA_SET = 0x3003,
    /// TRANSPARENT_CLOCK_DEFAULT_DATA_SET (15.5.3).
    TRANSPARENT_CLOCK_DEFAULT_DATA_SET = 0x4000,
    /// TRANSPARENT_CLOCK_PORT_DATA_SET (15.5.3).
    TRANSPARENT_CLOCK_PORT_DATA_SET = 0x4001,
    /// PRIMARY_DOMAIN (15.5.3).
    PRIMARY_DOMAIN = 0x4002,
    /// DELAY_MECHANISM (15.5.3).
    DELAY_MECHANISM = 0x6000,
    /// LOG_MIN_PDELAY_REQ_INTERVAL (15.5.3).
    LOG_MIN_PDELAY_REQ_INTERVAL = 0x6001,
    /// linuxptp TIME_STATUS_NP (implementation-specific range, Table 59).
    TIME_STATUS_NP = 0xC000,
    /// linuxptp GRANDMASTER_SETTINGS_NP.
    GRANDMASTER_SETTINGS_NP = 0xC001,
    /// linuxptp PORT_DATA_SET_NP.
    PORT_DATA_SET_NP = 0xC002,
    /// linuxptp SUBSCRIBE_EVENTS_NP.
    SUBSCRIBE_EVENTS_NP = 0xC003,
    /// linuxptp PORT_PROPERTIES_NP.
    PORT_PROPERTIES_NP = 0xC004,
    /// linuxptp PORT_STATS_NP.
    PORT_STATS_NP = 0xC005,
    /// linuxptp SYNCHRONIZATION_UNCERTAIN_NP.
    SYNCHRONIZATION_UNCERTAIN_NP = 0xC006,
    /// linuxptp PORT_SERVICE_STATS_NP.
    PORT_SERVICE_STATS_NP = 0xC007,
    /// linuxptp UNICAST_MASTER_TABLE_NP.
    UNICAST_MASTER_TABLE_NP = 0xC008,
    /// linuxptp PORT_HWCLOCK_NP.
    PORT_HWCLOCK_NP = 0xC009,
    /// linuxptp POWER_PROFILE_SETTINGS_NP.
    POWER_PROFILE_SETTINGS_NP = 0xC00A,
    /// linuxptp CMLDS_INFO_NP.
    CMLDS_INFO_NP = 0xC00B,
    /// linuxptp PORT_CORRECTIONS_NP.
    PORT_CORRECTIONS_NP = 0xC00C,
    /// linuxptp EXTERNAL_GRANDMASTER_PROPERTIES_NP.
    EXTERNAL_GRANDMASTER_PROPERTIES_NP = 0xC00D,
}

impl fmt::Display for ManagementId {
    /// The `pmc` name, or the value in hex for an unknown ID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04X}", self.0),
        }
    }
}

/// `actionField` (15.4, Table 57): the low nibble of the management message's octet 46.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManagementAction {
    /// GET (0).
    Get,
    /// SET (1).
    Set,
    /// RESPONSE (2).
    Response,
    /// COMMAND (3).
    Command,
    /// ACKNOWLEDGE (4).
    Acknowledge,
    /// A reserved nibble value (5–15).
    Reserved(u8),
}

impl ManagementAction {
    /// From the low nibble of `n` (the high nibble is reserved and ignored).
    pub const fn from_nibble(n: u8) -> Self {
        match n & 0x0f {
            0 => ManagementAction::Get,
            1 => ManagementAction::Set,
            2 => ManagementAction::Response,
            3 => ManagementAction::Command,
            4 => ManagementAction::Acknowledge,
            n => ManagementAction::Reserved(n),
        }
    }

    /// The 4-bit value.
    pub const fn nibble(self) -> u8 {
        match self {
            ManagementAction::Get => 0,
            ManagementAction::Set => 1,
            ManagementAction::Response => 2,
            ManagementAction::Command => 3,
            ManagementAction::Acknowledge => 4,
            ManagementAction::Reserved(n) => n & 0x0f,
        }
    }
}

/// CLOCK_DESCRIPTION `dataField` (15.5.3).
///
/// Layout: clockType (2), physicalLayerProtocol (PTPText), physicalAddressLength (2),
/// physicalAddress, protocolAddress (networkProtocol 2, addressLength 2, addressField),
/// manufacturerIdentity (3), reserved (1), productDescription, revisionData and
/// userDescription (PTPText each), profileIdentity (6), then a zero pad octet if the total
/// is odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClockDescription<'a> {
    /// `clockType` bit mask (15.5.3; see the `CLOCK_TYPE_*` constants).
    pub clock_type: u16,
    /// `physicalLayerProtocol`, e.g. `"IEEE 802.3"` (what `ptp4l` sends on UDP and L2).
    pub physical_layer_protocol: PtpText<'a>,
    /// `physicalAddress` (u16 length prefix on the wire), e.g. the port's MAC.
    pub physical_address: &'a [u8],
    /// `protocolAddress.networkProtocol` (7.4.1): 1 UDP/IPv4, 2 UDP/IPv6, 3 IEEE 802.3.
    pub network_protocol: u16,
    /// `protocolAddress.addressField` (u16 length prefix on the wire).
    pub protocol_address: &'a [u8],
    /// `manufacturerIdentity`, an OUI.
    pub manufacturer_identity: [u8; 3],
    /// `productDescription`: "manufacturer;model;serial" (15.5.3).
    pub product_description: PtpText<'a>,
    /// `revisionData`: "hardware;firmware;software" (15.5.3).
    pub revision_data: PtpText<'a>,
    /// `userDescription` (15.5.3).
    pub user_description: PtpText<'a>,
    /// `profileIdentity` of the profile in use.
    pub profile_identity: [u8; 6],
}

impl ClockDescription<'_> {
    /// `clockType` bit: ordinary clock.
    pub const CLOCK_TYPE_ORDINARY: u16 = 0x8000;
    /// `clockType` bit: boundary clock.
    pub const CLOCK_TYPE_BOUNDARY: u16 = 0x4000;
    /// `clockType` bit: peer-to-peer transparent clock.
    pub const CLOCK_TYPE_P2P: u16 = 0x2000;
    /// `clockType` bit: end-to-end transparent clock.
    pub const CLOCK_TYPE_E2E: u16 = 0x1000;
    /// `clockType` bit: management node.
    pub const CLOCK_TYPE_MANAGEMENT: u16 = 0x0800;
    /// profileIdentity of the Default Delay Request-Response profile (J.3), as `ptp4l` sends.
    pub const PROFILE_DEFAULT_E2E: [u8; 6] = [0x00, 0x1b, 0x19, 0x00, 0x01, 0x00];
    /// profileIdentity of the Default Peer-to-Peer profile (J.4), as `ptp4l` sends.
    pub const PROFILE_DEFAULT_P2P: [u8; 6] = [0x00, 0x1b, 0x19, 0x00, 0x02, 0x00];
    /// Length with every variable field empty (what `pmc` sends in a GET).
    pub const EMPTY_LEN: usize = 22;

    /// Encoded length without the pad octet.
    fn unpadded_len(&self) -> usize {
        2 + text_len(self.physical_layer_protocol)
            + 2
            + addr(self.physical_address).len()
            + 4
            + addr(self.protocol_address).len()
            + 4
            + text_len(self.product_description)
            + text_len(self.revision_data)
            + text_len(self.user_description)
            + 6
    }
}

/// DEFAULT_DATA_SET `dataField` (15.5.3), 20 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DefaultDataSet {
    /// `defaultDS.twoStepFlag` (flags bit 0, TSC).
    pub two_step_flag: bool,
    /// `defaultDS.slaveOnly` (flags bit 1, SO).
    pub slave_only: bool,
    /// `defaultDS.numberPorts`.
    pub number_ports: u16,
    /// `defaultDS.priority1`.
    pub priority1: u8,
    /// `defaultDS.clockQuality`.
    pub clock_quality: ClockQuality,
    /// `defaultDS.priority2`.
    pub priority2: u8,
    /// `defaultDS.clockIdentity`.
    pub clock_identity: ClockIdentity,
    /// `defaultDS.domainNumber`.
    pub domain_number: u8,
}

/// CURRENT_DATA_SET `dataField` (15.5.3), 18 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CurrentDataSet {
    /// `currentDS.stepsRemoved`.
    pub steps_removed: u16,
    /// `currentDS.offsetFromMaster`.
    pub offset_from_master: TimeInterval,
    /// `currentDS.meanPathDelay`.
    pub mean_path_delay: TimeInterval,
}

/// PARENT_DATA_SET `dataField` (15.5.3), 32 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParentDataSet {
    /// `parentDS.parentPortIdentity`.
    pub parent_port_identity: PortIdentity,
    /// `parentDS.parentStats` (flags bit 0, PS).
    pub parent_stats: bool,
    /// `parentDS.observedParentOffsetScaledLogVariance`.
    pub observed_parent_offset_scaled_log_variance: u16,
    /// `parentDS.observedParentClockPhaseChangeRate`.
    pub observed_parent_clock_phase_change_rate: i32,
    /// `parentDS.grandmasterPriority1`.
    pub grandmaster_priority1: u8,
    /// `parentDS.grandmasterClockQuality`.
    pub grandmaster_clock_quality: ClockQuality,
    /// `parentDS.grandmasterPriority2`.
    pub grandmaster_priority2: u8,
    /// `parentDS.grandmasterIdentity`.
    pub grandmaster_identity: ClockIdentity,
}

/// TIME_PROPERTIES_DATA_SET `dataField` (15.5.3), 4 octets.
///
/// The flag bits are those of the header's second flag octet (Table 37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimePropertiesDataSet {
    /// `timePropertiesDS.currentUtcOffset`.
    pub current_utc_offset: i16,
    /// `timePropertiesDS.leap61` (bit 0, LI-61).
    pub leap61: bool,
    /// `timePropertiesDS.leap59` (bit 1, LI-59).
    pub leap59: bool,
    /// `timePropertiesDS.currentUtcOffsetValid` (bit 2, UTCV).
    pub current_utc_offset_valid: bool,
    /// `timePropertiesDS.ptpTimescale` (bit 3, PTP).
    pub ptp_timescale: bool,
    /// `timePropertiesDS.timeTraceable` (bit 4, TTRA).
    pub time_traceable: bool,
    /// `timePropertiesDS.frequencyTraceable` (bit 5, FTRA).
    pub frequency_traceable: bool,
    /// `timePropertiesDS.timeSource`.
    pub time_source: TimeSource,
}

/// PORT_DATA_SET `dataField` (15.5.3), 26 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PortDataSet {
    /// `portDS.portIdentity`.
    pub port_identity: PortIdentity,
    /// `portDS.portState` (linuxptp reports GRAND_MASTER as MASTER, 6).
    pub port_state: u8,
    /// `portDS.logMinDelayReqInterval`.
    pub log_min_delay_req_interval: i8,
    /// `portDS.peerMeanPathDelay`.
    pub peer_mean_path_delay: TimeInterval,
    /// `portDS.logAnnounceInterval`.
    pub log_announce_interval: i8,
    /// `portDS.announceReceiptTimeout`.
    pub announce_receipt_timeout: u8,
    /// `portDS.logSyncInterval`.
    pub log_sync_interval: i8,
    /// `portDS.delayMechanism` (1 E2E, 2 P2P, 0xFE disabled).
    pub delay_mechanism: u8,
    /// `portDS.logMinPdelayReqInterval`.
    pub log_min_pdelay_req_interval: i8,
    /// The raw `versionNumber` octet: versionPTP in the low nibble, minorVersionPTP in the
    /// high nibble (linuxptp puts 2 here).
    pub version_number: u8,
}

/// linuxptp's TIME_STATUS_NP: the clock's view of its master (for a grandmaster: itself,
/// `gm_present` false, offsets zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeStatusNp {
    /// Offset from the master, ns.
    pub master_offset_ns: i64,
    /// Ingress time of the last Sync, ns.
    pub ingress_time_ns: i64,
    /// `cumulativeScaledRateOffset` (802.1AS).
    pub cumulative_scaled_rate_offset: i32,
    /// `scaledLastGmPhaseChange` (802.1AS).
    pub scaled_last_gm_phase_change: i32,
    /// `gmTimeBaseIndicator` (802.1AS).
    pub gm_time_base_indicator: u16,
    /// `lastGmPhaseChange`, ScaledNs as sent (96 bits).
    pub last_gm_phase_change: [u8; 12],
    /// Whether a grandmaster other than this clock is present.
    pub gm_present: bool,
    /// The grandmaster's identity.
    pub gm_identity: ClockIdentity,
}

/// linuxptp's GRANDMASTER_SETTINGS_NP: the quality and time properties a grandmaster
/// announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GrandmasterSettingsNp {
    /// `clockQuality`.
    pub clock_quality: ClockQuality,
    /// UTC offset, flags and time source, as in TIME_PROPERTIES_DATA_SET.
    pub time_properties: TimePropertiesDataSet,
}

/// A management TLV's `dataField` (15.5.3), typed by `managementId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagementData<'a> {
    /// A zero-length `dataField`: GET requests sent with `pmc -z`, NULL_MANAGEMENT, commands.
    Empty,
    /// CLOCK_DESCRIPTION (15.5.3).
    ClockDescription(ClockDescription<'a>),
    /// USER_DESCRIPTION (15.5.3): `userDescription`.
    UserDescription(PtpText<'a>),
    /// DEFAULT_DATA_SET (15.5.3).
    DefaultDataSet(DefaultDataSet),
    /// CURRENT_DATA_SET (15.5.3).
    CurrentDataSet(CurrentDataSet),
    /// PARENT_DATA_SET (15.5.3).
    ParentDataSet(ParentDataSet),
    /// TIME_PROPERTIES_DATA_SET (15.5.3).
    TimePropertiesDataSet(TimePropertiesDataSet),
    /// PORT_DATA_SET (15.5.3).
    PortDataSet(PortDataSet),
    /// PRIORITY1 (15.5.3): `defaultDS.priority1`.
    Priority1(u8),
    /// PRIORITY2 (15.5.3): `defaultDS.priority2`.
    Priority2(u8),
    /// DOMAIN (15.5.3): `defaultDS.domainNumber`.
    Domain(u8),
    /// SLAVE_ONLY (15.5.3): `defaultDS.slaveOnly` (bit 0).
    SlaveOnly(bool),
    /// LOG_ANNOUNCE_INTERVAL (15.5.3): `portDS.logAnnounceInterval`.
    LogAnnounceInterval(i8),
    /// ANNOUNCE_RECEIPT_TIMEOUT (15.5.3): `portDS.announceReceiptTimeout`.
    AnnounceReceiptTimeout(u8),
    /// LOG_SYNC_INTERVAL (15.5.3): `portDS.logSyncInterval`.
    LogSyncInterval(i8),
    /// VERSION_NUMBER (15.5.3): `portDS.versionNumber`, split into its nibbles.
    VersionNumber {
        /// versionPTP (low nibble).
        version_ptp: u8,
        /// minorVersionPTP (high nibble).
        minor_version_ptp: u8,
    },
    /// DELAY_MECHANISM (15.5.3): `portDS.delayMechanism`.
    DelayMechanism(u8),
    /// LOG_MIN_PDELAY_REQ_INTERVAL (15.5.3): `portDS.logMinPdelayReqInterval`.
    LogMinPdelayReqInterval(i8),
    /// CLOCK_ACCURACY (15.5.3): `defaultDS.clockQuality.clockAccuracy`.
    ClockAccuracy(ClockAccuracy),
    /// TRACEABILITY_PROPERTIES (15.5.3): flags bits 4 (TTRA) and 5 (FTRA).
    TraceabilityProperties {
        /// `timePropertiesDS.timeTraceable`.
        time_traceable: bool,
        /// `timePropertiesDS.frequencyTraceable`.
        frequency_traceable: bool,
    },
    /// TIMESCALE_PROPERTIES (15.5.3): flags bit 3 (PTP) and `timeSource`.
    ///
    /// `ptp4l` answers with the PTP bit only and a zero in the `timeSource` octet.
    TimescaleProperties {
        /// `timePropertiesDS.ptpTimescale`.
        ptp_timescale: bool,
        /// `timePropertiesDS.timeSource`.
        time_source: TimeSource,
    },
    /// UTC_PROPERTIES (15.5.3): offset and flag bits 0 (LI-61), 1 (LI-59), 2 (UTCV).
    UtcProperties {
        /// `timePropertiesDS.currentUtcOffset`.
        current_utc_offset: i16,
        /// `timePropertiesDS.leap61`.
        leap61: bool,
        /// `timePropertiesDS.leap59`.
        leap59: bool,
        /// `timePropertiesDS.currentUtcOffsetValid`.
        current_utc_offset_valid: bool,
    },
    /// TIME (15.5.3): `currentTime`, the clock's PTP time.
    Time(Timestamp),
    /// linuxptp TIME_STATUS_NP.
    TimeStatusNp(TimeStatusNp),
    /// linuxptp GRANDMASTER_SETTINGS_NP.
    GrandmasterSettingsNp(GrandmasterSettingsNp),
    /// Any other ID's `dataField`, kept verbatim.
    Raw(&'a [u8]),
}

/// One single-value ID's layout: the value octet, then a reserved (or second) octet.
const SINGLE: &[(usize, &str)] = &[
    (field::single::VALUE, "value"),
    (field::single::SECOND, "reserved"),
];

impl<'a> ManagementData<'a> {
    /// Parses `data`, the `dataField` (the TLV value after the two-octet `managementId`), as
    /// the layout `id` selects (15.5.3).
    ///
    /// An empty `data` is [`ManagementData::Empty`] for any ID; an ID without a typed layout is
    /// [`ManagementData::Raw`]. A known ID whose bytes do not fit its layout is an error naming
    /// the field: [`ErrorKind::Truncated`] if the data ends inside it, [`ErrorKind::BadLength`]
    /// (field `data_field`) if octets follow the layout beyond the one pad octet an odd-length
    /// layout may carry, [`ErrorKind::BadValue`] for an invalid value (nanoseconds ≥ 10^9).
    /// Reserved bits and octets, and the pad octet, are ignored.
    pub fn parse(id: ManagementId, data: &'a [u8]) -> Result<Self> {
        use field::*;
        if data.is_empty() {
            return Ok(ManagementData::Empty);
        }
        let d = data;
        Ok(match id {
            ManagementId::NULL_MANAGEMENT
            | ManagementId::SAVE_IN_NON_VOLATILE_STORAGE
            | ManagementId::RESET_NON_VOLATILE_STORAGE
            | ManagementId::FAULT_LOG_RESET
            | ManagementId::ENABLE_PORT
            | ManagementId::DISABLE_PORT => {
                return Err(WireError::new("data_field", 0, ErrorKind::BadLength))
            }
            ManagementId::CLOCK_DESCRIPTION => {
                ManagementData::ClockDescription(parse_clock_description(d)?)
            }
            ManagementId::USER_DESCRIPTION => {
                let t = PtpText::read(d, 0, "user_description")?;
                check_len(d, t.wire_len())?;
                ManagementData::UserDescription(t)
            }
            ManagementId::DEFAULT_DATA_SET => {
                use default_data_set::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (FLAGS, "flags"),
                        (RESERVED_1, "reserved"),
                        (NUMBER_PORTS, "number_ports"),
                        (PRIORITY1, "priority1"),
                        (CLOCK_QUALITY, "clock_quality"),
                        (PRIORITY2, "priority2"),
                        (CLOCK_IDENTITY, "clock_identity"),
                        (DOMAIN_NUMBER, "domain_number"),
                        (RESERVED_2, "reserved"),
                    ],
                )?;
                ManagementData::DefaultDataSet(DefaultDataSet {
                    two_step_flag: d[FLAGS] & flag::TWO_STEP != 0,
                    slave_only: d[FLAGS] & flag::DDS_SLAVE_ONLY != 0,
                    number_ports: be::u16(d, NUMBER_PORTS),
                    priority1: d[PRIORITY1],
                    clock_quality: ClockQuality::read(d, CLOCK_QUALITY),
                    priority2: d[PRIORITY2],
                    clock_identity: ClockIdentity::read(d, CLOCK_IDENTITY),
                    domain_number: d[DOMAIN_NUMBER],
                })
            }
            ManagementId::CURRENT_DATA_SET => {
                use current_data_set::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (STEPS_REMOVED, "steps_removed"),
                        (OFFSET_FROM_MASTER, "offset_from_master"),
                        (MEAN_PATH_DELAY, "mean_path_delay"),
                    ],
                )?;
                ManagementData::CurrentDataSet(CurrentDataSet {
                    steps_removed: be::u16(d, STEPS_REMOVED),
                    offset_from_master: TimeInterval(be::i64(d, OFFSET_FROM_MASTER)),
                    mean_path_delay: TimeInterval(be::i64(d, MEAN_PATH_DELAY)),
                })
            }
            ManagementId::PARENT_DATA_SET => {
                use parent_data_set::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (PARENT_PORT_IDENTITY, "parent_port_identity"),
                        (FLAGS, "flags"),
                        (RESERVED, "reserved"),
                        (
                            OBSERVED_PARENT_OFFSET_SCALED_LOG_VARIANCE,
                            "observed_parent_offset_scaled_log_variance",
                        ),
                        (
                            OBSERVED_PARENT_CLOCK_PHASE_CHANGE_RATE,
                            "observed_parent_clock_phase_change_rate",
                        ),
                        (GRANDMASTER_PRIORITY1, "grandmaster_priority1"),
                        (GRANDMASTER_CLOCK_QUALITY, "grandmaster_clock_quality"),
                        (GRANDMASTER_PRIORITY2, "grandmaster_priority2"),
                        (GRANDMASTER_IDENTITY, "grandmaster_identity"),
                    ],
                )?;
                ManagementData::ParentDataSet(ParentDataSet {
                    parent_port_identity: PortIdentity::read(
                        d,
                        PARENT_PORT_IDENTITY,
                        "parent_port_identity",
                    )?,
                    parent_stats: d[FLAGS] & flag::PARENT_STATS != 0,
                    observed_parent_offset_scaled_log_variance: be::u16(
                        d,
                        OBSERVED_PARENT_OFFSET_SCALED_LOG_VARIANCE,
                    ),
                    observed_parent_clock_phase_change_rate: be::u32(
                        d,
                        OBSERVED_PARENT_CLOCK_PHASE_CHANGE_RATE,
                    ) as i32,
                    grandmaster_priority1: d[GRANDMASTER_PRIORITY1],
                    grandmaster_clock_quality: ClockQuality::read(d, GRANDMASTER_CLOCK_QUALITY),
                    grandmaster_priority2: d[GRANDMASTER_PRIORITY2],
                    grandmaster_identity: ClockIdentity::read(d, GRANDMASTER_IDENTITY),
                })
            }
            ManagementId::TIME_PROPERTIES_DATA_SET => {
                use time_properties_data_set::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (CURRENT_UTC_OFFSET, "current_utc_offset"),
                        (FLAGS, "flags"),
                        (TIME_SOURCE, "time_source"),
                    ],
                )?;
                let f = d[FLAGS];
                ManagementData::TimePropertiesDataSet(TimePropertiesDataSet {
                    current_utc_offset: be::u16(d, CURRENT_UTC_OFFSET) as i16,
                    leap61: f & flag::LEAP61 != 0,
                    leap59: f & flag::LEAP59 != 0,
                    current_utc_offset_valid: f & flag::UTC_OFFSET_VALID != 0,
                    ptp_timescale: f & flag::PTP_TIMESCALE != 0,
                    time_traceable: f & flag::TIME_TRACEABLE != 0,
                    frequency_traceable: f & flag::FREQUENCY_TRACEABLE != 0,
                    time_source: TimeSource(d[TIME_SOURCE]),
                })
            }
            ManagementId::TIME_STATUS_NP => {
                use time_status_np::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (MASTER_OFFSET, "master_offset"),
                        (INGRESS_TIME, "ingress_time"),
                        (
                            CUMULATIVE_SCALED_RATE_OFFSET,
                            "cumulative_scaled_rate_offset",
                        ),
                        (SCALED_LAST_GM_PHASE_CHANGE, "scaled_last_gm_phase_change"),
                        (GM_TIME_BASE_INDICATOR, "gm_time_base_indicator"),
                        (LAST_GM_PHASE_CHANGE, "last_gm_phase_change"),
                        (GM_PRESENT, "gm_present"),
                        (GM_IDENTITY, "gm_identity"),
                    ],
                )?;
                let mut last = [0u8; 12];
                last.copy_from_slice(&d[LAST_GM_PHASE_CHANGE..LAST_GM_PHASE_CHANGE + 12]);
                let mut gm = [0u8; 8];
                gm.copy_from_slice(&d[GM_IDENTITY..GM_IDENTITY + 8]);
                ManagementData::TimeStatusNp(TimeStatusNp {
                    master_offset_ns: be::i64(d, MASTER_OFFSET),
                    ingress_time_ns: be::i64(d, INGRESS_TIME),
                    cumulative_scaled_rate_offset: be::u32(d, CUMULATIVE_SCALED_RATE_OFFSET) as i32,
                    scaled_last_gm_phase_change: be::u32(d, SCALED_LAST_GM_PHASE_CHANGE) as i32,
                    gm_time_base_indicator: be::u16(d, GM_TIME_BASE_INDICATOR),
                    last_gm_phase_change: last,
                    gm_present: be::u32(d, GM_PRESENT) != 0,
                    gm_identity: ClockIdentity(gm),
                })
            }
            ManagementId::GRANDMASTER_SETTINGS_NP => {
                use grandmaster_settings_np::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (CLOCK_QUALITY, "clock_quality"),
                        (TIME_PROPERTIES, "utc_offset"),
                        (TIME_PROPERTIES + 2, "time_flags"),
                        (TIME_PROPERTIES + 3, "time_source"),
                    ],
                )?;
                let ManagementData::TimePropertiesDataSet(tp) = ManagementData::parse(
                    ManagementId::TIME_PROPERTIES_DATA_SET,
                    &d[TIME_PROPERTIES..LEN],
                )?
                else {
                    return Err(WireError::new(
                        "time_flags",
                        TIME_PROPERTIES,
                        ErrorKind::Truncated,
                    ));
                };
                ManagementData::GrandmasterSettingsNp(GrandmasterSettingsNp {
                    clock_quality: ClockQuality::read(d, CLOCK_QUALITY),
                    time_properties: tp,
                })
            }
            ManagementId::PORT_DATA_SET => {
                use port_data_set::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (PORT_IDENTITY, "port_identity"),
                        (PORT_STATE, "port_state"),
                        (LOG_MIN_DELAY_REQ_INTERVAL, "log_min_delay_req_interval"),
                        (PEER_MEAN_PATH_DELAY, "peer_mean_path_delay"),
                        (LOG_ANNOUNCE_INTERVAL, "log_announce_interval"),
                        (ANNOUNCE_RECEIPT_TIMEOUT, "announce_receipt_timeout"),
                        (LOG_SYNC_INTERVAL, "log_sync_interval"),
                        (DELAY_MECHANISM, "delay_mechanism"),
                        (LOG_MIN_PDELAY_REQ_INTERVAL, "log_min_pdelay_req_interval"),
                        (VERSION_NUMBER, "version_number"),
                    ],
                )?;
                ManagementData::PortDataSet(PortDataSet {
                    port_identity: PortIdentity::read(d, PORT_IDENTITY, "port_identity")?,
                    port_state: d[PORT_STATE],
                    log_min_delay_req_interval: d[LOG_MIN_DELAY_REQ_INTERVAL] as i8,
                    peer_mean_path_delay: TimeInterval(be::i64(d, PEER_MEAN_PATH_DELAY)),
                    log_announce_interval: d[LOG_ANNOUNCE_INTERVAL] as i8,
                    announce_receipt_timeout: d[ANNOUNCE_RECEIPT_TIMEOUT],
                    log_sync_interval: d[LOG_SYNC_INTERVAL] as i8,
                    delay_mechanism: d[DELAY_MECHANISM],
                    log_min_pdelay_req_interval: d[LOG_MIN_PDELAY_REQ_INTERVAL] as i8,
                    version_number: d[VERSION_NUMBER],
                })
            }
            ManagementId::PRIORITY1 => ManagementData::Priority1(single(d, "priority1")?),
            ManagementId::PRIORITY2 => ManagementData::Priority2(single(d, "priority2")?),
            ManagementId::DOMAIN => ManagementData::Domain(single(d, "domain_number")?),
            ManagementId::SLAVE_ONLY => {
                ManagementData::SlaveOnly(single(d, "flags")? & flag::SLAVE_ONLY != 0)
            }
            ManagementId::LOG_ANNOUNCE_INTERVAL => {
                ManagementData::LogAnnounceInterval(single(d, "log_announce_interval")? as i8)
            }
            ManagementId::ANNOUNCE_RECEIPT_TIMEOUT => {
                ManagementData::AnnounceReceiptTimeout(single(d, "announce_receipt_timeout")?)
            }
            ManagementId::LOG_SYNC_INTERVAL => {
                ManagementData::LogSyncInterval(single(d, "log_sync_interval")? as i8)
            }
            ManagementId::VERSION_NUMBER => {
                let v = single(d, "version_number")?;
                ManagementData::VersionNumber {
                    version_ptp: v & 0x0f,
                    minor_version_ptp: v >> 4,
                }
            }
            ManagementId::DELAY_MECHANISM => {
                ManagementData::DelayMechanism(single(d, "delay_mechanism")?)
            }
            ManagementId::LOG_MIN_PDELAY_REQ_INTERVAL => ManagementData::LogMinPdelayReqInterval(
                single(d, "log_min_pdelay_req_interval")? as i8,
            ),
            ManagementId::CLOCK_ACCURACY => {
                ManagementData::ClockAccuracy(ClockAccuracy(single(d, "clock_accuracy")?))
            }
            ManagementId::TRACEABILITY_PROPERTIES => {
                let f = single(d, "flags")?;
                ManagementData::TraceabilityProperties {
                    time_traceable: f & flag::TIME_TRACEABLE != 0,
                    frequency_traceable: f & flag::FREQUENCY_TRACEABLE != 0,
                }
            }
            ManagementId::TIMESCALE_PROPERTIES => {
                fixed(
                    d,
                    single::LEN,
                    &[(single::VALUE, "flags"), (single::SECOND, "time_source")],
                )?;
                ManagementData::TimescaleProperties {
                    ptp_timescale: d[single::VALUE] & flag::PTP_TIMESCALE != 0,
                    time_source: TimeSource(d[single::SECOND]),
                }
            }
            ManagementId::UTC_PROPERTIES => {
                use utc_properties::*;
                fixed(
                    d,
                    LEN,
                    &[
                        (CURRENT_UTC_OFFSET, "current_utc_offset"),
                        (FLAGS, "flags"),
                        (RESERVED, "reserved"),
                    ],
                )?;
                let f = d[FLAGS];
                ManagementData::UtcProperties {
                    current_utc_offset: be::u16(d, CURRENT_UTC_OFFSET) as i16,
                    leap61: f & flag::LEAP61 != 0,
                    leap59: f & flag::LEAP59 != 0,
                    current_utc_offset_valid: f & flag::UTC_OFFSET_VALID != 0,
                }
            }
            ManagementId::TIME => {
                fixed(d, time::LEN, &[(time::CURRENT_TIME, "current_time")])?;
                ManagementData::Time(Timestamp::read(d, time::CURRENT_TIME, "current_time")?)
            }
            _ => ManagementData::Raw(d),
        })
    }

    /// Octets [`write`](Self::write) produces (15.5.3), including the zero pad octet that
    /// makes an odd-length CLOCK_DESCRIPTION or USER_DESCRIPTION even, as linuxptp pads them.
    /// [`Raw`](Self::Raw) is its own length: it already holds whatever pad was received.
    pub fn wire_len(&self) -> usize {
        use field::*;
        let unpadded = match self {
            ManagementData::Empty => 0,
            ManagementData::ClockDescription(cd) => cd.unpadded_len(),
            ManagementData::UserDescription(t) => text_len(*t),
            ManagementData::DefaultDataSet(_) => default_data_set::LEN,
            ManagementData::CurrentDataSet(_) => current_data_set::LEN,
            ManagementData::ParentDataSet(_) => parent_data_set::LEN,
            ManagementData::TimePropertiesDataSet(_) => time_properties_data_set::LEN,
            ManagementData::PortDataSet(_) => port_data_set::LEN,
            ManagementData::Priority1(_)
            | ManagementData::Priority2(_)
            | ManagementData::Domain(_)
            | ManagementData::SlaveOnly(_)
            | ManagementData::LogAnnounceInterval(_)
            | ManagementData::AnnounceReceiptTimeout(_)
            | ManagementData::LogSyncInterval(_)
            | ManagementData::VersionNumber { .. }
            | ManagementData::DelayMechanism(_)
            | ManagementData::LogMinPdelayReqInterval(_)
            | ManagementData::ClockAccuracy(_)
            | ManagementData::TraceabilityProperties { .. }
            | ManagementData::TimescaleProperties { .. } => single::LEN,
            ManagementData::UtcProperties { .. } => utc_properties::LEN,
            ManagementData::Time(_) => time::LEN,
            ManagementData::TimeStatusNp(_) => time_status_np::LEN,
            ManagementData::GrandmasterSettingsNp(_) => grandmaster_settings_np::LEN,
            ManagementData::Raw(r) => return r.len(),
        };
        padded(unpadded)
    }

    /// Writes the `dataField` into `buf[..self.wire_len()]`; the caller guarantees room.
    ///
    /// Reserved octets and bits and the pad octet are written as zero. Texts longer than 255
    /// octets and addresses longer than 65535 octets are truncated (consistently with
    /// [`wire_len`](Self::wire_len)). A [`Raw`](Self::Raw) field is written verbatim, unpadded.
    pub fn write(&self, buf: &mut [u8]) {
        use field::*;
        let len = self.wire_len();
        match *self {
            ManagementData::Empty => {}
            ManagementData::ClockDescription(cd) => write_clock_description(&cd, buf),
            ManagementData::UserDescription(t) => {
                write_text(t, buf, 0);
            }
            ManagementData::DefaultDataSet(ds) => {
                use default_data_set::*;
                let mut f = 0;
                if ds.two_step_flag {
                    f |= flag::TWO_STEP;
                }
                if ds.slave_only {
                    f |= flag::DDS_SLAVE_ONLY;
                }
                buf[FLAGS] = f;
                buf[RESERVED_1] = 0;
                be::put_u16(buf, NUMBER_PORTS, ds.number_ports);
                buf[PRIORITY1] = ds.priority1;
                ds.clock_quality.write(buf, CLOCK_QUALITY);
                buf[PRIORITY2] = ds.priority2;
                buf[CLOCK_IDENTITY..CLOCK_IDENTITY + ClockIdentity::LEN]
                    .copy_from_slice(&ds.clock_identity.0);
                buf[DOMAIN_NUMBER] = ds.domain_number;
                buf[RESERVED_2] = 0;
            }
            ManagementData::CurrentDataSet(ds) => {
                use current_data_set::*;
                be::put_u16(buf, STEPS_REMOVED, ds.steps_removed);
                be::put_i64(buf, OFFSET_FROM_MASTER, ds.offset_from_master.0);
                be::put_i64(buf, MEAN_PATH_DELAY, ds.mean_path_delay.0);
            }
            ManagementData::ParentDataSet(ds) => {
                use parent_data_set::*;
                ds.parent_port_identity.write(buf, PARENT_PORT_IDENTITY);
                buf[FLAGS] = if ds.parent_stats {
                    flag::PARENT_STATS
                } else {
                    0
                };
                buf[RESERVED] = 0;
                be::put_u16(
                    buf,
                    OBSERVED_PARENT_OFFSET_SCALED_LOG_VARIANCE,
                    ds.observed_parent_offset_scaled_log_variance,
                );
                be::put_u32(
                    buf,
                    OBSERVED_PARENT_CLOCK_PHASE_CHANGE_RATE,
                    ds.observed_parent_clock_phase_change_rate as u32,
                );
                buf[GRANDMASTER_PRIORITY1] = ds.grandmaster_priority1;
                ds.grandmaster_clock_quality
                    .write(buf, GRANDMASTER_CLOCK_QUALITY);
                buf[GRANDMASTER_PRIORITY2] = ds.grandmaster_priority2;
                buf[GRANDMASTER_IDENTITY..GRANDMASTER_IDENTITY + ClockIdentity::LEN]
                    .copy_from_slice(&ds.grandmaster_identity.0);
            }
            ManagementData::TimePropertiesDataSet(ds) => {
                use time_properties_data_set::*;
                be::put_u16(buf, CURRENT_UTC_OFFSET, ds.current_utc_offset as u16);
                buf[FLAGS] = time_flags(
                    ds.leap61,
                    ds.leap59,
                    ds.current_utc_offset_valid,
                    ds.ptp_timescale,
                    ds.time_traceable,
                    ds.frequency_traceable,
                );
                buf[TIME_SOURCE] = ds.time_source.0;
            }
            ManagementData::TimeStatusNp(t) => {
                use time_status_np::*;
                be::put_i64(buf, MASTER_OFFSET, t.master_offset_ns);
                be::put_i64(buf, INGRESS_TIME, t.ingress_time_ns);
                be::put_u32(
                    buf,
                    CUMULATIVE_SCALED_RATE_OFFSET,
                    t.cumulative_scaled_rate_offset as u32,
                );
                be::put_u32(
                    buf,
                    SCALED_LAST_GM_PHASE_CHANGE,
                    t.scaled_last_gm_phase_change as u32,
                );
                be::put_u16(buf, GM_TIME_BASE_INDICATOR, t.gm_time_base_indicator);
                buf[LAST_GM_PHASE_CHANGE..LAST_GM_PHASE_CHANGE + 12]
                    .copy_from_slice(&t.last_gm_phase_change);
                be::put_u32(buf, GM_PRESENT, u32::from(t.gm_present));
                buf[GM_IDENTITY..GM_IDENTITY + ClockIdentity::LEN]
                    .copy_from_slice(&t.gm_identity.0);
            }
            ManagementData::GrandmasterSettingsNp(g) => {
                use grandmaster_settings_np::*;
                g.clock_quality.write(buf, CLOCK_QUALITY);
                ManagementData::TimePropertiesDataSet(g.time_properties)
                    .write(&mut buf[TIME_PROPERTIES..LEN]);
            }
            ManagementData::PortDataSet(ds) => {
                use port_data_set::*;
                ds.port_identity.write(buf, PORT_IDENTITY);
                buf[PORT_STATE] = ds.port_state;
                buf[LOG_MIN_DELAY_REQ_INTERVAL] = ds.log_min_delay_req_interval as u8;
                be::put_i64(buf, PEER_MEAN_PATH_DELAY, ds.peer_mean_path_delay.0);
                buf[LOG_ANNOUNCE_INTERVAL] = ds.log_announce_interval as u8;
                buf[ANNOUNCE_RECEIPT_TIMEOUT] = ds.announce_receipt_timeout;
                buf[LOG_SYNC_INTERVAL] = ds.log_sync_interval as u8;
                buf[DELAY_MECHANISM] = ds.delay_mechanism;
                buf[LOG_MIN_PDELAY_REQ_INTERVAL] = ds.log_min_pdelay_req_interval as u8;
                buf[VERSION_NUMBER] = ds.version_number;
            }
            ManagementData::Priority1(v)
            | ManagementData::Priority2(v)
            | ManagementData::Domain(v)
            | ManagementData::AnnounceReceiptTimeout(v)
            | ManagementData::DelayMechanism(v)
            | ManagementData::ClockAccuracy(ClockAccuracy(v)) => write_single(buf, v, 0),
            ManagementData::LogAnnounceInterval(v)
            | ManagementData::LogSyncInterval(v)
            | ManagementData::LogMinPdelayReqInterval(v) => write_single(buf, v as u8, 0),
            ManagementData::SlaveOnly(so) => {
                write_single(buf, if so { flag::SLAVE_ONLY } else { 0 }, 0);
            }
            ManagementData::VersionNumber {
                version_ptp,
                minor_version_ptp,
            } => write_single(buf, (minor_version_ptp << 4) | (version_ptp & 0x0f), 0),
            ManagementData::TraceabilityProperties {
                time_traceable,
                frequency_traceable,
            } => write_single(
                buf,
                time_flags(
                    false,
                    false,
                    false,
                    false,
                    time_traceable,
                    frequency_traceable,
                ),
                0,
            ),
            ManagementData::TimescaleProperties {
                ptp_timescale,
                time_source,
            } => write_single(
                buf,
                time_flags(false, false, false, ptp_timescale, false, false),
                time_source.0,
            ),
            ManagementData::UtcProperties {
                current_utc_offset,
                leap61,
                leap59,
                current_utc_offset_valid,
            } => {
                use utc_properties::*;
                be::put_u16(buf, CURRENT_UTC_OFFSET, current_utc_offset as u16);
                buf[FLAGS] = time_flags(
                    leap61,
                    leap59,
                    current_utc_offset_valid,
                    false,
                    false,
                    false,
                );
                buf[RESERVED] = 0;
            }
            ManagementData::Time(t) => t.write(buf, time::CURRENT_TIME),
            ManagementData::Raw(r) => buf[..r.len()].copy_from_slice(r),
        }
        if self.unpadded_is_odd() {
            buf[len - 1] = 0; // pad
        }
    }

    /// Whether the unpadded length is odd, i.e. [`write`](Self::write) adds a pad octet.
    fn unpadded_is_odd(&self) -> bool {
        match self {
            ManagementData::ClockDescription(cd) => cd.unpadded_len() % 2 == 1,
            ManagementData::UserDescription(t) => text_len(*t) % 2 == 1,
            _ => false,
        }
    }

    /// The `managementId` this variant belongs to (15.5.2); `None` for
    /// [`Empty`](Self::Empty) and [`Raw`](Self::Raw), which fit any ID.
    pub fn id(&self) -> Option<ManagementId> {
        Some(match self {
            ManagementData::Empty | ManagementData::Raw(_) => return None,
            ManagementData::ClockDescription(_) => ManagementId::CLOCK_DESCRIPTION,
            ManagementData::UserDescription(_) => ManagementId::USER_DESCRIPTION,
            ManagementData::DefaultDataSet(_) => ManagementId::DEFAULT_DATA_SET,
            ManagementData::CurrentDataSet(_) => ManagementId::CURRENT_DATA_SET,
            ManagementData::ParentDataSet(_) => ManagementId::PARENT_DATA_SET,
            ManagementData::TimePropertiesDataSet(_) => ManagementId::TIME_PROPERTIES_DATA_SET,
            ManagementData::PortDataSet(_) => ManagementId::PORT_DATA_SET,
            ManagementData::Priority1(_) => ManagementId::PRIORITY1,
            ManagementData::Priority2(_) => ManagementId::PRIORITY2,
            ManagementData::Domain(_) => ManagementId::DOMAIN,
            ManagementData::SlaveOnly(_) => ManagementId::SLAVE_ONLY,
            ManagementData::LogAnnounceInterval(_) => ManagementId::LOG_ANNOUNCE_INTERVAL,
            ManagementData::AnnounceReceiptTimeout(_) => ManagementId::ANNOUNCE_RECEIPT_TIMEOUT,
            ManagementData::LogSyncInterval(_) => ManagementId::LOG_SYNC_INTERVAL,
            ManagementData::VersionNumber { .. } => ManagementId::VERSION_NUMBER,
            ManagementData::DelayMechanism(_) => ManagementId::DELAY_MECHANISM,
            ManagementData::LogMinPdelayReqInterval(_) => ManagementId::LOG_MIN_PDELAY_REQ_INTERVAL,
            ManagementData::ClockAccuracy(_) => ManagementId::CLOCK_ACCURACY,
            ManagementData::TraceabilityProperties { .. } => ManagementId::TRACEABILITY_PROPERTIES,
            ManagementData::TimescaleProperties { .. } => ManagementId::TIMESCALE_PROPERTIES,
            ManagementData::UtcProperties { .. } => ManagementId::UTC_PROPERTIES,
            ManagementData::Time(_) => ManagementId::TIME,
            ManagementData::TimeStatusNp(_) => ManagementId::TIME_STATUS_NP,
            ManagementData::GrandmasterSettingsNp(_) => ManagementId::GRANDMASTER_SETTINGS_NP,
        })
    }
}

/// `len` rounded up to even (the one pad octet linuxptp appends).
const fn padded(len: usize) -> usize {
    len + len % 2
}

/// A text as written: at most 255 octets.
fn text_bytes(t: PtpText<'_>) -> &[u8] {
    &t.0[..t.0.len().min(PtpText::MAX_LEN)]
}

/// Encoded length of a text as written.
fn text_len(t: PtpText<'_>) -> usize {
    1 + text_bytes(t).len()
}

/// An address as written: at most 65535 octets (u16 length prefix).
fn addr(a: &[u8]) -> &[u8] {
    &a[..a.len().min(u16::MAX as usize)]
}

/// Writes a text at `at`, returning the octets written.
fn write_text(t: PtpText<'_>, buf: &mut [u8], at: usize) -> usize {
    PtpText(text_bytes(t)).write(buf, at)
}

/// Writes a u16-length-prefixed octet string at `at`, returning the octets written.
fn write_prefixed(a: &[u8], buf: &mut [u8], at: usize) -> usize {
    let a = addr(a);
    be::put_u16(buf, at, a.len() as u16);
    buf[at + 2..at + 2 + a.len()].copy_from_slice(a);
    2 + a.len()
}

/// Writes a two-octet single-value `dataField`.
fn write_single(buf: &mut [u8], value: u8, second: u8) {
    buf[field::single::VALUE] = value;
    buf[field::single::SECOND] = second;
}

/// The time-properties flag octet (Table 37, second octet) from its six flags.
fn time_flags(l61: bool, l59: bool, utcv: bool, ptp: bool, ttra: bool, ftra: bool) -> u8 {
    let mut f = 0;
    for (set, bit) in [
        (l61, flag::LEAP61),
        (l59, flag::LEAP59),
        (utcv, flag::UTC_OFFSET_VALID),
        (ptp, flag::PTP_TIMESCALE),
        (ttra, flag::TIME_TRACEABLE),
        (ftra, flag::FREQUENCY_TRACEABLE),
    ] {
        if set {
            f |= bit;
        }
    }
    f
}

/// Checks that `data` is exactly a layout of `len` octets, optionally followed by the one
/// pad octet an odd `len` takes.
fn check_len(data: &[u8], len: usize) -> Result<()> {
    if data.len() == len || data.len() == padded(len) {
        Ok(())
    } else if data.len() < len {
        Err(WireError::new(
            "data_field",
            data.len(),
            ErrorKind::Truncated,
        ))
    } else {
        Err(WireError::new(
            "data_field",
            padded(len),
            ErrorKind::BadLength,
        ))
    }
}

/// Checks a fixed layout of `len` octets whose fields start at the given offsets (ascending):
/// a short buffer names the field it ends in.
fn fixed(data: &[u8], len: usize, fields: &[(usize, &'static str)]) -> Result<()> {
    if data.len() < len {
        let (at, name) = fields
            .iter()
            .rev()
            .find(|(at, _)| *at <= data.len())
            .copied()
            .unwrap_or((0, "data_field"));
        return Err(WireError::new(name, at, ErrorKind::Truncated));
    }
    check_len(data, len)
}

/// Checks and reads a two-octet single-value `dataField`, naming its value `name`.
fn single(data: &[u8], name: &'static str) -> Result<u8> {
    let fields = [(SINGLE[0].0, name), SINGLE[1]];
    fixed(data, field::single::LEN, &fields)?;
    Ok(data[field::single::VALUE])
}

/// Parses a CLOCK_DESCRIPTION `dataField` (15.5.3), as linuxptp's `mgt_post_recv` walks it.
fn parse_clock_description(d: &[u8]) -> Result<ClockDescription<'_>> {
    let mut at = 0;
    need(d, "clock_type", at, at + 2)?;
    let clock_type = be::u16(d, at);
    at += 2;
    let physical_layer_protocol = PtpText::read(d, at, "physical_layer_protocol")?;
    at += physical_layer_protocol.wire_len();
    let physical_address =
        read_prefixed(d, &mut at, "physical_address_length", "physical_address")?;
    need(d, "network_protocol", at, at + 2)?;
    let network_protocol = be::u16(d, at);
    at += 2;
    let protocol_address = read_prefixed(d, &mut at, "address_length", "address_field")?;
    need(d, "manufacturer_identity", at, at + 3)?;
    let mut manufacturer_identity = [0u8; 3];
    manufacturer_identity.copy_from_slice(&d[at..at + 3]);
    at += 3;
    need(d, "reserved", at, at + 1)?;
    at += 1;
    let product_description = PtpText::read(d, at, "product_description")?;
    at += product_description.wire_len();
    let revision_data = PtpText::read(d, at, "revision_data")?;
    at += revision_data.wire_len();
    let user_description = PtpText::read(d, at, "user_description")?;
    at += user_description.wire_len();
    need(d, "profile_identity", at, at + 6)?;
    let mut profile_identity = [0u8; 6];
    profile_identity.copy_from_slice(&d[at..at + 6]);
    at += 6;
    check_len(d, at)?;
    Ok(ClockDescription {
        clock_type,
        physical_layer_protocol,
        physical_address,
        network_protocol,
        protocol_address,
        manufacturer_identity,
        product_description,
        revision_data,
        user_description,
        profile_identity,
    })
}

/// Reads a u16 length and that many octets at `*at`, advancing `*at`.
fn read_prefixed<'a>(
    d: &'a [u8],
    at: &mut usize,
    len_field: &'static str,
    field: &'static str,
) -> Result<&'a [u8]> {
    need(d, len_field, *at, *at + 2)?;
    let len = be::u16(d, *at) as usize;
    *at += 2;
    need(d, field, *at, *at + len)?;
    let s = &d[*at..*at + len];
    *at += len;
    Ok(s)
}

/// Writes a CLOCK_DESCRIPTION `dataField` (without the pad octet).
fn write_clock_description(cd: &ClockDescription<'_>, buf: &mut [u8]) {
    let mut at = 0;
    be::put_u16(buf, at, cd.clock_type);
    at += 2;
    at += write_text(cd.physical_layer_protocol, buf, at);
    at += write_prefixed(cd.physical_address, buf, at);
    be::put_u16(buf, at, cd.network_protocol);
    at += 2;
    at += write_prefixed(cd.protocol_address, buf, at);
    buf[at..at + 3].copy_from_slice(&cd.manufacturer_identity);
    at += 3;
    buf[at] = 0; // reserved
    at += 1;
    at += write_text(cd.product_description, buf, at);
    at += write_text(cd.revision_data, buf, at);
    at += write_text(cd.user_description, buf, at);
    buf[at..at + 6].copy_from_slice(&cd.profile_identity);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: ClockIdentity = ClockIdentity([0x00, 0x1b, 0x19, 0xff, 0xfe, 0x00, 0x00, 0x01]);
    const ID_BYTES: [u8; 8] = [0x00, 0x1b, 0x19, 0xff, 0xfe, 0x00, 0x00, 0x01];
    const QUALITY: ClockQuality = ClockQuality {
        clock_class: 6,
        clock_accuracy: ClockAccuracy::NS_100,
        offset_scaled_log_variance: 0x4e5d,
    };

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Writes `data` into a 0xa5-filled buffer and checks the exact bytes, that nothing past
    /// `wire_len` is touched, that `expected` parses back to `data`, and the ID.
    fn check(id: ManagementId, data: ManagementData<'_>, expected: &[u8]) {
        assert_eq!(data.wire_len(), expected.len(), "wire_len of {data:?}");
        assert_eq!(data.wire_len() % 2, 0, "odd wire_len of {data:?}");
        let mut buf = vec![0xa5u8; expected.len() + 8];
        data.write(&mut buf[..expected.len()]);
        assert_eq!(&buf[..expected.len()], expected, "bytes of {data:?}");
        assert!(
            buf[expected.len()..].iter().all(|&b| b == 0xa5),
            "wrote past wire_len"
        );
        assert_eq!(ManagementData::parse(id, expected), Ok(data));
        assert_eq!(data.id(), Some(id));
    }

    fn err(field: &'static str, offset: usize, kind: ErrorKind) -> Result<ManagementData<'static>> {
        Err(WireError::new(field, offset, kind))
    }

    fn ptp4l_clock_description(user: &str) -> ClockDescription<'_> {
        ClockDescription {
            clock_type: ClockDescription::CLOCK_TYPE_ORDINARY,
            physical_layer_protocol: PtpText(b"IEEE 802.3"),
            physical_address: &[0x00, 0x1b, 0x19, 0x00, 0x00, 0x01],
            network_protocol: 1,
            protocol_address: &[192, 0, 2, 1],
            manufacturer_identity: [0; 3],
            product_description: PtpText(b";;"),
            revision_data: PtpText(b";;"),
            user_description: PtpText(user.as_bytes()),
            profile_identity: ClockDescription::PROFILE_DEFAULT_E2E,
        }
    }

    #[test]
    fn clock_description_as_ptp4l_sends_it() {
        let head = cat(&[
            &[0x80, 0x00],
            &[10],
            b"IEEE 802.3",
            &[0x00, 0x06, 0x00, 0x1b, 0x19, 0x00, 0x00, 0x01],
            &[0x00, 0x01, 0x00, 0x04, 192, 0, 2, 1],
            &[0x00, 0x00, 0x00, 0x00],
            &[2, b';', b';'],
            &[2, b';', b';'],
        ]);
        let profile = [0x00, 0x1b, 0x19, 0x00, 0x01, 0x00];
        // Even total (46 octets): no pad.
        let even = cat(&[&head, &[0], &profile]);
        assert_eq!(even.len(), 46);
        check(
            ManagementId::CLOCK_DESCRIPTION,
            ManagementData::ClockDescription(ptp4l_clock_description("")),
            &even,
        );
        // Odd total (47 octets): one zero pad octet.
        let odd = cat(&[&head, &[1, b'm'], &profile, &[0]]);
        assert_eq!(odd.len(), 48);
        check(
            ManagementId::CLOCK_DESCRIPTION,
            ManagementData::ClockDescription(ptp4l_clock_description("m")),
            &odd,
        );
        // linuxptp rejects an unpadded odd dataField only via the TLV's even length; we accept it.
        assert_eq!(
            ManagementData::parse(ManagementId::CLOCK_DESCRIPTION, &odd[..47]),
            Ok(ManagementData::ClockDescription(ptp4l_clock_description(
                "m"
            )))
        );
    }

    #[test]
    fn user_description_is_padded_to_even() {
        check(
            ManagementId::USER_DESCRIPTION,
            ManagementData::UserDescription(PtpText(b"ab")),
            &[2, b'a', b'b', 0],
        );
        check(
            ManagementId::USER_DESCRIPTION,
            ManagementData::UserDescription(PtpText(b"abc")),
            &[3, b'a', b'b', b'c'],
        );
        check(
            ManagementId::USER_DESCRIPTION,
            ManagementData::UserDescription(PtpText(b"")),
            &[0, 0],
        );
    }

    #[test]
    fn default_data_set() {
        let ds = DefaultDataSet {
            two_step_flag: true,
            slave_only: false,
            number_ports: 1,
            priority1: 128,
            clock_quality: QUALITY,
            priority2: 127,
            clock_identity: ID,
            domain_number: 24,
        };
        let expected = cat(&[
            &[0x01, 0x00, 0x00, 0x01, 0x80, 0x06, 0x21, 0x4e, 0x5d, 0x7f],
            &ID_BYTES,
            &[0x18, 0x00],
        ]);
        check(
            ManagementId::DEFAULT_DATA_SET,
            ManagementData::DefaultDataSet(ds),
            &expected,
        );
        let so = DefaultDataSet {
            two_step_flag: false,
            slave_only: true,
            ..ds
        };
        let mut expected_so = expected.clone();
        expected_so[0] = 0x02;
        check(
            ManagementId::DEFAULT_DATA_SET,
            ManagementData::DefaultDataSet(so),
            &expected_so,
        );
    }

    #[test]
    fn current_data_set() {
        let ds = CurrentDataSet {
            steps_removed: 1,
            offset_from_master: TimeInterval::from_nanos(-1),
            mean_path_delay: TimeInterval(0x0123_4567),
        };
        check(
            ManagementId::CURRENT_DATA_SET,
            ManagementData::CurrentDataSet(ds),
            &[
                0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x01, 0x23, 0x45, 0x67,
            ],
        );
    }

    #[test]
    fn parent_data_set() {
        let ds = ParentDataSet {
            parent_port_identity: PortIdentity {
                clock_identity: ID,
                port_number: 1,
            },
            parent_stats: true,
            observed_parent_offset_scaled_log_variance: 0xffff,
            observed_parent_clock_phase_change_rate: -2,
            grandmaster_priority1: 128,
            grandmaster_clock_quality: QUALITY,
            grandmaster_priority2: 127,
            grandmaster_identity: ClockIdentity([8, 7, 6, 5, 4, 3, 2, 1]),
        };
        let expected = cat(&[
            &ID_BYTES,
            &[0x00, 0x01, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe],
            &[0x80, 0x06, 0x21, 0x4e, 0x5d, 0x7f],
            &[8, 7, 6, 5, 4, 3, 2, 1],
        ]);
        check(
            ManagementId::PARENT_DATA_SET,
            ManagementData::ParentDataSet(ds),
            &expected,
        );
    }

    #[test]
    fn time_properties_data_set() {
        let ds = TimePropertiesDataSet {
            current_utc_offset: 37,
            leap61: false,
            leap59: true,
            current_utc_offset_valid: true,
            ptp_timescale: true,
            time_traceable: true,
            frequency_traceable: false,
            time_source: TimeSource::GNSS,
        };
        check(
            ManagementId::TIME_PROPERTIES_DATA_SET,
            ManagementData::TimePropertiesDataSet(ds),
            &[0x00, 0x25, 0x1e, 0x20],
        );
        let ds = TimePropertiesDataSet {
            current_utc_offset: -1,
            leap61: true,
            leap59: false,
            current_utc_offset_valid: false,
            ptp_timescale: false,
            time_traceable: false,
            frequency_traceable: true,
            time_source: TimeSource::INTERNAL_OSCILLATOR,
        };
        check(
            ManagementId::TIME_PROPERTIES_DATA_SET,
            ManagementData::TimePropertiesDataSet(ds),
            &[0xff, 0xff, 0x21, 0xa0],
        );
    }

    /// The layouts linuxptp's `struct time_status_np` and `struct grandmaster_settings_np`
    /// have on the wire (network order, packed).
    #[test]
    fn linuxptp_np_data_sets() {
        let t = TimeStatusNp {
            master_offset_ns: -2,
            ingress_time_ns: 0x0102_0304_0506_0708,
            cumulative_scaled_rate_offset: -1,
            scaled_last_gm_phase_change: 5,
            gm_time_base_indicator: 7,
            last_gm_phase_change: [0xaa; 12],
            gm_present: true,
            gm_identity: ID,
        };
        let mut want = vec![0xff; 7];
        want.push(0xfe);
        want.extend_from_slice(&[
            1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5, 0, 7,
        ]);
        want.extend_from_slice(&[0xaa; 12]);
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(&ID.0);
        assert_eq!(want.len(), 50);
        check(
            ManagementId::TIME_STATUS_NP,
            ManagementData::TimeStatusNp(t),
            &want,
        );
        let g = GrandmasterSettingsNp {
            clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: ClockAccuracy(0x21),
                offset_scaled_log_variance: 0x4e5d,
            },
            time_properties: TimePropertiesDataSet {
                current_utc_offset: 37,
                leap61: false,
                leap59: false,
                current_utc_offset_valid: true,
                ptp_timescale: true,
                time_traceable: true,
                frequency_traceable: true,
                time_source: TimeSource::GNSS,
            },
        };
        check(
            ManagementId::GRANDMASTER_SETTINGS_NP,
            ManagementData::GrandmasterSettingsNp(g),
            &[6, 0x21, 0x4e, 0x5d, 0x00, 0x25, 0x3c, 0x20],
        );
    }

    #[test]
    fn port_data_set() {
        let ds = PortDataSet {
            port_identity: PortIdentity {
                clock_identity: ID,
                port_number: 1,
            },
            port_state: 6,
            log_min_delay_req_interval: -4,
            peer_mean_path_delay: TimeInterval::from_nanos(1),
            log_announce_interval: 1,
            announce_receipt_timeout: 3,
            log_sync_interval: -3,
            delay_mechanism: 1,
            log_min_pdelay_req_interval: -2,
            version_number: 0x12,
        };
        let expected = cat(&[
            &ID_BYTES,
            &[0x00, 0x01, 0x06, 0xfc],
            &[0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00],
            &[0x01, 0x03, 0xfd, 0x01, 0xfe, 0x12],
        ]);
        check(
            ManagementId::PORT_DATA_SET,
            ManagementData::PortDataSet(ds),
            &expected,
        );
    }

    #[test]
    fn single_value_ids_are_value_plus_reserved() {
        use ManagementData as D;
        use ManagementId as I;
        let cases: [(I, D<'static>, [u8; 2]); 16] = [
            (I::PRIORITY1, D::Priority1(128), [0x80, 0]),
            (I::PRIORITY2, D::Priority2(127), [0x7f, 0]),
            (I::DOMAIN, D::Domain(24), [0x18, 0]),
            (I::SLAVE_ONLY, D::SlaveOnly(true), [0x01, 0]),
            (I::SLAVE_ONLY, D::SlaveOnly(false), [0x00, 0]),
            (
                I::LOG_ANNOUNCE_INTERVAL,
                D::LogAnnounceInterval(-1),
                [0xff, 0],
            ),
            (
                I::ANNOUNCE_RECEIPT_TIMEOUT,
                D::AnnounceReceiptTimeout(3),
                [0x03, 0],
            ),
            (I::LOG_SYNC_INTERVAL, D::LogSyncInterval(-7), [0xf9, 0]),
            (
                I::VERSION_NUMBER,
                D::VersionNumber {
                    version_ptp: 2,
                    minor_version_ptp: 1,
                },
                [0x12, 0],
            ),
            (I::DELAY_MECHANISM, D::DelayMechanism(2), [0x02, 0]),
            (
                I::LOG_MIN_PDELAY_REQ_INTERVAL,
                D::LogMinPdelayReqInterval(-2),
                [0xfe, 0],
            ),
            (
                I::CLOCK_ACCURACY,
                D::ClockAccuracy(ClockAccuracy::NS_100),
                [0x21, 0],
            ),
            (
                I::TRACEABILITY_PROPERTIES,
                D::TraceabilityProperties {
                    time_traceable: true,
                    frequency_traceable: true,
                },
                [0x30, 0],
            ),
            (
                I::TRACEABILITY_PROPERTIES,
                D::TraceabilityProperties {
                    time_traceable: false,
                    frequency_traceable: true,
                },
                [0x20, 0],
            ),
            (
                I::TIMESCALE_PROPERTIES,
                D::TimescaleProperties {
                    ptp_timescale: true,
                    time_source: TimeSource::GNSS,
                },
                [0x08, 0x20],
            ),
            (
                I::TIMESCALE_PROPERTIES,
                D::TimescaleProperties {
                    ptp_timescale: false,
                    time_source: TimeSource(0),
                },
                [0x00, 0x00],
            ),
        ];
        for (id, data, bytes) in cases {
            check(id, data, &bytes);
        }
    }

    #[test]
    fn utc_properties() {
        check(
            ManagementId::UTC_PROPERTIES,
            ManagementData::UtcProperties {
                current_utc_offset: 37,
                leap61: true,
                leap59: false,
                current_utc_offset_valid: true,
            },
            &[0x00, 0x25, 0x05, 0x00],
        );
        check(
            ManagementId::UTC_PROPERTIES,
            ManagementData::UtcProperties {
                current_utc_offset: -2,
                leap61: false,
                leap59: true,
                current_utc_offset_valid: false,
            },
            &[0xff, 0xfe, 0x02, 0x00],
        );
    }

    #[test]
    fn time() {
        check(
            ManagementId::TIME,
            ManagementData::Time(Timestamp {
                seconds: 1_700_000_000,
                nanoseconds: 5,
            }),
            &[0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x05],
        );
        let mut bad = [0u8; 10];
        bad[6..].copy_from_slice(&1_000_000_000u32.to_be_bytes());
        assert_eq!(
            ManagementData::parse(ManagementId::TIME, &bad),
            err("current_time", 6, ErrorKind::BadValue)
        );
    }

    #[test]
    fn empty_and_raw() {
        let e = ManagementData::Empty;
        assert_eq!(e.wire_len(), 0);
        assert_eq!(e.id(), None);
        let mut buf = [0xa5u8; 4];
        e.write(&mut buf[..0]);
        assert_eq!(buf, [0xa5; 4]);
        for id in [
            ManagementId::NULL_MANAGEMENT,
            ManagementId::DEFAULT_DATA_SET,
            ManagementId::CLOCK_DESCRIPTION,
            ManagementId::ENABLE_PORT,
            ManagementId(0x7777),
        ] {
            assert_eq!(ManagementData::parse(id, &[]), Ok(ManagementData::Empty));
        }

        // Unknown and untyped IDs are kept verbatim.
        let raw = [1u8, 2, 3, 4];
        for id in [
            ManagementId(0x7777),
            ManagementId::PORT_STATS_NP,
            ManagementId::INITIALIZE,
        ] {
            assert_eq!(
                ManagementData::parse(id, &raw),
                Ok(ManagementData::Raw(&raw))
            );
        }
        let r = ManagementData::Raw(&raw);
        assert_eq!(r.id(), None);
        assert_eq!(r.wire_len(), 4);
        let mut buf = [0xa5u8; 6];
        r.write(&mut buf[..4]);
        assert_eq!(buf, [1, 2, 3, 4, 0xa5, 0xa5]);
        // Raw is verbatim: an odd length stays odd (it round-trips through tlv.rs as is).
        let r = ManagementData::Raw(&raw[..3]);
        assert_eq!(r.wire_len(), 3);
        let mut buf = [0xa5u8; 6];
        r.write(&mut buf[..3]);
        assert_eq!(buf, [1, 2, 3, 0xa5, 0xa5, 0xa5]);
        assert_eq!(
            ManagementData::parse(ManagementId(0x7777), &raw[..3]),
            Ok(ManagementData::Raw(&raw[..3]))
        );
    }

    #[test]
    fn pmc_zero_filled_gets_parse_as_zero_values() {
        // pmc (without -z) sends GET requests with a zeroed dataField of the response's size.
        assert_eq!(
            ManagementData::parse(ManagementId::DEFAULT_DATA_SET, &[0; 20]),
            Ok(ManagementData::DefaultDataSet(DefaultDataSet::default()))
        );
        assert_eq!(
            ManagementData::parse(
                ManagementId::CLOCK_DESCRIPTION,
                &[0; ClockDescription::EMPTY_LEN]
            ),
            Ok(ManagementData::ClockDescription(ClockDescription::default()))
        );
        assert_eq!(
            ManagementData::ClockDescription(ClockDescription::default()).wire_len(),
            ClockDescription::EMPTY_LEN
        );
        assert_eq!(
            ManagementData::parse(ManagementId::USER_DESCRIPTION, &[0; 2]),
            Ok(ManagementData::UserDescription(PtpText(b"")))
        );
        assert_eq!(
            ManagementData::parse(ManagementId::PRIORITY1, &[0; 2]),
            Ok(ManagementData::Priority1(0))
        );
    }

    #[test]
    fn reserved_bits_ignored_on_parse_and_zero_on_write() {
        let mut b = [0xffu8; 20];
        b[1] = 0xee;
        let Ok(d) = ManagementData::parse(ManagementId::DEFAULT_DATA_SET, &b) else {
            unreachable!("valid layout")
        };
        let mut out = [0xa5u8; 20];
        d.write(&mut out);
        assert_eq!(out[0], 0x03);
        assert_eq!(out[1], 0x00);
        assert_eq!(out[19], 0x00);
        assert_eq!(
            ManagementData::parse(ManagementId::SLAVE_ONLY, &[0xfe, 0xff]),
            Ok(ManagementData::SlaveOnly(false))
        );
        assert_eq!(
            ManagementData::parse(ManagementId::TRACEABILITY_PROPERTIES, &[0xdf, 0xff]),
            Ok(ManagementData::TraceabilityProperties {
                time_traceable: true,
                frequency_traceable: false
            })
        );
        assert_eq!(
            ManagementData::parse(ManagementId::TIMESCALE_PROPERTIES, &[0xf7, 0x90]),
            Ok(ManagementData::TimescaleProperties {
                ptp_timescale: false,
                time_source: TimeSource::OTHER
            })
        );
        assert_eq!(
            ManagementData::parse(ManagementId::UTC_PROPERTIES, &[0, 37, 0xfa, 0xff]),
            Ok(ManagementData::UtcProperties {
                current_utc_offset: 37,
                leap61: false,
                leap59: true,
                current_utc_offset_valid: false
            })
        );
        let Ok(p) = ManagementData::parse(ManagementId::PARENT_DATA_SET, &[0xfe; 32]) else {
            unreachable!("valid layout")
        };
        let mut out = [0xa5u8; 32];
        p.write(&mut out);
        assert_eq!(&out[10..12], &[0x00, 0x00]);
    }

    #[test]
    fn wrong_lengths_name_the_field() {
        use ErrorKind::{BadLength, Truncated};
        use ManagementId as I;
        let p = ManagementData::parse;
        assert_eq!(
            p(I::DEFAULT_DATA_SET, &[0; 19]),
            err("reserved", 19, Truncated)
        );
        assert_eq!(
            p(I::DEFAULT_DATA_SET, &[0; 7]),
            err("clock_quality", 5, Truncated)
        );
        assert_eq!(
            p(I::DEFAULT_DATA_SET, &[0; 21]),
            err("data_field", 20, BadLength)
        );
        assert_eq!(
            p(I::DEFAULT_DATA_SET, &[0; 22]),
            err("data_field", 20, BadLength)
        );
        assert_eq!(
            p(I::CURRENT_DATA_SET, &[0; 17]),
            err("mean_path_delay", 10, Truncated)
        );
        assert_eq!(
            p(I::CURRENT_DATA_SET, &[0; 20]),
            err("data_field", 18, BadLength)
        );
        assert_eq!(
            p(I::PARENT_DATA_SET, &[0; 30]),
            err("grandmaster_identity", 24, Truncated)
        );
        assert_eq!(
            p(I::PARENT_DATA_SET, &[0; 1]),
            err("parent_port_identity", 0, Truncated)
        );
        assert_eq!(
            p(I::TIME_PROPERTIES_DATA_SET, &[0; 3]),
            err("time_source", 3, Truncated)
        );
        assert_eq!(
            p(I::TIME_PROPERTIES_DATA_SET, &[0; 6]),
            err("data_field", 4, BadLength)
        );
        assert_eq!(
            p(I::PORT_DATA_SET, &[0; 25]),
            err("version_number", 25, Truncated)
        );
        assert_eq!(
            p(I::PORT_DATA_SET, &[0; 28]),
            err("data_field", 26, BadLength)
        );
        assert_eq!(p(I::PRIORITY1, &[0x80]), err("reserved", 1, Truncated));
        assert_eq!(
            p(I::PRIORITY1, &[0x80, 0, 0, 0]),
            err("data_field", 2, BadLength)
        );
        assert_eq!(p(I::DOMAIN, &[0; 3]), err("data_field", 2, BadLength));
        assert_eq!(
            p(I::TIMESCALE_PROPERTIES, &[0x08]),
            err("time_source", 1, Truncated)
        );
        assert_eq!(p(I::UTC_PROPERTIES, &[0; 2]), err("flags", 2, Truncated));
        assert_eq!(p(I::TIME, &[0; 8]), err("current_time", 0, Truncated));
        assert_eq!(p(I::TIME, &[0; 12]), err("data_field", 10, BadLength));
        assert_eq!(
            p(I::USER_DESCRIPTION, &[3, b'a']),
            err("user_description", 0, Truncated)
        );
        assert_eq!(
            p(I::USER_DESCRIPTION, &[1, b'a', 0, 0]),
            err("data_field", 2, BadLength)
        );
        assert_eq!(
            p(I::USER_DESCRIPTION, &[2, b'a', b'b', 0, 0, 0]),
            err("data_field", 4, BadLength)
        );
        assert_eq!(p(I::ENABLE_PORT, &[0, 0]), err("data_field", 0, BadLength));
        assert_eq!(
            p(I::NULL_MANAGEMENT, &[0, 0]),
            err("data_field", 0, BadLength)
        );

        let mut buf = [0u8; 64];
        let cd = ManagementData::ClockDescription(ptp4l_clock_description(""));
        let n = cd.wire_len();
        cd.write(&mut buf[..n]);
        let d = &buf[..n];
        // clockType(2) + "IEEE 802.3"(11) + physicalAddress(8) + protocolAddress(8) = 29.
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..1]),
            err("clock_type", 0, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..5]),
            err("physical_layer_protocol", 2, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..14]),
            err("physical_address_length", 13, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..18]),
            err("physical_address", 15, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..22]),
            err("network_protocol", 21, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..26]),
            err("address_field", 25, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..31]),
            err("manufacturer_identity", 29, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..32]),
            err("reserved", 32, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..34]),
            err("product_description", 33, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..36]),
            err("revision_data", 36, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..39]),
            err("user_description", 39, Truncated)
        );
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &d[..44]),
            err("profile_identity", 40, Truncated)
        );
        let mut long = d.to_vec();
        long.extend_from_slice(&[0, 0]);
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &long),
            err("data_field", 46, BadLength)
        );
        let mut long = d.to_vec();
        long.push(0);
        assert_eq!(
            p(I::CLOCK_DESCRIPTION, &long),
            err("data_field", 46, BadLength)
        );
    }

    #[test]
    fn management_id_names_match_pmc() {
        assert_eq!(
            ManagementId::DEFAULT_DATA_SET.name(),
            Some("DEFAULT_DATA_SET")
        );
        assert_eq!(ManagementId(0x0000).name(), Some("NULL_MANAGEMENT"));
        assert_eq!(
            ManagementId(0x200a).name(),
            Some("ANNOUNCE_RECEIPT_TIMEOUT")
        );
        assert_eq!(ManagementId(0x2013).name(), Some("TIMESCALE_PROPERTIES"));
        assert_eq!(
            ManagementId(0x6001).name(),
            Some("LOG_MIN_PDELAY_REQ_INTERVAL")
        );
        assert_eq!(ManagementId(0xc000).name(), Some("TIME_STATUS_NP"));
        assert_eq!(ManagementId(0x1234).name(), None);
        assert_eq!(ManagementId::PORT_DATA_SET.to_string(), "PORT_DATA_SET");
        assert_eq!(ManagementId(0xbeef).to_string(), "0xBEEF");
    }

    #[test]
    fn action_nibbles_roundtrip() {
        assert_eq!(ManagementAction::from_nibble(0), ManagementAction::Get);
        assert_eq!(ManagementAction::from_nibble(1), ManagementAction::Set);
        assert_eq!(ManagementAction::from_nibble(2), ManagementAction::Response);
        assert_eq!(ManagementAction::from_nibble(3), ManagementAction::Command);
        assert_eq!(
            ManagementAction::from_nibble(4),
            ManagementAction::Acknowledge
        );
        assert_eq!(
            ManagementAction::from_nibble(0xf5),
            ManagementAction::Reserved(5)
        );
        for n in 0..16u8 {
            assert_eq!(ManagementAction::from_nibble(n).nibble(), n);
            assert_eq!(ManagementAction::from_nibble(n | 0xf0).nibble(), n);
        }
    }

    fn clock_quality() -> impl Strategy<Value = ClockQuality> {
        (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(c, a, v)| ClockQuality {
            clock_class: c,
            clock_accuracy: ClockAccuracy(a),
            offset_scaled_log_variance: v,
        })
    }

    fn port_identity() -> impl Strategy<Value = PortIdentity> {
        (any::<[u8; 8]>(), any::<u16>()).prop_map(|(c, p)| PortIdentity {
            clock_identity: ClockIdentity(c),
            port_number: p,
        })
    }

    /// Every typed variant without borrowed data.
    fn fixed_variant() -> impl Strategy<Value = ManagementData<'static>> {
        use ManagementData as D;
        let dds = (
            any::<(bool, bool, u16, u8, u8, u8)>(),
            clock_quality(),
            any::<[u8; 8]>(),
        )
            .prop_map(|((t, s, n, p1, p2, d), q, id)| {
                D::DefaultDataSet(DefaultDataSet {
                    two_step_flag: t,
                    slave_only: s,
                    number_ports: n,
                    priority1: p1,
                    clock_quality: q,
                    priority2: p2,
                    clock_identity: ClockIdentity(id),
                    domain_number: d,
                })
            });
        let cds = any::<(u16, i64, i64)>().prop_map(|(s, o, m)| {
            D::CurrentDataSet(CurrentDataSet {
                steps_removed: s,
                offset_from_master: TimeInterval(o),
                mean_path_delay: TimeInterval(m),
            })
        });
        let pds = (
            port_identity(),
            any::<(bool, u16, i32, u8, u8)>(),
            clock_quality(),
            any::<[u8; 8]>(),
        )
            .prop_map(|(pi, (ps, v, r, p1, p2), q, gm)| {
                D::ParentDataSet(ParentDataSet {
                    parent_port_identity: pi,
                    parent_stats: ps,
                    observed_parent_offset_scaled_log_variance: v,
                    observed_parent_clock_phase_change_rate: r,
                    grandmaster_priority1: p1,
                    grandmaster_clock_quality: q,
                    grandmaster_priority2: p2,
                    grandmaster_identity: ClockIdentity(gm),
                })
            });
        let tpds = any::<(i16, [bool; 6], u8)>().prop_map(|(o, f, s)| {
            D::TimePropertiesDataSet(TimePropertiesDataSet {
                current_utc_offset: o,
                leap61: f[0],
                leap59: f[1],
                current_utc_offset_valid: f[2],
                ptp_timescale: f[3],
                time_traceable: f[4],
                frequency_traceable: f[5],
                time_source: TimeSource(s),
            })
        });
        let portds = (
            port_identity(),
            any::<(u8, i8, i64, i8, u8)>(),
            any::<(i8, u8, i8, u8)>(),
        )
            .prop_map(|(pi, (st, dr, pd, ai, art), (si, dm, pdr, v))| {
                D::PortDataSet(PortDataSet {
                    port_identity: pi,
                    port_state: st,
                    log_min_delay_req_interval: dr,
                    peer_mean_path_delay: TimeInterval(pd),
                    log_announce_interval: ai,
                    announce_receipt_timeout: art,
                    log_sync_interval: si,
                    delay_mechanism: dm,
                    log_min_pdelay_req_interval: pdr,
                    version_number: v,
                })
            });
        let tsn = (
            any::<(i64, i64, i32, i32, u16)>(),
            any::<([u8; 12], bool, [u8; 8])>(),
        )
            .prop_map(|((o, it, r, p, b), (l, gp, gm))| {
                D::TimeStatusNp(TimeStatusNp {
                    master_offset_ns: o,
                    ingress_time_ns: it,
                    cumulative_scaled_rate_offset: r,
                    scaled_last_gm_phase_change: p,
                    gm_time_base_indicator: b,
                    last_gm_phase_change: l,
                    gm_present: gp,
                    gm_identity: ClockIdentity(gm),
                })
            });
        let gms = (clock_quality(), any::<(i16, [bool; 6], u8)>()).prop_map(|(q, (o, f, s))| {
            D::GrandmasterSettingsNp(GrandmasterSettingsNp {
                clock_quality: q,
                time_properties: TimePropertiesDataSet {
                    current_utc_offset: o,
                    leap61: f[0],
                    leap59: f[1],
                    current_utc_offset_valid: f[2],
                    ptp_timescale: f[3],
                    time_traceable: f[4],
                    frequency_traceable: f[5],
                    time_source: TimeSource(s),
                },
            })
        });
        prop_oneof![
            dds,
            cds,
            pds,
            tpds,
            portds,
            tsn,
            gms,
            any::<u8>().prop_map(D::Priority1),
            any::<u8>().prop_map(D::Priority2),
            any::<u8>().prop_map(D::Domain),
            any::<bool>().prop_map(D::SlaveOnly),
            any::<i8>().prop_map(D::LogAnnounceInterval),
            any::<u8>().prop_map(D::AnnounceReceiptTimeout),
            any::<i8>().prop_map(D::LogSyncInterval),
            (0u8..16, 0u8..16).prop_map(|(v, m)| D::VersionNumber {
                version_ptp: v,
                minor_version_ptp: m
            }),
            any::<u8>().prop_map(D::DelayMechanism),
            any::<i8>().prop_map(D::LogMinPdelayReqInterval),
            any::<u8>().prop_map(|a| D::ClockAccuracy(ClockAccuracy(a))),
            any::<(bool, bool)>().prop_map(|(t, f)| D::TraceabilityProperties {
                time_traceable: t,
                frequency_traceable: f
            }),
            any::<(bool, u8)>().prop_map(|(p, s)| D::TimescaleProperties {
                ptp_timescale: p,
                time_source: TimeSource(s)
            }),
            any::<(i16, bool, bool, bool)>().prop_map(|(o, a, b, c)| D::UtcProperties {
                current_utc_offset: o,
                leap61: a,
                leap59: b,
                current_utc_offset_valid: c
            }),
            (
                0..=Timestamp::MAX_SECONDS,
                0..crate::wire::types::NANOS_PER_SEC
            )
                .prop_map(|(s, n)| D::Time(Timestamp {
                    seconds: s,
                    nanoseconds: n
                })),
        ]
    }

    /// Writes into a 0xa5-filled buffer; checks even length, untouched tail and parse-back.
    fn roundtrip(d: ManagementData<'_>) -> core::result::Result<(), TestCaseError> {
        let n = d.wire_len();
        prop_assert_eq!(n % 2, 0);
        let mut buf = vec![0xa5u8; n + 4];
        d.write(&mut buf[..n]);
        prop_assert!(buf[n..].iter().all(|&b| b == 0xa5));
        let Some(id) = d.id() else {
            return Err(TestCaseError::fail("typed variant without an id"));
        };
        prop_assert_eq!(ManagementData::parse(id, &buf[..n]), Ok(d));
        // Every strict prefix is rejected (never a panic), except the unpadded form.
        for cut in 0..n {
            let r = ManagementData::parse(id, &buf[..cut]);
            if cut == 0 {
                prop_assert_eq!(r, Ok(ManagementData::Empty));
            } else if cut + 1 == n && d.unpadded_is_odd() {
                // Dropping the pad octet is accepted.
                prop_assert_eq!(r, Ok(d));
            } else {
                prop_assert!(r.is_err(), "prefix {} of {:?} parsed as {:?}", cut, d, r);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn fixed_variants_roundtrip(d in fixed_variant()) {
            roundtrip(d)?;
        }

        #[test]
        fn user_description_roundtrips(text in proptest::collection::vec(any::<u8>(), 0..=255)) {
            roundtrip(ManagementData::UserDescription(PtpText(&text)))?;
        }

        #[test]
        fn clock_description_roundtrips(
            (clock_type, network_protocol) in any::<(u16, u16)>(),
            phy in proptest::collection::vec(any::<u8>(), 0..40),
            physical_address in proptest::collection::vec(any::<u8>(), 0..20),
            protocol_address in proptest::collection::vec(any::<u8>(), 0..20),
            manufacturer_identity in any::<[u8; 3]>(),
            product in proptest::collection::vec(any::<u8>(), 0..40),
            revision in proptest::collection::vec(any::<u8>(), 0..40),
            user in proptest::collection::vec(any::<u8>(), 0..40),
            profile_identity in any::<[u8; 6]>(),
        ) {
            roundtrip(ManagementData::ClockDescription(ClockDescription {
                clock_type,
                physical_layer_protocol: PtpText(&phy),
                physical_address: &physical_address,
                network_protocol,
                protocol_address: &protocol_address,
                manufacturer_identity,
                product_description: PtpText(&product),
                revision_data: PtpText(&revision),
                user_description: PtpText(&user),
                profile_identity,
            }))?;
        }

        #[test]
        fn parse_never_panics(id in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(d) = ManagementData::parse(ManagementId(id), &data) {
                // Whatever parses writes back to at most the input plus one pad octet.
                prop_assert!(d.wire_len() <= data.len() + 1);
                let mut buf = vec![0u8; d.wire_len()];
                d.write(&mut buf);
            }
        }

        #[test]
        fn known_ids_parse_any_bytes_of_their_length(d in fixed_variant(), fill in any::<u8>()) {
            // Any octets of the right length parse (reserved bits ignored), and re-parse stably.
            let Some(id) = d.id() else {
                return Err(TestCaseError::fail("typed variant without an id"));
            };
            let bytes = vec![fill; d.wire_len()];
            if let Ok(p) = ManagementData::parse(id, &bytes) {
                let mut out = vec![0u8; p.wire_len()];
                p.write(&mut out);
                prop_assert_eq!(ManagementData::parse(id, &out), Ok(p));
            } else {
                // Only TIME can reject a full-length field (nanoseconds ≥ 10^9).
                prop_assert_eq!(id, ManagementId::TIME);
            }
        }
    }
}
