//! The data plane: where PTP messages meet the network.
//!
//! Today one backend, Linux sockets ([`SocketPort`]): UDP/IPv4 and UDP/IPv6 (annexes C and D
//! of IEEE 1588-2019) over a pair of UDP sockets bound to ports 319 (event) and 320
//! (general), and IEEE 802.3 (annex E, optionally 802.1Q-tagged) over an `AF_PACKET` socket.
//! Receive and transmit timestamps come from `SO_TIMESTAMPING`: from the NIC's PTP hardware
//! clock where the driver offers it, otherwise from the kernel's software stamps on
//! CLOCK_REALTIME.
//!
//! The calling loop (one thread per set of ports, like ptp4l):
//!
//! 1. [`poll_readable`] (or a reusable [`PollSet`]) over every port's [`SocketPort::raw_fds`]
//!    with the engine's next deadline as timeout;
//! 2. [`SocketPort::drain_tx_timestamps`] on each port, handing each `(id, time)` to the
//!    engine's token recorded at send;
//! 3. [`SocketPort::recv`] until `None`, feeding each message and its [`RxInfo`] to the engine;
//! 4. [`SocketPort::send`] for every transmission the engine asks for.
//!
//! Nothing here allocates per packet: receive buffers are the caller's, the send buffer and
//! control-message buffers are the port's, allocated once at [`SocketPort::open`].
//!
//! With the `dpdk` cargo feature, a second backend, [`dpdk::DpdkPort`]: one PTP port on a
//! DPDK ethdev, polled from user space, time-stamped with the TSC; it builds and parses whole
//! Ethernet frames and answers ARP / IPv6 neighbour solicitations itself.

#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod hwstamp;
#[cfg(feature = "dpdk")]
mod neighbour;
#[cfg(feature = "dpdk")]
pub mod pipeline;
mod socket;

pub use socket::{
    poll_readable, realtime_ns, DataplaneError, Phc, PollSet, RxInfo, SocketCounters, SocketPort,
    SocketPortConfig, StampSource, TimestampingMode, Transport,
};
