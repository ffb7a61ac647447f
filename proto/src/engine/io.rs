//! What goes in and out of the engine: received messages, transmit requests, TX-timestamp
//! tokens.

use crate::wire::MessageType;

use super::Time;

/// Index of a port, 0-based (portNumber is `index + 1`).
pub type PortIndex = u16;

/// Where a peer is, as the data plane addresses it. The engine treats it as an opaque key;
/// UDP ports are always 319/320 (event/general) and are the data plane's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerAddress {
    /// An Ethernet MAC (PTP over L2).
    Mac([u8; 6]),
    /// An IPv4 address (PTP over UDP/IPv4).
    Ipv4([u8; 4]),
    /// An IPv6 address (PTP over UDP/IPv6).
    Ipv6([u8; 16]),
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Destination {
    /// The port's primary multicast group (224.0.1.129, FF0X::181, 01-1B-19-00-00-00).
    Multicast,
    /// The peer-delay group (224.0.0.107, FF02::6B, 01-80-C2-00-00-0E).
    PdelayMulticast,
    /// One peer.
    Unicast(PeerAddress),
    /// A PTPv1 subdomain's group (UDP/IPv4 only): standard subdomain `k`, 0 `_DFLT`
    /// (224.0.1.129, the same group as [`Destination::Multicast`]) … 3 `_ALT3` (224.0.1.132);
    /// see [`crate::wire::v1::group_of_index`].
    V1Group(u8),
}

/// A token for one awaited transmit timestamp (two-step). It is deliberately neither `Clone`
/// nor `Copy`: the data plane must hand it back exactly once, to
/// [`Engine::handle_tx_timestamp`](super::Engine::handle_tx_timestamp) with the time the
/// frame left, or to [`Engine::handle_tx_timestamp_lost`](super::Engine::handle_tx_timestamp_lost).
/// A token never returned expires after the configured timeout and is counted.
#[derive(Debug, PartialEq, Eq, Hash)]
#[must_use = "a TX timestamp token must be handed back to the engine"]
pub struct TxToken {
    pub(crate) slot: u32,
    pub(crate) generation: u32,
}

impl TxToken {
    /// A number identifying the token while it is outstanding, for the data plane's own
    /// matching tables (e.g. keyed by a socket's TX timestamp ID).
    pub fn id(&self) -> u64 {
        ((self.generation as u64) << 32) | self.slot as u64
    }
}

/// How the data plane must timestamp a transmitted frame.
#[derive(Debug, PartialEq, Eq)]
pub enum TxStamp {
    /// No timestamp needed (general messages, Delay_Resp, Announce…).
    None,
    /// Two-step: report the time the frame left with this token.
    TwoStep(TxToken),
    /// One-step: write the launch time into the 10-octet timestamp at
    /// [`wire::message::field::TIMESTAMP`](crate::wire::message::field::TIMESTAMP) of the
    /// PTP message (and fix the UDP checksum, see [`crate::wire::frame::patch_in_place`]).
    /// The engine has already put the egress corrections into `correctionField`.
    OneStep,
}

/// One message for the data plane to send.
#[derive(Debug)]
pub struct Transmit<'a> {
    /// Out of which port.
    pub port: PortIndex,
    /// To whom.
    pub destination: Destination,
    /// Event message (UDP port 319, timestamped) or general (320).
    pub event: bool,
    /// The message type (for counters).
    pub message_type: MessageType,
    /// The PTP message, exactly `messageLength` octets.
    pub payload: &'a [u8],
    /// What to timestamp.
    pub stamp: TxStamp,
    /// For a reply to an event message (Delay_Resp, Pdelay_Resp): the receive timestamp of
    /// the request exactly as the data plane reported it in [`RxMessage::timestamp`] (no
    /// latency correction applied), so the data plane can measure its residence time
    /// (reply TX time − request RX time) without parsing the reply.
    pub request_rx: Option<Time>,
}

/// A measurement the engine makes about its own service, for the data plane's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// A two-step Sync's TX timestamp arrived.
    SyncDeparture {
        /// Out of which port.
        port: PortIndex,
        /// Whether it went to one unicast slave (otherwise the port's multicast stream).
        unicast: bool,
        /// TX timestamp − the time the Sync was scheduled for, ns: the loop's lateness in
        /// noticing the tick plus the send path up to the stamp (egress latency not applied).
        /// Negative only if the clock model moved the stamp before the tick.
        emission_ns: i64,
        /// This Sync's departure − the previous one's in the same stream − the nominal
        /// interval, ns, when the previous Sync of the stream (the sequenceId before) was
        /// stamped too; `None` for a stream's first Sync or after a lost stamp.
        interval_error_ns: Option<i64>,
    },
}

/// Receives the engine's transmit requests. The data plane copies `payload` into its own
/// buffer (socket send, mbuf) before returning; the engine reuses its buffer.
pub trait Output {
    /// Sends one message.
    fn transmit(&mut self, tx: Transmit<'_>);

    /// Takes a measurement (for histograms); ignored unless the data plane records it.
    fn observe(&mut self, _observation: Observation) {}
}

/// A received PTP message.
#[derive(Debug, Clone, Copy)]
pub struct RxMessage<'a> {
    /// The port it arrived on.
    pub port: PortIndex,
    /// Who sent it.
    pub source: PeerAddress,
    /// Whether it was sent to a multicast group (otherwise unicast to us).
    pub multicast: bool,
    /// Receive timestamp on the PTP timescale (required for event messages; the data plane
    /// has not applied ingress latency, the engine does).
    pub timestamp: Option<Time>,
    /// The PTP message (UDP payload or Ethernet payload; may extend past messageLength).
    pub payload: &'a [u8],
}

/// An owned copy of a [`Transmit`], for tests and simulators.
#[derive(Debug)]
pub struct OwnedTransmit {
    /// Out of which port.
    pub port: PortIndex,
    /// To whom.
    pub destination: Destination,
    /// Event or general.
    pub event: bool,
    /// The message type.
    pub message_type: MessageType,
    /// The message bytes.
    pub payload: Vec<u8>,
    /// What to timestamp.
    pub stamp: TxStamp,
    /// The request's receive timestamp, for replies (see [`Transmit::request_rx`]).
    pub request_rx: Option<Time>,
}

/// An engine [`Output`] that keeps what it is given, for tests and simulators.
#[derive(Debug, Default)]
pub struct Recorded {
    /// The transmit requests, in order.
    pub sent: Vec<OwnedTransmit>,
    /// The observations, in order.
    pub observed: Vec<Observation>,
}

impl Output for Recorded {
    fn transmit(&mut self, tx: Transmit<'_>) {
        self.sent.transmit(tx);
    }

    fn observe(&mut self, observation: Observation) {
        self.observed.push(observation);
    }
}

impl Output for Vec<OwnedTransmit> {
    fn transmit(&mut self, tx: Transmit<'_>) {
        self.push(OwnedTransmit {
            port: tx.port,
            destination: tx.destination,
            event: tx.event,
            message_type: tx.message_type,
            payload: tx.payload.to_vec(),
            stamp: tx.stamp,
            request_rx: tx.request_rx,
        });
    }
}
