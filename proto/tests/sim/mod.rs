//! A deterministic network simulator for the engine: one [`Engine`], N simulated slaves built
//! on the same wire codec, virtual time, a seeded RNG, and a network with delay, jitter,
//! loss and asymmetry. Slaves run free with drifting clocks and compute offset and mean path
//! delay with the standard E2E equations (IEEE 1588-2019 11.3), so the tests can compare
//! what a slave would conclude with the truth.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use meridian_proto::engine::{
    Destination, Engine, Observation, PeerAddress, Recorded, RxMessage, Time, TxStamp, TxToken,
};
use meridian_proto::wire::message::AnnounceBody;
use meridian_proto::wire::{
    ClockAccuracy, ClockIdentity, ClockQuality, Flags, HeaderRepr, MessageBody, MessageRepr,
    MessageType, PortIdentity, TimeInterval, TimeSource, Timestamp, TlvBlock, TlvRepr,
};

/// SplitMix64: small, seeded, good enough for jitter and loss.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// The simulated network between the engine and every slave.
#[derive(Debug, Clone, Copy)]
pub struct NetParams {
    /// Mean one-way delay, ns.
    pub delay_ns: u64,
    /// Uniform jitter added to each packet, [0, jitter) ns.
    pub jitter_ns: u64,
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Master→slave delay minus slave→master delay, ns (split evenly around `delay_ns`).
    pub asymmetry_ns: i64,
    /// Delay between a two-step frame leaving and its TX timestamp reaching the engine.
    pub tx_stamp_latency_ns: u64,
}

impl Default for NetParams {
    fn default() -> Self {
        NetParams {
            delay_ns: 20_000,
            jitter_ns: 0,
            loss: 0.0,
            asymmetry_ns: 0,
            tx_stamp_latency_ns: 5_000,
        }
    }
}

/// How a slave gets its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Listens to multicast; sends multicast Delay_Req every 2^delay_log s.
    Multicast { delay_log: i8 },
    /// Negotiates unicast Announce, Sync and Delay_Resp at these rates, for `duration` s,
    /// renewing at 0.8 × duration.
    Unicast {
        announce_log: i8,
        sync_log: i8,
        delay_log: i8,
        duration: u32,
    },
}

/// A simulated slave: a free-running clock and the standard E2E computation.
pub struct SimSlave {
    pub address: PeerAddress,
    pub identity: PortIdentity,
    pub mode: Mode,
    /// Local clock = true time + offset0 + drift·(true time − start).
    pub offset0_ns: i64,
    pub drift_ppb: i64,
    pub start: Time,
    /// Messages received, by messageType nibble.
    pub received: [u64; 16],
    /// Messages received inside the counting window, by messageType nibble.
    pub in_window: [u64; 16],
    /// (messageType nibble, granted duration) of every GRANT seen.
    pub grants: Vec<(u8, u32)>,
    /// Measured offset − true offset, ns, one per Sync once a path delay is known.
    pub offset_errors: Vec<i64>,
    /// Mean path delays measured, ns.
    pub path_delays: Vec<i64>,
    sync: Option<(u16, i128, i64)>, // seq, t2 local, correction (2^-16 ns)
    last: Option<(i128, i128, i64)>, // t1 master, t2 local, total sync correction
    pending_delay: Option<(u16, i128)>, // seq, t3 local
    delay_seq: u16,
    mpd: Option<i128>,
    signaling_seq: u16,
    negotiate_generation: u32,
}

impl SimSlave {
    pub fn new(n: u32, mode: Mode, offset0_ns: i64, drift_ppb: i64) -> Self {
        let b = n.to_be_bytes();
        SimSlave {
            address: PeerAddress::Ipv4([10, b[1], b[2], b[3]]),
            identity: PortIdentity {
                clock_identity: ClockIdentity([0x02, b[0], b[1], 0xff, 0xfe, b[2], b[3], 0x01]),
                port_number: 1,
            },
            mode,
            offset0_ns,
            drift_ppb,
            start: Time(0),
            received: [0; 16],
            in_window: [0; 16],
            grants: Vec::new(),
            offset_errors: Vec::new(),
            path_delays: Vec::new(),
            sync: None,
            last: None,
            pending_delay: None,
            delay_seq: 0,
            mpd: None,
            signaling_seq: 0,
            negotiate_generation: 0,
        }
    }

    /// True offset of the local clock at true time `t`, ns.
    pub fn true_offset(&self, t: Time) -> i128 {
        let el = t.0 as i128 - self.start.0 as i128;
        self.offset0_ns as i128 + el * self.drift_ppb as i128 / 1_000_000_000
    }

    fn local(&self, t: Time) -> i128 {
        t.0 as i128 + self.true_offset(t)
    }

    fn header(&self, mt: MessageType, seq: u16, unicast: bool, domain: u8) -> HeaderRepr {
        header(mt, seq, unicast, domain, self.identity)
    }
}

/// A slave's (or a spoofer's) message header.
fn header(
    mt: MessageType,
    seq: u16,
    unicast: bool,
    domain: u8,
    identity: PortIdentity,
) -> HeaderRepr {
    HeaderRepr {
        major_sdo_id: 0,
        message_type: mt,
        minor_version_ptp: 1,
        version_ptp: 2,
        message_length: 0,
        domain_number: domain,
        minor_sdo_id: 0,
        flags: Flags {
            unicast,
            ..Flags::default()
        },
        correction: TimeInterval::ZERO,
        message_type_specific: 0,
        source_port_identity: identity,
        sequence_id: seq,
        control_field: mt.control_field(),
        log_message_interval: 0x7f,
    }
}

/// The identity injected requests claim.
const INJECTED: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0xee; 8]),
    port_number: 1,
};

fn ts_ns(t: Timestamp) -> i128 {
    t.as_nanos() as i128
}

fn emit(repr: &MessageRepr<'_>) -> Vec<u8> {
    let mut v = vec![0u8; repr.buffer_len()];
    repr.emit(&mut v).expect("emit");
    v
}

enum Event {
    /// A packet arrives at the engine.
    ToEngine {
        source: PeerAddress,
        multicast: bool,
        payload: Vec<u8>,
    },
    /// A packet arrives at slave `idx`; `sent` is when it left the engine.
    ToSlave { idx: usize, payload: Vec<u8> },
    /// A TX timestamp reaches the engine.
    Stamp { token: TxToken, tx_time: Time },
    /// Slave `idx` sends a Delay_Req.
    DelayReq { idx: usize },
    /// Slave `idx` (re)negotiates its grants; stale generations are ignored.
    Negotiate { idx: usize, generation: u32 },
    /// The foreign master sends an Announce.
    ForeignAnnounce,
}

struct Queued {
    at: Time,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// A foreign master that announces itself on the engine's network.
pub struct ForeignMaster {
    pub priority1: u8,
    pub identity: ClockIdentity,
    pub active: bool,
    pub log_interval: i8,
    /// What its Announces claim as logMessageInterval (a spoofer may lie); `log_interval`
    /// when `None`.
    pub claimed_log_interval: Option<i8>,
    seq: u16,
}

/// The simulation.
pub struct Sim {
    pub engine: Engine,
    pub now: Time,
    pub slaves: Vec<SimSlave>,
    pub net: NetParams,
    pub rng: Rng,
    pub domain: u8,
    /// Counting window for `SimSlave::in_window`.
    pub window: (Time, Time),
    pub foreign: Option<ForeignMaster>,
    /// Engine transmissions, by messageType nibble.
    pub engine_tx: [u64; 16],
    /// Every engine transmission: (time, messageType, PTP version).
    pub sent_log: Vec<(Time, MessageType, u8)>,
    queue: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    by_address: HashMap<PeerAddress, usize>,
    out: Recorded,
    /// What the engine observed (Sync departures), in order.
    pub observed: Vec<Observation>,
    /// The engine's clock minus true time, ns (a clock step changes it).
    pub engine_offset: i64,
}

impl Sim {
    pub fn new(engine: Engine, now: Time, net: NetParams, seed: u64, domain: u8) -> Self {
        Sim {
            engine,
            now,
            slaves: Vec::new(),
            net,
            rng: Rng::new(seed),
            domain,
            window: (Time::NEVER, Time::NEVER),
            foreign: None,
            engine_tx: [0; 16],
            sent_log: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            by_address: HashMap::new(),
            out: Recorded::default(),
            observed: Vec::new(),
            engine_offset: 0,
        }
    }

    fn push(&mut self, at: Time, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Queued {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// Adds a slave; it starts acting at a random moment within `stagger_ns`.
    pub fn add_slave(&mut self, mut s: SimSlave, stagger_ns: u64) {
        s.start = self.now;
        let idx = self.slaves.len();
        self.by_address.insert(s.address, idx);
        let at = self.now.plus_nanos(self.rng.below(stagger_ns.max(1)));
        match s.mode {
            Mode::Multicast { .. } => self.push(at, Event::DelayReq { idx }),
            Mode::Unicast { .. } => self.push(at, Event::Negotiate { idx, generation: 0 }),
        }
        self.slaves.push(s);
    }

    /// Starts (or restarts) a foreign master announcing.
    pub fn start_foreign(&mut self, priority1: u8, identity: ClockIdentity) {
        self.foreign = Some(ForeignMaster {
            priority1,
            identity,
            active: true,
            log_interval: 0,
            claimed_log_interval: None,
            seq: 0,
        });
        self.push(self.now, Event::ForeignAnnounce);
    }

    /// Stops the foreign master.
    pub fn stop_foreign(&mut self) {
        if let Some(f) = self.foreign.as_mut() {
            f.active = false;
        }
    }

    fn one_way(&mut self, to_slave: bool) -> Option<u64> {
        if self.net.loss > 0.0 && self.rng.f64() < self.net.loss {
            return None;
        }
        let half = self.net.asymmetry_ns / 2;
        let base = if to_slave {
            self.net.delay_ns as i64 + half
        } else {
            self.net.delay_ns as i64 - half
        };
        Some(base.max(0) as u64 + self.rng.below(self.net.jitter_ns))
    }

    /// Runs until `end` (virtual time).
    /// True time on the engine's clock.
    fn ec(&self, t: Time) -> Time {
        t.shifted(self.engine_offset)
    }

    pub fn run_until(&mut self, end: Time) {
        loop {
            let te = self.engine.poll_timeout().shifted(-self.engine_offset);
            let tq = self.queue.peek().map_or(Time::NEVER, |q| q.0.at);
            let t = te.min(tq);
            if t > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(t);
            if tq <= te {
                let Some(Reverse(q)) = self.queue.pop() else {
                    continue;
                };
                self.dispatch(q.event);
            } else {
                let mut out = std::mem::take(&mut self.out);
                let now = self.ec(self.now);
                self.engine.handle_timeout(now, &mut out);
                self.flush(&mut out);
                self.out = out;
            }
        }
    }

    fn flush(&mut self, out: &mut Recorded) {
        self.observed.append(&mut out.observed);
        for mut tx in out.sent.drain(..) {
            self.engine_tx[tx.message_type.nibble() as usize] += 1;
            let now = self.now;
            self.sent_log.push((
                now,
                tx.message_type,
                tx.payload.get(1).map_or(0, |v| v & 0x0f),
            ));
            match std::mem::replace(&mut tx.stamp, TxStamp::None) {
                TxStamp::None => {}
                TxStamp::OneStep => now
                    .shifted(self.engine_offset)
                    .to_timestamp()
                    .write(&mut tx.payload, 34),
                TxStamp::TwoStep(token) => {
                    let at = now.plus_nanos(self.net.tx_stamp_latency_ns);
                    self.push(
                        at,
                        Event::Stamp {
                            token,
                            tx_time: now,
                        },
                    );
                }
            }
            match tx.destination {
                Destination::Unicast(a) => {
                    if let Some(&idx) = self.by_address.get(&a) {
                        if let Some(d) = self.one_way(true) {
                            self.push(
                                now.plus_nanos(d),
                                Event::ToSlave {
                                    idx,
                                    payload: tx.payload,
                                },
                            );
                        }
                    }
                }
                Destination::Multicast | Destination::PdelayMulticast | Destination::V1Group(_) => {
                    for idx in 0..self.slaves.len() {
                        if matches!(self.slaves[idx].mode, Mode::Multicast { .. }) {
                            if let Some(d) = self.one_way(true) {
                                self.push(
                                    now.plus_nanos(d),
                                    Event::ToSlave {
                                        idx,
                                        payload: tx.payload.clone(),
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// A hostile or stray request from `source` (not a simulated slave): a Delay_Req or a
    /// Pdelay_Req, unicast or multicast, delivered to the engine.
    pub fn inject_request(&mut self, source: PeerAddress, multicast: bool, mt: MessageType) {
        let body = match mt {
            MessageType::PdelayReq => MessageBody::PdelayReq {
                origin_timestamp: Timestamp::default(),
            },
            _ => MessageBody::DelayReq {
                origin_timestamp: Timestamp::default(),
            },
        };
        let repr = MessageRepr {
            header: header(mt, 1, !multicast, self.domain, INJECTED),
            body,
            tlvs: TlvBlock::EMPTY,
        };
        let payload = emit(&repr);
        self.send_to_engine(source, multicast, payload);
    }

    /// A management GET of `id` from `source`, its data `pad` zero octets (pmc pads a GET
    /// to the answer's size; `pmc -z` sends none).
    pub fn inject_management_get(
        &mut self,
        source: PeerAddress,
        multicast: bool,
        id: meridian_proto::wire::ManagementId,
        pad: usize,
    ) {
        let zeros = vec![0u8; pad];
        let data = if pad == 0 {
            meridian_proto::wire::ManagementData::Empty
        } else {
            meridian_proto::wire::ManagementData::Raw(&zeros)
        };
        let tlvs = [TlvRepr::Management { id, data }];
        let mut tb = [0u8; 256];
        let n = TlvBlock::write(&mut tb, &tlvs).expect("tlv");
        let repr = MessageRepr {
            header: header(
                MessageType::Management,
                1,
                !multicast,
                self.domain,
                INJECTED,
            ),
            body: MessageBody::Management {
                target_port_identity: PortIdentity {
                    clock_identity: ClockIdentity::ALL,
                    port_number: 0xffff,
                },
                starting_boundary_hops: 0,
                boundary_hops: 0,
                action: meridian_proto::wire::ManagementAction::Get,
            },
            tlvs: TlvBlock::new_checked(&tb[..n], 48).expect("tlv block"),
        };
        let payload = emit(&repr);
        self.send_to_engine(source, multicast, payload);
    }

    /// A CANCEL of `message_type` claiming `source` and `identity` (a spoofer's, or the
    /// slave's own).
    pub fn inject_cancel(
        &mut self,
        source: PeerAddress,
        identity: PortIdentity,
        message_type: MessageType,
    ) {
        let tlvs = [TlvRepr::CancelUnicastTransmission { message_type }];
        let mut tb = [0u8; 16];
        let block = TlvBlock::build(&mut tb, &tlvs).expect("tlvs");
        let mt = MessageType::Signaling;
        let repr = MessageRepr {
            header: header(mt, 1, true, self.domain, identity),
            body: MessageBody::Signaling {
                target_port_identity: PortIdentity::ALL,
            },
            tlvs: block,
        };
        let payload = emit(&repr);
        self.send_to_engine(source, false, payload);
    }

    fn send_to_engine(&mut self, source: PeerAddress, multicast: bool, payload: Vec<u8>) {
        if let Some(d) = self.one_way(false) {
            let at = self.now.plus_nanos(d);
            self.push(
                at,
                Event::ToEngine {
                    source,
                    multicast,
                    payload,
                },
            );
        }
    }

    fn dispatch(&mut self, e: Event) {
        let mut out = std::mem::take(&mut self.out);
        match e {
            Event::ToEngine {
                source,
                multicast,
                payload,
            } => {
                let now = self.ec(self.now);
                let rx = RxMessage {
                    port: 0,
                    source,
                    multicast,
                    timestamp: Some(now),
                    payload: &payload,
                };
                self.engine.handle_message(now, rx, &mut out);
            }
            Event::Stamp { token, tx_time } => {
                let (now, tx_time) = (self.ec(self.now), self.ec(tx_time));
                self.engine
                    .handle_tx_timestamp(now, token, tx_time, &mut out);
            }
            Event::ToSlave { idx, payload } => self.slave_rx(idx, &payload),
            Event::DelayReq { idx } => self.slave_delay_req(idx),
            Event::Negotiate { idx, generation } => {
                if self.slaves[idx].negotiate_generation == generation {
                    self.slave_negotiate(idx);
                }
            }
            Event::ForeignAnnounce => self.foreign_announce(),
        }
        self.flush(&mut out);
        self.out = out;
    }

    fn foreign_announce(&mut self) {
        let domain = self.domain;
        let Some(f) = self.foreign.as_mut() else {
            return;
        };
        if !f.active {
            return;
        }
        f.seq = f.seq.wrapping_add(1);
        let identity = f.identity;
        let repr = MessageRepr {
            header: HeaderRepr {
                major_sdo_id: 0,
                message_type: MessageType::Announce,
                minor_version_ptp: 1,
                version_ptp: 2,
                message_length: 0,
                domain_number: domain,
                minor_sdo_id: 0,
                flags: Flags {
                    ptp_timescale: true,
                    ..Flags::default()
                },
                correction: TimeInterval::ZERO,
                message_type_specific: 0,
                source_port_identity: PortIdentity {
                    clock_identity: identity,
                    port_number: 1,
                },
                sequence_id: f.seq,
                control_field: 5,
                log_message_interval: f.claimed_log_interval.unwrap_or(f.log_interval),
            },
            body: MessageBody::Announce(AnnounceBody {
                origin_timestamp: self.now.to_timestamp(),
                current_utc_offset: 37,
                grandmaster_priority1: f.priority1,
                grandmaster_clock_quality: ClockQuality {
                    clock_class: 6,
                    clock_accuracy: ClockAccuracy::NS_100,
                    offset_scaled_log_variance: 0x4e5d,
                },
                grandmaster_priority2: 128,
                grandmaster_identity: identity,
                steps_removed: 0,
                time_source: TimeSource::GNSS,
            }),
            tlvs: TlvBlock::EMPTY,
        };
        let next = self
            .now
            .plus_nanos(meridian_proto::engine::log_interval_nanos(f.log_interval));
        let payload = emit(&repr);
        self.send_to_engine(PeerAddress::Ipv4([10, 255, 255, 1]), true, payload);
        self.push(next, Event::ForeignAnnounce);
    }

    fn slave_negotiate(&mut self, idx: usize) {
        let s = &mut self.slaves[idx];
        let Mode::Unicast {
            announce_log,
            sync_log,
            delay_log,
            duration,
        } = s.mode
        else {
            return;
        };
        s.signaling_seq = s.signaling_seq.wrapping_add(1);
        let tlvs = [
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Announce,
                log_inter_message_period: announce_log,
                duration,
            },
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::Sync,
                log_inter_message_period: sync_log,
                duration,
            },
            TlvRepr::RequestUnicastTransmission {
                message_type: MessageType::DelayResp,
                log_inter_message_period: delay_log,
                duration,
            },
        ];
        let mut tb = [0u8; 64];
        let block = TlvBlock::build(&mut tb, &tlvs).expect("tlvs");
        let repr = MessageRepr {
            header: s.header(MessageType::Signaling, s.signaling_seq, true, self.domain),
            body: MessageBody::Signaling {
                target_port_identity: PortIdentity::ALL,
            },
            tlvs: block,
        };
        let payload = emit(&repr);
        let address = s.address;
        let renew = self.now.plus_nanos(duration as u64 * 800_000_000);
        s.negotiate_generation += 1;
        let generation = s.negotiate_generation;
        self.send_to_engine(address, false, payload);
        self.push(renew, Event::Negotiate { idx, generation });
        // Delay requests start once Sync flows.
        if self.slaves[idx].delay_seq == 0 {
            let at = self
                .now
                .plus_nanos(500_000_000 + self.rng.below(500_000_000));
            self.slaves[idx].delay_seq = 1;
            self.push(at, Event::DelayReq { idx });
        }
    }

    fn slave_delay_req(&mut self, idx: usize) {
        let now = self.now;
        let domain = self.domain;
        let s = &mut self.slaves[idx];
        let (delay_log, unicast) = match s.mode {
            Mode::Multicast { delay_log } => (delay_log, false),
            Mode::Unicast { delay_log, .. } => (delay_log, true),
        };
        s.delay_seq = s.delay_seq.wrapping_add(1);
        let t3 = s.local(now);
        s.pending_delay = Some((s.delay_seq, t3));
        let repr = MessageRepr {
            header: s.header(MessageType::DelayReq, s.delay_seq, unicast, domain),
            body: MessageBody::DelayReq {
                origin_timestamp: Timestamp::from_nanos(t3.max(0) as u128).unwrap_or_default(),
            },
            tlvs: TlvBlock::EMPTY,
        };
        let payload = emit(&repr);
        let address = s.address;
        let next = now.plus_nanos(meridian_proto::engine::log_interval_nanos(delay_log));
        self.send_to_engine(address, !unicast, payload);
        self.push(next, Event::DelayReq { idx });
    }

    fn slave_rx(&mut self, idx: usize, payload: &[u8]) {
        let now = self.now;
        let mut retry = false;
        let in_window = now >= self.window.0 && now < self.window.1;
        let s = &mut self.slaves[idx];
        let m = MessageRepr::parse_bytes(payload).expect("engine sent a malformed message");
        assert_eq!(m.header.domain_number, self.domain, "wrong domain");
        let mt = m.header.message_type.nibble() as usize;
        s.received[mt] += 1;
        if in_window {
            s.in_window[mt] += 1;
        }
        let corr = m.header.correction.0;
        match m.body {
            MessageBody::Sync { origin_timestamp } => {
                let t2 = s.local(now);
                if m.header.flags.two_step {
                    s.sync = Some((m.header.sequence_id, t2, corr));
                } else {
                    s.last = Some((ts_ns(origin_timestamp), t2, corr));
                    s.sync = None;
                    record_offset(s, now);
                }
            }
            MessageBody::FollowUp {
                precise_origin_timestamp,
            } => {
                if let Some((seq, t2, c)) = s.sync.take() {
                    if seq == m.header.sequence_id {
                        s.last = Some((ts_ns(precise_origin_timestamp), t2, c + corr));
                        record_offset(s, now);
                    }
                }
            }
            MessageBody::DelayResp {
                receive_timestamp,
                requesting_port_identity,
            } => {
                if requesting_port_identity != s.identity {
                    return;
                }
                if let (Some((seq, t3)), Some((t1, t2, cs))) = (s.pending_delay, s.last) {
                    if seq == m.header.sequence_id {
                        let t4 = ts_ns(receive_timestamp);
                        // 11.3: meanPathDelay = [(t2 − t3) + (t4 − t1) − cS − cD] / 2
                        let c = (cs as i128 + corr as i128) >> 16;
                        let mpd = ((t2 - t3) + (t4 - t1) - c) / 2;
                        s.mpd = Some(mpd);
                        s.path_delays.push(mpd as i64);
                        s.pending_delay = None;
                    }
                }
            }
            MessageBody::Signaling { .. } => {
                for t in m.tlvs.iter() {
                    if let TlvRepr::GrantUnicastTransmission {
                        message_type,
                        duration,
                        ..
                    } = t
                    {
                        s.grants.push((message_type.nibble(), duration));
                        retry |= duration == 0;
                    }
                }
            }
            _ => {}
        }
        if retry {
            // Like ptp4l's logQueryInterval: ask again in a second.
            let s = &mut self.slaves[idx];
            s.negotiate_generation += 1;
            let generation = s.negotiate_generation;
            self.push(
                now.plus_nanos(1_000_000_000),
                Event::Negotiate { idx, generation },
            );
        }
    }
}

/// offsetFromMaster = t2 − t1 − meanPathDelay − cS (11.3), compared with the truth.
fn record_offset(s: &mut SimSlave, now: Time) {
    let (Some((t1, t2, cs)), Some(mpd)) = (s.last, s.mpd) else {
        return;
    };
    let measured = t2 - t1 - mpd - ((cs as i128) >> 16);
    let truth = s.true_offset(now);
    s.offset_errors.push((measured - truth) as i64);
}
