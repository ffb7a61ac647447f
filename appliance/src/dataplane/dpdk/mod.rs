//! The DPDK backend: [`DpdkPort`], one PTP port on a DPDK ethdev polled from user space.
//!
//! A DPDK port has no kernel network stack behind it, so this module is one: it builds and
//! parses whole Ethernet frames (L2, UDP/IPv4, UDP/IPv6, optionally 802.1Q-tagged), answers
//! ARP requests for the port's IPv4 address and IPv6 neighbour solicitations for its IPv6
//! address, and learns each peer's MAC address from the PTP, ARP and neighbour-discovery
//! frames it sends (a fixed-size neighbour table) so unicast replies can be addressed.
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
//!
//! Files: this one (the port, its configuration and counters, the [`PtpPort`]
//! implementation), `eal` (EAL start, device names, configuration checks), `open` (opening
//! a port), `hw` (NIC clocks: timesync registers, RX timestamp offload, launch time), `rx`
//! (receive: bursts, stamps, the classifier's verdicts, ARP/ND), `tx` (send: routing,
//! framing, queueing, stamps, residence).

mod eal;
mod hw;
mod open;
mod rx;
mod tx;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use meridian_proto::engine::{Destination, PeerAddress};
use meridian_proto::wire::frame::{
    self, EthernetRepr, FrameLayout, FrameRepr, Ipv4Repr, Ipv6Repr, MacAddress, NetworkRepr,
    UdpPorts, VlanTag,
};
use meridian_proto::wire::message::field::TIMESTAMP as ORIGIN_TIMESTAMP;
use meridian_proto::wire::Timestamp;

use super::classify::{self, DropCounters, PortFilter, PtpFrame, Verdict};
use super::error::would_block;
use super::{
    DataplaneError, DataplaneLoad, PtpPort, RawStamp, RxFrame, StampClock, Transport, TxRequest,
    TxTiming,
};
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
use crate::metrics::{ReplyKind, ResidenceRecorders, ResidenceSeries};
use crate::sys::dpdk::{self as sys, DpdkError, Eal, EthDev, Mbuf, Mempool, RxBatch, TxBatch};

use eal::{check_config, dpdk_err, port_name};
pub use eal::{eal_init, rdtsc, register_thread, tsc_hz};
use hw::{HwStamping, LaunchTime, RxOffload};

/// The safe DPDK wrappers this backend is built on (EAL, mempools, mbufs, ports, bursts), for
/// tools that drive DPDK ports directly, such as the load generator in `bench/`.
pub mod raw {
    pub use crate::sys::dpdk::{
        rdtsc, register_thread, tsc_hz, DevInfo, DeviceClock, DpdkError, Eal, EthDev, LinkStatus,
        Mbuf, Mempool, RxBatch, RxQueue, RxTimestampField, Timesync, TxBatch, TxQueue,
        TxTimestampField, BURST,
    };
}

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
/// Engine rounds between two hand-overs of the residence counts to the collector (tens of
/// ms when busy-polling; also once a second from `maintain`).
const PUBLISH_EVERY_ROUNDS: u32 = 1 << 18;
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

/// Distinguishes the pools of successive opens (a pool whose mbufs were still in use when
/// its port closed is leaked, and keeps its name).
static POOL_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// One PTP port on a DPDK ethdev: one RX and one TX queue, polled by the caller's thread.
///
/// Received frames are classified in software (the port runs allmulticast, or promiscuous
/// where allmulticast is not supported): PTP for this port's transport, addressed to us or
/// to the PTP groups, in the configured VLAN, is returned by [`Self::recv`]; ARP requests
/// and IPv6 neighbour solicitations for our addresses are answered; everything else is
/// counted and freed. Accepted PTP frames over UDP, ARP packets and IPv6 neighbour
/// solicitations teach the neighbour table the sender's MAC address, which [`Self::send`]
/// needs for unicast (other IP traffic does not: nothing unvalidated goes in).
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
    tx_residence: Vec<Option<(ReplyKind, i128)>>,
    /// The rings to the RX and TX stages once split ([`Self::split_pipeline`]).
    pipeline: Option<Arc<Rings>>,
    /// The device, until split into the stages' queues.
    dev: Option<EthDev>,
    port_id: u16,
    pool: Mempool,
    stage_counters: Arc<StageCounters>,
    /// Converts TSC readings to time for residence measurement and the TX stage.
    clock: Option<Arc<SharedTscClock>>,
    /// The port's residence-time series (its own recorders below, the TX stage's when split).
    residence: ResidenceSeries,
    /// This loop's recorders (single-core mode).
    recorders: ResidenceRecorders,
    /// Engine rounds since the recorders last handed their counts to the collector.
    rounds_since_publish: u32,
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

impl Drop for DpdkPort {
    fn drop(&mut self) {
        // Queued frames leave before the batches, the port and the pool go.
        self.flush_tx();
    }
}

impl DpdkPort {
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

    /// Attaches the TSC clock that converts this port's stamps to time (the runtime's
    /// clock, published after every adjustment) and the histogram that records residence
    /// times (Delay_Req RX stamp → Delay_Resp TX stamp). Without a clock no residence time is
    /// recorded and the port cannot be split into a pipeline.
    pub fn attach_clock(&mut self, clock: Arc<SharedTscClock>, residence: ResidenceSeries) {
        self.clock = Some(clock);
        self.recorders = residence.recorders();
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
                self.residence.recorders(),
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
        let request_rx = tx
            .request_rx
            .and_then(|t| Some((ReplyKind::of(tx.message_type)?, i128::from(t.0))));
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
        self.rounds_since_publish += 1;
        if self.rounds_since_publish >= PUBLISH_EVERY_ROUNDS {
            self.rounds_since_publish = 0;
            self.recorders.publish();
        }
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

    fn records_residence(&self) -> bool {
        true
    }

    fn load(&self) -> Option<DataplaneLoad> {
        let c = &self.stage_counters;
        Some(DataplaneLoad {
            mbufs_in_use: u64::from(self.pool.in_use()),
            mbufs: u64::from(self.pool.size()),
            rings: self.pipeline.as_ref().map(|r| r.load()).unwrap_or_default(),
            rx_bursts: c.rx_burst_sizes.get(),
            tx_bursts: c.tx_burst_sizes.get(),
        })
    }

    fn maintain(&mut self) {
        self.recorders.publish();
        if let Some(err) = self.track_nic_clock() {
            tracing::debug!(device = %self.name, error_ns = err as i64, "NIC clock mapping");
        }
    }
}
