//! The data plane: where PTP messages meet the network.
//!
//! Every backend implements one trait, [`PtpPort`]: receive the next PTP message of the
//! current burst with its RX stamp ([`RxFrame`]), send one message with an optional TX stamp
//! ([`TxRequest`]), hand back the TX stamps that completed, and describe itself (addresses,
//! link, counters, time stamping). The daemon drives any backend through it the same way
//! (`crate::daemon::driver`), so a feature that touches ports is written once. What a
//! received frame is — PTP event or general, ARP/ND, or a counted drop — is decided by one
//! pure function, [`classify::classify`], in every backend that sees whole frames.
//!
//! Backends:
//! * [`socket::SocketPort`] — Linux sockets: UDP/IPv4 and UDP/IPv6 (annexes C and D of
//!   IEEE 1588-2019) over a pair of UDP sockets bound to ports 319 (event) and 320
//!   (general), and IEEE 802.3 (annex E, optionally 802.1Q-tagged) over an `AF_PACKET`
//!   socket. RX and TX stamps from `SO_TIMESTAMPING`: the NIC's PTP hardware clock where the
//!   driver offers it, otherwise the kernel's software stamps on CLOCK_REALTIME. Waits in
//!   `poll()` on [`PtpPort::wait_fds`].
//! * `dpdk::DpdkPort` (cargo feature `dpdk`) — one PTP port on a DPDK ethdev, busy-polled
//!   from user space, stamped with the TSC (or NIC stamps mapped onto it, see [`hwstamp`]),
//!   building and parsing whole frames and answering ARP / IPv6 neighbour solicitations
//!   itself (`neighbour`); optionally split into RX → engine → TX stages on other cores
//!   (`pipeline`).
//!
//! Stamps stay raw ([`RawStamp`]: kernel ns or TSC ticks) until the clock layer
//! ([`StampClock`]) puts them on the PTP timescale, so residence times are differences of
//! raw stamps and no configured latency ends up in them.
//!
//! Nothing here allocates per packet: receive buffers are the caller's, send buffers,
//! mbufs and control-message buffers are the port's, allocated when it opens.

pub mod classify;
#[cfg(feature = "dpdk")]
pub mod dpdk;
mod error;
pub mod hwstamp;
#[cfg(feature = "dpdk")]
mod neighbour;
#[cfg(feature = "dpdk")]
pub mod pipeline;
pub mod poll;
pub mod socket;

use std::collections::BTreeMap;
use std::os::fd::RawFd;

use meridian_proto::engine::{Destination, PeerAddress, Time};
use meridian_proto::wire::MessageType;

pub use error::DataplaneError;
pub use poll::{poll_readable, PollCounters, PollSet};
pub use socket::{SocketCounters, SocketPort, SocketPortConfig};

/// What a PTP port runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP over IPv4 (annex C).
    UdpIpv4,
    /// UDP over IPv6 (annex D).
    UdpIpv6,
    /// IEEE 802.3 / Ethernet, EtherType 0x88F7 (annex E).
    L2,
}

/// Which kernel time stamping a socket port asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampingMode {
    /// Hardware where the interface has it, otherwise software.
    Auto,
    /// Hardware or fail.
    Hardware,
    /// Kernel software stamps (CLOCK_REALTIME).
    Software,
}

/// The kernel time stamping actually enabled on a socket port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StampSource {
    /// The NIC stamps with its PTP hardware clock `/dev/ptp{phc_index}`.
    Hardware {
        /// Index of the PHC.
        phc_index: i32,
    },
    /// The kernel stamps with CLOCK_REALTIME.
    Software,
}

/// A timestamp as the data plane took it, before the clock layer puts it on the PTP
/// timescale ([`StampClock::time_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawStamp {
    /// Nanoseconds from the kernel (`SO_TIMESTAMPING`): CLOCK_REALTIME for software stamps,
    /// the PHC's own timescale for hardware stamps.
    Ns(i128),
    /// A TSC reading (DPDK), or a NIC stamp mapped onto the TSC.
    Tsc(u64),
}

/// A received PTP message; its payload is at the start of the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxFrame {
    /// Octets of PTP payload (UDP payload, or the Ethernet payload after the (802.1Q)
    /// header; may include Ethernet padding or the UDP/IPv6 trailer).
    pub len: usize,
    /// The sender: IP address (UDP) or MAC (L2).
    pub source: PeerAddress,
    /// Sent to a multicast group (otherwise unicast to us).
    pub multicast: bool,
    /// An event message (see [`classify`]).
    pub event: bool,
    /// The RX stamp. `None` for general messages over UDP sockets and when the kernel gave
    /// none (counted).
    pub stamp: Option<RawStamp>,
    /// The NIC's raw RX timestamp field (DPDK's timestamp dynfield, PMD units) when the PMD
    /// filled one; diagnostics only.
    pub device_stamp: Option<u64>,
}

impl RxFrame {
    /// The stamp if it is kernel nanoseconds.
    pub fn ns(&self) -> Option<i128> {
        match self.stamp {
            Some(RawStamp::Ns(ns)) => Some(ns),
            _ => None,
        }
    }

    /// The stamp if it is a TSC reading.
    pub fn tsc(&self) -> Option<u64> {
        match self.stamp {
            Some(RawStamp::Tsc(t)) => Some(t),
            _ => None,
        }
    }
}

/// How a transmitted message is stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxTiming {
    /// No stamp (general messages, Delay_Resp, Announce…).
    Unstamped,
    /// Two-step: the port reports the TX stamp under the id [`PtpPort::send`] returns.
    TwoStep,
    /// One-step: the launch time is written into originTimestamp right before the frame
    /// leaves.
    OneStep,
}

/// One message for a port to send.
#[derive(Debug, Clone, Copy)]
pub struct TxRequest<'a> {
    /// The group or the peer.
    pub destination: Destination,
    /// Event message (UDP port 319) or general (320).
    pub event: bool,
    /// The PTP message, exactly `messageLength` octets.
    pub payload: &'a [u8],
    /// How to stamp it.
    pub timing: TxTiming,
    /// The message's type (which residence series a reply belongs to).
    pub message_type: MessageType,
    /// For a reply (Delay_Resp, Pdelay_Resp): the request's RX time as stamped, on the PTP
    /// timescale — the start of its residence time.
    pub request_rx: Option<Time>,
}

/// The clock that puts raw stamps on the PTP timescale (implemented by the daemon's time
/// base, `crate::clock::timebase::TimeBase`).
pub trait StampClock {
    /// Now, on the PTP timescale, read from the clock that stamps packets.
    fn now(&self) -> Time;
    /// A raw stamp on the PTP timescale.
    fn time_of(&self, stamp: RawStamp) -> Time;
}

/// One PTP port of any backend: what the daemon's drivers use, and all they use.
///
/// The calling loop (`crate::daemon::driver`): wait (poll on [`Self::wait_fds`], or spin
/// when [`Self::busy_poll`]); [`Self::drain_tx_timestamps`]; [`Self::recv`] until `None` or
/// a batch is done, feeding each message to the engine and [`Self::send`]ing what it
/// answers; [`Self::flush`] at the end of every round.
pub trait PtpPort {
    /// Non-blocking: the next received PTP message into `buf`, or `None` when nothing waits
    /// (backends take frames a burst at a time and return them one by one). Frames that are
    /// not PTP for this port are counted and skipped.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<RxFrame>, DataplaneError>;

    /// Sends one message. [`TxTiming::TwoStep`] returns `Some(id)`: the id
    /// [`Self::drain_tx_timestamps`] will report the TX stamp under. [`TxTiming::OneStep`]
    /// writes the launch time (from `clock`) into originTimestamp keeping checksums valid.
    /// A full queue is an error with [`DataplaneError::is_would_block`] (dropped, counted).
    fn send(
        &mut self,
        tx: &TxRequest<'_>,
        clock: &dyn StampClock,
    ) -> Result<Option<u32>, DataplaneError>;

    /// Sends what the port queued (a backend that batches replies); cheap when nothing is.
    fn flush(&mut self) {}

    /// Calls `f(id, stamp)` for every TX stamp that completed since the last call.
    fn drain_tx_timestamps(
        &mut self,
        f: &mut dyn FnMut(u32, RawStamp),
    ) -> Result<(), DataplaneError>;

    /// The interface's MAC address.
    fn mac(&self) -> [u8; 6];

    /// The port's protocol address: IPv4 (4 octets), IPv6 (16) or MAC (6).
    fn protocol_address(&self) -> Vec<u8>;

    /// Descriptors that become readable when the port has input or TX stamps (a backend
    /// driven by `poll()`); empty for busy-polled ones.
    fn wait_fds(&self) -> Vec<RawFd> {
        Vec::new()
    }

    /// Whether the port must be polled continuously (poll mode) rather than waited on.
    fn busy_poll(&self) -> bool {
        self.wait_fds().is_empty()
    }

    /// Whether the link is up (administratively up, with carrier), where the backend can
    /// tell; asked about once a second from the engine's thread (a down link makes the
    /// port FAULTY).
    fn link_up(&self) -> Option<bool> {
        None
    }

    /// The port's counters by name, for status and metrics.
    fn counters(&self) -> BTreeMap<String, u64>;

    /// One line saying how the port stamps.
    fn timestamping(&self) -> String;

    /// Housekeeping, about once a second from the engine's thread (e.g. tracking a NIC
    /// clock's mapping onto the TSC).
    fn maintain(&mut self) {}

    /// Whether the port measures reply residence times itself (DPDK: at its TX burst);
    /// otherwise it reports replies' TX stamps (when it can) and the engine loop does.
    fn records_residence(&self) -> bool {
        false
    }

    /// How loaded the port's user-space data plane is (mbuf pool, rings, burst sizes), for
    /// status and metrics; `None` for a backend that has none (kernel sockets).
    fn load(&self) -> Option<DataplaneLoad> {
        None
    }
}

/// Upper bounds of the burst-size buckets, frames (a burst is at most 32 frames).
pub const BURST_BOUNDS: [u64; 6] = [1, 2, 4, 8, 16, 32];

/// How loaded a user-space data plane is, sampled when a status report is built.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataplaneLoad {
    /// Mbufs of the port's pool in use (queues, rings, batches, in flight).
    pub mbufs_in_use: u64,
    /// Mbufs in the port's pool.
    pub mbufs: u64,
    /// The rings between the pipeline's stages (empty in single-core mode).
    pub rings: Vec<RingLoad>,
    /// Non-empty `rx_burst`s by size.
    pub rx_bursts: BurstCounts,
    /// `tx_burst`s by size.
    pub tx_bursts: BurstCounts,
}

/// One ring's occupancy.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RingLoad {
    /// `rx` (RX stage → engine), `tx` (engine → TX stage), `stamps` (TX stage → engine).
    pub name: String,
    /// Entries waiting now.
    pub entries: u64,
    /// Entries the ring holds.
    pub capacity: u64,
}

/// Bursts by size: `counts[i]` bursts of at most `BURST_BOUNDS[i]` frames (and more than
/// the bound before); the last entry counts larger ones. `frames`: all frames of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BurstCounts {
    /// Non-cumulative counts, one per bound plus one for larger bursts.
    pub counts: Vec<u64>,
    /// Frames in all these bursts.
    pub frames: u64,
}

/// The framing parameters every backend checks the same way: DSCP 0–63, an 802.1Q tag with
/// VID 1–4094 and PCP 0–7, and (UDP/IPv6) a multicast scope 1–E. The reason, if not.
pub(crate) fn check_framing(
    transport: Transport,
    dscp: u8,
    vlan: Option<(u16, u8)>,
    ipv6_scope: u8,
) -> Result<(), String> {
    if dscp > 63 {
        return Err(format!("dscp {dscp} is out of range (0-63)"));
    }
    if let Some((vid, pcp)) = vlan {
        if !(1..=4094).contains(&vid) || pcp > 7 {
            return Err(format!(
                "VLAN {vid} priority {pcp} is out of range (VID 1-4094, PCP 0-7)"
            ));
        }
    }
    if transport == Transport::UdpIpv6 && !(1..=0xe).contains(&ipv6_scope) {
        return Err(format!(
            "IPv6 multicast scope {ipv6_scope:#x} is out of range (1-E)"
        ));
    }
    Ok(())
}

/// Flattens a serialisable counters struct into `out`, names prefixed by `prefix`.
pub(crate) fn add_counters(
    out: &mut BTreeMap<String, u64>,
    prefix: &str,
    c: &impl serde::Serialize,
) {
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(c) {
        for (k, v) in m {
            if let Some(n) = v.as_u64() {
                out.insert(format!("{prefix}{k}"), n);
            }
        }
    }
}
