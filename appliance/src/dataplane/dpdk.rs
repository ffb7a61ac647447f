//! The DPDK backend: [`DpdkPort`], one PTP port on a DPDK ethdev polled from user space.
//!
//! A DPDK port has no kernel network stack behind it, so this module is one: it builds and
//! parses whole Ethernet frames (L2, UDP/IPv4, UDP/IPv6, optionally 802.1Q-tagged), answers
//! ARP requests for the port's IPv4 address and IPv6 neighbour solicitations for its IPv6
//! address, and learns each peer's MAC address from the frames it sends (a fixed-size
//! neighbour table) so unicast replies can be addressed.
//!
//! **Time stamps.** Receive: the TSC read in the poll loop right after the `rte_eth_rx_burst`
//! that returned the frame (one read per burst), plus the PMD's raw RX timestamp dynfield
//! where it fills one (`net_pcap`: capture time in µs). Transmit: the TSC read immediately
//! before `rte_eth_tx_burst`; one-step messages carry the launch time computed from that
//! read, patched in with the UDP checksum kept valid. Frames that need no TX stamp (general
//! messages, Delay_Resp, ARP/ND replies) are queued and leave together, up to eight per
//! `tx_burst`: the queue is flushed before the next `rx_burst`, before every stamped send,
//! when eight wait, and by [`DpdkPort::flush_tx`], which the run loop calls every iteration.
//! The caller converts TSC readings to time with a calibrated TSC clock. Where `rte_eth_timesync_enable` succeeds, the NIC's
//! latch registers stamp PTP event frames instead (one RX and one TX stamp at a time, mapped
//! onto the TSC: see [`super::hwstamp`]); where the device can send on a timestamp, one-step
//! frames leave at a scheduled launch time. No PMD in the lab supports either.
//!
//! **Pipeline.** [`DpdkPort::split_pipeline`] moves the queues to an RX and a TX stage
//! ([`super::pipeline`]) for other cores; the port keeps parsing, answering and building
//! frames on the engine core, exchanging mbufs with the stages over lock-free rings.
//!
//! Nothing allocates per packet: mbufs come from the port's pool, the RX batch, TX batch,
//! neighbour table and TX timestamp queue are allocated at [`DpdkPort::open`].
//!
//! All DPDK `unsafe` lives in `crate::sys::dpdk`; this module is safe code.

use std::collections::VecDeque;

use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    self, EthernetRepr, FrameRepr, Ipv4Repr, Ipv6Repr, MacAddress, NetworkRepr, UdpPorts, VlanTag,
};
use meridian_proto::wire::Timestamp;

use super::classify::{self, DropCounters, PortFilter, PtpFrame, Verdict};
use super::error::would_block;
use super::{
    DataplaneError, PtpPort, RawStamp, RxFrame, StampClock, Transport, TxRequest, TxTiming,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::clock::tsc::SharedTscClock;
use crate::dataplane::hwstamp::{
    HwStampCounters, NicClockMap, NicTimesync, RxDynStamper, RxHwStamper, TxHwStamper,
};
use crate::dataplane::neighbour::{
    self, IpKey, NeighbourReply, Neighbours, PortAddresses, RxCount,
};
use crate::dataplane::pipeline::{
    self, Rings, RxStage, StageCounters, StageReport, StagedRx, TxFrame, TxMeta, TxStage,
};
use crate::metrics::LatencyHistogram;
use crate::sys::dpdk::{self as sys, DpdkError, Eal, EthDev, Mbuf, Mempool, RxBatch, TxBatch};

/// The safe DPDK wrappers this backend is built on (EAL, mempools, mbufs, ports, bursts), for
/// tools that drive DPDK ports directly, such as the load generator in `bench/`.
pub mod raw {
    pub use crate::sys::dpdk::{
        rdtsc, register_thread, tsc_hz, DevInfo, DeviceClock, DpdkError, Eal, EthDev, LinkStatus,
        Mbuf, Mempool, RxBatch, RxQueue, RxTimestampField, Timesync, TxBatch, TxQueue,
        TxTimestampField, BURST,
    };
}

use meridian_proto::wire::message::field::TIMESTAMP as ORIGIN_TIMESTAMP;
/// Shortest Ethernet frame without FCS; shorter frames are padded with zeros.
const MIN_FRAME: usize = 60;
/// Frames examined by one [`DpdkPort::recv`] call before it returns `None` (the rest wait
/// for the next call).
const MAX_FRAMES_PER_RECV: usize = 256;
/// Single-core mode: queued unstamped frames are flushed when this many wait, so the first
/// replies of a full RX burst need not wait for the last one to be built (one `tx_burst` per
/// frame cost 14-21 % of the core at saturation; one per 32 made every frame of a post-stall
/// burst wait for the whole burst: residence p99 9.0 → 12.3 µs at half load).
const TX_FLUSH_AT: usize = 8;
/// TX timestamps kept for [`DpdkPort::drain_tx_timestamps`]; beyond this the oldest go.
const TX_STAMP_QUEUE: usize = 1024;
/// Hop limit of unicast datagrams (multicast ones use 1, like the socket backend).
const UNICAST_TTL: u8 = 64;

/// How to open one DPDK port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpdkPortConfig {
    /// The DPDK device: a vdev spec such as `net_af_packet0,iface=veth0` (which whoever
    /// builds the EAL arguments passes as `--vdev`) or a PCI address. The port is looked up
    /// by name: for a vdev the part before the first comma.
    pub device: String,
    /// Transport.
    pub transport: Transport,
    /// Our IPv4 address (required for UDP/IPv4; also answers ARP with it).
    pub ipv4: Option<[u8; 4]>,
    /// Our IPv6 address (required for UDP/IPv6; also answers neighbour solicitations).
    pub ipv6: Option<[u8; 16]>,
    /// DSCP of sent datagrams (0–63; UDP only).
    pub dscp: u8,
    /// 802.1Q tag `(vid, pcp)` sent with every frame and required on received ones (any
    /// transport: there is no VLAN interface under DPDK). `None`: untagged (priority-tagged
    /// VID 0 frames are accepted too).
    pub vlan: Option<(u16, u8)>,
    /// Scope nibble X of the primary IPv6 group FF0X::181. UDP/IPv6 only.
    pub ipv6_scope: u8,
    /// Peer delay in use (the peer-delay groups are accepted either way).
    pub pdelay: bool,
    /// RX descriptors (adjusted to the device's limits).
    pub rx_descriptors: u16,
    /// TX descriptors (adjusted to the device's limits).
    pub tx_descriptors: u16,
    /// Mbufs in the port's pool; at least `rx_descriptors + tx_descriptors + 64`.
    pub pool_size: u32,
    /// One-step messages should leave at their launch time (where the device can send on
    /// a timestamp; otherwise the TSC launch time is written just before tx_burst).
    pub launch_time: bool,
}

/// What a DPDK port saw, dropped or could not do; every count only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DpdkCounters {
    /// Frames taken from the RX queue.
    pub rx_frames: u64,
    /// `rx_burst` calls that returned frames.
    pub rx_bursts: u64,
    /// PTP messages returned by [`DpdkPort::recv`].
    pub rx_packets: u64,
    /// Frames the classifier dropped, by reason (not PTP for this port, malformed, other
    /// VLAN, not for us, our own); with a pipeline, the RX stage counts them instead.
    #[serde(flatten)]
    pub drops: DropCounters,
    /// Messages longer than the caller's buffer.
    pub rx_truncated: u64,
    /// Frames spread over several mbuf segments (not parsed).
    pub rx_multiseg: u64,
    /// ARP requests for our address (each answered unless the TX ring was full).
    pub rx_arp_requests: u64,
    /// Other ARP frames (replies, requests for other addresses, malformed).
    pub rx_arp_other: u64,
    /// IPv6 neighbour solicitations for our address.
    pub rx_nd_solicitations: u64,
    /// `rte_eth_tx_burst` calls (single-core mode: one per flush of the queue, one per
    /// stamped frame).
    pub tx_bursts: u64,
    /// PTP messages sent (single-core mode: handed to the TX queue's batch; frames the
    /// queue then refuses count in `tx_ring_full`).
    pub tx_packets: u64,
    /// ARP replies sent.
    pub tx_arp_replies: u64,
    /// Neighbour advertisements sent.
    pub tx_nd_adverts: u64,
    /// Unicast sends dropped because the peer's MAC address is unknown.
    pub tx_no_neighbour: u64,
    /// Frames dropped because the TX ring did not take them.
    pub tx_ring_full: u64,
    /// Frames dropped because the mbuf pool was empty.
    pub tx_no_mbuf: u64,
    /// TX timestamps delivered by [`DpdkPort::drain_tx_timestamps`].
    pub tx_timestamps: u64,
    /// TX timestamps discarded because nobody drained them in time.
    pub tx_timestamp_overflow: u64,
}

/// The MAC a frame to IPv4 group `a` goes to (RFC 1112).
fn ipv4_multicast_mac(a: [u8; 4]) -> [u8; 6] {
    [0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]]
}

/// The MAC a frame to IPv6 group `a` goes to (RFC 2464).
fn ipv6_multicast_mac(a: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

/// The name DPDK knows the device by: the part of a vdev spec before the first comma.
fn port_name(device: &str) -> &str {
    device.split(',').next().unwrap_or("").trim()
}

/// The `net_*` vdevs EAL is asked to create by `args` (`--vdev X` or `--vdev=X`).
fn expected_vdevs(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let spec = if a == "--vdev" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("--vdev=")
        };
        if let Some(name) = spec.map(port_name) {
            if name.starts_with("net_") {
                out.push(name.to_owned());
            }
        }
    }
    out
}

fn dpdk_err(device: &str, e: DpdkError) -> DataplaneError {
    DataplaneError::Io {
        interface: device.to_owned(),
        op: e.op,
        error: e.io_error(),
    }
}

/// Initialises DPDK's EAL with `args` (EAL options without the program name, e.g.
/// `["--no-huge", "--no-pci", "-l", "0", "--vdev", "net_pcap0,rx_pcap=in.pcap"]`). Once per
/// process; a second call is an error. EAL pins the calling thread to the first lcore's CPU.
///
/// A vdev that fails to probe does not fail `rte_eal_init`, so afterwards every `net_*`
/// vdev named in `args` must exist as a port, or this fails naming it.
pub fn eal_init(args: &[String]) -> Result<(), DataplaneError> {
    let eal = Eal::init(args).map_err(|e| dpdk_err("EAL", e))?;
    for name in expected_vdevs(args) {
        if eal.port_by_name(&name).is_err() {
            return Err(DataplaneError::Unsupported {
                interface: name,
                op: "EAL device probe",
                reason: format!(
                    "the vdev did not probe (see the EAL log); {} DPDK port(s) available",
                    eal.port_count()
                ),
            });
        }
    }
    Ok(())
}

/// The TSC now (RDTSC). Needs no EAL.
pub fn rdtsc() -> u64 {
    sys::rdtsc()
}

/// EAL's estimate of the TSC rate in Hz (`None` before [`eal_init`]). Rounded on VMs:
/// calibrate rather than trust it.
pub fn tsc_hz() -> Option<u64> {
    sys::tsc_hz()
}

fn check_config(cfg: &DpdkPortConfig) -> Result<(), DataplaneError> {
    let bad = |reason: String| {
        Err(DataplaneError::InvalidConfig {
            interface: cfg.device.clone(),
            reason,
        })
    };
    if port_name(&cfg.device).is_empty() || cfg.device.contains('\0') {
        return bad(format!("invalid DPDK device {:?}", cfg.device));
    }
    if cfg.dscp > 63 {
        return bad(format!("dscp {} is out of range (0-63)", cfg.dscp));
    }
    if let Some((vid, pcp)) = cfg.vlan {
        if !(1..=4094).contains(&vid) || pcp > 7 {
            return bad(format!(
                "VLAN {vid} priority {pcp} is out of range (VID 1-4094, PCP 0-7)"
            ));
        }
    }
    match cfg.transport {
        Transport::UdpIpv4 if cfg.ipv4.is_none() => {
            return bad("UDP/IPv4 over DPDK needs the port's IPv4 address".into())
        }
        Transport::UdpIpv6 if cfg.ipv6.is_none() => {
            return bad("UDP/IPv6 over DPDK needs the port's IPv6 address".into())
        }
        Transport::UdpIpv6 if !(1..=0xe).contains(&cfg.ipv6_scope) => {
            return bad(format!(
                "IPv6 multicast scope {:#x} is out of range (1-E)",
                cfg.ipv6_scope
            ))
        }
        _ => {}
    }
    if let Some(a) = cfg.ipv4 {
        if a == [0; 4] || (224..=255).contains(&a[0]) {
            return bad(format!(
                "{}.{}.{}.{} is not a unicast IPv4 address",
                a[0], a[1], a[2], a[3]
            ));
        }
    }
    if let Some(a) = cfg.ipv6 {
        if a == [0; 16] || a[0] == 0xff {
            return bad("the IPv6 address is not a unicast address".into());
        }
    }
    if cfg.rx_descriptors == 0 || cfg.tx_descriptors == 0 {
        return bad("rx-descriptors and tx-descriptors must be at least 1".into());
    }
    let need =
        u32::from(cfg.rx_descriptors) + u32::from(cfg.tx_descriptors) + 2 * sys::BURST as u32;
    if cfg.pool_size < need {
        return bad(format!(
            "mbuf pool of {} is too small for {} RX + {} TX descriptors (at least {need})",
            cfg.pool_size, cfg.rx_descriptors, cfg.tx_descriptors
        ));
    }
    Ok(())
}

/// Distinguishes the pools of successive opens (a pool whose mbufs were still in use when
/// its port closed is leaked, and keeps its name).
static POOL_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// One PTP port on a DPDK ethdev: one RX and one TX queue, polled by the caller's thread.
///
/// Received frames are classified in software (the port runs allmulticast, or promiscuous
/// where allmulticast is not supported): PTP for this port's transport, addressed to us or
/// to the PTP groups, in the configured VLAN, is returned by [`Self::recv`]; ARP requests
/// and IPv6 neighbour solicitations for our addresses are answered; everything else is
/// counted and freed. Every IPv4/IPv6/ARP frame teaches the neighbour table the sender's
/// MAC address, which [`Self::send`] needs for unicast.
pub struct DpdkPort {
    device: String,
    /// The port's name (the device up to the first comma), used in errors and logs.
    name: String,
    transport: Transport,
    ipv4: Option<[u8; 4]>,
    ipv6: Option<[u8; 16]>,
    dscp: u8,
    vlan: Option<VlanTag>,
    ipv6_scope: u8,
    mac: [u8; 6],
    /// What the port accepts (the classifier's view of it).
    filter: PortFilter,
    hw_timesync: bool,
    /// With hardware timesync: the NIC clock against the TSC, and the register handlers of
    /// the single-core mode (the pipeline's stages get their own).
    hw: Option<HwStamping>,
    /// With send-on-timestamp: one-step frames leave at a launch time set in the mbuf.
    launch: Option<LaunchTime>,
    /// With RX timestamp offload: every frame's own device-clock stamp, mapped to the TSC.
    rx_offload: Option<RxOffload>,
    ts_field: Option<sys::RxTimestampField>,
    // Drop order matters: the batches free their mbufs, then the port stops and closes,
    // then the pool goes.
    rx: RxBatch,
    /// Frames queued for one `tx_burst` (single-core mode; see [`DpdkPort::flush_tx`]).
    tx: TxBatch,
    /// Per queued frame: its request's RX time (ns, PTP timescale) if it is a reply, for its
    /// residence time.
    tx_residence: Vec<Option<i128>>,
    /// The rings to the RX and TX stages once split ([`Self::split_pipeline`]).
    pipeline: Option<Arc<Rings>>,
    /// The device, until split into the stages' queues.
    dev: Option<EthDev>,
    port_id: u16,
    pool: Mempool,
    stage_counters: Arc<StageCounters>,
    /// Converts TSC readings to time for residence measurement and the TX stage.
    clock: Option<Arc<SharedTscClock>>,
    residence: Arc<LatencyHistogram>,
    /// The current frame's RX stamp (TSC, or a hardware stamp mapped to the TSC).
    rx_tsc: u64,
    /// TSC read right after the last rx_burst.
    burst_tsc: u64,
    neighbours: Neighbours,
    tx_stamps: VecDeque<(u32, u64)>,
    next_tx_id: u32,
    ip_id: u16,
    counters: DpdkCounters,
}

impl std::fmt::Debug for DpdkPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkPort")
            .field("device", &self.device)
            .field("port_id", &self.port_id)
            .field("pipelined", &self.pipeline.is_some())
            .field("transport", &self.transport)
            .field("mac", &MacAddress(self.mac))
            .field("hw_timesync", &self.hw_timesync)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl NicTimesync for sys::Timesync {
    fn read_time(&mut self) -> Option<i128> {
        sys::Timesync::read_time(self).ok()
    }
    fn read_rx_timestamp(&mut self) -> Option<i128> {
        sys::Timesync::read_rx_timestamp(self)
    }
    fn read_tx_timestamp(&mut self) -> Option<i128> {
        sys::Timesync::read_tx_timestamp(self)
    }
}

/// Registers the calling thread with EAL (for pipeline stage threads): it gets an lcore id
/// and per-lcore mempool caches. Returns the lcore id.
pub fn register_thread() -> Result<u32, DataplaneError> {
    let eal = Eal::get().ok_or_else(|| DataplaneError::Unsupported {
        interface: String::new(),
        op: "register_thread",
        reason: "DPDK's EAL is not initialised".into(),
    })?;
    sys::register_thread(eal).map_err(|e| dpdk_err("EAL", e))
}

impl NicTimesync for sys::DeviceClock {
    fn read_time(&mut self) -> Option<i128> {
        self.read().ok().map(i128::from)
    }
    fn read_rx_timestamp(&mut self) -> Option<i128> {
        None
    }
    fn read_tx_timestamp(&mut self) -> Option<i128> {
        None
    }
}

/// Maps a device clock onto the TSC: 50 bracketed readings 2 ms apart (100 ms).
fn calibrate_map(mut dev: impl NicTimesync) -> Result<NicClockMap, crate::clock::tsc::TscError> {
    NicClockMap::calibrate(&mut dev, &mut sys::rdtsc, 50, &mut || {
        std::thread::sleep(std::time::Duration::from_millis(2))
    })
}

/// How far ahead of the TSC read one-step frames are scheduled with send-on-timestamp: more
/// than the time from that read to the NIC (a few µs), so the frame is never late.
const LAUNCH_LEAD_NS: f64 = 100_000.0;

/// Launch-time one-step (`RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP`): the mbuf field that takes
/// the launch time and the device clock mapped onto the TSC.
struct LaunchTime {
    field: sys::TxTimestampField,
    dev: sys::DeviceClock,
    map: NicClockMap,
    lead_ticks: u64,
}

impl LaunchTime {
    fn new(eal: Eal, dev: sys::DeviceClock) -> Result<LaunchTime, String> {
        let field = eal.tx_timestamp_dynfield().map_err(|e| e.to_string())?;
        let map = calibrate_map(dev).map_err(|e| e.to_string())?;
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        Ok(LaunchTime {
            field,
            dev,
            map,
            lead_ticks: (LAUNCH_LEAD_NS * hz / 1e9) as u64,
        })
    }

    fn stage(&self) -> pipeline::LaunchStage {
        pipeline::LaunchStage {
            field: self.field,
            device: self.map.shared(),
            lead_ticks: self.lead_ticks,
        }
    }
}

/// RX timestamp offload (`RTE_ETH_RX_OFFLOAD_TIMESTAMP`): the dynfield the PMD fills, the
/// device clock (same units) mapped onto the TSC, and the stamper of the single-core mode
/// (a pipeline's RX stage gets a copy sharing the map).
struct RxOffload {
    field: sys::RxTimestampField,
    dev: sys::DeviceClock,
    map: NicClockMap,
    stamper: RxDynStamper,
}

impl RxOffload {
    fn new(field: sys::RxTimestampField, dev: sys::DeviceClock) -> Result<RxOffload, String> {
        let map = calibrate_map(dev).map_err(|e| e.to_string())?;
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        Ok(RxOffload {
            field,
            dev,
            stamper: RxDynStamper::new(map.shared(), hz),
            map,
        })
    }
}

/// How long a hardware TX stamp is awaited before the TSC stamp is used instead.
const HW_TX_TIMEOUT_NS: f64 = 5_000_000.0;

/// Hardware stamping of a port with timesync: the NIC clock's mapping onto the TSC and the
/// register handlers (see [`super::hwstamp`]).
struct HwStamping {
    nic: sys::Timesync,
    map: NicClockMap,
    rx: RxHwStamper<sys::Timesync>,
    tx: TxHwStamper<sys::Timesync>,
}

impl HwStamping {
    /// Calibrates the NIC clock against the TSC (100 ms).
    fn new(nic: sys::Timesync) -> Result<HwStamping, crate::clock::tsc::TscError> {
        let map = calibrate_map(nic)?;
        let hs = HwStamping {
            nic,
            rx: RxHwStamper::new(nic, map.shared()),
            tx: TxHwStamper::new(nic, map.shared(), Self::timeout_ticks()),
            map,
        };
        Ok(hs)
    }

    fn timeout_ticks() -> u64 {
        // EAL's TSC frequency is enough for a timeout (it is only ~0.15 % off).
        let hz = sys::tsc_hz().unwrap_or(3_000_000_000) as f64;
        (HW_TX_TIMEOUT_NS * hz / 1e9) as u64
    }

    /// Handlers for a pipeline's RX and TX stages (the registers move there with them).
    fn stampers(&self) -> (RxHwStamper<sys::Timesync>, TxHwStamper<sys::Timesync>) {
        (
            RxHwStamper::new(self.nic, self.map.shared()),
            TxHwStamper::new(self.nic, self.map.shared(), Self::timeout_ticks()),
        )
    }
}

impl Drop for DpdkPort {
    fn drop(&mut self) {
        // Queued frames leave before the batches, the port and the pool go.
        self.flush_tx();
    }
}

impl DpdkPort {
    /// Opens the port after [`eal_init`]: looks the device up by name, creates its mbuf
    /// pool, configures one RX and one TX queue, starts it, enables allmulticast (or
    /// promiscuous mode), probes hardware timesync and the RX timestamp dynfield.
    pub fn open(cfg: &DpdkPortConfig) -> Result<Self, DataplaneError> {
        check_config(cfg)?;
        let device = cfg.device.as_str();
        let eal = Eal::get().ok_or_else(|| DataplaneError::Unsupported {
            interface: device.to_owned(),
            op: "open",
            reason: "DPDK's EAL is not initialised (eal_init first)".into(),
        })?;
        let name = port_name(device);
        let err = |e: DpdkError| dpdk_err(name, e);
        let mut dev = EthDev::open(eal, name).map_err(|e| DataplaneError::Unsupported {
            interface: name.to_owned(),
            op: "open",
            reason: format!(
                "no DPDK port named {name:?} ({e}); {} port(s) probed",
                eal.port_count()
            ),
        })?;
        let info = dev.info().map_err(err)?;
        let seq = POOL_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cache = if cfg.pool_size >= 512 { 32 } else { 0 };
        let pool = Mempool::create(
            eal,
            &format!("mrd_p{}_{seq}", dev.port_id()),
            cfg.pool_size,
            cache,
            dev.socket_id(),
        )
        .map_err(err)?;
        let launch_capable = info.tx_offload_capa & sys::TX_OFFLOAD_SEND_ON_TIMESTAMP != 0;
        let want_launch = cfg.launch_time && launch_capable;
        let tx_offloads = if want_launch {
            sys::TX_OFFLOAD_SEND_ON_TIMESTAMP
        } else {
            0
        };
        // Every frame's own hardware arrival time where the PMD offers it.
        let rx_offloads = info.rx_offload_capa & sys::RX_OFFLOAD_TIMESTAMP;
        dev.configure(rx_offloads, tx_offloads).map_err(err)?;
        let (rxd, txd) = dev
            .setup_queues(&pool, cfg.rx_descriptors, cfg.tx_descriptors)
            .map_err(err)?;
        let mac = dev.mac_address().map_err(err)?;
        dev.start().map_err(err)?;
        if let Err(e) = dev.allmulticast_enable() {
            if let Err(e2) = dev.promiscuous_enable() {
                tracing::warn!(device, allmulticast = %e, promiscuous = %e2,
                    "cannot enable multicast reception; PTP multicast may not arrive");
            }
        }
        let hw_timesync = match dev.timesync_probe() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(device, error = %e, "hardware timesync probe failed");
                false
            }
        };
        let hw = match dev.timesync() {
            Some(ts) => match HwStamping::new(ts) {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(device, error = %e,
                        "hardware timesync enabled but its clock cannot be mapped; TSC stamps");
                    None
                }
            },
            None => None,
        };
        let hw_timesync = hw_timesync && hw.is_some();
        let launch = if want_launch {
            match LaunchTime::new(eal, dev.device_clock()) {
                Ok(l) => Some(l),
                Err(e) => {
                    tracing::warn!(device, error = %e,
                        "the device can send on a timestamp but its clock cannot be mapped; \
                         one-step launch times are written just before tx_burst instead");
                    None
                }
            }
        } else {
            None
        };
        let rx_offload = if rx_offloads != 0 {
            let r = match eal.rx_timestamp_dynfield() {
                Some(field) => RxOffload::new(field, dev.device_clock()),
                None => Err("the PMD registered no timestamp dynfield".into()),
            };
            r.map_err(|e| {
                tracing::warn!(device, error = %e,
                    "RX timestamp offload enabled but unusable; TSC stamps on receive")
            })
            .ok()
        } else {
            None
        };
        let link = dev.link().ok();
        tracing::info!(
            device,
            port = dev.port_id(),
            driver = %info.driver_name,
            mac = %MacAddress(mac),
            rx_descriptors = rxd,
            tx_descriptors = txd,
            hw_timesync,
            rx_timestamp_offload = rx_offload.is_some(),
            send_on_timestamp = launch_capable,
            launch_time_one_step = launch.is_some(),
            link_up = link.map(|l| l.up),
            link_mbps = link.map(|l| l.speed_mbps),
            "DPDK port started"
        );
        Ok(DpdkPort {
            device: device.to_owned(),
            name: name.to_owned(),
            transport: cfg.transport,
            ipv4: cfg.ipv4,
            ipv6: cfg.ipv6,
            dscp: cfg.dscp,
            vlan: cfg.vlan.map(|(vid, pcp)| VlanTag {
                pcp,
                dei: false,
                vid,
            }),
            ipv6_scope: cfg.ipv6_scope,
            mac,
            filter: PortFilter {
                transport: cfg.transport,
                mac,
                ipv4: cfg.ipv4,
                ipv6: cfg.ipv6,
                ipv6_scope: cfg.ipv6_scope,
                vlan: cfg.vlan.map(|(vid, _)| vid),
            },
            hw_timesync,
            hw,
            launch,
            rx_offload,
            ts_field: eal.rx_timestamp_dynfield(),
            rx: RxBatch::new(),
            tx: TxBatch::new(),
            pipeline: None,
            port_id: dev.port_id(),
            dev: Some(dev),
            pool,
            stage_counters: Arc::default(),
            clock: None,
            residence: Arc::default(),
            rx_tsc: 0,
            burst_tsc: 0,
            neighbours: Neighbours::new(),
            tx_stamps: VecDeque::with_capacity(TX_STAMP_QUEUE),
            tx_residence: Vec::with_capacity(sys::BURST),
            next_tx_id: 0,
            ip_id: 0,
            counters: DpdkCounters::default(),
        })
    }

    /// The port's name (the device up to its first comma).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device as configured.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The transport.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The port's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The port's protocol address: IPv4 (4 octets), IPv6 (16) or MAC (6), per transport.
    pub fn protocol_address(&self) -> Vec<u8> {
        match self.transport {
            Transport::UdpIpv4 => self.ipv4.map_or_else(Vec::new, |a| a.to_vec()),
            Transport::UdpIpv6 => self.ipv6.map_or_else(Vec::new, |a| a.to_vec()),
            Transport::L2 => self.mac.to_vec(),
        }
    }

    /// Whether `rte_eth_timesync_enable` succeeded (the NIC can stamp PTP frames).
    pub fn hardware_timesync(&self) -> bool {
        self.hw_timesync
    }

    /// Whether the PMD registered the RX timestamp dynfield ([`DpdkRx::hw_timestamp`]).
    pub fn has_rx_timestamp_field(&self) -> bool {
        self.ts_field.is_some()
    }

    /// Counters.
    pub fn counters(&self) -> &DpdkCounters {
        &self.counters
    }

    /// Mbufs of the port's pool in use (queues, batches, in flight).
    pub fn mbufs_in_use(&self) -> u32 {
        self.pool.in_use()
    }

    /// Polls `rx_burst` (keeping the burst's frames for the following calls) and returns the
    /// next PTP message for this port, its payload copied into `buf`: the UDP payload, or
    /// for L2 the Ethernet payload after the (802.1Q) header. `None` when the queue is empty
    /// (or after 256 frames that were not for the caller). Every frame goes through the
    /// classifier (in a pipeline, on the RX stage); ARP / neighbour solicitations are
    /// answered on the way; everything else is counted and freed.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
        for _ in 0..MAX_FRAMES_PER_RECV {
            let Some((m, verdict)) = self.next_frame() else {
                return Ok(None);
            };
            let p = match verdict {
                Verdict::Ptp(p) => p,
                Verdict::Arp(n) => {
                    self.handle_arp(m.data().get(n.l3..).unwrap_or_default());
                    continue;
                }
                Verdict::Icmpv6(n) => {
                    let ip = m.data().get(n.l3..).unwrap_or_default();
                    if let Some(src) = ip.get(8..24).and_then(|s| <[u8; 16]>::try_from(s).ok()) {
                        self.learn_v6(src, n.source_mac);
                    }
                    self.handle_icmpv6(ip, n.source_mac);
                    continue;
                }
                Verdict::Drop(reason) => {
                    self.counters.drops.count(reason);
                    continue;
                }
            };
            let Some(dst) = buf.get_mut(..p.len) else {
                self.counters.rx_truncated += 1;
                continue;
            };
            dst.copy_from_slice(&m.data()[p.offset..p.offset + p.len]);
            self.learn_sender(&p);
            self.counters.rx_packets += 1;
            return Ok(Some(RxFrame {
                len: p.len,
                source: p.source,
                multicast: p.multicast,
                event: p.event,
                stamp: Some(RawStamp::Tsc(self.rx_tsc)),
                device_stamp: self.ts_field.and_then(|f| m.rx_timestamp(f)),
            }));
        }
        Ok(None)
    }

    /// The next received frame and its verdict: from the RX stage's ring (pipeline, already
    /// classified), or from the current burst, polling a new one when it is used up. Sets
    /// `rx_tsc` to the frame's stamp.
    fn next_frame(&mut self) -> Option<(Mbuf, Verdict)> {
        if let Some(rings) = &self.pipeline {
            let StagedRx { mbuf, tsc, verdict } = rings.rx.pop()?;
            self.rx_tsc = tsc;
            return Some((mbuf, verdict));
        }
        loop {
            if self.rx.waiting() == 0 {
                // The replies to the previous burst leave together before the next is polled.
                self.flush_tx();
                let dev = self.dev.as_mut()?;
                if dev.rx_burst(&mut self.rx) == 0 {
                    return None;
                }
                self.burst_tsc = sys::rdtsc();
                self.counters.rx_bursts += 1;
                if let Some(h) = &mut self.hw {
                    h.rx.begin_burst();
                }
            }
            let m = self.rx.pop()?;
            self.counters.rx_frames += 1;
            self.rx_tsc = match (&mut self.rx_offload, &mut self.hw) {
                (Some(o), _) => o.stamper.stamp(m.rx_timestamp(o.field), self.burst_tsc),
                (None, Some(h)) => h.rx.stamp(m.rx_timesync_latched(), self.burst_tsc),
                (None, None) => self.burst_tsc,
            };
            if !m.is_contiguous() {
                self.counters.rx_multiseg += 1;
                continue;
            }
            let verdict = classify::classify(m.data(), &self.filter, None);
            return Some((m, verdict));
        }
    }

    /// One update of the NIC-clock → TSC mapping (hardware timesync only; call about once
    /// a second from the engine core). Returns the mapping error before the update, ns.
    pub fn track_nic_clock(&mut self) -> Option<i128> {
        if let Some(l) = &mut self.launch {
            l.map.track(&mut l.dev, &mut sys::rdtsc);
        }
        if let Some(o) = &mut self.rx_offload {
            o.map.track(&mut o.dev, &mut sys::rdtsc);
        }
        let h = self.hw.as_mut()?;
        h.map.track(&mut h.nic, &mut sys::rdtsc)
    }

    /// Whether one-step frames leave at a launch time the device honours.
    pub fn launch_time_one_step(&self) -> bool {
        self.launch.is_some()
    }

    /// Hardware stamping counters (hardware timesync only).
    pub fn hw_stamp_counters(&self) -> Option<HwStampCounters> {
        if self.hw.is_none() && self.rx_offload.is_none() {
            return None;
        }
        let mut c = HwStampCounters::default();
        if let Some(h) = &self.hw {
            let (r, t) = (h.rx.counters, h.tx.counters);
            c.tx_hw_stamps = t.tx_hw_stamps;
            c.tx_hw_busy = t.tx_hw_busy;
            c.tx_hw_timeouts = t.tx_hw_timeouts;
            if self.rx_offload.is_none() {
                c.rx_hw_stamps = r.rx_hw_stamps;
                c.rx_hw_missing = r.rx_hw_missing;
                c.rx_hw_extra = r.rx_hw_extra;
            }
        }
        if let Some(o) = &self.rx_offload {
            let r = o.stamper.counters;
            c.rx_hw_stamps = r.rx_hw_stamps;
            c.rx_hw_missing = r.rx_hw_missing;
            c.rx_hw_implausible = r.rx_hw_implausible;
        }
        if self.pipeline.is_some() {
            let s = self.stage_counters.report();
            c.rx_hw_stamps += s.rx_hw_stamps;
            c.rx_hw_missing += s.rx_hw_missing;
            c.rx_hw_extra += s.rx_hw_extra;
            c.rx_hw_implausible += s.rx_hw_implausible;
            c.tx_hw_stamps += s.tx_hw_stamps;
            c.tx_hw_busy += s.tx_hw_busy;
            c.tx_hw_timeouts += s.tx_hw_timeouts;
        }
        Some(c)
    }

    /// Whether received frames carry their own hardware arrival time (RX timestamp offload,
    /// mapped through the device clock).
    pub fn rx_timestamp_offload(&self) -> bool {
        self.rx_offload.is_some()
    }

    /// Attaches the TSC clock that converts this port's stamps to time (the runtime's
    /// clock, published after every adjustment) and the histogram that records residence
    /// times (Delay_Req RX stamp → Delay_Resp TX stamp). Without a clock no residence time is
    /// recorded and the port cannot be split into a pipeline.
    pub fn attach_clock(&mut self, clock: Arc<SharedTscClock>, residence: Arc<LatencyHistogram>) {
        self.clock = Some(clock);
        self.residence = residence;
    }

    /// Splits the port into a pipeline: returns its RX and TX stages, to be polled on their
    /// cores, joined to this port (which stays on the engine core) by rings of `ring_size`
    /// frames. From then on [`Self::recv`] takes frames from the RX stage, [`Self::send`]
    /// hands them to the TX stage (which stamps them and writes one-step launch times with
    /// the attached clock), and [`Self::drain_tx_timestamps`] reports the TX stage's stamps.
    pub fn split_pipeline(
        &mut self,
        ring_size: usize,
    ) -> Result<(RxStage, TxStage), DataplaneError> {
        let name = self.name.clone();
        let unsupported = |reason: &str| DataplaneError::Unsupported {
            interface: name.clone(),
            op: "pipeline",
            reason: reason.into(),
        };
        let Some(clock) = self.clock.clone() else {
            return Err(unsupported("no TSC clock attached"));
        };
        if ring_size < 2 {
            return Err(unsupported("ring size below 2"));
        }
        self.flush_tx();
        let Some(dev) = self.dev.take() else {
            return Err(unsupported("already split"));
        };
        // Frames of the current burst and TX stamps not yet drained stay valid: the burst is
        // still taken by recv before the ring (below), the stamps are drained as before.
        let (rxq, txq) = dev.split();
        let rings = Arc::new(Rings::new(ring_size));
        self.pipeline = Some(Arc::clone(&rings));
        let counters = Arc::clone(&self.stage_counters);
        let (rx_hw, tx_hw) = match &self.hw {
            Some(h) => {
                let (r, t) = h.stampers();
                (Some(r), Some(t))
            }
            None => (None, None),
        };
        let offload = self
            .rx_offload
            .as_ref()
            .map(|o| (o.field, o.stamper.clone()));
        Ok((
            RxStage::new(
                rxq,
                self.filter,
                Arc::clone(&rings),
                Arc::clone(&counters),
                rx_hw,
                offload,
            ),
            TxStage::new(
                txq,
                rings,
                counters,
                clock,
                Arc::clone(&self.residence),
                tx_hw,
                self.launch.as_ref().map(LaunchTime::stage),
            ),
        ))
    }

    /// The pipeline stages' counters, once split.
    pub fn stage_report(&self) -> Option<StageReport> {
        self.pipeline.as_ref().map(|_| self.stage_counters.report())
    }

    /// Whether the port runs as a pipeline.
    pub fn is_pipelined(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Learns the MAC of a PTP sender over UDP (after the classifier accepted its frame).
    fn learn_sender(&mut self, p: &PtpFrame) {
        match p.source {
            PeerAddress::Ipv4(ip) => self.learn_v4(ip, p.source_mac),
            PeerAddress::Ipv6(ip) => self.learn_v6(ip, p.source_mac),
            PeerAddress::Mac(_) => {}
        }
    }

    fn learn_v4(&mut self, ip: [u8; 4], mac: [u8; 6]) {
        self.neighbours.learn_v4(ip, mac, self.ipv4);
    }

    fn learn_v6(&mut self, ip: [u8; 16], mac: [u8; 6]) {
        self.neighbours.learn_v6(ip, mac, self.ipv6);
    }

    /// ARP (the payload after the Ethernet header): learn the sender, answer requests for
    /// our IPv4 address.
    fn handle_arp(&mut self, a: &[u8]) {
        let mut out = [0u8; neighbour::REPLY_MAX];
        let port = self.addresses();
        let r = neighbour::arp(&mut self.neighbours, &port, a, &mut out);
        if self.count_and_send(r, &out) {
            self.counters.tx_arp_replies += 1;
        }
    }

    /// ICMPv6 (the IPv6 packet): answer neighbour solicitations for our IPv6 address.
    fn handle_icmpv6(&mut self, ip: &[u8], src_mac: [u8; 6]) {
        let mut out = [0u8; neighbour::REPLY_MAX];
        let r = neighbour::icmpv6(&self.addresses(), ip, src_mac, &mut out);
        if self.count_and_send(r, &out) {
            self.counters.tx_nd_adverts += 1;
        }
    }

    /// The port's own addresses, which ARP / ND answers are about.
    fn addresses(&self) -> PortAddresses {
        PortAddresses {
            mac: self.mac,
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            vlan: self.vlan,
        }
    }

    /// Counts an ARP / ICMPv6 packet as `r` says and sends the reply built in `out`, if
    /// any; whether a reply was sent.
    fn count_and_send(&mut self, r: NeighbourReply, out: &[u8]) -> bool {
        let (rx, reply) = match r {
            NeighbourReply::Nothing => return false,
            NeighbourReply::Count(rx) => (rx, None),
            NeighbourReply::Send(rx, len) => (rx, out.get(..len)),
        };
        *match rx {
            RxCount::ArpRequest => &mut self.counters.rx_arp_requests,
            RxCount::ArpOther => &mut self.counters.rx_arp_other,
            RxCount::NdSolicitation => &mut self.counters.rx_nd_solicitations,
            RxCount::NonPtp => &mut self.counters.drops.rx_non_ptp,
        } += 1;
        reply.is_some_and(|f| self.transmit_built(f))
    }

    /// Copies a small built frame (ARP, ND) into an mbuf and sends it; `false` if it could
    /// not be sent (counted).
    fn transmit_built(&mut self, frame: &[u8]) -> bool {
        let Some(mut m) = self.pool.alloc() else {
            self.counters.tx_no_mbuf += 1;
            return false;
        };
        let Some(out) = m.append(frame.len()) else {
            return false;
        };
        out.copy_from_slice(frame);
        self.transmit(
            m,
            TxMeta {
                layout: None,
                stamp_id: None,
                one_step: false,
                request_rx_ns: None,
            },
        )
    }

    /// Sends one mbuf (pipeline: hands it to the TX stage); `false` (and counted) if the TX
    /// queue or ring did not take it. Single-core mode: a frame without a TX stamp is queued
    /// for the next [`Self::flush_tx`] (its residence time, if it is a reply, ends there);
    /// a stamped one (`stamp_id` or `one_step`) must be sent with [`Self::send_now`].
    fn transmit(&mut self, m: Mbuf, meta: TxMeta) -> bool {
        if let Some(rings) = &self.pipeline {
            if rings.tx.push(TxFrame { mbuf: m, meta }).is_ok() {
                return true;
            }
            self.counters.tx_ring_full += 1;
            return false;
        }
        if self.dev.is_none() {
            return false;
        }
        if self.tx.len() >= TX_FLUSH_AT {
            self.flush_tx();
        }
        if self.tx.push(m).is_err() {
            self.counters.tx_ring_full += 1;
            return false;
        }
        self.tx_residence.push(meta.request_rx_ns);
        true
    }

    /// Sends the queued frames in one `tx_burst` (single-core mode; nothing to do for a
    /// pipeline, whose TX stage batches). Frames the TX queue does not take are dropped and
    /// counted (`tx_ring_full`); Delay_Resp residence times end at the TSC read before the
    /// burst. Cheap when nothing is queued.
    pub fn flush_tx(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        let Some(dev) = self.dev.as_mut() else {
            return;
        };
        let tsc = sys::rdtsc();
        let sent = dev.tx_burst(&mut self.tx);
        self.counters.tx_bursts += 1;
        self.counters.tx_ring_full += self.tx.clear() as u64;
        if let Some(c) = &self.clock {
            let now = c.ns_at(tsc);
            for rx in self.tx_residence.iter().take(sent).flatten() {
                self.residence.record(pipeline::residence_ns(*rx, now));
            }
        }
        self.tx_residence.clear();
    }

    /// Sends `m` alone at once, after the queued frames (single-core mode, stamped frames):
    /// the TSC read immediately before its `tx_burst` is its stamp. `false` (and counted) if
    /// the TX queue did not take it.
    fn send_now(&mut self, m: Mbuf) -> bool {
        let Some(dev) = self.dev.as_mut() else {
            return false;
        };
        let mut one = TxBatch::new();
        if one.push(m).is_err() {
            return false;
        }
        self.counters.tx_bursts += 1;
        if dev.tx_burst(&mut one) == 1 {
            return true;
        }
        self.counters.tx_ring_full += one.clear() as u64;
        false
    }

    /// Destination MAC and encapsulation for a message to `dest`.
    fn route(
        &mut self,
        dest: Destination,
        event: bool,
    ) -> Result<([u8; 6], NetworkRepr), &'static str> {
        let port = if event {
            frame::PORT_EVENT
        } else {
            frame::PORT_GENERAL
        };
        let ports = UdpPorts {
            src: port,
            dst: port,
        };
        match classify::resolve(self.transport, dest, self.ipv6_scope)? {
            PeerAddress::Mac(mac) => Ok((mac, NetworkRepr::L2)),
            PeerAddress::Ipv4(dst) => {
                let src = self.ipv4.ok_or("the port has no IPv4 address")?;
                let group = classify::is_ipv4_group(dst);
                let mac = if group {
                    ipv4_multicast_mac(dst)
                } else {
                    self.neighbour(IpKey::v4(dst))?
                };
                self.ip_id = self.ip_id.wrapping_add(1);
                let ip = Ipv4Repr {
                    src,
                    dst,
                    dscp_ecn: self.dscp << 2,
                    identification: self.ip_id,
                    flags_fragment: 0x4000,
                    ttl: if group { 1 } else { UNICAST_TTL },
                };
                Ok((mac, NetworkRepr::Udp4(ip, ports)))
            }
            PeerAddress::Ipv6(dst) => {
                let src = self.ipv6.ok_or("the port has no IPv6 address")?;
                let group = classify::is_ipv6_group(dst);
                let mac = if group {
                    ipv6_multicast_mac(dst)
                } else {
                    self.neighbour(IpKey::v6(dst))?
                };
                let ip = Ipv6Repr {
                    src,
                    dst,
                    traffic_class: self.dscp << 2,
                    flow_label: 0,
                    hop_limit: if group { 1 } else { UNICAST_TTL },
                };
                Ok((mac, NetworkRepr::Udp6(ip, ports)))
            }
        }
    }

    fn neighbour(&mut self, ip: IpKey) -> Result<[u8; 6], &'static str> {
        self.neighbours.lookup(&ip).ok_or_else(|| {
            self.counters.tx_no_neighbour += 1;
            "the peer's MAC address is unknown (no frame received from it yet)"
        })
    }

    /// Sends one PTP message (`payload`, exactly the message) to `dest`, building the whole
    /// frame in an mbuf: Ethernet (+802.1Q), and for UDP the IP and UDP headers with their
    /// checksums (IPv6: plus the two trailer octets of annex D.3); frames shorter than 60
    /// octets are zero-padded. Multicast goes to the PTP group MACs; unicast to the MAC
    /// learnt from the peer's frames (unknown: counted, error).
    ///
    /// A message without a stamp (no `want_tx_timestamp`, no `one_step_now`) is queued and
    /// leaves with the next flush (see [`Self::flush_tx`]). For a stamped one, the queue is
    /// flushed first and the TSC is read immediately before its own `rte_eth_tx_burst`. With
    /// `one_step_now`, the launch time it returns for that reading (ns on the PTP timescale)
    /// is written into the originTimestamp (offset 34), keeping the UDP checksum valid. With
    /// `want_tx_timestamp` (event messages only) returns `Some(id)`, and
    /// [`Self::drain_tx_timestamps`] later reports `(id, tsc)`.
    ///
    /// A full TX ring or an empty mbuf pool drops the message with an error for which
    /// [`DataplaneError::is_would_block`] is true (a queued message the TX queue refuses at the
    /// flush is counted in `tx_ring_full`).
    pub fn send(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step_now: Option<&mut dyn FnMut(u64) -> i128>,
    ) -> Result<Option<u32>, DataplaneError> {
        self.send_reply(dest, event, payload, want_tx_timestamp, one_step_now, None)
    }

    /// [`Self::send`] for a reply whose request arrived at `request_rx_ns` (ns on the PTP
    /// timescale, as stamped): its residence time (TX stamp − that time) is recorded.
    pub fn send_reply(
        &mut self,
        dest: Destination,
        event: bool,
        payload: &[u8],
        want_tx_timestamp: bool,
        one_step_now: Option<&mut dyn FnMut(u64) -> i128>,
        request_rx_ns: Option<i128>,
    ) -> Result<Option<u32>, DataplaneError> {
        let device = self.name.as_str();
        let invalid = |reason| DataplaneError::InvalidSend {
            interface: device.to_owned(),
            reason,
        };
        if want_tx_timestamp && !event {
            return Err(invalid("a TX timestamp was asked for a general message"));
        }
        if one_step_now.is_some() && payload.len() < ORIGIN_TIMESTAMP + Timestamp::LEN {
            return Err(invalid("one-step message too short for an originTimestamp"));
        }
        let (dst, network) = match self.route(dest, event) {
            Ok(r) => r,
            Err(reason) => {
                return Err(DataplaneError::InvalidSend {
                    interface: self.name.clone(),
                    reason,
                })
            }
        };
        let device = self.name.as_str();
        let invalid = |reason| DataplaneError::InvalidSend {
            interface: device.to_owned(),
            reason,
        };
        let repr = FrameRepr {
            ethernet: EthernetRepr {
                dst: MacAddress(dst),
                src: MacAddress(self.mac),
                vlan: self.vlan,
            },
            network,
        };
        let hl = repr.header_len();
        let plen = payload.len() + repr.trailer_len(true);
        let frame_len = hl + plen;
        let Some(mut m) = self.pool.alloc() else {
            self.counters.tx_no_mbuf += 1;
            return Err(would_block(device, "rte_pktmbuf_alloc"));
        };
        let Some(data) = m.append(frame_len.max(MIN_FRAME)) else {
            return Err(invalid("message too long for an mbuf"));
        };
        data[hl..hl + payload.len()].copy_from_slice(payload);
        data[hl + payload.len()..].fill(0);
        let layout = repr
            .emit_headers(&mut data[..frame_len], plen)
            .map_err(|_| invalid("message too long"))?;
        let id = self.next_tx_id;
        let pipelined = self.pipeline.is_some();
        if pipelined || (!want_tx_timestamp && one_step_now.is_none()) {
            // Pipeline: the TX stage stamps, writes the launch time and measures residence.
            // Single core without a stamp: queued, leaves with the next flush.
            let meta = TxMeta {
                layout: Some(layout),
                stamp_id: want_tx_timestamp.then_some(id),
                one_step: one_step_now.is_some(),
                request_rx_ns: request_rx_ns.filter(|_| self.clock.is_some()),
            };
            if !self.transmit(m, meta) {
                let op = if pipelined {
                    "pipeline tx ring"
                } else {
                    "rte_eth_tx_burst"
                };
                return Err(would_block(&self.name, op));
            }
            self.counters.tx_packets += 1;
            if !want_tx_timestamp {
                return Ok(None);
            }
            self.next_tx_id = id.wrapping_add(1);
            return Ok(Some(id));
        }
        // Stamped: what is queued goes first, so the stamp read below is this frame's.
        self.flush_tx();
        // One hardware TX stamp at a time (see hwstamp); the others keep the TSC stamp.
        let hw_reserved = want_tx_timestamp && self.hw.as_mut().is_some_and(|h| h.tx.reserve());
        if hw_reserved {
            m.request_tx_timesync();
        }
        let tsc = sys::rdtsc();
        if let Some(now) = one_step_now {
            let origin = match &self.launch {
                // The device sends it at the device time for TSC tsc + lead: say that time.
                Some(l) => {
                    let at = tsc.wrapping_add(l.lead_ticks);
                    let dev = l.map.shared().ns_at(at).clamp(0, u64::MAX as i128) as u64;
                    m.set_launch_time(l.field, dev);
                    now(at)
                }
                None => now(tsc),
            };
            pipeline::write_launch_time(m.data_mut(), &layout, origin).map_err(|()| {
                DataplaneError::InvalidSend {
                    interface: self.name.clone(),
                    reason: "one-step launch time out of range",
                }
            })?;
        }
        if !self.send_now(m) {
            if hw_reserved {
                if let Some(h) = &mut self.hw {
                    h.tx.not_sent();
                }
            }
            return Err(would_block(&self.name, "rte_eth_tx_burst"));
        }
        self.counters.tx_packets += 1;
        if let (Some(rx), Some(c)) = (request_rx_ns, &self.clock) {
            self.residence
                .record(pipeline::residence_ns(rx, c.ns_at(tsc)));
        }
        if !want_tx_timestamp {
            return Ok(None);
        }
        self.next_tx_id = id.wrapping_add(1);
        if hw_reserved {
            if let Some(h) = &mut self.hw {
                h.tx.sent(id, tsc);
                return Ok(Some(id));
            }
        }
        if self.tx_stamps.len() >= TX_STAMP_QUEUE {
            self.tx_stamps.pop_front();
            self.counters.tx_timestamp_overflow += 1;
        }
        self.tx_stamps.push_back((id, tsc));
        Ok(Some(id))
    }

    /// Calls `f(id, tsc)` for every TX timestamp not yet drained (`id` as returned by
    /// [`Self::send`], `tsc` the TSC read just before the frame was handed to the PMD).
    pub fn drain_tx_timestamps(&mut self, f: &mut dyn FnMut(u32, u64)) {
        if let Some(rings) = &self.pipeline {
            while let Some((id, tsc)) = rings.stamps.pop() {
                self.counters.tx_timestamps += 1;
                f(id, tsc);
            }
        }
        while let Some((id, tsc)) = self.tx_stamps.pop_front() {
            self.counters.tx_timestamps += 1;
            f(id, tsc);
        }
        if let Some(h) = &mut self.hw {
            if let Some((id, tsc)) = h.tx.poll(sys::rdtsc()) {
                self.counters.tx_timestamps += 1;
                f(id, tsc);
            }
        }
    }
}

impl PtpPort for DpdkPort {
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError> {
        DpdkPort::recv(self, buf)
    }

    fn send(
        &mut self,
        tx: &TxRequest<'_>,
        clock: &dyn StampClock,
    ) -> Result<Option<u32>, DataplaneError> {
        let two_step = tx.timing == TxTiming::TwoStep;
        let request_rx = tx.request_rx.map(|t| i128::from(t.0));
        if tx.timing == TxTiming::OneStep {
            let mut launch = |tsc: u64| i128::from(clock.time_of(RawStamp::Tsc(tsc)).0);
            let launch: &mut dyn FnMut(u64) -> i128 = &mut launch;
            self.send_reply(
                tx.destination,
                tx.event,
                tx.payload,
                false,
                Some(launch),
                request_rx,
            )
        } else {
            self.send_reply(
                tx.destination,
                tx.event,
                tx.payload,
                two_step,
                None,
                request_rx,
            )
        }
    }

    fn flush(&mut self) {
        self.flush_tx();
    }

    fn drain_tx_timestamps(
        &mut self,
        f: &mut dyn FnMut(u32, RawStamp),
    ) -> Result<(), DataplaneError> {
        DpdkPort::drain_tx_timestamps(self, &mut |id, tsc| f(id, RawStamp::Tsc(tsc)));
        Ok(())
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn protocol_address(&self) -> Vec<u8> {
        DpdkPort::protocol_address(self)
    }

    fn busy_poll(&self) -> bool {
        true
    }

    fn link_up(&self) -> Option<bool> {
        self.dev.as_ref()?.link().ok().map(|l| l.up)
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        super::add_counters(&mut out, "", &self.counters);
        if let Some(r) = self.stage_report() {
            super::add_counters(&mut out, "pipeline_", &r);
        } else if let Some(h) = self.hw_stamp_counters() {
            super::add_counters(&mut out, "", &h);
        }
        out
    }

    fn timestamping(&self) -> String {
        let stamps = match (self.rx_offload.is_some(), self.hw_timesync) {
            (true, true) => "hardware (RX: timestamp offload; TX: DPDK timesync; TSC fallback)",
            (true, false) => "hardware RX (timestamp offload), TSC TX",
            (false, true) => "hardware (DPDK timesync, TSC fallback)",
            (false, false) => "TSC",
        };
        let launch = if self.launch.is_some() {
            ", launch-time one-step"
        } else {
            ""
        };
        let mode = if self.pipeline.is_some() {
            " (DPDK pipeline)"
        } else {
            " (DPDK poll loop)"
        };
        format!("{stamps}{launch}{mode}")
    }

    fn maintain(&mut self) {
        if let Some(err) = self.track_nic_clock() {
            tracing::debug!(device = %self.name, error_ns = err as i64, "NIC clock mapping");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: Transport) -> DpdkPortConfig {
        DpdkPortConfig {
            device: "net_pcap0,rx_pcap=a.pcap".into(),
            transport: t,
            ipv4: Some([10, 0, 0, 1]),
            ipv6: Some([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            dscp: 46,
            vlan: None,
            ipv6_scope: 2,
            pdelay: false,
            rx_descriptors: 256,
            tx_descriptors: 256,
            pool_size: 1023,
            launch_time: false,
        }
    }

    #[test]
    fn config_checks_name_the_device() {
        assert!(check_config(&cfg(Transport::UdpIpv4)).is_ok());
        let mut c = cfg(Transport::UdpIpv4);
        c.ipv4 = None;
        let e = check_config(&c).unwrap_err().to_string();
        assert!(e.starts_with("net_pcap0,rx_pcap=a.pcap: UDP/IPv4"), "{e}");
        let mut c = cfg(Transport::L2);
        c.pool_size = 100;
        assert!(check_config(&c)
            .unwrap_err()
            .to_string()
            .contains("too small"));
        let mut c = cfg(Transport::L2);
        c.vlan = Some((4095, 0));
        assert!(check_config(&c).is_err());
        c.vlan = Some((100, 7));
        assert!(check_config(&c).is_ok());
        c.device = ",x".into();
        assert!(check_config(&c).is_err());
        let mut c = cfg(Transport::UdpIpv6);
        c.ipv6_scope = 0xf;
        assert!(check_config(&c).is_err());
        let mut c = cfg(Transport::UdpIpv4);
        c.ipv4 = Some([224, 0, 1, 129]);
        assert!(check_config(&c).is_err());
    }

    #[test]
    fn vdev_names() {
        assert_eq!(port_name("net_af_packet0,iface=veth0"), "net_af_packet0");
        assert_eq!(port_name("0000:01:00.0"), "0000:01:00.0");
        let args: Vec<String> = [
            "--no-huge",
            "--vdev",
            "net_null0",
            "--vdev=net_ring0,x=1",
            "--vdev",
            "crypto_null",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(expected_vdevs(&args), ["net_null0", "net_ring0"]);
        assert!(expected_vdevs(&["--vdev".to_string()]).is_empty());
    }

    #[test]
    fn multicast_macs() {
        assert_eq!(
            ipv4_multicast_mac(frame::IPV4_PRIMARY),
            [1, 0, 0x5e, 0, 1, 0x81]
        );
        assert_eq!(
            ipv4_multicast_mac(frame::IPV4_PDELAY),
            [1, 0, 0x5e, 0, 0, 0x6b]
        );
        assert_eq!(
            ipv6_multicast_mac(frame::ipv6_primary(0xe)),
            [0x33, 0x33, 0, 0, 1, 0x81]
        );
        assert_eq!(
            ipv6_multicast_mac(frame::IPV6_PDELAY),
            [0x33, 0x33, 0, 0, 0, 0x6b]
        );
    }
}
